"""UvA 2020's convnet_pytorch.py: the root's (../convnet_pytorch.py), as it is: the ConvNet of 2019's Table 1."""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the library and the root's modules, behind this folder's
    sys.path.insert(1, _root_dir)
import runkit

runkit.root_module('convnet_pytorch')
from root_convnet_pytorch import *  # the root's convnet_pytorch.py, as it is
