"""UvA 2020's mlp_pytorch.py: MLP(n_inputs, n_hidden, n_classes), the root's PyTorch MLP with ELU in the hidden
layers."""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the root's modules: behind this folder's, ahead of any installed package's
    sys.path.insert(1, _root_dir)
import offerings

_root = offerings.as_file_of(globals())


class MLP(_root.MLP):
    """The root's PyTorch MLP with ELU in the hidden layers by default."""

    def __init__(self, n_inputs, n_hidden, n_classes, neg_slope=0.0, batch_norm='none', dropout=0.0, init='normal',
                 activation='elu'):
        super().__init__(n_inputs, n_hidden, n_classes, neg_slope, batch_norm, dropout, init, activation)
