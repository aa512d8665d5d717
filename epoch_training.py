"""Training by epochs over DataLoaders, as the templates of UvA 2021-2024 and BGU 2023 ask for it: their train()
contract, evaluate_model's confusion matrix and the metrics drawn from it, and their scripts' flags.

    model, val_accuracies, test_accuracy, logging_dict = epoch_training.train(
        lambda: MLP(3072, [128], 10), lr=0.1, batch_size=128, epochs=10, seed=42, data_dir='cifar10')

The steps go through training_loop.train (its progress bar, Ctrl-C and divergence handling, metrics.json and
curves), with one evaluation after every epoch; the faces in the offerings' folders (see offerings.py) give these
functions the templates' names and signatures.
"""
import copy
import os
import sys
import tempfile

import numpy as np
import torch

from cifar10_utils import DataError
from mlp_numpy import sgd_train_step
from modules import CrossEntropyModule
from runkit import datasets, flags, run_files, torch_data, training_loop


def confusion_matrix(predictions, targets, n_classes=None):
    """How often each class was predicted as each class.

    predictions: (B, C) scores, logits or probabilities; targets: (B,) class indices.
    Returns (C, C) float64 counts: row i, column j counts the samples of class i predicted as class j.
    """
    predictions, targets = np.asarray(predictions), np.asarray(targets)
    if predictions.ndim != 2 or targets.shape != (len(predictions),) or not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f'confusion_matrix expected predictions (batch, classes) and integer class indices (batch,), '
                         f'got {predictions.shape} and {targets.shape} {targets.dtype}')
    n_classes = n_classes or predictions.shape[1]
    if predictions.shape[1] != n_classes or (len(targets) and not 0 <= targets.min() <= targets.max() < n_classes):
        raise ValueError(f'confusion_matrix expected {n_classes} classes: predictions (batch, {n_classes}) and '
                         f'class indices in [0, {n_classes}), got {predictions.shape[1]} columns and '
                         f'{targets.min()} to {targets.max()}')
    pairs = targets.astype(np.int64) * n_classes + predictions.argmax(axis=1)
    return np.bincount(pairs, minlength=n_classes ** 2).reshape(n_classes, n_classes).astype(np.float64)


def confusion_matrix_to_metrics(confusion_matrix, beta=1.):
    """{'accuracy': float, 'precision', 'recall', 'f1_beta': (C,) per class} of a (C, C) confusion matrix (rows:
    true class). A class never predicted (or never present) has precision (or recall) 0, and then F-beta 0."""
    counts = np.asarray(confusion_matrix, dtype=np.float64)
    hits = np.diag(counts)
    precision = np.divide(hits, counts.sum(axis=0), out=np.zeros_like(hits), where=counts.sum(axis=0) > 0)
    recall = np.divide(hits, counts.sum(axis=1), out=np.zeros_like(hits), where=counts.sum(axis=1) > 0)
    both = beta ** 2 * precision + recall
    f_beta = np.divide((1 + beta ** 2) * precision * recall, both, out=np.zeros_like(hits), where=both > 0)
    return {'accuracy': float(hits.sum() / counts.sum()), 'precision': precision, 'recall': recall,
            'f1_beta': f_beta}


def _is_torch(model):
    return isinstance(model, torch.nn.Module)


def evaluate(model, data_loader, num_classes=10):
    """confusion_matrix_to_metrics of model's predictions over every batch of data_loader (whatever their sizes),
    with 'loss': the mean cross-entropy per sample. model: the NumPy MLP (probabilities) or a PyTorch module (logits),
    a torch module in eval mode while it is evaluated."""
    counts, total_loss = np.zeros((num_classes, num_classes)), 0.0
    was_training = _is_torch(model) and model.training
    if _is_torch(model):
        model.eval()
    try:
        for x, y in data_loader:
            if _is_torch(model):
                with torch.inference_mode():
                    device = next(model.parameters(), torch.empty(0)).device
                    logits = model(torch.as_tensor(x, device=device))
                    y = torch.as_tensor(y, device=device).long()
                    total_loss += torch.nn.functional.cross_entropy(logits, y, reduction='sum').item()
                    predictions, y = logits.cpu().numpy(), y.cpu().numpy()
            else:
                x, y = np.asarray(x), np.asarray(y)
                predictions = model.forward(x.reshape(len(x), -1))
                total_loss += CrossEntropyModule().forward(predictions, y) * len(x)
            counts += confusion_matrix(predictions, y, num_classes)
    finally:
        if was_training:
            model.train()
    if not counts.sum():
        raise ValueError('evaluate expected a data loader with at least one sample, got an empty one')
    return {**confusion_matrix_to_metrics(counts), 'loss': total_loss / counts.sum()}


def evaluate_accuracy(model, data_loader, num_classes=10):
    """The accuracy of model over every batch of data_loader, whatever their sizes: UvA 2021's evaluate_model."""
    return evaluate(model, data_loader, num_classes)['accuracy']


def evaluate_metrics(model, data_loader, num_classes=10):
    """{'accuracy', 'precision', 'recall', 'f1_beta'} of model over every batch of data_loader
    (confusion_matrix_to_metrics): the evaluate_model of UvA 2022-2024 and BGU 2023."""
    return {name: value for name, value in evaluate(model, data_loader, num_classes).items() if name != 'loss'}


def train(build_model, lr, batch_size, epochs, seed, data_dir, config=None, output_dir=None, overwrite=False):
    """Train the model build_model() returns with plain SGD for `epochs` epochs of CIFAR-10 (torch_data's loaders),
    evaluating after every epoch, and keep the model that did best on the validation split.

    build_model() is called after seeding NumPy's and torch's global generators with `seed`, so the same seed gives
    the same model, batches and curves. A NumPy MLP (mlp_numpy.MLP) is trained on NumPy batches with the
    hand-derived backward, a PyTorch module on tensors with autograd (on the GPU when there is one).
    config: the settings recorded in metrics.json (default: these arguments). output_dir: where metrics.json and
    curves.png go (default: a temporary folder, removed after); overwrite replaces a run that is there.
    Returns (best model, validation accuracy after each epoch, test accuracy of the best model, logging_dict), the
    logging dict holding what metrics.json records: the losses and accuracies at every evaluation, the mean
    training loss of every epoch, the epoch of the best model and the test metrics. Raises
    training_loop.Diverged when the loss stops being finite; SystemExit with a one-line message when output_dir
    cannot be used (it holds a run and overwrite is off, or a file cannot be written).
    """
    if not (batch_size >= 1 and epochs >= 1 and lr > 0):
        raise ValueError(f'expected batch_size >= 1, epochs >= 1 and lr > 0, got {batch_size}, {epochs} and {lr}')
    np.random.seed(seed)
    torch.manual_seed(seed)
    model = build_model()
    uses_torch = _is_torch(model)
    loaders = torch_data.get_dataloader(torch_data.cifar10_datasets(data_dir), batch_size, return_numpy=not uses_torch)
    steps_per_epoch = len(loaders['train'])
    if steps_per_epoch == 0:
        raise ValueError(f'batch_size {batch_size} is larger than the training split '
                         f'({len(loaders["train"].dataset)} images)')
    step_on = _torch_steps(model, lr) if uses_torch else _numpy_steps(model, lr)
    epoch_losses = []
    kept = {'batches': None, 'step': 0, 'epoch_loss': 0.0, 'val_accuracies': [], 'best': None, 'best_epoch': None}

    def train_step(step):
        if (step - 1) % steps_per_epoch == 0:
            kept['batches'] = iter(loaders['train'])
        loss, accuracy = step_on(*next(kept['batches']))
        kept['step'], kept['epoch_loss'] = step, kept['epoch_loss'] + loss
        return loss, accuracy

    def evaluate_splits():
        results = {name: evaluate(model, loaders[name]) for name in ('validation', 'test')}
        if kept['step'] % steps_per_epoch == 0:  # the evaluation after an epoch (the loop also evaluates at step 1)
            epoch_losses.append(kept['epoch_loss'] / steps_per_epoch)
            kept['epoch_loss'] = 0.0
            kept['val_accuracies'].append(results['validation']['accuracy'])
            if kept['best'] is None or kept['val_accuracies'][-1] > max(kept['val_accuracies'][:-1]):
                kept['best'], kept['best_epoch'] = _snapshot(model), len(kept['val_accuracies'])
        return {name: (result['loss'], result['accuracy']) for name, result in results.items()}

    record = dict(config or dict(lr=lr, batch_size=batch_size, epochs=epochs, seed=seed, data_dir=data_dir),
                  max_steps=epochs * steps_per_epoch, steps_per_epoch=steps_per_epoch, dataset='cifar10',
                  data_fingerprint=datasets.fingerprint('cifar10', torch_data.cifar10_folder(data_dir)))
    with tempfile.TemporaryDirectory() as scratch:
        folder = output_dir or scratch
        run_files.prepare_output_dir(folder, overwrite)
        with training_loop.training_into(folder, overwrite):
            metrics = training_loop.train(record, train_step, evaluate_splits, epochs * steps_per_epoch,
                                          steps_per_epoch, folder, curves=output_dir is not None)
            test = evaluate(kept['best'], loaders['test'])
            logging_dict = {**metrics, 'val_accuracies': kept['val_accuracies'], 'train_loss_per_epoch': epoch_losses,
                            'best_epoch': kept['best_epoch'],
                            'test_metrics': {name: np.asarray(value).tolist() for name, value in test.items()}}
            # what the loop wrote, with what came after it, while the folder is still this run's
            run_files.write_atomically(os.path.join(folder, 'metrics.json'),
                                       lambda path: run_files.write_json(path, logging_dict))
    return kept['best'], kept['val_accuracies'], test['accuracy'], logging_dict


def _snapshot(model):
    """A copy of the model as it is, holding no batch."""
    if not _is_torch(model):
        model.clear_cache()
    return copy.deepcopy(model)


def _numpy_steps(model, lr):
    loss_module = CrossEntropyModule()
    return lambda x, y: sgd_train_step(model, loss_module, x.reshape(len(x), -1), y, lr)


def _torch_steps(model, lr):
    device = torch_data.resolve_device('auto')
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    def step(x, y):
        x, y = x.to(device), y.to(device)
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item(), (logits.argmax(dim=1) == y).float().mean().item()
    return step


DESCRIPTIONS = {'train_mlp_numpy': 'Train the NumPy MLP on CIFAR-10 with SGD, by epochs.',
                'train_mlp_pytorch': 'Train the PyTorch MLP on CIFAR-10 with SGD, by epochs.'}


def parser(script):
    """The flags of the templates' train_mlp_numpy.py and train_mlp_pytorch.py (which adds --use_batch_norm), with
    BGU's and UvA's defaults, and the project's --output_dir and --overwrite."""
    parser = flags.ArgumentParser(prog=f'{script}.py', description=DESCRIPTIONS[script])
    parser.add_argument('--hidden_dims', type=flags.positive_int, nargs='*', default=[128],
                        help='hidden layer widths, space-separated ("--hidden_dims 256 128"); none for a linear model')
    if script == 'train_mlp_pytorch':
        parser.add_argument('--use_batch_norm', action='store_true', help='batch norm after every hidden layer')
    parser.add_argument('--lr', type=flags.positive_float, default=0.1, help='learning rate of SGD')
    parser.add_argument('--batch_size', type=flags.positive_int, default=128)
    parser.add_argument('--epochs', type=flags.positive_int, default=10)
    parser.add_argument('--seed', type=flags.seed, default=42)
    parser.add_argument('--data_dir', default=os.path.relpath(torch_data.PROJECT_CIFAR10),
                        help="the folder holding cifar-10-batches-py (default: the project's own copy, the root's "
                             "cifar10/)")
    parser.add_argument('--output_dir', default=f'runs/{script}', help='where metrics.json and curves.png go')
    parser.add_argument('--overwrite', action='store_true', help='replace the run that --output_dir already holds')
    return parser


def main(train, script, argv=None):
    """A face's command line: train(**script's flags) into --output_dir; a problem ends it in one line."""
    kwargs = vars(parser(script).parse_args(argv))
    folder, overwrite = kwargs.pop('output_dir'), kwargs.pop('overwrite')
    try:
        _, val_accuracies, test_accuracy, logging_dict = train(**kwargs, output_dir=folder, overwrite=overwrite)
    except training_loop.Diverged as error:
        sys.exit(f'error: {error}; try a smaller --lr. What was recorded is in {folder}')
    except KeyboardInterrupt:
        sys.exit(f'interrupted; what was recorded is in {folder}')
    except (ValueError, DataError) as error:
        sys.exit(f'error: {error}')
    print(f'best validation accuracy {max(val_accuracies):.4f} after epoch {logging_dict["best_epoch"]}; '
          f'its test accuracy {test_accuracy:.4f}; the run is in {folder}')
    return logging_dict
