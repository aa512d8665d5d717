"""Train the autodiff engine's MLP with mini-batch SGD: the VU variant's experiment (question 9), with its flags,
train() and main().

    python train_mlp_autodiff.py                         # VU's data and network (synth, one hidden layer of sigmoids)
    python train_mlp_autodiff.py --learning_rate 1.28    # with vugrad's default step (0.01 on its summed loss)
    python train_mlp_autodiff.py --activation relu       # the same with the ReLU op
    python train_mlp_autodiff.py --dataset mnist --epochs 5 --output_dir runs/mnist

One hidden layer four times as wide as the input (VU's choice) unless --dnn_hidden_units says otherwise,
LogSoftmax outputs, the mean cross-entropy (autodiff.logceloss), batches of 128, 20 epochs unless
--max_steps or --epochs says otherwise. On synth the 10,000 validation points are VU's held-out set; the
test split is 10,000 more points from the same distribution. Besides metrics.json and curves.png the run
writes its weights (model.npz) and, on synth, the learned decision boundary (decision_boundary.png).
"""
import math
import os
import sys

import numpy as np

# The project's library (runkit) and data modules sit in the folder above, behind this one.
_root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root_dir not in sys.path:
    sys.path.insert(1, _root_dir)
import autodiff
import runkit
import vu_data
from runkit import datasets, flags, plots

DATASETS = ('synth', 'mnist', 'cifar10')
CLASSES = {'synth': vu_data.SYNTH_CLASSES, 'mnist': 10, 'cifar10': 10}
VALIDATION_SIZES = {'synth': 10_000, 'mnist': 5_000, 'cifar10': 5_000}
EPOCHS = 20
# Examples per evaluation batch (evaluate.py predicts in the same batches: runkit.models.EVAL_BATCH)
EVAL_BATCH_SIZE = 1000


def evaluate(model, split):
    """(mean cross-entropy, accuracy) of the model over a whole split (a DataSet of integer labels), in batches."""
    total_loss = correct = 0.0
    for start in range(0, split.num_examples, EVAL_BATCH_SIZE):
        labels = split.labels[start:start + EVAL_BATCH_SIZE]
        x = split.images[start:start + EVAL_BATCH_SIZE].reshape(len(labels), -1)
        out = model(autodiff.TensorNode(x, requires_grad=False))
        out.clear()
        total_loss -= out.value[np.arange(len(labels)), labels].sum()
        correct += (out.value.argmax(axis=1) == labels).sum()
    return total_loss / split.num_examples, correct / split.num_examples


def train(config=None, run=None):
    """Train the engine's MLP with mini-batch SGD on --dataset, evaluating it on the validation and test splits every
    eval_freq steps (default: once per epoch).

    config: the flags, as parse_flags() returns them (default: their defaults); run: the runkit.Run that keeps the
    run (default: one that keeps it in memory). On synth, a run with a folder also draws the learned decision
    boundary there. Returns the run's metrics."""
    config = config or parse_flags([])
    run = run or runkit.Run()
    data, fingerprint = datasets.load(config, one_hot=False)
    n_inputs, n_classes = int(np.prod(data['train'].images.shape[1:])), CLASSES[config.dataset]
    hidden = [4 * n_inputs] if config.dnn_hidden_units is None else config.dnn_hidden_units
    config = flags.settle(config, data['train'].num_examples, fingerprint, dnn_hidden_units=hidden)
    # float64 weights in model.npz at most, and its temporary copy, checked before any is allocated
    run.check_room(8 * runkit.check_network_size([n_inputs, *hidden, n_classes]), copies=2)
    model = autodiff.MLP(n_inputs, hidden, n_classes, activation=config.activation, seed=config.seed)

    # A diverging run overflows on its way to NaN; the loop reports the NaN, so the warnings add nothing.
    with run.training('autodiff', config), np.errstate(over='ignore', invalid='ignore'):
        for step in run.progress(range(1, config.max_steps + 1)):
            x, labels = data['train'].next_batch(config.batch_size)
            out = model(autodiff.TensorNode(x.reshape(len(x), n_inputs), requires_grad=False))
            loss = autodiff.logceloss(out, labels)
            loss.backward()
            for parameter in model.parameters():  # plain SGD
                parameter.value -= config.learning_rate * parameter.grad
            loss.zero_grad()
            loss.clear()
            loss = float(loss.value)
            if not math.isfinite(loss):
                raise runkit.Diverged(loss, step)
            if run.evaluates(step):
                run.log(step, train=(loss, float((out.value.argmax(axis=1) == labels).mean())),
                        **{split: evaluate(model, data[split]) for split in datasets.held_out(data)})
        run.save_model({f'{name}_{i}': getattr(layer, name).value
                        for i, layer in enumerate(model.layers) for name in ('weight', 'bias')})
    if config.dataset == 'synth' and run.folder:
        split = datasets.held_out(data)[0]
        name = f'{config.activation}, lr {config.learning_rate:g}'  # in the panel's corner
        plots.plot_decision_boundaries([(name, model)], data[split].images, data[split].labels,
                                       os.path.join(run.folder, 'decision_boundary.png'), split)
    return run.metrics


def parse_flags(argv=None):
    """The flags as a frozen flags.Config, with VU's defaults for the dataset they name: 20 epochs, its validation
    split, standardised inputs but for synth."""
    parser = runkit.ArgumentParser(prog='train_mlp_autodiff.py', description="Train the autodiff engine's MLP with "
                                   "mini-batch SGD: the VU variant's experiment (question 9).")
    parser.add_argument('--activation', choices=tuple(autodiff.ACTIVATIONS), default='sigmoid',
                        help="the hidden layers' nonlinearity")
    parser.add_argument('--dnn_hidden_units', type=flags.int_list, default=None,
                        help='comma-separated hidden layer widths; default: one layer, four times the input size')
    parser.add_argument('--learning_rate', type=flags.positive_float, default=0.1, help='learning rate')
    parser.add_argument('--max_steps', type=flags.positive_int, default=None,
                        help=f'number of training steps (default: {EPOCHS} epochs)')
    parser.add_argument('--batch_size', type=flags.positive_int, default=128, help='mini-batch size')
    parser.add_argument('--eval_freq', type=flags.positive_int, default=None,
                        help='evaluate every this many steps (and after the first and the last); default: once per '
                             'epoch')
    parser.add_argument('--data_dir', default=None, help=flags.data_dir_help(DATASETS))
    flags.add_training_arguments(parser, DATASETS, preprocess=None, validation_size=None)
    runkit.add_run_arguments(parser, output_dir='runs/train_mlp_autodiff')
    config = flags.parse(parser, argv)
    return config.replace(
        epochs=EPOCHS if config.max_steps is None and config.epochs is None else config.epochs,
        validation_size=VALIDATION_SIZES[config.dataset] if config.validation_size is None else config.validation_size,
        preprocess='standardize' if config.preprocess is None and config.dataset != 'synth' else config.preprocess)


def main(argv=None):
    """Parse the flags, open the run in --output_dir and train; returns the run's metrics."""
    config = parse_flags(argv)
    with runkit.Run(config) as run:
        metrics = train(config, run)
    print(run.summary())
    return metrics


if __name__ == '__main__':
    main()
