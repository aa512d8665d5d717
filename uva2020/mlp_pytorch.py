"""UvA 2020's mlp_pytorch.py: MLP(n_inputs, n_hidden, n_classes), the root's PyTorch MLP
(../mlp_pytorch.py) with ELU in the hidden layers by default."""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the library and the root's modules, behind this folder's
    sys.path.insert(1, _root_dir)
import runkit

runkit.root_module('mlp_pytorch')
from root_mlp_pytorch import *  # the root's mlp_pytorch.py, but for MLP's defaults
from root_mlp_pytorch import MLP as _RootMLP


class MLP(_RootMLP):
    """The root's PyTorch MLP with ELU in the hidden layers by default."""

    def __init__(self, n_inputs, n_hidden, n_classes, neg_slope=0.0, batch_norm='none', dropout=0.0, init='normal',
                 activation='elu'):
        super().__init__(n_inputs, n_hidden, n_classes, neg_slope, batch_norm, dropout, init, activation)
