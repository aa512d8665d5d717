"""What the training scripts share: flags, data loading, the loop, metrics.json and the curve plot."""
import argparse
import json
import math
import os
import sys
import time

from tqdm import tqdm

import cifar10_utils


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line instead of usage plus error."""

    def error(self, message):
        self.exit(2, f'{self.prog}: error: {message}\n')


def positive_int(text):
    value = _number(text, int)
    if value <= 0:
        raise argparse.ArgumentTypeError(f'expected a positive integer, got {text!r}')
    return value


def positive_float(text):
    value = _number(text, float)
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f'expected a positive number, got {text!r}')
    return value


def non_negative_float(text):
    value = _number(text, float)
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f'expected a number >= 0, got {text!r}')
    return value


def int_list(text):
    """'100,50' -> [100, 50]; '' -> [] (no hidden layer)."""
    parts = [part.strip() for part in text.split(',')] if text.strip() else []
    try:
        return [positive_int(part) for part in parts]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f'expected comma-separated positive integers such as 100,50, got {text!r}') from None


def _number(text, kind):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected {"an integer" if kind is int else "a number"}, '
                                         f'got {text!r}') from None


def add_common_arguments(parser, *, learning_rate, max_steps, batch_size, eval_freq, output_dir):
    """The flags every training script has, with the script's own defaults."""
    parser.add_argument('--learning_rate', type=positive_float, default=learning_rate, help='learning rate')
    parser.add_argument('--max_steps', type=positive_int, default=max_steps, help='number of training steps')
    parser.add_argument('--batch_size', type=positive_int, default=batch_size, help='mini-batch size')
    parser.add_argument('--eval_freq', type=positive_int, default=eval_freq,
                        help='evaluate on the test set every this many steps (and at the last)')
    parser.add_argument('--data_dir', default=os.path.join('cifar10', cifar10_utils.CIFAR10_FOLDER),
                        help='CIFAR-10 folder in the python layout (downloaded when missing)')
    parser.add_argument('--dataset', choices=cifar10_utils.DATASETS, default='cifar10',
                        help='cifar10, or a small synthetic stand-in for offline smoke runs')
    parser.add_argument('--seed', type=int, default=42, help='random seed (initialisation and batch order)')
    parser.add_argument('--output_dir', default=output_dir, help='where metrics.json and curves.png go')


def load_data(args, **kwargs):
    """The splits for args.dataset; a data problem ends the program with its one-line message."""
    try:
        data = cifar10_utils.load_dataset(args.dataset, args.data_dir, seed=args.seed, **kwargs)
    except cifar10_utils.DataError as error:
        sys.exit(f'error: {error}')
    if args.batch_size > data['train'].num_examples:
        sys.exit(f'error: --batch_size {args.batch_size} is larger than the training set '
                 f'({data["train"].num_examples} examples)')
    return data


class Diverged(ArithmeticError):
    """The training loss is no longer finite."""


def train(config, train_step, evaluate, max_steps, eval_freq, output_dir):
    """Run train_step for max_steps steps, evaluate now and then, and write what was recorded.

    train_step(step) -> (loss, accuracy) of its batch, computed before the update;
    evaluate() -> {'test': (loss, accuracy), ...} for every held-out split.
    Evaluates after the first step, every eval_freq steps and after the last.
    metrics.json and curves.png are written even when the loss diverges or the run is interrupted,
    with 'status' saying which; a diverged run raises Diverged after writing.
    Returns the metrics dict.
    """
    metrics = {'config': config, 'status': 'running', 'steps': [], 'train_loss': [], 'train_accuracy': []}
    start = time.perf_counter()
    try:
        with tqdm(range(1, max_steps + 1), desc='training', unit='step', dynamic_ncols=True) as bar:
            for step in bar:
                loss, accuracy = train_step(step)
                if not math.isfinite(loss):
                    metrics['status'] = 'diverged'
                    metrics['diverged_at_step'] = step
                    raise Diverged(f'the training loss became {loss} at step {step}')
                if step == 1 or step % eval_freq == 0 or step == max_steps:
                    _record(metrics, step, {'train': (loss, accuracy), **evaluate()})
                    bar.set_postfix(loss=f'{loss:.3f}', test_acc=f'{metrics["test_accuracy"][-1]:.3f}')
        metrics['status'] = 'completed'
    except KeyboardInterrupt:
        metrics['status'] = 'interrupted'
        raise
    finally:
        if metrics['status'] == 'running':
            metrics['status'] = 'failed'
        metrics['wall_time_s'] = time.perf_counter() - start
        save_run(metrics, output_dir)
    return metrics


def _record(metrics, step, results):
    metrics['steps'].append(step)
    for split, (loss, accuracy) in results.items():
        metrics.setdefault(f'{split}_loss', []).append(float(loss))
        metrics.setdefault(f'{split}_accuracy', []).append(float(accuracy))


def save_run(metrics, output_dir):
    """Write metrics.json (with the summary figures) and curves.png into output_dir."""
    test = metrics.get('test_accuracy', [])
    metrics['final_test_accuracy'] = test[-1] if test else None
    metrics['best_test_accuracy'] = max(test) if test else None
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=1)
    plot_curves(metrics, os.path.join(output_dir, 'curves.png'))


def plot_curves(metrics, path):
    """Loss and accuracy against step, one line per split, side by side."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    splits = [split for split in ('train', 'validation', 'test') if f'{split}_loss' in metrics]
    labels = {'train': 'train (current batch)', 'validation': 'validation', 'test': 'test (whole set)'}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, quantity in zip(axes, ('loss', 'accuracy')):
        for split in splits:
            ax.plot(metrics['steps'], metrics[f'{split}_{quantity}'], marker='.', label=labels[split])
        ax.set_xlabel('training step')
        ax.set_ylabel('cross-entropy loss' if quantity == 'loss' else 'accuracy')
        ax.grid(alpha=0.3)
        ax.legend()
    title = os.path.basename(os.path.dirname(os.path.abspath(path)))
    if metrics.get('final_test_accuracy') is not None:
        title += f': final test accuracy {metrics["final_test_accuracy"]:.3f}'
    if metrics.get('status') not in (None, 'completed'):
        title += f' ({metrics["status"]})'
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
