"""UvA 2020's train_mlp_numpy.py: training and evaluation of the NumPy MLP with ELU in its hidden layers, as this
template asks: its flags, accuracy(), train() and main().

    python train_mlp_numpy.py                      # the assignment's defaults
    python train_mlp_numpy.py --dnn_hidden_units 200,100 --learning_rate 1e-3 --output_dir results/deeper

The network is this folder's mlp_numpy.MLP (the root's, with ELU), each of its layers a forward and a hand-derived
backward in modules.py. The run is kept by runkit.Run (in the folder above): metrics.json and curves.png in
--output_dir at every evaluation, the trained model in model.npz, Ctrl-C stopping it between two steps.
"""
import math
import os
import sys

import numpy as np

_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:  # the library and the root's modules, behind this folder's
    sys.path.insert(1, _root_dir)

import runkit
from mlp_numpy import MLP
from modules import CrossEntropyModule
from runkit import datasets, flags

# Default constants
DNN_HIDDEN_UNITS_DEFAULT = '100'
LEARNING_RATE_DEFAULT = 1e-3
MAX_STEPS_DEFAULT = 1400
BATCH_SIZE_DEFAULT = 200
EVAL_FREQ_DEFAULT = 100

# The flags of a run, as the template's main() sets them; train() reads them when it is given none.
FLAGS = None


def accuracy(predictions, targets):
    """
    Computes the prediction accuracy, i.e. the average of correct predictions of the network.

    Args:
      predictions: 2D float array of size [batch_size, n_classes]
      targets: 2D int array of size [batch_size, n_classes] with one-hot encoding (or the class indices, 1D)
    Returns:
      accuracy: scalar float, the accuracy of predictions, i.e. the average correct predictions over the whole batch
    """
    targets = np.asarray(targets)
    labels = targets.argmax(axis=1) if targets.ndim == 2 else targets
    return float((predictions.argmax(axis=1) == labels).mean())


def evaluate(model, loss_module, images, targets):
    """(mean cross-entropy, accuracy) of the model over a whole split: images (N, n_inputs), one-hot targets."""
    probabilities = model.forward(images)
    return loss_module.forward(probabilities, targets), accuracy(probabilities, targets)


def train(config=None, run=None):
    """
    Performs training and evaluation of MLP model: mini-batch SGD, evaluating the model on the whole test set (and
    the validation split that --validation_size holds out) each eval_freq iterations.

    Args:
      config: the flags, as parse_flags() returns them (default: the template's FLAGS, its missing flags at their
              defaults)
      run: the runkit.Run that keeps the run (default: one that keeps it in memory)
    Returns:
      the run's metrics: the losses and accuracies of every evaluation, and how the run ended
    """
    config = config or parse_flags(FLAGS or [])
    run = run or runkit.Run()
    np.random.seed(config.seed)

    cifar10, fingerprint = datasets.load(config, one_hot=True)
    config = flags.settle(config, cifar10['train'].num_examples, fingerprint, activation='elu')
    held_out = {split: (cifar10[split].images.reshape(cifar10[split].num_examples, -1), cifar10[split].labels)
                for split in datasets.held_out(cifar10)}
    n_inputs, n_classes = held_out['test'][0].shape[1], cifar10['train'].labels.shape[1]
    # float32 weights in model.npz and its temporary copy, checked before any is allocated
    run.check_room(4 * runkit.check_network_size([n_inputs, *config.dnn_hidden_units, n_classes]), copies=2)
    model = MLP(n_inputs, config.dnn_hidden_units, n_classes, init=config.init, seed=config.seed)
    loss_module = CrossEntropyModule()

    # A diverging run overflows on its way to NaN; the loop reports the NaN, so the warnings add nothing.
    with run.training('mlp_numpy', config), np.errstate(over='ignore', invalid='ignore'):
        for step in run.progress(range(1, config.max_steps + 1)):
            x, t = cifar10['train'].next_batch(config.batch_size)
            x = x.reshape(len(x), -1)
            probabilities = model.forward(x)
            loss = loss_module.forward(probabilities, t)
            model.backward(loss_module.backward(probabilities, t))
            for params, grads in model.parameters():  # plain SGD
                for name in params:
                    params[name] -= config.learning_rate * grads[name]
            if not math.isfinite(loss):
                raise runkit.Diverged(loss, step)
            if run.evaluates(step):
                run.log(step, train=(loss, accuracy(probabilities, t)),
                        **{split: evaluate(model, loss_module, *arrays) for split, arrays in held_out.items()})
        run.save_model({f'{name}_{i}': params[name]
                        for i, (params, _) in enumerate(model.parameters()) for name in params})
    return run.metrics


def parse_flags(argv=None):
    """The flags as a frozen flags.Config: parsed from argv (default: the command line), or the template's FLAGS (an
    argparse Namespace, --dnn_hidden_units as its comma-separated text) with the flags it lacks at their defaults."""
    parser = runkit.ArgumentParser(prog='train_mlp_numpy.py', description='Train the NumPy MLP on CIFAR-10 with '
                                                                          'mini-batch SGD.')
    parser.add_argument('--dnn_hidden_units', type=flags.int_list, default=DNN_HIDDEN_UNITS_DEFAULT,
                        help='Comma separated list of number of units in each hidden layer (empty: none)')
    parser.add_argument('--learning_rate', type=flags.positive_float, default=LEARNING_RATE_DEFAULT,
                        help='Learning rate')
    parser.add_argument('--max_steps', type=flags.positive_int, default=MAX_STEPS_DEFAULT,
                        help='Number of steps to run trainer.')
    parser.add_argument('--batch_size', type=flags.positive_int, default=BATCH_SIZE_DEFAULT,
                        help='Batch size to run trainer.')
    parser.add_argument('--eval_freq', type=flags.positive_int, default=EVAL_FREQ_DEFAULT,
                        help='Frequency of evaluation on the test set (and after the first and the last step)')
    parser.add_argument('--data_dir', default=None, help=flags.data_dir_help(datasets.CIFAR10_DATASETS))
    group = parser.add_argument_group('the network beyond the template')
    group.add_argument('--init', choices=('normal', 'kaiming'), default='normal',
                       help="weight initialisation: N(0, 1e-4^2) as in the assignment, or Kaiming's")
    flags.add_training_arguments(parser)
    runkit.add_run_arguments(parser, output_dir='runs/train_mlp_numpy')
    return flags.parse(parser, argv)


def main(argv=None):
    """
    Main function: parses the flags, opens the run in --output_dir and trains; returns the run's metrics.
    """
    config = parse_flags(argv)
    with runkit.Run(config) as run:
        metrics = train(config, run)
    print(run.summary())
    return metrics


if __name__ == '__main__':
    main()
