"""
BGU 2023's train_mlp_pytorch.py (UvA 2022's, with ReLU in the network): training and evaluation of the PyTorch MLP
as this template asks: confusion_matrix() and confusion_matrix_to_metrics() (train_mlp_numpy.py's, in torch),
evaluate_model(), train() and the template's flags.

    python train_mlp_pytorch.py --hidden_dims 128 --lr 0.1 --use_batch_norm

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
from mlp_pytorch import MLP


def confusion_matrix(predictions, targets):
    """
    Computes the confusion matrix: how often each class was predicted as each class.

    Args:
      predictions: 2D float tensor of size [batch_size, n_classes], predictions of the model (scores, logits or
                   probabilities)
      targets: 1D int tensor of size [batch_size], the class of each sample
    Returns:
      confusion_matrix: 2D float64 tensor of size [n_classes, n_classes]: row i, column j counts the samples of
                        class i predicted as class j
    """
    predictions, targets = torch.as_tensor(predictions), torch.as_tensor(targets)
    if predictions.dim() != 2 or targets.shape != (len(predictions),) or targets.is_floating_point() \
            or targets.is_complex() or targets.dtype == torch.bool:
        raise ValueError(f'confusion_matrix expected predictions (batch, classes) and integer class indices (batch,), '
                         f'got {tuple(predictions.shape)} and {tuple(targets.shape)} {targets.dtype}')
    n_classes = predictions.shape[1]
    if len(targets) and not 0 <= targets.min() <= targets.max() < n_classes:
        raise ValueError(f'confusion_matrix expected class indices in [0, {n_classes}) for predictions of '
                         f'{n_classes} classes, got {targets.min().item()} to {targets.max().item()}')
    pairs = targets.long() * n_classes + predictions.argmax(dim=1)
    return torch.bincount(pairs, minlength=n_classes ** 2).reshape(n_classes, n_classes).double()


def confusion_matrix_to_metrics(confusion_matrix, beta=1.):
    """
    Converts a confusion matrix to accuracy, precision, recall and f1 scores.

    Args:
      confusion_matrix: 2D float tensor of size [n_classes, n_classes], the confusion matrix to convert (rows: the
                        true class)
    Returns: a dictionary with the following keys:
      accuracy: scalar float, the accuracy of the confusion matrix
      precision: 1D float64 tensor of size [n_classes], the precision for each class (0 for a class never predicted)
      recall: 1D float64 tensor of size [n_classes], the recall for each class (0 for a class never present)
      f1_beta: 1D float64 tensor of size [n_classes], the F-beta score for each class (0 where both are 0)
    """
    counts = torch.as_tensor(confusion_matrix, dtype=torch.float64)
    hits, predicted, present = counts.diagonal(), counts.sum(dim=0), counts.sum(dim=1)
    # where() picks 0 for the classes whose division is 0/0
    precision = torch.where(predicted > 0, hits / predicted, 0.)
    recall = torch.where(present > 0, hits / present, 0.)
    both = beta ** 2 * precision + recall
    f_beta = torch.where(both > 0, (1 + beta ** 2) * precision * recall / both, 0.)
    return {'accuracy': (hits.sum() / counts.sum()).item(), 'precision': precision, 'recall': recall,
            'f1_beta': f_beta}


def evaluate_model(model, data_loader, num_classes=10):
    """
    Performs the evaluation of the MLP model on a given dataset, in eval mode (the model's mode is restored after).

    Args:
      model: An instance of 'MLP', the model to evaluate.
      data_loader: The data loader of the dataset to evaluate.
    Returns:
      metrics: the dictionary of confusion_matrix_to_metrics over every sample of the loader, whatever the sizes of
               its batches, and 'loss': the mean cross-entropy (for the curves)
    """
    counts, total_loss = torch.zeros(num_classes, num_classes, dtype=torch.float64), 0.0
    device, was_training = next(model.parameters()).device, model.training
    model.eval()
    with torch.inference_mode():
        for x, y in data_loader:
            logits = model(torch.as_tensor(x, device=device))
            y = torch.as_tensor(y, device=device).long()
            total_loss += torch.nn.functional.cross_entropy(logits, y, reduction='sum').item()
            counts += confusion_matrix(logits.cpu(), y.cpu())
    model.train(was_training)
    if not counts.sum():
        raise ValueError('evaluate_model expected a data loader with at least one sample, got an empty one')
    return {**confusion_matrix_to_metrics(counts), 'loss': total_loss / counts.sum().item()}


def train(hidden_dims, lr, use_batch_norm, batch_size, epochs, seed, data_dir, run=None):
    """
    Performs a full training cycle of MLP model: SGD for `epochs` epochs (on the GPU when there is one), evaluating
    the model on the whole validation (and test) set after the first step and every epoch, keeping the model that
    did best on validation.

    Args:
      hidden_dims: A list of ints, specificying the hidden dimensionalities to use in the MLP.
      lr: Learning rate of the SGD to apply.
      use_batch_norm: If True, adds batch normalization layer into the network.
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
                     performed best on the validation.
      logging_info: the run's metrics: every evaluation's losses and accuracies, the mean training loss and accuracy
                    of each epoch, the best model's epoch and its test metrics
    """
    runkit.check_epoch_arguments(hidden_dims, lr, batch_size, epochs, seed)
    # Set the random seeds for reproducibility
    np.random.seed(seed)
    torch.manual_seed(seed)
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

    # Loading the dataset
    cifar10 = cifar10_utils.get_cifar10(data_dir)
    cifar10_loader = cifar10_utils.get_dataloader(cifar10, batch_size=batch_size, return_numpy=False)
    steps_per_epoch = len(cifar10_loader['train'])
    if steps_per_epoch == 0:
        raise cifar10_utils.DataError(f'batch_size {batch_size} is larger than the training split '
                                      f'({len(cifar10["train"])} images)')

    model = MLP(3 * 32 * 32, hidden_dims, 10, use_batch_norm).to(device)
    loss_module = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    run = run or runkit.Run()
    config = dict(script='train_mlp_pytorch', offering=os.path.basename(os.path.dirname(os.path.abspath(__file__))),
                  hidden_dims=hidden_dims, lr=lr, use_batch_norm=use_batch_norm, batch_size=batch_size,
                  epochs=epochs, seed=seed, data_dir=data_dir, max_steps=epochs * steps_per_epoch,
                  eval_freq=steps_per_epoch, steps_per_epoch=steps_per_epoch, dataset='cifar10',
                  data_fingerprint=runkit.fingerprint(cifar10_utils.cifar10_folder(data_dir), cifar10_utils.FILES))
    val_accuracies, epoch_losses, epoch_accuracies, best_model, best_epoch = [], [], [], None, None
    with run.training('mlp_pytorch', config):
        for epoch in range(1, epochs + 1):
            epoch_loss = epoch_accuracy = 0.0
            for x, y in run.progress(cifar10_loader['train']):
                x, y = x.to(device), y.to(device)
                logits = model(x)
                loss = loss_module(logits, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss = loss.item()
                if not math.isfinite(loss):
                    raise runkit.Diverged(loss, run.step)
                batch_accuracy = (logits.argmax(dim=1) == y).float().mean().item()
                epoch_loss, epoch_accuracy = epoch_loss + loss, epoch_accuracy + batch_accuracy
                if run.evaluates(run.step):  # after the first step and after every epoch
                    validation, test = (evaluate_model(model, cifar10_loader[split])
                                        for split in ('validation', 'test'))
                    run.log(run.step, train=(loss, batch_accuracy),
                            validation=(validation['loss'], validation['accuracy']),
                            test=(test['loss'], test['accuracy']))
            epoch_losses.append(epoch_loss / steps_per_epoch)
            epoch_accuracies.append(epoch_accuracy / steps_per_epoch)
            val_accuracies.append(validation['accuracy'])
            if best_model is None or val_accuracies[-1] > max(val_accuracies[:-1]):
                best_model, best_epoch = deepcopy(model), epoch
        test_metrics = evaluate_model(best_model, cifar10_loader['test'])
        run.metrics.update(val_accuracies=val_accuracies, train_loss_per_epoch=epoch_losses,
                           train_accuracy_per_epoch=epoch_accuracies, best_epoch=best_epoch,
                           test_metrics={name: np.asarray(value).tolist() for name, value in test_metrics.items()})
    return best_model, val_accuracies, test_metrics['accuracy'], run.metrics


def parse_flags(argv=None):
    """The template's flags (and --output_dir and --overwrite of the run), parsed from argv (default: the command
    line)."""
    parser = runkit.ArgumentParser(prog='train_mlp_pytorch.py', description='Train the PyTorch MLP on CIFAR-10 with '
                                                                            'SGD, by epochs.')
    parser.add_argument('--hidden_dims', default=[128], type=int, nargs='*',
                        help='Hidden dimensionalities to use inside the network. To specify multiple, use " " to '
                             'separate them. Example: "256 128" (none: a linear model)')
    parser.add_argument('--use_batch_norm', action='store_true',
                        help='Use this option to add Batch Normalization layers to the MLP.')
    parser.add_argument('--lr', default=0.1, type=float, help='Learning rate to use')
    parser.add_argument('--batch_size', default=128, type=int, help='Minibatch size')
    parser.add_argument('--epochs', default=10, type=int, help='Max number of epochs')
    parser.add_argument('--seed', default=42, type=int, help='Seed to use for reproducing results')
    parser.add_argument('--data_dir', default=os.path.relpath(cifar10_utils.DATA_DIR_DEFAULT),
                        help="Data directory where to store/find the CIFAR10 dataset (default: the project's own copy, "
                             "../cifar10/)")
    runkit.add_run_arguments(parser, output_dir='runs/train_mlp_pytorch')
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
            _, val_accuracies, test_accuracy, logging_dict = train(args.hidden_dims, args.lr, args.use_batch_norm,
                                                                   args.batch_size, args.epochs, args.seed,
                                                                   args.data_dir, run)
        except cifar10_utils.DataError as error:  # the data missing, or too small for the batches
            sys.exit(f'error: {error}')
    print(f'best validation accuracy {max(val_accuracies):.4f} after epoch {logging_dict["best_epoch"]}; '
          f'its test accuracy {test_accuracy:.4f}; the run is in {runkit.shown(args.output_dir)}')
    return logging_dict


if __name__ == '__main__':
    main()
