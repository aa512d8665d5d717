"""UvA 2020's modules.py: the root's, as it is (the NumPy modules)."""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the root's modules: behind this folder's, ahead of any installed package's
    sys.path.insert(1, _root_dir)
import offerings

offerings.as_file_of(globals())
