"""Every kind of model the project trains, for evaluation: how each is built from a run's config, saved into a
run folder, loaded back safely (never unpickling code), and asked for class probabilities, in the batches its
training evaluated in, so that a reloaded model scores exactly what its run recorded; and the split a run was
evaluated on, rebuilt from its flags. The training scripts save their models through runkit.Run.

    path, kind = models.find('results/mlp_numpy')
    model, config = models.load(path, kind)
    predicted, probabilities = models.predict(kind, model, config, images)

The kinds: 'mlp_numpy' (mlp_numpy.MLP), 'autodiff' (autodiff.MLP), 'mlp_pytorch' (mlp_pytorch.MLP) and 'convnet'
(convnet_pytorch.ConvNet: the root's Table 1, or UvA 2020's Figure 5 where the config says network='preact_resnet').
The PyTorch kinds import torch when used, so that the NumPy ones run without it.
"""
import os

import numpy as np
from tqdm import tqdm

import cifar10_utils
import runkit
from cifar10_utils import DataError
from runkit import datasets, model_files
from runkit.model_files import ModelFileError

KINDS = ('mlp_numpy', 'autodiff', 'mlp_pytorch', 'convnet')
FILES = {'mlp_numpy': 'model.npz', 'autodiff': 'model.npz', 'mlp_pytorch': 'model.pt', 'convnet': 'model.pt'}
# Images per evaluation batch; None: a split in one product. The ConvNet's few hundred beat batches of 1000 by
# about 30% on the CPU (cache-sized activations).
EVAL_BATCH = {'mlp_numpy': None, 'autodiff': 1000, 'mlp_pytorch': 1000, 'convnet': 200}
NAMES = {'mlp_numpy': 'the NumPy MLP', 'autodiff': "the autodiff engine's MLP", 'mlp_pytorch': 'the PyTorch MLP',
         'convnet': 'the ConvNet'}


def raw_test_images(name, data_dir):
    """The test images of an image dataset as stored, (N, C, H, W) uint8, to show them; None for synth."""
    name = datasets.canonical(name)
    if name == 'cifar10':
        return cifar10_utils.load_batch(os.path.join(data_dir, cifar10_utils.TEST_FILE))[0]
    if name == 'mnist':
        vu_data = datasets.vu2021('vu_data')
        return vu_data.load_idx(os.path.join(data_dir, vu_data.MNIST_FILES['test'][0]), 3)[:, None]
    if name == 'fake_cifar10':
        return cifar10_utils.synthetic_test_images()
    return None


def own_copy(dataset):
    """The project's copy of a downloaded dataset, relative to the working folder; None for a generated one."""
    folder = datasets.DEFAULT_DATA_DIRS.get(dataset)
    return folder and os.path.relpath(os.path.join(runkit.ROOT, folder))


def located(dataset, data_dir, recorded):
    """data_dir, or the project's copy when data_dir is no folder from here and the copy is the data `recorded`
    (its fingerprint): a run records its data folder relative to where it ran, an offering's folder say."""
    copy = own_copy(dataset)
    if data_dir and not os.path.isdir(data_dir) and copy and recorded \
            and datasets.fingerprint(dataset, copy) == recorded:
        return copy
    return data_dir


def run_split(config, dataset=None, data_dir=None, split='test'):
    """(the run's test or validation DataSet as its preprocessing leaves it, integer labels; the data's provenance).
    The data's fingerprint must match the one the run recorded, when it recorded one and the dataset is the run's."""
    trained_on = datasets.canonical(config.get('dataset'))
    if trained_on not in datasets.DATASETS:
        raise DataError(f'the model file\'s flags name no dataset of this project ({trained_on!r})')
    dataset = datasets.canonical(dataset or trained_on)
    data_dir = data_dir or (config.get('data_dir') if dataset == trained_on else None) or own_copy(dataset)
    recorded = datasets.canonical_fingerprint(config.get('data_fingerprint'))
    data_dir = located(dataset, data_dir, recorded)
    preprocess = None if dataset == 'synth' else config.get('preprocess', 'mean_image')
    splits = datasets.load_dataset(dataset, data_dir, one_hot=False, preprocess=preprocess,
                                   validation_size=config.get('validation_size', 0))
    digest = datasets.fingerprint(dataset, data_dir)
    if recorded and dataset == trained_on and recorded != digest:
        raise DataError(f'the {dataset} data in {data_dir} (fingerprint {digest}) is not the data the run was '
                        f'trained on ({recorded}); give --data_dir the run\'s copy')
    if split == 'validation' and not splits[split].num_examples:
        raise DataError('the run holds out no validation split; train it with --validation_size')
    return splits[split], {'dataset': dataset, 'data_dir': data_dir, 'fingerprint': digest}


def build(kind, config, n_inputs, n_classes, seed=None, dtype=np.float32):
    """A freshly initialised model of `kind` for a run's config (its flags), taking n_inputs values per example."""
    hidden = config['dnn_hidden_units'] if kind != 'convnet' else None
    if kind == 'mlp_numpy':
        import mlp_numpy
        return mlp_numpy.MLP(n_inputs, hidden, n_classes, neg_slope=config.get('neg_slope', 0.0),
                             init=config.get('init', 'normal'), seed=seed, dtype=dtype,
                             activation=config.get('activation', 'leaky_relu'), input_layer=False)
    if kind == 'autodiff':
        return datasets.vu2021('autodiff').MLP(n_inputs, hidden, n_classes, activation=config['activation'],
                                               seed=seed, dtype=dtype)
    if kind == 'mlp_pytorch':
        from mlp_pytorch import MLP
        return MLP(n_inputs, hidden, n_classes, neg_slope=config.get('neg_slope', 0.0), batch_norm=config['batch_norm'],
                   dropout=config['dropout'], init=config['init'], activation=config.get('activation', 'leaky_relu'))
    if kind == 'convnet' and config.get('network') == 'preact_resnet':
        return _uva2020_convnet().ConvNet(3, n_classes)
    if kind == 'convnet':
        from convnet_pytorch import ConvNet
        return ConvNet(3, n_classes, batch_norm=config['batch_norm'])
    raise ValueError(f'kind must be one of {KINDS}, got {kind!r}')


def _uva2020_convnet():
    """UvA 2020's convnet_pytorch.py (its Figure 5's pre-activation ResNet), imported as uva2020_convnet_pytorch, so
    that it hides neither the root's convnet_pytorch nor is hidden by it."""
    return runkit.import_file('uva2020_convnet_pytorch', os.path.join(runkit.ROOT, 'uva2020', 'convnet_pytorch.py'))


def _numpy_arrays(kind, model):
    """{'weight_<i>', 'bias_<i>'} of a NumPy kind's layers, as its model.npz stores them (the autodiff MLP's weights
    are (inputs, outputs), the NumPy MLP's (outputs, inputs), as each computes)."""
    if kind == 'mlp_numpy':
        return {f'{name}_{i}': params[name] for i, (params, _) in enumerate(model.parameters()) for name in params}
    return {f'{name}_{i}': getattr(layer, name).value for i, layer in enumerate(model.layers)
            for name in ('weight', 'bias')}


def save(kind, model, config, folder):
    """The model and its run's config into folder/FILES[kind], atomically."""
    path = os.path.join(folder, FILES[kind])
    if FILES[kind] == 'model.npz':
        runkit.save_npz_model(path, kind, dict(config), _numpy_arrays(kind, model))
    else:
        model_files.save_torch_model(path, kind, dict(config), model)


def find(folder):
    """(path, kind) of a run folder's model file; a ModelFileError when there is none, two, or one of no kind here."""
    names = sorted(set(FILES.values()))
    paths = [os.path.join(folder, name) for name in names if os.path.exists(os.path.join(folder, name))]
    if not paths:
        raise ModelFileError(f'{folder} holds no model ({" or ".join(names)}); a training script of this project '
                             f'writes one at the end of a run')
    if len(paths) > 1:
        raise ModelFileError(f'{folder} holds both {" and ".join(names)}, the models of two runs; expected one, '
                             f'beside the metrics.json of its run')
    kind = (model_files.load_npz_model(paths[0])[0] if paths[0].endswith('.npz')
            else model_files.load_torch_file(paths[0])['kind'])
    if kind not in KINDS:
        raise ModelFileError(f'{paths[0]} holds a model of unknown kind {kind!r}; expected one of {", ".join(KINDS)}')
    return paths[0], kind


def load(path, kind):
    """(the model of `kind` in path, in eval mode for PyTorch, the run's config); a ModelFileError when the file
    cannot be read, holds another kind, or does not fit the network its config describes (checked before anything
    larger than the file is built)."""
    if FILES[kind] == 'model.npz':
        held, config, arrays = model_files.load_npz_model(path)
    else:
        loaded = model_files.load_torch_file(path)
        held, config = loaded['kind'], loaded['config']
    if held != kind:
        raise ModelFileError(f'{path} holds a {held} model, not {NAMES[kind]}')
    with model_files.model_file_errors(path):
        if FILES[kind] == 'model.npz':
            return _load_numpy(kind, path, config, arrays), config
        return _load_torch(kind, path, config, loaded['state_dict']), config


def _load_numpy(kind, path, config, arrays):
    hidden = config['dnn_hidden_units']
    first, last = arrays['weight_0'], arrays[f'bias_{len(hidden)}']
    # The NumPy MLP's weights are (outputs, inputs), the autodiff MLP's (inputs, outputs); biases likewise.
    n_inputs, n_classes = (first.shape[1], last.shape[0]) if kind == 'mlp_numpy' else (first.shape[0], last.shape[1])
    model_files.check_parameter_count(path, [n_inputs, *hidden, n_classes],
                                    sum(array.size for name, array in arrays.items()
                                        if name.startswith(('weight_', 'bias_'))))
    model = build(kind, config, n_inputs, n_classes, seed=0, dtype=first.dtype)
    for name, expected in _numpy_arrays(kind, model).items():
        if arrays[name].shape != expected.shape:
            raise ValueError(f'{name} is {arrays[name].shape}, not {expected.shape}')
    if kind == 'mlp_numpy':
        for i, (params, _) in enumerate(model.parameters()):
            for name in params:
                params[name] = arrays[f'{name}_{i}']
    else:
        for i, layer in enumerate(model.layers):
            for name in ('weight', 'bias'):
                getattr(layer, name).value = arrays[f'{name}_{i}']
    return model


def _load_torch(kind, path, config, state_dict):
    import torch
    if kind == 'mlp_pytorch':
        weights = [value for value in state_dict.values() if value.ndim == 2]
        widths = [weights[0].shape[1], *config['dnn_hidden_units'], weights[-1].shape[0]]
        model_files.check_parameter_count(path, widths, sum(weight.numel() + len(weight) for weight in weights))
        model = build(kind, config, weights[0].shape[1], weights[-1].shape[0])
    else:
        model = build(kind, config, 3 * 32 * 32, 10)
    model_files.load_state(model, state_dict, path)
    if kind == 'convnet':
        model = model.to(memory_format=torch.channels_last if config['channels_last'] else torch.contiguous_format)
    return model.eval()


def n_inputs(kind, model):
    """How many values per example the model takes."""
    if kind == 'convnet':
        return 3 * 32 * 32
    return model.n_inputs if kind == 'mlp_pytorch' else model.layers[0].in_features


def first_layer(kind, model):
    """The first layer's weights as (units, inputs), to show them as images; None for the ConvNet."""
    if kind == 'mlp_numpy':
        return model.layers[0].params['weight']
    if kind == 'autodiff':
        return model.layers[0].weight.value.T
    if kind == 'mlp_pytorch':
        return model.layers[0].weight.detach().cpu().numpy()
    return None


def log_probabilities(model, x):
    """The autodiff MLP's output on a batch of inputs (n, ...) as a plain (n, classes) array; the graph is cleared."""
    out = model(datasets.vu2021('autodiff').TensorNode(x.reshape(len(x), -1), requires_grad=False))
    out.clear()
    return out.value


def blocked_hidden_units(model, x, below=0.01):
    """Over the points x, for the autodiff MLP: (hidden units whose activation passes less than `below` of the
    gradient at every point, all hidden units, share of (unit, point) pairs below it). The derivative is the
    activation op's own backward."""
    autodiff = datasets.vu2021('autodiff')
    node, derivatives = autodiff.TensorNode(x, requires_grad=False), []
    for layer in model.layers[:-1]:
        node = autodiff.ACTIVATIONS[model.activation].do_forward(layer(node))
        derivatives.append(node.source.op.backward(node.source.context, np.ones_like(node.value)))
    node.clear()
    blocked = np.concatenate(derivatives, axis=1) < below
    return int(blocked.all(axis=0).sum()), blocked.shape[1], float(blocked.mean())


def as_model_input(config, images, device='cpu'):
    """(images (N, C, H, W) as a tensor on device in the memory format of a PyTorch run's config, the bfloat16 dtype
    when the run trained under autocast or else None): what its evaluations fed the model."""
    import torch
    memory_format = torch.channels_last if config.get('channels_last') else torch.contiguous_format
    return (torch.from_numpy(images).to(device).contiguous(memory_format=memory_format),
            torch.bfloat16 if config.get('amp') else None)


def predict(kind, model, config, images, device='cpu'):
    """(predicted classes, class probabilities (N, classes)). The predictions are the argmax of what the run's
    evaluation takes it of (probabilities, log-probabilities or logits), in its batches and dtype, so that on the
    machine and device the run was trained on the accuracy equals the run's final test accuracy. For the ConvNet,
    config's tta and tta_shift name the views averaged over (torch_data.views)."""
    batch_size = EVAL_BATCH[kind] or len(images)
    starts = tqdm(range(0, len(images), batch_size), desc='predicting', unit='batch', dynamic_ncols=True)
    if kind == 'mlp_numpy':
        flat = images.reshape(len(images), -1)
        probabilities = np.concatenate([model.forward(flat[start:start + batch_size]) for start in starts])
        return probabilities.argmax(axis=1), probabilities
    if kind == 'autodiff':
        scores = np.concatenate([log_probabilities(model, images[start:start + batch_size]) for start in starts])
        return scores.argmax(axis=1), np.exp(scores)
    import torch

    from runkit import torch_data
    model.to(device)
    x, autocast_dtype = as_model_input(config, images, device)
    with torch.inference_mode():
        logits = torch.cat([torch_data.predict(model, x[start:start + batch_size], autocast_dtype,
                                               mirror=config.get('tta', False), shift=config.get('tta_shift', 0))
                            for start in starts])
    return logits.argmax(dim=1).cpu().numpy(), torch.softmax(logits, dim=1).cpu().numpy()
