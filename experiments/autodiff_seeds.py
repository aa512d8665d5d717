"""VU question 9 across seeds: sigmoid against ReLU on VU's synth data, at our learning rate and at VU's steps.

    python experiments/autodiff_seeds.py       # writes results/autodiff_synth_seeds/ (about 6 minutes on two cores)

VU's vugrad sums the cross-entropy over a batch where this project takes the mean, so a learning rate r there
takes the steps that 128 r takes here on batches of 128: its training script's default 0.01 is our 1.28, and the
0.1 that its help text recommends for synth is our 12.8. Every run is train_mlp_autodiff.py with its defaults but
for --activation, --learning_rate and --seed (and --max_steps when given). The runs' own folders are temporary;
metrics.json keeps each run's flags, curves and dead hidden units, and the summary per activation and rate.
"""
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import cifar10_utils  # noqa: E402
import train_mlp_autodiff  # noqa: E402
import train_utils  # noqa: E402
from seed_spread import seed_list  # noqa: E402

ACTIVATIONS = ('sigmoid', 'relu')
LEARNING_RATES = (0.1, 1.28, 12.8)  # ours, and vugrad's default 0.01 and recommended 0.1 on its summed loss
STUCK = 0.6  # a run that ends below this validation accuracy predicts (nearly) one class for every point


def build_parser():
    parser = train_utils.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=seed_list, default=list(range(10)),
                        help='comma-separated seeds (default: 0, 1, ..., 9)')
    parser.add_argument('--max_steps', type=train_utils.positive_int, default=None,
                        help="train_mlp_autodiff.py's 20 epochs when not given")
    parser.add_argument('--output_dir', default='runs/autodiff_synth_seeds')
    parser.add_argument('--overwrite', action='store_true', help='replace the study that --output_dir already holds')
    return parser


def summarise(runs):
    """Per activation and learning rate: the final validation accuracies' mean, std, extremes, the stuck runs,
    and the runs whose hidden units are all dead (each blocks the gradient at every validation point)."""
    groups = []
    for activation in ACTIVATIONS:
        for learning_rate in LEARNING_RATES:
            group = [run for run in runs if (run['activation'], run['learning_rate']) == (activation, learning_rate)]
            if not group:
                continue
            finals = np.array([run['final_validation_accuracy'] for run in group])
            groups.append({'activation': activation, 'learning_rate': learning_rate, 'runs': len(finals),
                           'mean': finals.mean(), 'std': finals.std(ddof=1) if len(finals) > 1 else 0.0,
                           'min': finals.min(), 'max': finals.max(), 'stuck': int((finals < STUCK).sum()),
                           'all_units_dead': sum(run['dead_hidden_units'] == run['hidden_units'] for run in group)})
    return groups


def plot(study, path):
    """The final validation accuracy of every run, one column per activation and learning rate."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4))
    jitter = np.random.default_rng(0)
    for i, group in enumerate(study['groups']):
        finals = [run['final_validation_accuracy'] for run in study['runs']
                  if (run['activation'], run['learning_rate']) == (group['activation'], group['learning_rate'])]
        color = 'tab:blue' if group['activation'] == 'sigmoid' else 'tab:orange'
        ax.plot(i + jitter.uniform(-0.12, 0.12, len(finals)), finals, 'o', color=color, alpha=0.7)
    majority = study['validation_majority_share']
    ax.axhline(majority, color='grey', linestyle='--', label=f'always the majority class ({majority:.4f})')
    ax.axhline(1 - majority, color='grey', linestyle=':', label=f'always the minority class ({1 - majority:.4f})')
    ax.set_xticks(range(len(study['groups'])),
                  [f'{group["activation"]}\nlearning rate {group["learning_rate"]:g}' for group in study['groups']])
    ax.set_ylabel('final validation accuracy')
    ax.set_title(f'{len(study["config"]["seeds"])} seeds per column; 1.28 and 12.8 are vugrad\'s 0.01 and 0.1 '
                 f'(its loss is summed over the batch of 128)', fontsize=10)
    ax.grid(alpha=0.3, axis='y')
    ax.legend(fontsize=8, loc='center left')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    args = build_parser().parse_args(argv)
    train_utils.check_output_dir(args)
    runs, interrupted = [], False
    validation = cifar10_utils.get_synth(one_hot=False)['validation']
    planned = [(activation, learning_rate, seed) for activation in ACTIVATIONS for learning_rate in LEARNING_RATES
               for seed in args.seeds]
    with tempfile.TemporaryDirectory() as scratch:
        for activation, learning_rate, seed in planned:
            folder = os.path.join(scratch, f'{activation}_{learning_rate}_{seed}')
            flags = ['--activation', activation, '--learning_rate', str(learning_rate), '--seed', str(seed),
                     '--output_dir', folder]
            try:
                metrics, model, _ = train_mlp_autodiff.train(train_mlp_autodiff.parse_args(
                    flags + (['--max_steps', str(args.max_steps)] if args.max_steps else [])), curves=False)
            except train_utils.Interrupted:  # the finished runs are kept; the interrupted one was in scratch
                interrupted = True
                break
            dead, units, _ = train_mlp_autodiff.blocked_hidden_units(model, validation.images)
            runs.append({'activation': activation, 'learning_rate': learning_rate, 'seed': seed,
                         'config': metrics['config'], 'steps': metrics['steps'],
                         'validation_accuracy': metrics['validation_accuracy'],
                         'final_validation_accuracy': metrics['validation_accuracy'][-1],
                         'final_test_accuracy': metrics['final_test_accuracy'],
                         'dead_hidden_units': dead, 'hidden_units': units})
    validation_labels = validation.labels
    study = {'config': vars(args), 'status': 'interrupted' if interrupted else 'completed', 'stuck_below': STUCK,
             'validation_majority_share': float(max(validation_labels.mean(), 1 - validation_labels.mean())),
             'runs': runs, 'groups': summarise(runs)}
    train_utils.write_atomically(os.path.join(args.output_dir, 'metrics.json'),
                                 lambda path: train_utils.write_json(path, study))
    if runs:
        plot(study, os.path.join(args.output_dir, 'final_validation_accuracy.png'))
    if interrupted:
        sys.exit(f'interrupted after {len(runs)} of {len(planned)} runs; what they found is in {args.output_dir}')
    for group in study['groups']:
        print(f'{group["activation"]:7} learning rate {group["learning_rate"]:<4g}: final validation accuracy '
              f'{group["mean"]:.4f} ± {group["std"]:.4f} (range {group["min"]:.4f}-{group["max"]:.4f}), '
              f'{group["stuck"]} of {group["runs"]} stuck, {group["all_units_dead"]} with every hidden unit dead')
    return study


if __name__ == '__main__':
    main()
