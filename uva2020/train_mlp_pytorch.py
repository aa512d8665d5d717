"""UvA 2020's train_mlp_pytorch.py: the root's script and flags, training the MLP with ELU (--activation elu).

    python train_mlp_pytorch.py --dnn_hidden_units 100 --learning_rate 1e-3
"""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the root's modules: behind this folder's, ahead of any installed package's
    sys.path.insert(1, _root_dir)
import trainers


def main(argv=None):
    return trainers.run('mlp_pytorch', argv, defaults={'activation': 'elu'})


if __name__ == '__main__':
    main()
