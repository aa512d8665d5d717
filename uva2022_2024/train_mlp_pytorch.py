"""UvA 2022-2024's train_mlp_pytorch.py: UvA 2021's train() and flags, with evaluate_model returning the metrics of the
confusion matrix (confusion_matrix and confusion_matrix_to_metrics are epoch_training's).

    python train_mlp_pytorch.py --hidden_dims 128 --lr 0.1
"""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the root's modules: behind this folder's, ahead of any installed package's
    sys.path.insert(1, _root_dir)
import offerings

_face = offerings.as_file_of(globals(), 'uva2021')
from epoch_training import confusion_matrix, confusion_matrix_to_metrics  # noqa: F401
from epoch_training import evaluate_metrics as evaluate_model  # noqa: F401

if __name__ == '__main__':
    _face.main()
