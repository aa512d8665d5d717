"""Draw the learning rate against epoch (or step) for a committed run, from its metrics.json config.

    python experiments/plot_lr_schedule.py results/mlp_pytorch_best   # writes lr_schedule.png there

The rate is recomputed with the same function the training used (torch_utils.lr_factor), at every step.
"""
import json
import sys
from pathlib import Path

import matplotlib
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from torch_utils import lr_factor  # noqa: E402
from train_utils import ArgumentParser  # noqa: E402

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def plot(run_dir):
    """Write lr_schedule.png into run_dir from the config of the metrics.json there."""
    run_dir = Path(run_dir)
    config = json.loads((run_dir / 'metrics.json').read_text())['config']
    total = config['max_steps']
    steps_per_epoch = config.get('steps_per_epoch')  # not recorded by ConvNet runs before it was added
    steps = np.arange(total)
    rates = [config['learning_rate'] * lr_factor(config['lr_schedule'], step, total, config['warmup_steps'])
             for step in steps]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ax.plot(steps / steps_per_epoch if steps_per_epoch else steps, rates)
    ax.set_xlabel('epoch' if steps_per_epoch else 'training step')
    ax.set_ylabel('learning rate')
    ax.set_title(f'{config["lr_schedule"]} schedule, {config["warmup_steps"]} warm-up steps, '
                 f'peak {config["learning_rate"]:g}')
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(run_dir / 'lr_schedule.png', dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('run_dir', nargs='?', default='results/mlp_pytorch_best',
                        help='a PyTorch run folder (its metrics.json); lr_schedule.png goes there')
    run_dir = Path(parser.parse_args(argv).run_dir)
    try:
        plot(run_dir)
    except FileNotFoundError:
        sys.exit(f'error: {run_dir} holds no metrics.json; expected the folder of a PyTorch run')
    except (ValueError, KeyError, TypeError) as error:  # not JSON, or not the metrics of a run with a schedule
        sys.exit(f'error: {run_dir / "metrics.json"} is not the metrics of a PyTorch run with a learning-rate '
                 f'schedule ({type(error).__name__}: {error})')
    print(f'wrote {run_dir / "lr_schedule.png"}')


if __name__ == '__main__':
    main()
