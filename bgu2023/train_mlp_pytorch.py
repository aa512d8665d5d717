"""BGU 2023's train_mlp_pytorch.py: UvA 2022's (train(), confusion-matrix metrics, BGU's flags and defaults).

    python train_mlp_pytorch.py --hidden_dims 128 --lr 0.1 --batch_size 128 --epochs 10 --seed 42
"""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the root's modules: behind this folder's, ahead of any installed package's
    sys.path.insert(1, _root_dir)
import offerings

_face = offerings.as_file_of(globals(), 'uva2022_2024')

if __name__ == '__main__':
    _face.main()
