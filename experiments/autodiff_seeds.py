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

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / 'vu2021')]
import runkit
import train_mlp_autodiff
import vu_data
from runkit import flags, models, plots

ACTIVATIONS = ('sigmoid', 'relu')
LEARNING_RATES = (0.1, 1.28, 12.8)  # ours, and vugrad's default 0.01 and recommended 0.1 on its summed loss
STUCK = 0.6  # a run that ends below this validation accuracy predicts (nearly) one class for every point


def build_parser():
    parser = runkit.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=flags.seed_list, default=list(range(10)),
                        help='comma-separated seeds (default: 0, 1, ..., 9)')
    parser.add_argument('--max_steps', type=flags.positive_int, default=None,
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


def train_runs(planned, max_steps, validation):
    """The runs of planned [(activation, learning rate, seed)], each summarised with its dead hidden units, in
    folders that are thrown away; (the summaries, whether a stop request ended the study before the last run)."""
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        for activation, learning_rate, seed in planned:
            argv = ['--activation', activation, '--learning_rate', str(learning_rate), '--seed', str(seed),
                    '--output_dir', os.path.join(scratch, f'{activation}_{learning_rate}_{seed}')]
            config = train_mlp_autodiff.parse_flags(argv + (['--max_steps', str(max_steps)] if max_steps else []))
            try:
                with runkit.Run(config, curves=False) as run:
                    metrics = train_mlp_autodiff.train(config, run)
            except runkit.Interrupted:  # the finished runs are kept; the interrupted one was in scratch
                return runs, True
            model, _ = models.load(os.path.join(run.folder, 'model.npz'), 'autodiff')
            dead, units, _ = models.blocked_hidden_units(model, validation.images)
            runs.append({'activation': activation, 'learning_rate': learning_rate, 'seed': seed,
                         'config': metrics['config'], 'steps': metrics['steps'],
                         'validation_accuracy': metrics['validation_accuracy'],
                         'final_validation_accuracy': metrics['validation_accuracy'][-1],
                         'final_test_accuracy': metrics['final_test_accuracy'],
                         'dead_hidden_units': dead, 'hidden_units': units})
    return runs, False


def run(argv=None):
    """Every activation, rate and seed's run, then the study's metrics.json and figure; returns the study. A stop
    request keeps what the finished runs found and ends the program in one line."""
    args = build_parser().parse_args(argv)
    runkit.prepare_output_dir(args.output_dir, args.overwrite)
    validation = vu_data.get_synth(one_hot=False)['validation']
    planned = [(activation, learning_rate, seed) for activation in ACTIVATIONS for learning_rate in LEARNING_RATES
               for seed in args.seeds]
    runs, interrupted = train_runs(planned, args.max_steps, validation)
    share = float(max(validation.labels.mean(), 1 - validation.labels.mean()))
    study = {'config': vars(args), 'status': 'interrupted' if interrupted else 'completed', 'stuck_below': STUCK,
             'validation_majority_share': share, 'runs': runs, 'groups': summarise(runs)}
    runkit.write_atomically(os.path.join(args.output_dir, 'metrics.json'), lambda path: runkit.write_json(path, study))
    if runs:
        plots.plot_autodiff_seeds(study, os.path.join(args.output_dir, 'final_validation_accuracy.png'))
    if interrupted:
        sys.exit(f'interrupted after {len(runs)} of {len(planned)} runs; what they found is in {args.output_dir}')
    return study


def main(argv=None):
    study = run(argv)
    for group in study['groups']:
        print(f'{group["activation"]:7} learning rate {group["learning_rate"]:<4g}: final validation accuracy '
              f'{group["mean"]:.4f} ± {group["std"]:.4f} (range {group["min"]:.4f}-{group["max"]:.4f}), '
              f'{group["stuck"]} of {group["runs"]} stuck, {group["all_units_dead"]} with every hidden unit dead')
    return study


if __name__ == '__main__':
    main()
