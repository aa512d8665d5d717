"""Train the autodiff engine's MLP with mini-batch SGD: the VU variant's experiment (question 9).

    python train_mlp_autodiff.py                         # VU's setting: synth data, one hidden layer of sigmoids
    python train_mlp_autodiff.py --activation relu       # the same with the ReLU op
    python train_mlp_autodiff.py --dataset mnist --epochs 5 --output_dir runs/mnist

One hidden layer four times as wide as the input (VU's choice) unless --dnn_hidden_units says otherwise,
LogSoftmax outputs, the mean cross-entropy (autodiff.logceloss), batches of 128, 20 epochs unless
--max_steps or --epochs says otherwise. On synth the 10,000 validation points are VU's held-out set; the
test split is 10,000 more points from the same distribution. Besides metrics.json and curves.png the run
writes its weights (model.npz) and, on synth, the learned decision boundary (decision_boundary.png).
"""
import os

import numpy as np

import autodiff
import cifar10_utils
import train_utils

DATASETS = ('synth', 'mnist', 'cifar10')
NUM_CLASSES = {'synth': cifar10_utils.SYNTH_CLASSES, 'mnist': 10, 'cifar10': len(cifar10_utils.CLASSES)}
VALIDATION_SIZES = {'synth': 10_000, 'mnist': 5_000, 'cifar10': 5_000}
DEFAULT_EPOCHS = 20
EVAL_BATCH = 1000


def build_parser():
    parser = train_utils.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--activation', choices=tuple(autodiff.ACTIVATIONS), default='sigmoid',
                        help='the hidden layers\' nonlinearity')
    parser.add_argument('--dnn_hidden_units', type=train_utils.int_list, default=None,
                        help='comma-separated hidden layer widths; default: one layer, four times the input size')
    train_utils.add_common_arguments(parser, learning_rate=0.1, max_steps=None, batch_size=128, eval_freq=None,
                                     output_dir='runs/train_mlp_autodiff', datasets=DATASETS)
    parser.set_defaults(preprocess=None, validation_size=None)
    return parser


def log_probabilities(model, x):
    """The model's output on a batch of inputs (n, ...) as a plain (n, classes) array; the graph is cleared."""
    out = model(autodiff.TensorNode(x.reshape(len(x), -1), requires_grad=False))
    out.clear()
    return out.value


def evaluate_split(model, dataset):
    """(mean cross-entropy, accuracy) over a whole split, in chunks of EVAL_BATCH (as evaluate.py predicts)."""
    total_loss = correct = 0.0
    for start in range(0, dataset.num_examples, EVAL_BATCH):
        labels = dataset.labels[start:start + EVAL_BATCH]
        out = log_probabilities(model, dataset.images[start:start + EVAL_BATCH])
        total_loss -= out[np.arange(len(labels)), labels].sum()
        correct += (out.argmax(axis=1) == labels).sum()
    return total_loss / dataset.num_examples, correct / dataset.num_examples


def blocked_hidden_units(model, x, below=0.01):
    """Over the points x: (hidden units whose activation passes less than `below` of the gradient at every point,
    all hidden units, share of (unit, point) pairs below it). The derivative is the activation op's own backward."""
    node, derivatives = autodiff.TensorNode(x, requires_grad=False), []
    for layer in model.layers[:-1]:
        node = autodiff.ACTIVATIONS[model.activation].do_forward(layer(node))
        derivatives.append(node.source.op.backward(node.source.context, np.ones_like(node.value)))
    node.clear()
    blocked = np.concatenate(derivatives, axis=1) < below
    return int(blocked.all(axis=0).sum()), blocked.shape[1], float(blocked.mean())


def save_model(model, config, path):
    """The weights and the flags in an .npz of plain arrays (train_utils.save_npz_model); load_model reads it."""
    arrays = {f'{name}_{i}': getattr(layer, name).value for i, layer in enumerate(model.layers)
              for name in ('weight', 'bias')}
    train_utils.save_npz_model(path, 'autodiff', config, arrays)


def load_model(path):
    """(the autodiff.MLP that save_model wrote into path, the run's flags); a ModelFileError when the file cannot
    be used."""
    kind, config, arrays = train_utils.load_npz_model(path)
    if kind != 'autodiff':
        raise train_utils.ModelFileError(f'{path} holds a {kind} model, not the autodiff engine\'s MLP')
    with train_utils.model_file_errors(path):
        hidden = config['dnn_hidden_units']
        train_utils.check_parameter_count(
            path, [arrays['weight_0'].shape[0], *hidden, arrays[f'bias_{len(hidden)}'].shape[1]],
            sum(array.size for name, array in arrays.items() if name.startswith(('weight_', 'bias_'))))
        model = autodiff.MLP(arrays['weight_0'].shape[0], hidden, arrays[f'bias_{len(hidden)}'].shape[1],
                             activation=config['activation'], dtype=arrays['weight_0'].dtype)
        for i, layer in enumerate(model.layers):
            for name in ('weight', 'bias'):
                if arrays[f'{name}_{i}'].shape != getattr(layer, name).shape:
                    raise ValueError(f'{name}_{i} is {arrays[f"{name}_{i}"].shape}, not {getattr(layer, name).shape}')
                getattr(layer, name).value = arrays[f'{name}_{i}']
    return model, config


def plot_decision_boundaries(panels, x, labels, path, split='validation', num_points=2000, extent=3.5):
    """One panel per (title, model) on synth: the model's probability of class 1 over the plane, its decision
    boundary (solid), the true boundary x^T Q x = 0.6 (dashed), and the first num_points of (x, labels), which
    are points of `split`."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    axis = np.linspace(-extent, extent, 241, dtype=np.float32)
    grid = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)
    quadratic_form = np.einsum('bi,ij,bj->b', grid, cifar10_utils.SYNTH_QUADRATIC_FORM, grid)
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels) + 1, 5.2), squeeze=False, layout='constrained')
    for ax, (title, model) in zip(axes[0], panels):
        probability = np.exp(log_probabilities(model, grid)[:, 1]).reshape(len(axis), len(axis))
        image = ax.contourf(axis, axis, probability, levels=np.linspace(0, 1, 11), cmap='RdBu_r', alpha=0.7)
        ax.contour(axis, axis, probability, levels=[0.5], colors='black', linewidths=1.5)
        ax.contour(axis, axis, quadratic_form.reshape(len(axis), len(axis)), levels=[cifar10_utils.SYNTH_THRESHOLD],
                   colors='black', linestyles='dashed', linewidths=1)
        ax.scatter(*x[:num_points].T, c=np.where(labels[:num_points] == 1, '#67000d', '#08306b'), s=3,
                   edgecolors='none')
        ax.set(title=title, xlabel='$x_1$', ylabel='$x_2$', xlim=(-extent, extent), ylim=(-extent, extent),
               aspect='equal')
    fig.colorbar(image, ax=axes[0].tolist(), label='predicted probability of class 1')
    fig.legend([Line2D([], [], color='black', linewidth=1.5), Line2D([], [], color='black', linestyle='dashed'),
                Line2D([], [], color='#67000d', marker='.', linestyle='none'),
                Line2D([], [], color='#08306b', marker='.', linestyle='none')],
               ['the network\'s boundary (p = 0.5)', f'the true boundary, $x^T Q x = {cifar10_utils.SYNTH_THRESHOLD}$',
                f'{split} point of class 1', 'of class 0'], loc='outside lower center', ncol=2, fontsize=9)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv=None):
    """The flags, with the defaults that depend on the dataset filled in."""
    args = build_parser().parse_args(argv)
    if args.max_steps is None and args.epochs is None:
        args.epochs = DEFAULT_EPOCHS
    if args.validation_size is None:
        args.validation_size = VALIDATION_SIZES[args.dataset]
    if args.preprocess is None and args.dataset != 'synth':
        args.preprocess = 'standardize'
    return args


def train(args, curves=True):
    """Train as the flags say; write metrics.json, curves.png (with curves) and model.npz. Returns (metrics, model,
    data)."""
    data = train_utils.load_data(args, one_hot=False)
    train_set = data['train']
    if args.eval_freq is None:
        args.eval_freq = train_set.num_examples // args.batch_size
    n_inputs = int(np.prod(train_set.images.shape[1:]))
    hidden = [4 * n_inputs] if args.dnn_hidden_units is None else args.dnn_hidden_units
    widths = [n_inputs, *hidden, NUM_CLASSES[args.dataset]]
    train_utils.check_room(args.output_dir, 8 * train_utils.check_network_size(widths), copies=2)  # float64
    model = autodiff.MLP(n_inputs, hidden, NUM_CLASSES[args.dataset], activation=args.activation, seed=args.seed)

    def train_step(step):
        x, labels = train_set.next_batch(args.batch_size)
        # A diverging run overflows on its way to NaN; the loop reports the NaN, so the warnings add nothing.
        with np.errstate(over='ignore', invalid='ignore'):
            out = model(autodiff.TensorNode(x.reshape(len(x), n_inputs), requires_grad=False))
            loss = autodiff.logceloss(out, labels)
            loss.backward()
            for parameter in model.parameters():
                parameter.value -= args.learning_rate * parameter.grad
        loss.zero_grad()
        loss.clear()
        return float(loss.value), float((out.value.argmax(axis=1) == labels).mean())

    def evaluate():
        return {name: evaluate_split(model, data[name]) for name in train_utils.held_out_splits(data)}

    config = {**vars(args), 'dnn_hidden_units': hidden}
    metrics = train_utils.train_and_report(
        config, train_step, evaluate, args, curves=curves,
        save_model=lambda folder: save_model(model, config, os.path.join(folder, 'model.npz')))
    return metrics, model, data


def main(argv=None):
    args = parse_args(argv)
    metrics, model, data = train(args)
    if args.dataset == 'synth':
        split = train_utils.held_out_splits(data)[0]
        title = f'{args.activation}: {split} accuracy {metrics[f"{split}_accuracy"][-1]:.4f}'
        plot_decision_boundaries([(title, model)], data[split].images, data[split].labels,
                                 os.path.join(args.output_dir, 'decision_boundary.png'), split)
    return metrics


if __name__ == '__main__':
    main()
