"""UvA 2021's modules.py: the root's modules, LinearModule(in_features, out_features, input_layer=False) initialised
as the template asks: Kaiming's N(0, 2 / in_features), N(0, 1 / in_features) for the input layer, float64
parameters."""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the root's modules: behind this folder's, ahead of any installed package's
    sys.path.insert(1, _root_dir)
import numpy as np

import offerings

_root = offerings.as_file_of(globals())


class LinearModule(_root.LinearModule):
    """The root's LinearModule with the template's defaults: Kaiming, float64."""

    def __init__(self, in_features, out_features, input_layer=False, *, init='kaiming', rng=None, dtype=np.float64):
        super().__init__(in_features, out_features, input_layer, init=init, rng=rng, dtype=dtype)
