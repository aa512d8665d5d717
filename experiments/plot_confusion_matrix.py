"""Draw the test confusion matrix and the F-beta per class of a run of UvA 2022's template, from its metrics.json.

    python experiments/plot_confusion_matrix.py results/uva2022_mlp_numpy   # writes the two figures there

The run's train() recorded the test set's confusion matrix of the model it chose on validation, and the F-beta of
each class for beta = 0.1, 1 and 10 (its question 2.3); this draws confusion_matrix.png and f_beta.png from them.
"""
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import runkit
from cifar10_utils import CLASSES
from runkit import plots


def run(argv=None):
    """(confusion_matrix.png, f_beta.png) written into the run folder that argv names."""
    parser = runkit.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('run_dir', help='a run folder of uva2022_2023/train_mlp_numpy.py (its metrics.json)')
    run_dir = Path(parser.parse_args(argv).run_dir)
    try:
        metrics = json.loads((run_dir / 'metrics.json').read_text())
        confusion, f_beta = np.array(metrics['test_confusion_matrix'], dtype=int), metrics['test_f_beta']
    except FileNotFoundError:
        sys.exit(f'error: {run_dir} holds no metrics.json; expected the folder of a run of UvA 2022\'s template')
    except (ValueError, KeyError, TypeError) as error:
        sys.exit(f'error: {run_dir / "metrics.json"} holds no test confusion matrix and F-beta '
                 f'({type(error).__name__}: {error}); expected a run of uva2022_2023/train_mlp_numpy.py')
    paths = run_dir / 'confusion_matrix.png', run_dir / 'f_beta.png'
    runkit.write_atomically(paths[0], lambda temporary: plots.plot_confusion(
        {'confusion_matrix': confusion.tolist(), 'classes': CLASSES}, temporary))
    runkit.write_atomically(paths[1], lambda temporary: plots.plot_f_beta(f_beta, temporary))
    return paths


def main(argv=None):
    print('wrote', *run(argv))


if __name__ == '__main__':
    main()
