"""Sigmoid against ReLU in a deep NumPy MLP on two interleaved spirals: the vanishing gradient.

    python experiments/sigmoid_vs_relu.py        # writes results/sigmoid_vs_relu/{metrics.json,curves.png}

Both networks have the same widths, the same Kaiming-initialised weights (same seed), the same data and the
same batches of plain SGD; only the hidden activation differs. Every --eval_freq steps the run records the
loss and accuracy on the whole training and test sets and the Frobenius norm of every layer's weight gradient
of the whole-training-set loss; before training, also how much each hidden layer's activations vary across the
inputs. Takes a few seconds.
"""
import os
import sys
import time
from pathlib import Path

if __name__ == '__main__':
    # The matrices here have a few dozen columns: BLAS threads only contend (several times slower on 2 busy
    # cores). Set before numpy loads its BLAS; a module importing this one keeps its own setting.
    os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import runkit
from mlp_numpy import MLP
from modules import CrossEntropyModule, LinearModule
from runkit import flags, plots
from train_mlp_numpy import accuracy

# ReLU is LeakyReLU with slope 0.
ACTIVATIONS = {'sigmoid': dict(activation='sigmoid', neg_slope=0.0), 'relu': dict(neg_slope=0.0)}


def build_parser():
    parser = runkit.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--depth', type=flags.positive_int, default=6, help='hidden layers')
    parser.add_argument('--width', type=flags.positive_int, default=32, help='units per hidden layer')
    parser.add_argument('--learning_rate', type=flags.positive_float, default=0.05)
    parser.add_argument('--max_steps', type=flags.positive_int, default=4000)
    parser.add_argument('--batch_size', type=flags.positive_int, default=50)
    parser.add_argument('--eval_freq', type=flags.positive_int, default=50)
    parser.add_argument('--num_points', type=flags.positive_int, default=1000,
                        help='points per split (half per class)')
    parser.add_argument('--seed', type=flags.seed, default=0)
    parser.add_argument('--output_dir', type=Path, default=Path('runs/sigmoid_vs_relu'))
    parser.add_argument('--overwrite', action='store_true', help='replace the comparison --output_dir already holds')
    return parser


def spirals(num_points, rng, noise=0.05):
    """Two interleaved spirals of one and a half turns: x (num_points, 2), one-hot t (num_points, 2)."""
    labels = np.arange(num_points) % 2
    radius = rng.uniform(0.1, 1, num_points)
    angle = 3 * np.pi * radius + np.pi * labels
    x = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    x += noise * rng.standard_normal(x.shape)
    return x.astype(np.float32), np.eye(2, dtype=np.float32)[labels]


def make_network(activation, depth, width, seed):
    """depth hidden layers of width units; the seed fixes the weights whatever the activation."""
    return MLP(2, [width] * depth, 2, init='kaiming', seed=seed, **ACTIVATIONS[activation])


def loss_and_accuracy(p, t):
    return CrossEntropyModule().forward(p, t), accuracy(p, t)


def forward_backward(model, x, t):
    """Loss and accuracy on (x, t); fills every layer's grads."""
    p = model.forward(x)
    model.backward(CrossEntropyModule().backward(p, t))
    return loss_and_accuracy(p, t)


def sgd_step(model, learning_rate):
    """Plain SGD on every parameter of the model, whose grads backward has filled."""
    for params, grads in model.parameters():
        for name in params:
            params[name] -= learning_rate * grads[name]


def hidden_spread(model, x):
    """Per hidden layer, how much its activations vary across the inputs: the std over x, averaged over units."""
    spread = []
    for layer in model.layers[:-2]:
        x = layer.forward(x)
        if not isinstance(layer, LinearModule):
            spread.append(float(x.std(axis=0).mean()))
    return spread


def train(activation, args, data, stop=()):
    """Plain SGD; returns the recorded curves of one activation (step 0 is before the first update). A stop request
    (runkit.stop_requests) ends it after the current step, recorded, with status 'interrupted'."""
    model = make_network(activation, args.depth, args.width, args.seed)
    (x_train, t_train), (x_test, t_test) = data
    batches = np.random.default_rng(args.seed + 1)
    run = {'steps': [], 'train_loss': [], 'train_accuracy': [], 'test_loss': [], 'test_accuracy': [],
           'weight_grad_norms': [], 'hidden_spread_at_init': hidden_spread(model, x_train)}

    def record(step):
        train_results = forward_backward(model, x_train, t_train)   # the whole-training-set gradient
        test_results = loss_and_accuracy(model.forward(x_test), t_test)
        for key, value in zip(('train_loss', 'train_accuracy', 'test_loss', 'test_accuracy'),
                              (*train_results, *test_results)):
            run[key].append(float(value))
        run['steps'].append(step)
        run['weight_grad_norms'].append([float(np.linalg.norm(grads['weight'])) for _, grads in model.parameters()])

    start = time.perf_counter()
    record(0)
    run['status'] = 'completed'
    for step in range(1, args.max_steps + 1):
        batch = batches.choice(len(x_train), args.batch_size, replace=False)
        forward_backward(model, x_train[batch], t_train[batch])
        sgd_step(model, args.learning_rate)
        if step % args.eval_freq == 0 or step == args.max_steps or stop:
            record(step)
        if stop and step < args.max_steps:
            run['status'] = 'interrupted'
            break
    run['wall_time_s'] = time.perf_counter() - start
    run['final_test_accuracy'] = run['test_accuracy'][-1]
    return run


def experiment(args):
    """Both activations on the same spirals: the metrics.json dict. Ctrl-C or SIGTERM stops it after the current
    step, with what was recorded until then and status 'interrupted'."""
    rng = np.random.default_rng(args.seed)
    data = (spirals(args.num_points, rng), spirals(args.num_points, rng))
    runs = {}
    with runkit.stop_requests() as stop:
        for activation in ACTIVATIONS:
            runs[activation] = train(activation, args, data, stop)
            if stop:
                break
    return {'config': {**vars(args), 'output_dir': str(args.output_dir)},
            'status': 'interrupted' if stop else 'completed', 'runs': runs}


def run(argv=None):
    """Both activations, then metrics.json and curves.png; returns the metrics. A stop request writes what was
    recorded and ends the program in one line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.batch_size > args.num_points:
        parser.error(f'--batch_size {args.batch_size} is larger than the training set (--num_points {args.num_points})')
    runkit.prepare_output_dir(args.output_dir, args.overwrite)
    try:
        metrics = experiment(args)
    except KeyboardInterrupt:  # a second request: at once, in the middle of a step
        sys.exit(f'interrupted at once; nothing was written to {args.output_dir}')
    runkit.write_atomically(args.output_dir / 'metrics.json', lambda path: runkit.write_json(path, metrics))
    plots.plot_sigmoid_vs_relu(metrics, args.output_dir / 'curves.png')
    if metrics['status'] == 'interrupted':
        sys.exit(f'interrupted; what was recorded is in {args.output_dir}')
    return metrics


def main(argv=None):
    metrics = run(argv)
    for name, each in metrics['runs'].items():
        print(f'{name:>7}: final test accuracy {each["final_test_accuracy"]:.3f}, first-layer gradient norm '
              f'{each["weight_grad_norms"][0][0]:.2e} at step 0, {each["wall_time_s"]:.1f} s')
    return metrics


if __name__ == '__main__':
    main()
