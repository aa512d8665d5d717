"""UvA 2021's train_mlp_numpy.py: train(hidden_dims, lr, batch_size, epochs, seed, data_dir) of the NumPy MLP,
evaluate_model(model, data_loader) and accuracy(predictions, targets) with class indices, and the template's flags
(epoch_training.py holds the training and the flags).

    python train_mlp_numpy.py --hidden_dims 128 --lr 0.1 --batch_size 128 --epochs 10 --seed 42
"""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the root's modules: behind this folder's, ahead of any installed package's
    sys.path.insert(1, _root_dir)
import epoch_training
from epoch_training import evaluate_accuracy as evaluate_model  # noqa: F401
from mlp_numpy import MLP, accuracy  # noqa: F401  (accuracy: the template's, taking class indices)


def train(hidden_dims, lr, batch_size, epochs, seed, data_dir, **saving):
    """Train MLP(3072, hidden_dims, 10) with SGD and return (the model that did best on the validation split, its
    validation accuracy after each epoch, the test accuracy of that model, logging_dict): see epoch_training.train,
    which takes saving's output_dir and overwrite."""
    config = dict(script='train_mlp_numpy', offering=os.path.basename(os.path.dirname(__file__)),
                  hidden_dims=hidden_dims, lr=lr, batch_size=batch_size, epochs=epochs, seed=seed, data_dir=data_dir)
    return epoch_training.train(lambda: MLP(3072, hidden_dims, 10), lr, batch_size, epochs, seed, data_dir, config,
                                **saving)


def main(argv=None):
    return epoch_training.main(train, 'train_mlp_numpy', argv)


if __name__ == '__main__':
    main()
