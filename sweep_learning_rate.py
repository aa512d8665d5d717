"""Learning-rate study: the MLP with plain SGD at 9 learning rates from 1e-6 to 100 (log-spaced).

    python sweep_learning_rate.py                  # writes results/lr_sweep/

Each rate trains the BGU variant's network (one hidden layer of 128 ReLU units, Kaiming initialisation, batch 128,
standardised inputs) with train_mlp_pytorch.py and is judged on a validation split. Runs whose
loss stops being finite are recorded as diverged and drawn as such; the sweep carries on.
"""
import argparse
import os

import numpy as np

import cifar10_utils
import train_mlp_pytorch
import train_utils


def learning_rate_list(text):
    """Comma-separated positive learning rates, no two of which would share a run folder (lr_<rate>, 6 digits)."""
    rates = [train_utils.positive_float(value) for value in text.split(',')]
    folders = [run_folder_name(rate) for rate in rates]
    for i, folder in enumerate(folders):
        if folder in folders[:i]:
            raise argparse.ArgumentTypeError(f'{rates[folders.index(folder)]!r} and {rates[i]!r} would share the run '
                                             f'folder {folder}; expected rates that differ in 6 significant digits')
    return rates


def build_parser():
    parser = train_utils.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--learning_rates', type=learning_rate_list,
                        default=[float(f'{lr:.0e}') for lr in np.logspace(-6, 2, 9)],
                        help='comma-separated learning rates (default: 1e-6, 1e-5, ..., 100)')
    parser.add_argument('--epochs', type=train_utils.positive_float, default=5)
    parser.add_argument('--validation_size', type=train_utils.positive_int, default=5000)
    parser.add_argument('--dataset', choices=cifar10_utils.CIFAR10_DATASETS, default='cifar10')
    parser.add_argument('--data_dir', default=None, help="train_mlp_pytorch.py's default when not given")
    parser.add_argument('--seed', type=train_utils.seed, default=42)
    parser.add_argument('--output_dir', default='runs/lr_sweep')
    parser.add_argument('--overwrite', action='store_true', help='replace the sweep that --output_dir already holds')
    return parser


def run_flags(args, learning_rate):
    """The train_mlp_pytorch.py flags of one run of the sweep."""
    flags = ['--dnn_hidden_units', '128', '--neg_slope', '0', '--init', 'kaiming', '--batch_size', '128',
             '--preprocess', 'standardize',
             '--optimizer', 'sgd', '--learning_rate', str(learning_rate), '--epochs', str(args.epochs),
             '--eval_freq', '50', '--validation_size', str(args.validation_size), '--dataset', args.dataset,
             '--seed', str(args.seed), '--output_dir', run_folder(args, learning_rate)]
    return flags + (['--data_dir', args.data_dir] if args.data_dir else []) + ['--overwrite'] * args.overwrite


def run_folder_name(learning_rate):
    return f'lr_{learning_rate:g}'


def run_folder(args, learning_rate):
    return os.path.join(args.output_dir, run_folder_name(learning_rate))


def run_one(args, learning_rate):
    run_args = train_mlp_pytorch.build_parser().parse_args(run_flags(args, learning_rate))
    config, train_step, evaluate, saving = train_mlp_pytorch.prepare(run_args)
    metrics = train_utils.train_past_divergence(config, train_step, evaluate, run_args, **saving)
    validation = metrics.get('validation_accuracy', [])
    return {'learning_rate': learning_rate, 'status': metrics['status'],
            'diverged_at_step': metrics.get('diverged_at_step'),
            'best_validation_accuracy': max(validation) if validation else None,
            'steps': metrics['steps'], 'train_loss': metrics['train_loss']}


def plot_sweep(runs, output_dir):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    finished = [run for run in runs if run['status'] == 'completed']
    diverged = [run for run in runs if run['status'] == 'diverged']
    ax.plot([run['learning_rate'] for run in finished], [run['best_validation_accuracy'] for run in finished],
            'o-', label='best validation accuracy')
    if diverged:
        ax.plot([run['learning_rate'] for run in diverged], [0.0] * len(diverged), 'rx', markersize=10,
                mew=2, label='diverged (loss not finite)')
    ax.axhline(0.1, color='grey', linestyle=':', label='chance')
    ax.set_xscale('log')
    ax.set_xlabel('learning rate (plain SGD)')
    ax.set_ylabel('best validation accuracy')
    ax.set_ylim(-0.03, max([0.5] + [run['best_validation_accuracy'] or 0 for run in runs]) + 0.05)
    ax.grid(alpha=0.3, which='both')
    ax.legend()
    ax.set_title('Learning-rate sweep: MLP 3072-128-10, ReLU, batch 128')
    fig.tight_layout()
    fig.savefig(os.path.join(output_dir, 'validation_accuracy_vs_learning_rate.png'), dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    colors = plt.cm.tab10(np.arange(len(runs)) % 10)
    top = 4.0  # diverging losses explode; the axis stops here and marks where they left it
    for run, color in zip(runs, colors):
        label = f'lr {run["learning_rate"]:g}'
        if run['status'] == 'diverged':
            label += f' (diverged at step {run["diverged_at_step"]})'
            ax.plot([run['diverged_at_step']], [top], 'x', color=color, markersize=10, mew=2.5, clip_on=False)
        ax.plot(run['steps'], np.minimum(run['train_loss'], top), color=color, label=label)
    ax.set_xscale('log')
    ax.set_ylim(0, top)
    ax.set_xlabel('training step (log scale)')
    ax.set_ylabel('training loss (current batch)')
    ax.grid(alpha=0.3, which='both')
    ax.legend(fontsize=8, ncol=2)
    ax.set_title('Training loss of every learning rate', pad=14)
    fig.tight_layout()
    fig.savefig(os.path.join(output_dir, 'training_loss_per_learning_rate.png'), dpi=110)
    plt.close(fig)


def main(argv=None):
    args = build_parser().parse_args(argv)
    train_utils.check_output_dirs([args.output_dir] + [run_folder(args, rate) for rate in args.learning_rates],
                                  args.overwrite)
    runs = [run_one(args, learning_rate) for learning_rate in args.learning_rates]
    completed = [run for run in runs if run['status'] == 'completed']
    best = max(completed, key=lambda run: run['best_validation_accuracy'], default=None)
    sweep = {'config': vars(args), 'runs': runs,
             'best_learning_rate': best and best['learning_rate'],
             'best_validation_accuracy': best and best['best_validation_accuracy']}
    train_utils.write_atomically(os.path.join(args.output_dir, 'metrics.json'),
                                 lambda path: train_utils.write_json(path, sweep))
    plot_sweep(runs, args.output_dir)
    for run in runs:
        outcome = (f'best validation accuracy {run["best_validation_accuracy"]:.4f}' if run['status'] == 'completed'
                   else f'diverged at step {run["diverged_at_step"]}')
        print(f'lr {run["learning_rate"]:>8g}: {outcome}')
    return sweep


if __name__ == '__main__':
    main()
