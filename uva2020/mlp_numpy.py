"""UvA 2020's mlp_numpy.py: MLP(n_inputs, n_hidden, n_classes), the root's MLP with ELU in the hidden layers."""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the root's modules: behind this folder's, ahead of any installed package's
    sys.path.insert(1, _root_dir)
import offerings

_root = offerings.as_file_of(globals())


class MLP(_root.MLP):
    """The root's MLP with ELU in the hidden layers by default."""

    def __init__(self, n_inputs, n_hidden, n_classes, neg_slope=0.0, init='normal', seed=None,
                 dtype=_root.np.float32, activation='elu', input_layer=False):
        super().__init__(n_inputs, n_hidden, n_classes, neg_slope, init, seed, dtype, activation, input_layer)
