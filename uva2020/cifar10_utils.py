"""UvA 2020's cifar10_utils.py: the root's (../cifar10_utils.py), as it is: get_cifar10 returns
DataSet splits, as in 2019."""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the library and the root's modules, behind this folder's
    sys.path.insert(1, _root_dir)
import runkit

runkit.root_module('cifar10_utils')
from root_cifar10_utils import *  # the root's cifar10_utils.py, as it is
