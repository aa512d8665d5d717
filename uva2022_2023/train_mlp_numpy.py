"""
UvA 2022-2023's train_mlp_numpy.py: training and evaluation of the NumPy MLP as this template asks:
confusion_matrix(), confusion_matrix_to_metrics(), evaluate_model(), train() and the template's flags.

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


def confusion_matrix(predictions, targets):
    """
    Computes the confusion matrix: how often each class was predicted as each class.

    Args:
      predictions: 2D float array of size [batch_size, n_classes], predictions of the model (scores, logits or
                   probabilities)
      targets: 1D int array of size [batch_size], the class of each sample
    Returns:
      confusion_matrix: 2D float array of size [n_classes, n_classes]: row i, column j counts the samples of class i
                        predicted as class j
    """
    predictions, targets = np.asarray(predictions), np.asarray(targets)
    if predictions.ndim != 2 or targets.shape != (len(predictions),) or not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f'confusion_matrix expected predictions (batch, classes) and integer class indices (batch,), '
                         f'got {predictions.shape} and {targets.shape} {targets.dtype}')
    n_classes = predictions.shape[1]
    if len(targets) and not 0 <= targets.min() <= targets.max() < n_classes:
        raise ValueError(f'confusion_matrix expected class indices in [0, {n_classes}) for predictions of '
                         f'{n_classes} classes, got {targets.min()} to {targets.max()}')
    pairs = targets.astype(np.int64) * n_classes + predictions.argmax(axis=1)
    return np.bincount(pairs, minlength=n_classes ** 2).reshape(n_classes, n_classes).astype(np.float64)


def confusion_matrix_to_metrics(confusion_matrix, beta=1.):
    """
    Converts a confusion matrix to accuracy, precision, recall and f1 scores.

    Args:
      confusion_matrix: 2D float array of size [n_classes, n_classes], the confusion matrix to convert (rows: the
                        true class)
    Returns: a dictionary with the following keys:
      accuracy: scalar float, the accuracy of the confusion matrix
      precision: 1D float array of size [n_classes], the precision for each class (0 for a class never predicted)
      recall: 1D float array of size [n_classes], the recall for each class (0 for a class never present)
      f1_beta: 1D float array of size [n_classes], the F-beta score for each class (0 where both are 0)
    """
    counts = np.asarray(confusion_matrix, dtype=np.float64)
    hits = np.diag(counts)
    precision = np.divide(hits, counts.sum(axis=0), out=np.zeros_like(hits), where=counts.sum(axis=0) > 0)
    recall = np.divide(hits, counts.sum(axis=1), out=np.zeros_like(hits), where=counts.sum(axis=1) > 0)
    both = beta ** 2 * precision + recall
    f_beta = np.divide((1 + beta ** 2) * precision * recall, both, out=np.zeros_like(hits), where=both > 0)
    return {'accuracy': float(hits.sum() / counts.sum()), 'precision': precision, 'recall': recall,
            'f1_beta': f_beta}


def evaluate_model(model, data_loader, num_classes=10):
    """
    Performs the evaluation of the MLP model on a given dataset.

    Args:
      model: An instance of 'MLP', the model to evaluate.
      data_loader: The data loader of the dataset to evaluate.
    Returns:
      metrics: the dictionary of confusion_matrix_to_metrics over every sample of the loader, whatever the sizes of
               its batches, and 'loss': the mean cross-entropy (for the curves)
    """
    loss_module, counts, total_loss = CrossEntropyModule(), np.zeros((num_classes, num_classes)), 0.0
    for x, y in data_loader:
        x, y = np.asarray(x), np.asarray(y)
        probabilities = model.forward(x.reshape(len(x), -1))
        total_loss += loss_module.forward(probabilities, y) * len(x)
        counts += confusion_matrix(probabilities, y)
    if not counts.sum():
        raise ValueError('evaluate_model expected a data loader with at least one sample, got an empty one')
    return {**confusion_matrix_to_metrics(counts), 'loss': total_loss / counts.sum()}


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
                    validation, test = (evaluate_model(model, cifar10_loader[split])
                                        for split in ('validation', 'test'))
                    run.log(run.step, train=(loss, float((probabilities.argmax(axis=1) == y).mean())),
                            validation=(validation['loss'], validation['accuracy']),
                            test=(test['loss'], test['accuracy']))
            epoch_losses.append(epoch_loss / steps_per_epoch)
            val_accuracies.append(validation['accuracy'])
            if best_model is None or val_accuracies[-1] > max(val_accuracies[:-1]):
                model.clear_cache()  # a copy holding no batch
                best_model, best_epoch = deepcopy(model), epoch
        test_metrics = evaluate_model(best_model, cifar10_loader['test'])
        # The test set's confusion matrix and its F-beta per class for the betas UvA 2022's question 2.3 asks about
        counts = sum(confusion_matrix(best_model.forward(x.reshape(len(x), -1)), y) for x, y in cifar10_loader['test'])
        f_beta = {str(beta): confusion_matrix_to_metrics(counts, beta)['f1_beta'].tolist() for beta in (0.1, 1, 10)}
        run.metrics.update(val_accuracies=val_accuracies, train_loss_per_epoch=epoch_losses, best_epoch=best_epoch,
                           test_metrics={name: np.asarray(value).tolist() for name, value in test_metrics.items()},
                           test_confusion_matrix=counts.tolist(), test_f_beta=f_beta)
    return best_model, val_accuracies, test_metrics['accuracy'], run.metrics


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
