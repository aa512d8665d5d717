"""UvA 2021's cifar10_utils.py: get_cifar10(data_dir, validation_size=5000) returns the splits as Datasets, and
get_dataloader(dataset, batch_size=128, return_numpy=False) their DataLoaders (torch_data has both); the rest is
the root's."""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the root's modules: behind this folder's, ahead of any installed package's
    sys.path.insert(1, _root_dir)
import offerings

offerings.as_file_of(globals())
from runkit.torch_data import cifar10_datasets as get_cifar10  # noqa: F401
from runkit.torch_data import get_dataloader  # noqa: F401
