"""UvA 2020's modules.py: the root's NumPy modules (../modules.py), as they are; this template's activation is
ELUModule."""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the library and the root's modules, behind this folder's
    sys.path.insert(1, _root_dir)
import runkit

runkit.root_module('modules')
from root_modules import *  # the root's modules.py, as it is
