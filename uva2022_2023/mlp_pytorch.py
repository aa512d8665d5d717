"""UvA 2022-2023's mlp_pytorch.py: MLP(n_inputs, n_hidden, n_classes, use_batch_norm=False), the root's PyTorch
MLP (../mlp_pytorch.py) as this template builds it: ELU in the hidden layers (nn.BatchNorm1d before each with
use_batch_norm), Kaiming initialisation."""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the library and the root's modules, behind this folder's
    sys.path.insert(1, _root_dir)
import runkit

runkit.root_module('mlp_pytorch')
from root_mlp_pytorch import *  # the root's mlp_pytorch.py, but for MLP's arguments
from root_mlp_pytorch import MLP as _RootMLP


class MLP(_RootMLP):
    """The root's PyTorch MLP with this template's arguments and defaults: ELU, Kaiming."""

    def __init__(self, n_inputs, n_hidden, n_classes, use_batch_norm=False, *, neg_slope=0.0, batch_norm=None,
                 dropout=0.0, init='kaiming', activation='elu'):
        super().__init__(n_inputs, n_hidden, n_classes, neg_slope, use_batch_norm if batch_norm is None else batch_norm,
                         dropout, init, activation)
