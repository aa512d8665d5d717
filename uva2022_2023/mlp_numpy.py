"""UvA 2022-2023's mlp_numpy.py: MLP(n_inputs, n_hidden, n_classes), the root's MLP (../mlp_numpy.py) as this
template builds it: ELU in the hidden layers, Kaiming initialisation with the first layer told it is the
input layer, float64 parameters."""
import os
import sys

import numpy as np

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the library and the root's modules, behind this folder's
    sys.path.insert(1, _root_dir)
import runkit

runkit.root_module('mlp_numpy')
from root_mlp_numpy import *  # the root's mlp_numpy.py, but for MLP's defaults
from root_mlp_numpy import MLP as _RootMLP


class MLP(_RootMLP):
    """The root's MLP with this template's defaults: ELU, Kaiming, float64."""

    def __init__(self, n_inputs, n_hidden, n_classes, neg_slope=0.0, init='kaiming', seed=None, dtype=np.float64,
                 activation='elu', input_layer=True):
        super().__init__(n_inputs, n_hidden, n_classes, neg_slope, init, seed, dtype, activation, input_layer)
