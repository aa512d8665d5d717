"""
UvA 2024-2025's train_mlp_numpy.py: training and evaluation of the NumPy MLP as this template asks: accuracy(),
evaluate_model(), train() and the template's flags.

    python train_mlp_numpy.py --hidden_dims 128 --lr 0.1 --batch_size 128 --epochs 10 --seed 42

train() keeps its run with runkit.Run (in the folder above): metrics.json and curves.png in --output_dir after the
first step and every epoch; Ctrl-C stops it between two steps.
"""
import math
import os
import sys
from copy import deepcopy

import numpy as np
import torch

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the library and the root's modules, behind this folder's
    sys.path.insert(1, _root_dir)
import cifar10_utils
import runkit
from mlp_numpy import MLP
from modules import CrossEntropyModule


def accuracy(predictions, targets):
    """
    Computes the prediction accuracy, i.e. the average of correct predictions of the network.

    Args:
      predictions: 2D float array of size [batch_size, n_classes], predictions of the model (logits)
      targets: 1D int array of size [batch_size]. Ground truth labels for each sample in the batch
    Returns:
      accuracy: scalar float, the accuracy of predictions between 0 and 1, i.e. the average correct predictions over
                the whole batch
    """
    return float((np.asarray(predictions).argmax(axis=1) == np.asarray(targets)).mean())


def evaluate_model(model, data_loader, with_loss=False):
    """
    Performs the evaluation of the MLP model on a given dataset.

    Args:
      model: An instance of 'MLP', the model to evaluate.
      data_loader: The data loader of the dataset to evaluate.
      with_loss: also return the mean cross-entropy (for the curves)
    Returns:
      accuracy: scalar float, the accuracy over every sample of the loader, whatever the sizes of its batches
                ((mean cross-entropy, accuracy) with with_loss)
    """
    loss_module, total_loss, correct, count = CrossEntropyModule(), 0.0, 0, 0
    for x, y in data_loader:
        x, y = np.asarray(x), np.asarray(y)
        probabilities = model.forward(x.reshape(len(x), -1))
        total_loss += loss_module.forward(probabilities, y) * len(x)
        correct, count = correct + (probabilities.argmax(axis=1) == y).sum(), count + len(x)
    if not count:
        raise ValueError('evaluate_model expected a data loader with at least one sample, got an empty one')
    return (total_loss / count, correct / count) if with_loss else correct / count


def train(hidden_dims, lr, batch_size, epochs, seed, data_dir, run=None):
    """
    Performs a full training cycle of MLP model: SGD for `epochs` epochs, evaluating the model on the whole
    validation (and test) set after the first step and every epoch, keeping the model that did best on validation.

    Args:
      hidden_dims: A list of ints, specificying the hidden dimensionalities to use in the MLP.
      lr: Learning rate of the SGD to apply.
      batch_size: Minibatch size for the data loaders.
      epochs: Number of training epochs to perform.
      seed: Seed to use for reproducible results.
      data_dir: Directory where to store/find the CIFAR10 dataset.
      run: the runkit.Run that keeps the run (default: one that keeps it in memory)
    Returns:
      model: An instance of 'MLP', the trained model that performed best on the validation set.
      val_accuracies: A list of scalar floats, containing the accuracies of the model on the
                      validation set per epoch (element 0 - performance after epoch 1)
      test_accuracy: scalar float, average accuracy on the test dataset of the model that
                     performed best on the validation. Between 0.0 and 1.0
      logging_info: the run's metrics: every evaluation's losses and accuracies, the mean training loss of each
                    epoch, the best model's epoch and its test metrics
    """
    runkit.check_epoch_arguments(hidden_dims, lr, batch_size, epochs, seed)
    # Set the random seeds for reproducibility
    np.random.seed(seed)
    torch.manual_seed(seed)

    ## Loading the dataset
    cifar10 = cifar10_utils.get_cifar10(data_dir)
    cifar10_loader = cifar10_utils.get_dataloader(cifar10, batch_size=batch_size, return_numpy=True)
    steps_per_epoch = len(cifar10_loader['train'])
    if steps_per_epoch == 0:
        raise cifar10_utils.DataError(f'batch_size {batch_size} is larger than the training split '
                                      f'({len(cifar10["train"])} images)')

    model = MLP(3 * 32 * 32, hidden_dims, 10)
    loss_module = CrossEntropyModule()
    run = run or runkit.Run()
    config = dict(script='train_mlp_numpy', offering=os.path.basename(os.path.dirname(os.path.abspath(__file__))),
                  hidden_dims=hidden_dims, lr=lr, batch_size=batch_size, epochs=epochs, seed=seed, data_dir=data_dir,
                  max_steps=epochs * steps_per_epoch, eval_freq=steps_per_epoch, steps_per_epoch=steps_per_epoch,
                  dataset='cifar10',
                  data_fingerprint=runkit.fingerprint(cifar10_utils.cifar10_folder(data_dir), cifar10_utils.FILES))
    val_accuracies, epoch_losses, best_model, best_epoch = [], [], None, None
    # A diverging run overflows on its way to NaN; the loop reports the NaN, so the warnings add nothing.
    with run.training('mlp_numpy', config), np.errstate(over='ignore', invalid='ignore'):
        for epoch in range(1, epochs + 1):
            epoch_loss = 0.0
            for x, y in run.progress(cifar10_loader['train']):
                probabilities = model.forward(x.reshape(len(x), -1))
                loss = loss_module.forward(probabilities, y)
                model.backward(loss_module.backward(probabilities, y))
                for params, grads in model.parameters():  # plain SGD
                    for name in params:
                        params[name] -= lr * grads[name]
                if not math.isfinite(loss):
                    raise runkit.Diverged(loss, run.step)
                epoch_loss += loss
                if run.evaluates(run.step):  # after the first step and after every epoch
                    validation, test = (evaluate_model(model, cifar10_loader[split], with_loss=True)
                                        for split in ('validation', 'test'))
                    run.log(run.step, train=(loss, accuracy(probabilities, y)), validation=validation, test=test)
            epoch_losses.append(epoch_loss / steps_per_epoch)
            val_accuracies.append(validation[1])
            if best_model is None or val_accuracies[-1] > max(val_accuracies[:-1]):
                model.clear_cache()  # a copy holding no batch
                best_model, best_epoch = deepcopy(model), epoch
        test_accuracy = evaluate_model(best_model, cifar10_loader['test'])
        run.metrics.update(val_accuracies=val_accuracies, train_loss_per_epoch=epoch_losses, best_epoch=best_epoch,
                           test_metrics={'accuracy': test_accuracy})
    return best_model, val_accuracies, test_accuracy, run.metrics


def parse_flags(argv=None):
    """The template's flags (and --output_dir and --overwrite of the run), parsed from argv (default: the command
    line)."""
    parser = runkit.ArgumentParser(prog='train_mlp_numpy.py', description='Train the NumPy MLP on CIFAR-10 with SGD, '
                                                                          'by epochs.')
    parser.add_argument('--hidden_dims', default=[128], type=int, nargs='*',
                        help='Hidden dimensionalities to use inside the network. To specify multiple, use " " to '
                             'separate them. Example: "256 128" (none: a linear model)')
    parser.add_argument('--lr', default=0.1, type=float, help='Learning rate to use')
    parser.add_argument('--batch_size', default=128, type=int, help='Minibatch size')
    parser.add_argument('--epochs', default=10, type=int, help='Max number of epochs')
    parser.add_argument('--seed', default=42, type=int, help='Seed to use for reproducing results')
    parser.add_argument('--data_dir', default=os.path.relpath(cifar10_utils.DATA_DIR_DEFAULT),
                        help="Data directory where to store/find the CIFAR10 dataset (default: the project's own copy, "
                             "../cifar10/)")
    runkit.add_run_arguments(parser, output_dir='runs/train_mlp_numpy')
    args = parser.parse_args(argv)
    try:  # before a run folder is made or any data loaded
        runkit.check_epoch_arguments(args.hidden_dims, args.lr, args.batch_size, args.epochs, args.seed)
    except ValueError as error:
        parser.error(str(error))
    return args


def main(argv=None):
    """Parses the flags, opens the run in --output_dir and trains; returns the logging dict."""
    args = parse_flags(argv)
    with runkit.Run(vars(args)) as run:
        try:
            _, val_accuracies, test_accuracy, logging_dict = train(args.hidden_dims, args.lr, args.batch_size,
                                                                   args.epochs, args.seed, args.data_dir, run)
        except cifar10_utils.DataError as error:  # the data missing, or too small for the batches
            sys.exit(f'error: {error}')
    print(f'best validation accuracy {max(val_accuracies):.4f} after epoch {logging_dict["best_epoch"]}; '
          f'its test accuracy {test_accuracy:.4f}; the run is in {runkit.shown(args.output_dir)}')
    return logging_dict


if __name__ == '__main__':
    main()
