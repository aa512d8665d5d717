"""UvA 2022-2023's modules.py: the root's NumPy modules (../modules.py), ELUModule() among them, but
LinearModule(in_features, out_features, input_layer=False) initialised as this template asks: Kaiming's
N(0, 2 / in_features), N(0, 1 / in_features) for the input layer, in float64."""
import os
import sys

import numpy as np

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the library and the root's modules, behind this folder's
    sys.path.insert(1, _root_dir)
import runkit

runkit.root_module('modules')
from root_modules import *  # the root's modules.py, but for LinearModule's defaults
from root_modules import LinearModule as _RootLinearModule


class LinearModule(_RootLinearModule):
    """The root's LinearModule with this template's defaults: Kaiming, float64."""

    def __init__(self, in_features, out_features, input_layer=False, *, init='kaiming', rng=None, dtype=np.float64):
        super().__init__(in_features, out_features, input_layer, init=init, rng=rng, dtype=dtype)
