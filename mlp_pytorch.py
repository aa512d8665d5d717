"""The multi-layer perceptron of mlp_numpy.py as a PyTorch module, with optional batch norm and dropout."""
from torch import nn

INITS = ('normal', 'kaiming')
BATCH_NORMS = ('none', 'torch', 'custom')  # none, nn.BatchNorm1d, custom_batchnorm.CustomBatchNormManualModule
ACTIVATIONS = {'leaky_relu': nn.LeakyReLU, 'relu': nn.ReLU, 'elu': nn.ELU}


class MLP(nn.Module):
    """Per hidden layer Linear, (batch norm), LeakyReLU, (Dropout); then a final Linear.

    neg_slope: LeakyReLU's slope (the default 0 gives ReLU); activation='relu' or 'elu' puts nn.ReLU or nn.ELU
    (alpha 1) there instead, the weights of init='kaiming' drawn as for ReLU.

    batch_norm: 'none', 'torch' (nn.BatchNorm1d) or 'custom' (custom_batchnorm.CustomBatchNormManualModule);
    False and True are taken for 'none' and 'torch'.

    Returns logits (batch, n_classes) for input (batch, n_inputs) or (batch, 3, 32, 32), which is
    flattened. With the defaults it has exactly the parameters of mlp_numpy.MLP, initialised the same
    way (weights from N(0, 1e-4^2), zero biases); init='kaiming' draws N(0, 2 / ((1 + a^2) fan_in))
    instead, a = neg_slope (PyTorch's LeakyReLU gain; mlp_numpy uses 2 / fan_in, a 0.04% difference at 0.02).
    """

    def __init__(self, n_inputs, n_hidden, n_classes, neg_slope=0.0, batch_norm='none', dropout=0.0, init='normal',
                 activation='leaky_relu'):
        super().__init__()
        if init not in INITS:
            raise ValueError(f'init must be one of {INITS}, got {init!r}')
        if activation not in ACTIVATIONS:
            raise ValueError(f'activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}')
        batch_norm = {False: 'none', True: 'torch'}.get(batch_norm, batch_norm)
        if batch_norm not in BATCH_NORMS:
            raise ValueError(f'batch_norm must be one of {BATCH_NORMS}, got {batch_norm!r}')
        if not 0 <= dropout < 1:
            raise ValueError(f'dropout must be in [0, 1), got {dropout}')
        if batch_norm == 'custom':  # imported only then: the offerings that have no custom_batchnorm.py use the MLP too
            from custom_batchnorm import CustomBatchNormManualModule as norm
        else:
            norm = nn.BatchNorm1d if batch_norm == 'torch' else None
        widths = [n_inputs, *n_hidden, n_classes]
        if any(int(width) != width or width < 1 for width in widths):
            raise ValueError(f'layer widths must be positive integers, got {widths}')
        self.n_inputs, self.n_hidden, self.n_classes = n_inputs, list(n_hidden), n_classes
        self.neg_slope, self.batch_norm, self.dropout, self.activation = neg_slope, batch_norm, dropout, activation
        gain_slope = neg_slope if activation == 'leaky_relu' else 0.0
        layers = []
        for fan_in, fan_out in zip(widths[:-2], widths[1:-1]):
            layers.append(nn.Linear(fan_in, fan_out))
            if norm:
                layers.append(norm(fan_out))
            layers.append(nn.LeakyReLU(neg_slope) if activation == 'leaky_relu' else ACTIVATIONS[activation]())
            if dropout:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(widths[-2], widths[-1]))
        self.layers = nn.Sequential(*layers)
        for layer in self.layers:
            if isinstance(layer, nn.Linear):
                if init == 'normal':
                    nn.init.normal_(layer.weight, std=1e-4)
                else:
                    nn.init.kaiming_normal_(layer.weight, a=gain_slope, nonlinearity='leaky_relu')
                nn.init.zeros_(layer.bias)

    def forward(self, x):
        """x: (batch, n_inputs) or (batch, C, H, W) with C*H*W == n_inputs -> logits (batch, n_classes)."""
        x = x.flatten(1)
        if x.shape[1] != self.n_inputs:
            raise ValueError(f'MLP expected input of shape (batch, {self.n_inputs}) or images with '
                             f'{self.n_inputs} values, got {tuple(x.shape)}')
        return self.layers(x)

    def extra_repr(self):
        activation = (f'neg_slope={self.neg_slope}' if self.activation == 'leaky_relu'
                      else f'activation={self.activation}')
        return (f'n_inputs={self.n_inputs}, n_hidden={self.n_hidden}, n_classes={self.n_classes}, {activation}, '
                f'batch_norm={self.batch_norm}, dropout={self.dropout}')

