"""UvA 2021's mlp_numpy.py: MLP(n_inputs, n_hidden, n_classes), the root's MLP as the template builds it: ReLU in
the hidden layers, Kaiming initialisation with the first layer told it is the input layer, float64 parameters."""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the root's modules: behind this folder's, ahead of any installed package's
    sys.path.insert(1, _root_dir)
import numpy as np

import offerings

_root = offerings.as_file_of(globals())
ACTIVATION = 'relu'  # the hidden layers' (UvA 2022-2024 set 'elu')


class MLP(_root.MLP):
    """The root's MLP with the template's defaults (see the module's docstring)."""

    def __init__(self, n_inputs, n_hidden, n_classes, neg_slope=0.0, init='kaiming', seed=None, dtype=np.float64,
                 activation=None, input_layer=True):
        super().__init__(n_inputs, n_hidden, n_classes, neg_slope, init, seed, dtype, activation or ACTIVATION,
                         input_layer)
