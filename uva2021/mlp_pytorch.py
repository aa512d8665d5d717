"""UvA 2021's mlp_pytorch.py: MLP(n_inputs, n_hidden, n_classes, use_batch_norm=False), the root's PyTorch MLP as
the template builds it: ReLU in the hidden layers (nn.BatchNorm1d before each with use_batch_norm), Kaiming
initialisation."""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the root's modules: behind this folder's, ahead of any installed package's
    sys.path.insert(1, _root_dir)
import offerings

_root = offerings.as_file_of(globals())
ACTIVATION = 'relu'  # the hidden layers' (UvA 2022-2024 set 'elu')


class MLP(_root.MLP):
    """The root's PyTorch MLP with the template's arguments and defaults (see the module's docstring)."""

    def __init__(self, n_inputs, n_hidden, n_classes, use_batch_norm=False, *, neg_slope=0.0, batch_norm=None,
                 dropout=0.0, init='kaiming', activation=None):
        super().__init__(n_inputs, n_hidden, n_classes, neg_slope, use_batch_norm if batch_norm is None else batch_norm,
                         dropout, init, activation or ACTIVATION)
