"""BGU 2023's cifar10_utils.py: CIFAR-10 as this template loads it, get_cifar10(data_dir, validation_size=5000) as
torch Datasets and get_dataloader(dataset, batch_size, return_numpy=False) as their DataLoaders. The files are read
by the root's cifar10_utils.py (its load_cifar10: the official python layout, never unpickling code)."""
import os
import sys

import torch
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.dataloader import default_collate

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the library and the root's modules, behind this folder's
    sys.path.insert(1, _root_dir)
import runkit

runkit.root_module('cifar10_utils')
from root_cifar10_utils import *  # the root's cifar10_utils.py, which reads the files, but for get_cifar10
from root_cifar10_utils import CIFAR10_FOLDER, load_cifar10

# the project's CIFAR-10 folder, where the root's scripts and prepare.py put it
DATA_DIR_DEFAULT = os.path.join(_root_dir, 'cifar10')


def get_dataloader(dataset, batch_size, return_numpy=False):
    """{'train', 'validation', 'test'} DataLoaders over get_cifar10's splits: the training split reshuffled every
    epoch (torch's global generator) with its incomplete last batch dropped, the others in order and whole.
    Batches are tensors, or NumPy arrays with return_numpy (for the NumPy MLP)."""
    collate = numpy_collate_fn if return_numpy else None
    return {name: DataLoader(dataset=split, batch_size=batch_size, shuffle=name == 'train', drop_last=name == 'train',
                             collate_fn=collate) for name, split in dataset.items()}


def numpy_collate_fn(batch):
    """A batch as NumPy arrays: images (B, 3, 32, 32) float32, labels (B,) int64."""
    return tuple(tensor.numpy() for tensor in default_collate(batch))


def cifar10_folder(data_dir):
    """The cifar-10-batches-py folder that data_dir names: data_dir itself when that is its name, else inside it."""
    if os.path.basename(os.path.normpath(data_dir)) == CIFAR10_FOLDER:
        return data_dir
    return os.path.join(data_dir, CIFAR10_FOLDER)


def get_cifar10(data_dir=DATA_DIR_DEFAULT, validation_size=5000):
    """read_data_sets(data_dir, validation_size), as the template's get_cifar10 returns it."""
    return read_data_sets(data_dir, validation_size)


def read_data_sets(data_dir, validation_size=5000):
    """CIFAR-10 as {'train', 'validation', 'test'} TensorDatasets of images (3, 32, 32) float32 and class indices
    int64, each channel standardised with the training split's statistics (the template's transforms.Normalize
    holds the same numbers for the full training set), the validation split the first validation_size training
    images. data_dir: the folder holding cifar-10-batches-py, as torchvision's root is (downloaded into it when
    missing), or that folder itself."""
    splits = load_cifar10(cifar10_folder(data_dir), one_hot=False, validation_size=validation_size,
                          preprocess='standardize', download=True)
    return {name: TensorDataset(torch.from_numpy(split.images), torch.from_numpy(split.labels))
            for name, split in splits.items()}
