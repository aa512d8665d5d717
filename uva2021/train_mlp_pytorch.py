"""UvA 2021's train_mlp_pytorch.py: train(hidden_dims, lr, use_batch_norm, batch_size, epochs, seed, data_dir) of
the PyTorch MLP, evaluate_model(model, data_loader) and the template's flags (epoch_training.py holds the training
and the flags).

    python train_mlp_pytorch.py --hidden_dims 128 --lr 0.1 --use_batch_norm
"""
import os
import sys

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the root's modules: behind this folder's, ahead of any installed package's
    sys.path.insert(1, _root_dir)
import epoch_training
from epoch_training import evaluate_accuracy as evaluate_model  # noqa: F401
from mlp_pytorch import MLP


def train(hidden_dims, lr, use_batch_norm, batch_size, epochs, seed, data_dir, **saving):
    """Train MLP(3072, hidden_dims, 10, use_batch_norm) with SGD and return (the model that did best on the validation
    split, its validation accuracy after each epoch, the test accuracy of that model, logging_dict): see
    epoch_training.train, which takes saving's output_dir and overwrite."""
    config = dict(script='train_mlp_pytorch', offering=os.path.basename(os.path.dirname(__file__)),
                  hidden_dims=hidden_dims, lr=lr, use_batch_norm=use_batch_norm, batch_size=batch_size,
                  epochs=epochs, seed=seed, data_dir=data_dir)
    return epoch_training.train(lambda: MLP(3072, hidden_dims, 10, use_batch_norm), lr, batch_size, epochs, seed,
                                data_dir, config, **saving)


def main(argv=None):
    return epoch_training.main(train, 'train_mlp_pytorch', argv)


if __name__ == '__main__':
    main()
