"""A multi-layer perceptron built from the NumPy modules in modules.py."""
import numpy as np

from modules import LeakyReLUModule, LinearModule, SigmoidModule, SoftMaxModule

ACTIVATIONS = ('leaky_relu', 'sigmoid')


class MLP:
    """Linear + LeakyReLU for every hidden layer, then Linear and SoftMax.

    n_inputs: features per sample; n_hidden: list of hidden layer widths (empty for
    multinomial logistic regression); n_classes: number of outputs; neg_slope: LeakyReLU slope
    (0 gives ReLU); activation='sigmoid' puts SigmoidModule in the hidden layers instead.
    The seed alone fixes the weights, whatever the activation.
    """

    def __init__(self, n_inputs, n_hidden, n_classes, neg_slope, init='normal', seed=None, dtype=np.float32,
                 activation='leaky_relu'):
        widths = [n_inputs, *n_hidden, n_classes]
        if any(int(width) != width or width < 1 for width in widths):
            raise ValueError(f'layer widths must be positive integers, got {widths}')
        if activation not in ACTIVATIONS:
            raise ValueError(f'activation must be one of {ACTIVATIONS}, got {activation!r}')
        rng = np.random.default_rng(seed)
        self.layers = []
        for fan_in, fan_out in zip(widths[:-2], widths[1:-1]):
            hidden = LeakyReLUModule(neg_slope) if activation == 'leaky_relu' else SigmoidModule()
            self.layers += [LinearModule(fan_in, fan_out, init=init, rng=rng, dtype=dtype), hidden]
        self.layers += [LinearModule(widths[-2], widths[-1], init=init, rng=rng, dtype=dtype), SoftMaxModule()]

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


def accuracy(predictions, targets):
    """Fraction of rows whose largest prediction is the target class.

    predictions: (batch, classes) scores or probabilities; targets: (batch, classes) one-hot.
    """
    return float((predictions.argmax(axis=1) == targets.argmax(axis=1)).mean())


def sgd_step(model, learning_rate):
    """One step of plain SGD on every parameter of model (an MLP whose backward has filled its grads)."""
    for params, grads in model.parameters():
        for name in params:
            params[name] -= learning_rate * grads[name]
