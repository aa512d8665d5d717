"""NumPy layers, each a forward/backward pair with a hand-derived, vectorised backward.

Arrays are batch-major: x has shape (batch, features). A module keeps what its backward needs
from the last forward call, so call forward, then backward, once per step; clear_cache() drops what
it kept (the gradients stay).
Parameters are float32 unless another dtype is asked for (the gradient checks use float64);
no operation here upcasts float32 input to float64.
"""
import numpy as np

INITS = ('normal', 'kaiming')


class _Cached:
    """What every module shares: clear_cache() forgets what the last forward kept for backward."""

    def clear_cache(self):
        for name in ('x', 'positive', 'out'):
            self.__dict__.pop(name, None)


class LinearModule(_Cached):
    """y = x W^T + b.

    params['weight']: (out_features, in_features), params['bias']: (out_features,);
    grads has the same keys and shapes after backward.
    init='normal' draws the weights from N(0, 1e-4^2) as the assignment asks; init='kaiming'
    uses N(0, 2 / in_features), which keeps the activations' scale through ReLU-like layers, or
    N(0, 1 / in_features) for the input_layer, whose inputs have not passed through one.
    """

    def __init__(self, in_features, out_features, input_layer=False, *, init='normal', rng=None,
                 dtype=np.float32):
        if init not in INITS:
            raise ValueError(f'init must be one of {INITS}, got {init!r}')
        if not isinstance(input_layer, bool):  # LinearModule(n, m, 'kaiming') meant init='kaiming'
            raise TypeError(f'input_layer must be True or False, got {input_layer!r}; pass init= by name')
        self.in_features, self.out_features, self.input_layer = in_features, out_features, input_layer
        std = 1e-4 if init == 'normal' else np.sqrt((1 if input_layer else 2) / in_features)
        # Without an rng, from NumPy's global generator: np.random.seed fixes the weights, as the templates expect.
        rng = np.random.default_rng(np.random.randint(2 ** 31)) if rng is None else rng
        self.params = {'weight': (std * rng.standard_normal((out_features, in_features))).astype(dtype),
                       'bias': np.zeros(out_features, dtype=dtype)}
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}

    def forward(self, x):
        """x: (batch, in_features) -> (batch, out_features)."""
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f'LinearModule expected input of shape (batch, {self.in_features}), got {x.shape}')
        self.x = x
        return x @ self.params['weight'].T + self.params['bias']

    def backward(self, dout, input_grad=True):
        """dout: (batch, out_features) -> dL/dx (batch, in_features), or None if not input_grad.

        The first layer of a network needs no dL/dx; skipping it saves a third of the work.
        """
        self.grads['weight'] = dout.T @ self.x
        self.grads['bias'] = dout.sum(axis=0)
        return dout @ self.params['weight'] if input_grad else None

    def __repr__(self):
        return f'LinearModule(in_features={self.in_features}, out_features={self.out_features})'


class LeakyReLUModule(_Cached):
    """y = x for x > 0, neg_slope * x otherwise (element-wise, any shape)."""

    def __init__(self, neg_slope):
        if not 0 <= neg_slope <= 1:
            raise ValueError(f'neg_slope must be in [0, 1], got {neg_slope}')
        self.neg_slope = neg_slope

    def forward(self, x):
        self.positive = x > 0
        # max(x, a x) equals the definition for 0 <= a <= 1 and needs no mask.
        return np.maximum(x, self.neg_slope * x)

    def backward(self, dout):
        return np.where(self.positive, dout, self.neg_slope * dout)

    def __repr__(self):
        return f'{type(self).__name__}(neg_slope={self.neg_slope})'


class ReLUModule(LeakyReLUModule):
    """y = max(x, 0)."""

    def __init__(self):
        super().__init__(0.0)

    def __repr__(self):
        return 'ReLUModule()'


RELUModule = ReLUModule  # the spelling of BGU's template


class ELUModule(_Cached):
    """y = x for x > 0, alpha (exp(x) - 1) otherwise (element-wise, any shape)."""

    def __init__(self, alpha=1.0):
        if not alpha >= 0:
            raise ValueError(f'alpha must be >= 0, got {alpha}')
        self.alpha = alpha

    def forward(self, x):
        self.x = x
        # expm1 of the negative part only: exp of a large positive x would overflow where it is not used.
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))

    def backward(self, dout):
        """dout: dL/dy (any shape) -> dL/dx (the same shape)."""
        # dy/dx is 1 for x > 0 and alpha exp(x) = y + alpha otherwise
        return dout * np.where(self.x > 0, 1, self.alpha * np.exp(np.minimum(self.x, 0)))

    def __repr__(self):
        return f'ELUModule(alpha={self.alpha})'


class SigmoidModule(_Cached):
    """y = 1 / (1 + exp(-x)) (element-wise, any shape)."""

    def forward(self, x):
        # The tanh form never overflows, unlike exp(-x) for very negative x.
        self.out = 0.5 * (1 + np.tanh(0.5 * x))
        return self.out

    def backward(self, dout):
        return dout * self.out * (1 - self.out)

    def __repr__(self):
        return 'SigmoidModule()'


class SoftMaxModule(_Cached):
    """Row-wise softmax: x (batch, classes) -> probabilities (batch, classes)."""

    def forward(self, x):
        # Subtracting the row maximum changes nothing mathematically and keeps exp from overflowing.
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.out = e / e.sum(axis=1, keepdims=True)
        return self.out

    def backward(self, dout):
        """dout: dL/dy (batch, classes) -> dL/dx (batch, classes)."""
        # dx_ij = y_ij (dout_ij - sum_k dout_ik y_ik): the Jacobian diag(y) - y y^T applied per row
        return self.out * (dout - (dout * self.out).sum(axis=1, keepdims=True))

    def __repr__(self):
        return 'SoftMaxModule()'


class CrossEntropyModule(_Cached):
    """L = -(1/B) sum_i sum_k t_ik log x_ik for probabilities x (B, classes) and targets t: one-hot (B, classes), or
    the integer class indices (B,) that mean the same one-hot rows.

    Probabilities are clipped at `eps` from below, so an exact 0 gives a large but finite loss
    and gradient instead of inf.
    """

    def __init__(self, eps=1e-12):
        self.eps = eps

    def _one_hot(self, x, y):
        """The targets as one-hot rows of x's shape and dtype; a ValueError names the shapes expected."""
        y = np.asarray(y)
        if x.ndim == 2 and y.shape == (len(x),) and np.issubdtype(y.dtype, np.integer):
            if len(y) and not 0 <= y.min() <= y.max() < x.shape[1]:
                raise ValueError(f'CrossEntropyModule expected class indices in [0, {x.shape[1]}), got '
                                 f'{y.min()} to {y.max()}')
            one_hot = np.zeros_like(x)
            one_hot[np.arange(len(y)), y] = 1
            return one_hot
        if x.ndim != 2 or x.shape != y.shape:
            raise ValueError(f'CrossEntropyModule expected probabilities (batch, classes) and one-hot targets of '
                             f'the same shape or integer class indices (batch,), got {x.shape} and {y.shape} '
                             f'{y.dtype}')
        return y

    def forward(self, x, y):
        return -(self._one_hot(x, y) * np.log(np.maximum(x, self.eps))).sum() / len(x)

    def backward(self, x, y):
        """dL/dx: (batch, classes)."""
        return -self._one_hot(x, y) / (np.maximum(x, self.eps) * len(x))

    def __repr__(self):
        return f'CrossEntropyModule(eps={self.eps})'
