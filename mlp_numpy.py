"""A multi-layer perceptron built from the NumPy modules in modules.py."""
import numpy as np

from modules import ELUModule, LeakyReLUModule, LinearModule, ReLUModule, SigmoidModule, SoftMaxModule

ACTIVATIONS = {'leaky_relu': LeakyReLUModule, 'relu': ReLUModule, 'elu': ELUModule, 'sigmoid': SigmoidModule}


class MLP:
    """Linear + LeakyReLU for every hidden layer, then Linear and SoftMax.

    n_inputs: features per sample; n_hidden: list of hidden layer widths (empty for
    multinomial logistic regression); n_classes: number of outputs; neg_slope: LeakyReLU slope
    (the default 0 gives ReLU, UvA 2018's network); activation='relu', 'elu' or 'sigmoid' puts ReLUModule,
    ELUModule or SigmoidModule in the hidden layers instead. input_layer=True tells the first LinearModule it sees
    the raw inputs (with init='kaiming' it draws N(0, 1 / n_inputs) there), as the templates from UvA 2021 on
    build it.
    The seed alone fixes the weights, whatever the activation.
    """

    def __init__(self, n_inputs, n_hidden, n_classes, neg_slope=0.0, init='normal', seed=None, dtype=np.float32,
                 activation='leaky_relu', input_layer=False):
        widths = [n_inputs, *n_hidden, n_classes]
        if any(int(width) != width or width < 1 for width in widths):
            raise ValueError(f'layer widths must be positive integers, got {widths}')
        if activation not in ACTIVATIONS:
            raise ValueError(f'activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}')
        # Without a seed, from NumPy's global generator: np.random.seed fixes the weights, as the templates expect.
        rng = np.random.default_rng(np.random.randint(2 ** 31) if seed is None else seed)
        self.layers = []
        for fan_in, fan_out in zip(widths[:-2], widths[1:-1]):
            hidden = LeakyReLUModule(neg_slope) if activation == 'leaky_relu' else ACTIVATIONS[activation]()
            self.layers += [LinearModule(fan_in, fan_out, input_layer and not self.layers, init=init, rng=rng,
                                         dtype=dtype), hidden]
        self.layers += [LinearModule(widths[-2], widths[-1], input_layer and not self.layers, init=init, rng=rng,
                                     dtype=dtype), SoftMaxModule()]

    def forward(self, x):
        """x: (batch, n_inputs) -> class probabilities (batch, n_classes)."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout, input_grad=False):
        """dout: dL/d(probabilities) (batch, n_classes), as CrossEntropyModule.backward returns.

        Fills every layer's grads; returns dL/dx (batch, n_inputs) if input_grad, else None.
        """
        for layer in reversed(self.layers[1:]):
            dout = layer.backward(dout)
        return self.layers[0].backward(dout, input_grad=input_grad)

    def clear_cache(self):
        """Forget what every layer kept for backward."""
        for layer in self.layers:
            layer.clear_cache()

    def parameters(self):
        """(params, grads) dict pairs of the layers that have parameters."""
        return [(layer.params, layer.grads) for layer in self.layers if hasattr(layer, 'params')]

    def __repr__(self):
        return 'MLP(\n' + ''.join(f'  {layer!r}\n' for layer in self.layers) + ')'

