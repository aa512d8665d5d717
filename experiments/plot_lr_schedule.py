"""Draw the learning rate against epoch (or step) for a committed run, from its metrics.json config.

    python experiments/plot_lr_schedule.py results/mlp_pytorch_best   # writes lr_schedule.png there

The rate is recomputed with the same function the training used (optimisers.lr_factor), at every step.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import runkit
from runkit import plots


def run(argv=None):
    """lr_schedule.png written into the run folder that argv names; returns its path."""
    parser = runkit.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('run_dir', nargs='?', default='results/mlp_pytorch_best',
                        help='a PyTorch run folder (its metrics.json); lr_schedule.png goes there')
    run_dir = Path(parser.parse_args(argv).run_dir)
    try:
        config = json.loads((run_dir / 'metrics.json').read_text())['config']
        plots.plot_lr_schedule(config, run_dir / 'lr_schedule.png')
    except FileNotFoundError:
        sys.exit(f'error: {run_dir} holds no metrics.json; expected the folder of a PyTorch run')
    except (ValueError, KeyError, TypeError) as error:  # not JSON, or not the metrics of a run with a schedule
        sys.exit(f'error: {run_dir / "metrics.json"} is not the metrics of a PyTorch run with a learning-rate '
                 f'schedule ({type(error).__name__}: {error})')
    return run_dir / 'lr_schedule.png'


def main(argv=None):
    print(f'wrote {run(argv)}')


if __name__ == '__main__':
    main()
