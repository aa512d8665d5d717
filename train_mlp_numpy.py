"""Train the NumPy MLP on CIFAR-10 with mini-batch SGD.

    python train_mlp_numpy.py                      # the assignment's defaults
    python train_mlp_numpy.py --dnn_hidden_units 200,100 --learning_rate 1e-3 --output_dir results/deeper
"""
import os

import numpy as np

import train_utils
from mlp_numpy import MLP
from modules import CrossEntropyModule

EVAL_BATCH = None  # a held-out split is evaluated in one product (evaluate.py does the same)


def accuracy(predictions, targets):
    """Fraction of rows whose largest prediction is the target class.

    predictions: (batch, classes) scores or probabilities; targets: (batch, classes) one-hot.
    """
    return float((predictions.argmax(axis=1) == targets.argmax(axis=1)).mean())


def sgd_step(model, learning_rate):
    for params, grads in model.parameters():
        for name in params:
            params[name] -= learning_rate * grads[name]


def build_parser():
    parser = train_utils.ArgumentParser(description=__doc__.split('\n')[0])
    train_utils.add_mlp_arguments(parser, output_dir='runs/train_mlp_numpy')
    return parser


def prepare(args):
    """Data, model and loss for the parsed flags: (config, train_step, evaluate, saving) for train_utils.train,
    saving being its save_model (model.npz)."""
    data = train_utils.load_data(args)
    train_set = data['train']
    n_inputs = int(np.prod(train_set.images.shape[1:]))
    held_out = {name: (data[name].images.reshape(data[name].num_examples, n_inputs), data[name].labels)
                for name in train_utils.held_out_splits(data)}
    widths = [n_inputs, *args.dnn_hidden_units, train_set.labels.shape[1]]
    train_utils.check_room(args.output_dir, 4 * train_utils.check_network_size(widths), copies=2)
    model = MLP(n_inputs, args.dnn_hidden_units, train_set.labels.shape[1], args.neg_slope,
                init=args.init, seed=args.seed)
    loss_module = CrossEntropyModule()

    def train_step(step):
        x, t = train_set.next_batch(args.batch_size)
        # A diverging run overflows on its way to NaN; the loop reports the NaN, so the warnings add nothing.
        with np.errstate(over='ignore', invalid='ignore'):
            probabilities = model.forward(x.reshape(len(x), n_inputs))
            loss = loss_module.forward(probabilities, t)
            model.backward(loss_module.backward(probabilities, t))
            sgd_step(model, args.learning_rate)
        return float(loss), accuracy(probabilities, t)

    def evaluate():
        results = {}
        for name, (x, t) in held_out.items():
            probabilities = model.forward(x)
            results[name] = (loss_module.forward(probabilities, t), accuracy(probabilities, t))
        return results

    def save_model(folder):
        arrays = {f'{name}_{i}': params[name] for i, (params, _) in enumerate(model.parameters()) for name in params}
        train_utils.save_npz_model(os.path.join(folder, 'model.npz'), 'mlp_numpy', vars(args), arrays)

    return vars(args), train_step, evaluate, {'save_model': save_model}


def load_model(path):
    """(the MLP that a run's model.npz holds, the run's flags); a ModelFileError when the file cannot be read or
    does not fit the network its flags describe."""
    kind, config, arrays = train_utils.load_npz_model(path)
    if kind != 'mlp_numpy':
        raise train_utils.ModelFileError(f'{path} holds a {kind} model, not the NumPy MLP')
    with train_utils.model_file_errors(path):
        hidden = config['dnn_hidden_units']
        train_utils.check_parameter_count(
            path, [arrays['weight_0'].shape[1], *hidden, arrays[f'bias_{len(hidden)}'].shape[0]],
            sum(array.size for name, array in arrays.items() if name.startswith(('weight_', 'bias_'))))
        model = MLP(arrays['weight_0'].shape[1], hidden, arrays[f'bias_{len(hidden)}'].shape[0], config['neg_slope'],
                    seed=0, dtype=arrays['weight_0'].dtype)
        for i, (params, _) in enumerate(model.parameters()):
            for name in params:
                if arrays[f'{name}_{i}'].shape != params[name].shape:
                    raise ValueError(f'{name}_{i} is {arrays[f"{name}_{i}"].shape}, not {params[name].shape}')
                params[name] = arrays[f'{name}_{i}']
    return model, config


def main(argv=None):
    args = build_parser().parse_args(argv)
    config, train_step, evaluate, saving = prepare(args)
    return train_utils.train_and_report(config, train_step, evaluate, args, **saving)


if __name__ == '__main__':
    main()
