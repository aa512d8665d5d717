"""BGU 2023's cifar10_utils.py: UvA 2021's (get_cifar10 as Datasets, get_dataloader)."""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the root's modules: behind this folder's, ahead of any installed package's
    sys.path.insert(1, _root_dir)
import offerings

offerings.as_file_of(globals(), 'uva2021')
