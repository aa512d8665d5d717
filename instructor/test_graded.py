"""The graded checks: each test checks one thing a question asks for, against the template of the offering being
graded (instructor/course.py's RUBRIC says which tests make which question, and their points).

The instructor's grader runs them in a sandbox beside the submission's files; a student runs them on their own
work with `python -m pytest tests/test_graded.py`. The student's modules are imported inside each test, so that a
missing or broken module costs only the checks that need it. Numerical checks compare with central differences in
float64, within a relative error of 1e-5 as the course's own tests do.
"""
import importlib
import os
import pickle
import sys

import numpy as np
import pytest

# The offering and the folder holding its files; the grader sets them, the release writes a student's defaults.
OFFERING = os.environ.get('COURSE_OFFERING', 'uva2019')
CODE = os.path.abspath(os.environ.get('COURSE_CODE', os.path.join(os.path.dirname(__file__), '..')))
SUBMISSION = os.path.abspath(os.environ.get('COURSE_SUBMISSION', os.path.join(os.path.dirname(__file__), '..')))
if CODE not in sys.path:
    sys.path.insert(0, CODE)

ONE_HOT_TARGETS = OFFERING in ('uva2018', 'uva2019spring', 'uva2019', 'uva2020')
EPOCH_TEMPLATE = OFFERING in ('uva2021', 'uva2022', 'uva2023', 'uva2024', 'uva2025', 'bgu2023')
# evaluate_model returns the accuracy (a float) in these; a dict of confusion-matrix metrics in the other epoch ones
ACCURACY_TEMPLATE = OFFERING in ('uva2021', 'uva2024', 'uva2025')
NEG_SLOPE = {'neg_slope': 0.02} if OFFERING == 'uva2019' else {}  # the one step template with a --neg_slope


def student(name):
    """The submission's module `name`; an AssertionError when it comes from anywhere else."""
    if sys.path[0] != CODE:  # pytest's own path settings may have come first
        sys.path.insert(0, CODE)
    module = importlib.import_module(name)
    path = os.path.abspath(getattr(module, '__file__', '') or '')
    assert path.startswith(SUBMISSION + os.sep), f'{name} was imported from {path}, not from the submission'
    return module


def numerical_gradient(f, x, h=1e-5):
    """d f() / d x for a scalar function f of the float64 array x (nudged in place, then restored)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = f()
        x[i] = old - h
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def assert_close(analytic, numeric, what):
    analytic, numeric = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    assert analytic.size == numeric.size, f'{what} has {analytic.size} values, expected {numeric.size}'
    analytic = analytic.reshape(numeric.shape)
    error = np.abs(analytic - numeric).max() / max(np.abs(analytic).max(), np.abs(numeric).max(), 1e-12)
    assert error < 1e-5, f'{what}: relative error {error:.2g} against central differences (at most 1e-5)'


def targets(batch, classes, rng):
    labels = rng.integers(classes, size=batch)
    return np.eye(classes)[labels] if ONE_HOT_TARGETS else labels


def float64_linear(layer, rng):
    """The layer's parameters replaced by float64 values of their shapes, drawn from rng."""
    for name in ('weight', 'bias'):
        layer.params[name] = rng.standard_normal(np.shape(layer.params[name]))


def weight_shapes(in_features, out_features):
    """The layouts a LinearModule's weight may have: no template fixes it, and the course's tests take either."""
    return (out_features, in_features), (in_features, out_features)


def apply_weight(x, weight, in_features):
    """x times the weight, in whichever layout it is stored: (out, in) transposed, or (in, out) as it is."""
    return x @ weight if np.shape(weight)[0] == in_features else x @ np.transpose(weight)


# ---- the NumPy modules and MLP

def test_linear_forward():
    modules = student('modules')
    rng = np.random.default_rng(0)
    layer = modules.LinearModule(5, 4)
    assert np.shape(layer.params['weight']) in weight_shapes(5, 4), \
        'params["weight"] of LinearModule(5, 4) should have shape (out, in) = (4, 5), or (in, out) = (5, 4)'
    assert np.size(layer.params['bias']) == 4, 'params["bias"] should hold out_features values'
    float64_linear(layer, rng)
    x = rng.standard_normal((7, 5))
    expected = apply_weight(x, layer.params['weight'], 5) + np.reshape(layer.params['bias'], -1)
    assert_close(layer.forward(x), expected, 'LinearModule.forward')


def test_linear_backward():
    modules = student('modules')
    rng = np.random.default_rng(1)
    layer = modules.LinearModule(5, 4)
    float64_linear(layer, rng)
    x, dout = rng.standard_normal((7, 5)), rng.standard_normal((7, 4))
    layer.forward(x)
    dx = layer.backward(dout)

    def f():
        return (layer.forward(x) * dout).sum()

    assert_close(dx, numerical_gradient(f, x), 'dL/dx')
    for name in ('weight', 'bias'):
        assert_close(layer.grads[name], numerical_gradient(f, layer.params[name]), f'grads["{name}"]')


def activation(modules):
    """(the offering's activation module, its function y(x) as the template defines it)."""
    if OFFERING == 'uva2019':
        return modules.LeakyReLUModule(0.02), lambda x: np.where(x > 0, x, 0.02 * x)
    if OFFERING in ('uva2020', 'uva2022', 'uva2023', 'uva2024', 'uva2025'):
        alpha = 0.5 if OFFERING in ('uva2024', 'uva2025') else 1.0  # ELUModule(alpha) from 2024 on
        module = modules.ELUModule(alpha) if OFFERING in ('uva2024', 'uva2025') else modules.ELUModule()
        return module, lambda x: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))
    return (modules.RELUModule() if OFFERING == 'bgu2023' else modules.ReLUModule()), lambda x: np.maximum(x, 0)


def test_activation():
    modules = student('modules')
    rng = np.random.default_rng(2)
    module, function = activation(modules)
    x = rng.standard_normal((6, 5))
    x[np.abs(x) < 1e-3] = 0.5  # away from the kink, where central differences straddle it
    dout = rng.standard_normal((6, 5))
    assert_close(module.forward(x), function(x), f'{type(module).__name__}.forward')
    assert_close(module.backward(dout), numerical_gradient(lambda: (module.forward(x) * dout).sum(), x),
                 f'{type(module).__name__}.backward')


def test_softmax_backward():
    modules = student('modules')
    rng = np.random.default_rng(3)
    module = modules.SoftMaxModule()
    x, dout = rng.standard_normal((6, 5)), rng.standard_normal((6, 5))
    out = module.forward(x)
    assert_close(out, np.exp(x) / np.exp(x).sum(axis=1, keepdims=True), 'SoftMaxModule.forward')
    assert_close(module.backward(dout), numerical_gradient(lambda: (module.forward(x) * dout).sum(), x),
                 'SoftMaxModule.backward')


def test_cross_entropy():
    modules = student('modules')
    rng = np.random.default_rng(4)
    probabilities = rng.uniform(0.05, 1, size=(6, 5))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    t = targets(6, 5, rng)
    one_hot = t if ONE_HOT_TARGETS else np.eye(5)[t]
    loss = modules.CrossEntropyModule()
    assert float(loss.forward(probabilities, t)) == pytest.approx(-(one_hot * np.log(probabilities)).sum() / 6), \
        'CrossEntropyModule.forward should be the mean over the batch of -sum_k t_k log x_k'
    # backward(x, y) on a fresh module, as the course's tests call it: it has all it needs in its arguments
    assert_close(modules.CrossEntropyModule().backward(probabilities, t),
                 numerical_gradient(lambda: float(loss.forward(probabilities, t)), probabilities),
                 'CrossEntropyModule.backward')


def linear_layers(model, modules, seen=None):
    """Every modules.LinearModule that model holds, in the order its attributes list them."""
    seen = set() if seen is None else seen
    if id(model) in seen:
        return []
    seen.add(id(model))
    if isinstance(model, modules.LinearModule):
        return [model]
    children = (list(model.values()) if isinstance(model, dict) else list(model) if isinstance(model, (list, tuple))
                else list(vars(model).values()) if hasattr(model, '__dict__') else [])
    return [layer for child in children for layer in linear_layers(child, modules, seen)]


def test_mlp_numpy():
    modules, mlp_numpy = student('modules'), student('mlp_numpy')
    rng = np.random.default_rng(5)
    np.random.seed(5)
    model = mlp_numpy.MLP(8, [6, 4], 3, 0.02) if OFFERING == 'uva2019' else mlp_numpy.MLP(8, [6, 4], 3)
    layers = linear_layers(model, modules)
    sizes = [(8, 6), (6, 4), (4, 3)]
    assert len(layers) == 3 and all(np.shape(layer.params['weight']) in weight_shapes(*size)
                                    for layer, size in zip(layers, sizes)), \
        'MLP(8, [6, 4], 3) should hold LinearModules of 8->6, 6->4 and 4->3'
    # scaled to keep the probabilities away from 0, where any clipping of the loss would show
    for layer, (fan_in, _) in zip(layers, sizes):
        float64_linear(layer, rng)
        layer.params['weight'] /= np.sqrt(fan_in)
    x, t = rng.standard_normal((5, 8)), targets(5, 3, rng)
    out = model.forward(x)
    assert np.shape(out) == (5, 3) and np.allclose(np.sum(out, axis=1), 1), \
        'MLP.forward should return class probabilities (batch, n_classes)'
    # the cross-entropy's gradient as it should be: this checks the MLP, whose loss module has a check of its own
    one_hot = t if ONE_HOT_TARGETS else np.eye(3)[t]
    model.backward(-one_hot / np.asarray(out) / len(x))
    assert_close(layers[0].grads['weight'],
                 numerical_gradient(lambda: float(-(one_hot * np.log(model.forward(x))).sum() / len(x)),
                                    layers[0].params['weight']),
                 "the first layer's grads['weight'] after MLP.backward")


class _Scores:
    """A model whose class scores are the first ten values of each input."""

    def forward(self, x):
        return np.asarray(x).reshape(len(x), -1)[:, :10]

    __call__ = forward


def numpy_loader(images, labels, sizes):
    """A DataLoader as the template's get_dataloader(..., return_numpy=True) makes one: NumPy batches (of these
    sizes), and its `dataset` a TensorDataset, which a student may read too."""
    import torch
    bounds = np.cumsum([0, *sizes])
    return torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels)),
        batch_sampler=[list(range(start, end)) for start, end in zip(bounds[:-1], bounds[1:])],
        collate_fn=lambda batch: tuple(np.stack([np.asarray(item[i]) for item in batch]) for i in range(2)))


def test_evaluate_model():
    script = student('train_mlp_numpy')
    rng = np.random.default_rng(6)
    images, labels = rng.standard_normal((15, 3, 32, 32)), rng.integers(10, size=15)  # CIFAR-10's shape
    correct = int((images.reshape(15, -1)[:, :10].argmax(axis=1) == labels).sum())
    result = script.evaluate_model(_Scores(), numpy_loader(images, labels, (5, 3, 7)))
    accuracy = result if ACCURACY_TEMPLATE else result['accuracy']
    assert float(accuracy) == pytest.approx(correct / 15), \
        'evaluate_model should count every sample of the loader once, whatever the batch sizes'


def test_confusion_matrix():
    script = student('train_mlp_numpy')
    predictions = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.0, 0.3, 0.7]])
    matrix = np.asarray(script.confusion_matrix(predictions, np.array([0, 1, 2, 2])))
    # the template fixes no orientation: rows the true classes or the predicted ones, so long as the metrics agree
    expected = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 1]])
    assert matrix.tolist() in (expected.tolist(), expected.T.tolist()), \
        f'the counts of (true, predicted) class pairs should be {expected.tolist()} (or its transpose), got ' \
        f'{matrix.tolist()}'
    metrics = script.confusion_matrix_to_metrics(matrix)
    assert float(metrics['accuracy']) == pytest.approx(0.75)
    assert np.allclose(metrics['precision'], [1, 0.5, 1]) and np.allclose(metrics['recall'], [1, 1, 0.5])
    assert np.allclose(metrics['f1_beta'], [1, 2 / 3, 2 / 3])


def test_accuracy():
    script = student('train_mlp_numpy')
    predictions = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.0, 0.3, 0.7]])
    labels = np.array([0, 1, 2, 2])
    assert float(script.accuracy(predictions, np.eye(3)[labels] if ONE_HOT_TARGETS else labels)) == \
        pytest.approx(0.75), 'accuracy should be the share of rows whose largest prediction is the target class'


# ---- train(): a few steps on a tiny copy of the data, and what the template says it returns

def tiny_cifar10(folder, images=20):
    """A CIFAR-10 folder in the python layout the stand-in copy has (pickles of 'data' and 'labels'), of `images`
    random images in each of the five training batches and the test batch; returns its path."""
    rng = np.random.default_rng(9)
    os.makedirs(folder)
    for name in [f'data_batch_{i}' for i in range(1, 6)] + ['test_batch']:
        batch = {'batch_label': name, 'labels': rng.integers(10, size=images).tolist(),
                 'data': rng.integers(256, size=(images, 3072), dtype=np.uint8),
                 'filenames': [f'{i}.png' for i in range(images)]}
        with open(os.path.join(folder, name), 'wb') as file:
            pickle.dump(batch, file, protocol=4)
    with open(os.path.join(folder, 'batches.meta'), 'wb') as file:
        pickle.dump({'label_names': ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship',
                                     'truck']}, file, protocol=4)
    return str(folder)


def train_steps(name, network, tmp_path, monkeypatch, **flags):
    """A UvA 2018-2020 training script run as its students run it, `python name.py --max_steps 3 --batch_size 10
    --eval_freq 2 ...`, in a folder of its own: its own argparse, so that a flag a student added keeps its default.
    Its cifar10_utils.get_cifar10 (the student's copy, which may expect whole CIFAR-10 batch files) answers with the
    student's own DataSets of 200 training and 100 test images, so that a first batch or a test batch of a fixed size
    works too. It must run the network (module.Class, the student's) on a batch of 10 images at least three times."""
    import runpy
    module, name_of_class = network.split('.')
    network, batches = getattr(student(module), name_of_class), []
    forward = network.forward

    def counting_forward(self, x, *args, **kwargs):
        batches.append(len(x))
        return forward(self, x, *args, **kwargs)

    monkeypatch.setattr(network, 'forward', counting_forward)
    student(name)  # the script must come from the submission too
    utils = student('cifar10_utils')
    if hasattr(utils, 'DataSet'):
        rng = np.random.default_rng(9)

        def split(size):
            return utils.DataSet(rng.standard_normal((size, 3, 32, 32)).astype(np.float32),
                                 np.eye(10)[rng.integers(10, size=size)])
        data = {'train': split(200), 'validation': split(0), 'test': split(100)}
        monkeypatch.setattr(utils, 'get_cifar10', lambda *args, **kwargs: data)
    argv = [f'{name}.py', '--data_dir', tiny_cifar10(tmp_path / 'cifar-10-batches-py'), '--learning_rate', '1e-3',
            '--max_steps', '3', '--batch_size', '10', '--eval_freq', '2'] + [f'--{key}={value}'
                                                                             for key, value in flags.items()]
    monkeypatch.setattr(sys, 'argv', argv)
    monkeypatch.chdir(tmp_path)
    try:
        runpy.run_path(os.path.join(CODE, f'{name}.py'), run_name='__main__')
    except SystemExit as exit:  # a main() that ends with sys.exit(0) has run
        assert exit.code in (None, 0), f'{name}.py ended with {exit.code!r}'
    assert batches.count(10) >= 3, f'{name}.py should run {network.__name__} on 3 batches of --batch_size 10 images ' \
                                   f'(--max_steps 3), ran it on batches of {batches}'


def tiny_datasets():
    """{'train', 'validation', 'test'} of 60, 20 and 30 random images (3, 32, 32) and labels, in place of what the
    templates from UvA 2021 on load in get_cifar10, and shaped as it returns them: the training and validation
    splits Subsets of one dataset (random_split's), which has `classes` and `targets` as torchvision's CIFAR10 has."""
    import torch

    class Cifar(torch.utils.data.TensorDataset):
        classes = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

        @property
        def targets(self):
            return self.tensors[1].tolist()

    generator = torch.Generator().manual_seed(9)
    train, test = (Cifar(torch.randn(size, 3, 32, 32, generator=generator), torch.randint(10, (size,),
                                                                                        generator=generator))
                   for size in (80, 30))
    return {'train': torch.utils.data.Subset(train, range(60)),
            'validation': torch.utils.data.Subset(train, range(60, 80)), 'test': test}


def tensors_of(dataset):
    """(images, labels) of a TensorDataset or a Subset of one."""
    import torch
    if isinstance(dataset, torch.utils.data.Subset):
        images, labels = dataset.dataset.tensors
        indices = list(dataset.indices)
        return images[indices], labels[indices]
    return dataset.tensors


def parameters_of(model):
    """Copies of a NumPy MLP's (its LinearModules') or a PyTorch model's parameters."""
    import torch
    if isinstance(model, torch.nn.Module):
        return [parameter.detach().cpu().numpy().copy() for parameter in model.parameters()]
    return [np.array(layer.params[name]) for layer in linear_layers(model, student('modules'))
            for name in ('weight', 'bias')]


def same_parameters(these, those):
    """Whether two lists of parameters (parameters_of) hold the same values."""
    return all(np.array_equal(a, b) for a, b in zip(these, those))


def accuracy_of(model, dataset):
    """The accuracy of a NumPy MLP (probabilities) or a PyTorch one (logits) over a dataset of tiny_datasets."""
    import torch
    x, y = tensors_of(dataset)
    if isinstance(model, torch.nn.Module):  # flattened: the templates leave flattening to the training loop
        model.eval()
        with torch.no_grad():
            logits = model(x.flatten(1).to(next(model.parameters()).device))
            return (logits.argmax(dim=1).cpu() == y).float().mean().item()
    return float((np.asarray(model.forward(x.numpy().reshape(len(x), -1))).argmax(axis=1) == y.numpy()).mean())


def check_train_contract(name, tmp_path, monkeypatch, **arguments):
    """A train() of the templates from UvA 2021 on, over 2 epochs of tiny_datasets: one validation accuracy per
    epoch, the model that did best on validation returned, and its test accuracy. Where train() evaluates the
    validation split with evaluate_model, the validation accuracy evaluate_model reports falls with every model it
    has not seen before, so that the first epoch's model is the best, and the model returned must be that one."""
    data, script, states = tiny_datasets(), student(name), []
    monkeypatch.setattr(student('cifar10_utils'), 'get_cifar10', lambda *args, **kwargs: data)
    evaluate_model = script.evaluate_model

    def first_seen_is_best(model, data_loader, *args, **kwargs):
        result = evaluate_model(model, data_loader, *args, **kwargs)
        if len(data_loader.dataset) != len(data['validation']):
            return result
        state = parameters_of(model)
        seen = next((i for i, earlier in enumerate(states) if same_parameters(state, earlier)), None)
        if seen is None:
            seen = len(states)
            states.append(state)
        falling = 1 / (1 + seen)
        if isinstance(result, dict):
            return {**result, 'accuracy': falling}
        return (*result[:-1], falling) if isinstance(result, tuple) else falling

    monkeypatch.setattr(script, 'evaluate_model', first_seen_is_best)
    model, val_accuracies, test_accuracy, _ = script.train(
        hidden_dims=[8], lr=0.1, batch_size=10, epochs=2, seed=0, data_dir=str(tmp_path), **arguments)
    assert len(val_accuracies) == 2, f'train(..., epochs=2) should return one validation accuracy per epoch, got ' \
                                     f'{len(val_accuracies)}'
    if states:
        best = states[round(1 / max(map(float, val_accuracies))) - 1]
        assert same_parameters(parameters_of(model), best), \
            'the model returned should be the one that did best on the validation set, not the last'
    else:
        assert accuracy_of(model, data['validation']) == pytest.approx(max(map(float, val_accuracies))), \
            'the model returned should be the one that did best on the validation set'
    assert accuracy_of(model, data['test']) == pytest.approx(float(test_accuracy)), \
        "the test accuracy returned should be the returned model's"


def test_train_mlp_numpy(tmp_path, monkeypatch):
    if EPOCH_TEMPLATE:
        check_train_contract('train_mlp_numpy', tmp_path, monkeypatch)
    else:
        train_steps('train_mlp_numpy', 'mlp_numpy.MLP', tmp_path, monkeypatch, dnn_hidden_units='8', **NEG_SLOPE)


# ---- the PyTorch MLP

def pytorch_mlp(n_inputs, n_hidden, n_classes, use_batch_norm=False):
    mlp_pytorch = student('mlp_pytorch')
    if EPOCH_TEMPLATE:
        return mlp_pytorch.MLP(n_inputs, n_hidden, n_classes, use_batch_norm)
    if OFFERING == 'uva2019':
        return mlp_pytorch.MLP(n_inputs, n_hidden, n_classes, 0.02)
    return mlp_pytorch.MLP(n_inputs, n_hidden, n_classes)


def test_mlp_pytorch_layers():
    model = pytorch_mlp(12, [6, 5], 4)  # before torch: a missing module fails without the seconds torch takes
    import torch
    # the class's modules(), whatever a student's attributes are named (a list called `modules`, say)
    linears = [(m.in_features, m.out_features) for m in torch.nn.Module.modules(model)
               if isinstance(m, torch.nn.Linear)]
    assert linears == [(12, 6), (6, 5), (5, 4)], f'expected Linear layers 12->6, 6->5, 5->4, got {linears}'
    x1, x2 = torch.randn(8, 12), torch.randn(8, 12)
    with torch.no_grad():
        assert tuple(model(x1).shape) == (8, 4)
        affine_gap = (model(x1) + model(x2) - model(x1 + x2) - model(torch.zeros(8, 12))).abs().max()
    assert affine_gap > 1e-6 * model(x1).abs().max(), 'the MLP computes an affine map: no nonlinearity between layers'
    if EPOCH_TEMPLATE:
        normed = pytorch_mlp(12, [6, 5], 4, use_batch_norm=True)
        assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in torch.nn.Module.modules(normed)) == 2, \
            'use_batch_norm=True should put a BatchNorm1d after each hidden Linear layer'


def test_mlp_pytorch_step():
    import torch
    torch.manual_seed(0)
    model = pytorch_mlp(12, [16], 3)
    x, y = torch.randn(64, 12), torch.randint(3, (64,))
    # A large rate: the 2018-2020 templates start from weights of N(0, 1e-4^2), whose gradients are tiny at first
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    losses = []
    for _ in range(100):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], f'100 steps of SGD on one batch took the loss only from {losses[0]:.3f} ' \
                                         f'to {losses[-1]:.3f}'


def test_train_mlp_pytorch(tmp_path, monkeypatch):
    if EPOCH_TEMPLATE:
        check_train_contract('train_mlp_pytorch', tmp_path, monkeypatch, use_batch_norm=False)
    else:
        train_steps('train_mlp_pytorch', 'mlp_pytorch.MLP', tmp_path, monkeypatch, dnn_hidden_units='8', **NEG_SLOPE)


# ---- batch normalization (UvA 2018, 2019) or layer normalization (UvA 2020)

def norm_module(kind):
    """(the submission's module, its class named Custom<Norm><kind>, the expected normalisation of x (B, C))."""
    if OFFERING == 'uva2020':
        module = student('custom_layernorm')
        return module, getattr(module, f'CustomLayerNorm{kind}'), lambda x: _normalised(x, dim=1)
    module = student('custom_batchnorm')
    return module, getattr(module, f'CustomBatchNorm{kind}'), lambda x: _normalised(x, dim=0)


def _normalised(x, dim):
    mean = x.mean(dim, keepdim=True)
    return (x - mean) / ((x - mean).pow(2).mean(dim, keepdim=True) + 1e-5).sqrt()


def close(output, expected, atol):
    """output near expected, compared in float64 whatever dtype each has (a float64 output is right too)."""
    import torch
    output = torch.as_tensor(output).detach()
    assert output.shape == expected.shape, \
        f'the output has shape {tuple(output.shape)}, expected {tuple(expected.shape)}'
    return torch.allclose(output.double(), expected.detach().double(), atol=atol)


def test_norm_autograd_forward():
    import torch
    _, cls, expected = norm_module('Autograd')
    x = 3 * torch.randn(16, 5) + 2
    assert close(cls(5)(x), expected(x), atol=1e-4), 'the output is not the input normalised'


def test_norm_autograd_shape():
    import torch
    _, cls, _ = norm_module('Autograd')
    module = cls(5)
    module(torch.randn(16, 5))  # the right shape is taken (what it computes is the forward check's)
    try:
        module(torch.randn(16, 6))
    except NotImplementedError:
        raise
    except Exception:
        return
    pytest.fail('an input of 6 features for a module of 5 should be refused')


def norm_inputs():
    import torch
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(8, 5, dtype=torch.float64, generator=generator, requires_grad=True)
    gamma = (1 + 0.1 * torch.randn(5, dtype=torch.float64, generator=generator)).requires_grad_()
    beta = torch.randn(5, dtype=torch.float64, generator=generator, requires_grad=True)
    return x, gamma, beta


def test_norm_function_forward():
    _, function, expected = norm_module('ManualFunction')
    x, gamma, beta = norm_inputs()
    out = function.apply(x, gamma, beta, 1e-5)
    assert close(out, gamma * expected(x) + beta, atol=1e-8), \
        'the output is not gamma times the normalised input plus beta'


def test_norm_function_backward():
    import torch
    _, function, _ = norm_module('ManualFunction')
    x, gamma, beta = norm_inputs()
    assert torch.autograd.gradcheck(lambda x, g, b: function.apply(x, g, b, 1e-5), (x, gamma, beta),
                                    raise_exception=False), 'gradcheck failed for input, gamma or beta'


def test_norm_module():
    import torch
    _, cls, expected = norm_module('ManualModule')
    x = 3 * torch.randn(16, 5) + 2
    module = cls(5)
    out = module(x)
    assert close(out, expected(x), atol=1e-4), 'the output is not the input normalised'
    out.pow(2).sum().backward()
    assert all(p.grad is not None for p in module.parameters()) and len(list(module.parameters())) == 2, \
        'the module should hold gamma and beta as parameters, with gradients after backward'


# ---- the ConvNet of Table 1 (UvA 2020: of its Figure 5)

def test_convnet_layers():
    model = student('convnet_pytorch').ConvNet(3, 10)
    import torch
    if OFFERING == 'uva2020':
        return check_figure_5(model)
    layers = list(torch.nn.Module.modules(model))  # the class's method, whatever a student's attributes are named
    convs = [(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding)
             for m in layers if isinstance(m, torch.nn.Conv2d)]
    channels = [(3, 64), (64, 128), (128, 256), (256, 256), (256, 512), (512, 512), (512, 512), (512, 512)]
    assert convs == [(a, b, (3, 3), (1, 1), (1, 1)) for a, b in channels], f'Table 1 convolutions, got {convs}'
    # each of Table 1's conv blocks has its batch norm: PyTorch's, or the student's own module of part 3
    norms = [type(m).__name__ for m in layers[1:] if 'batchnorm' in type(m).__name__.lower()]
    assert len(norms) >= len(channels), f'Table 1 puts a batch norm in each of its {len(channels)} conv blocks, ' \
                                        f'found {len(norms)}'
    assert _max_pools(layers) == [((3, 3), (2, 2), (1, 1))] * 5, 'five 3x3 max-pools, stride 2, padding 1'
    linears = [(m.in_features, m.out_features) for m in layers if isinstance(m, torch.nn.Linear)]
    assert linears == [(512, 10)], linears


def _max_pools(layers):
    """(kernel, stride, padding) of each MaxPool2d, each as a pair whether it was given as an int or a tuple."""
    import torch

    def pair(value):
        return tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    return [tuple(pair(v) for v in (m.kernel_size, m.stride, m.padding))
            for m in layers if isinstance(m, torch.nn.MaxPool2d)]


def check_figure_5(model):
    """UvA 2020's pre-activation ResNet: its convolutions in any order (the figure fixes no way of building the
    blocks), five max-pools, a batch norm in each block and one before the linear layer."""
    import torch
    layers = list(torch.nn.Module.modules(model))  # the class's method, whatever a student's attributes are named
    convs = sorted((m.in_channels, m.out_channels, tuple(m.kernel_size), tuple(m.stride), tuple(m.padding))
                   for m in layers if isinstance(m, torch.nn.Conv2d))
    block = [(64, 1)] + [(128, 2), (256, 2), (512, 4)]
    expected = sorted([(3, 64, (3, 3), (1, 1), (1, 1))] + [(c, c, (3, 3), (1, 1), (1, 1)) for c, n in block
                                                           for _ in range(n)]
                      + [(a, 2 * a, (1, 1), (1, 1), (0, 0)) for a in (64, 128, 256)])
    assert convs == expected, f'Figure 5 convolutions (in, out, kernel, stride, padding), got {convs}'
    assert _max_pools(layers) == [((3, 3), (2, 2), (1, 1))] * 5, 'five 3x3 max-pools, stride 2, padding 1'
    # the one before the linear layer may normalise the 1x1 maps (BatchNorm2d) or the flattened features (BatchNorm1d)
    norms = [m.num_features for m in layers if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm1d))]
    assert sorted(norms) == sorted([64] + [128] * 2 + [256] * 2 + [512] * 5), \
        f'a batch norm in each of the 9 PreAct blocks and one of 512 features before the linear layer, got {norms}'
    linears = [(m.in_features, m.out_features) for m in layers if isinstance(m, torch.nn.Linear)]
    assert linears == [(512, 10)], linears


def test_convnet_forward():
    model = student('convnet_pytorch').ConvNet(3, 10)
    import torch
    assert tuple(model(torch.randn(2, 3, 32, 32)).shape) == (2, 10)


def test_train_convnet_pytorch(tmp_path, monkeypatch):
    train_steps('train_convnet_pytorch', 'convnet_pytorch.ConvNet', tmp_path, monkeypatch)


# ---- VU: the ReLU op of the autodiff engine

def test_relu_op_forward():
    autodiff = student('autodiff')
    x = np.random.default_rng(7).standard_normal((4, 3))
    out = autodiff.ReLU.do_forward(autodiff.TensorNode(x))
    assert np.array_equal(out.value, np.maximum(x, 0))


def test_relu_op_backward():
    autodiff = student('autodiff')
    rng = np.random.default_rng(8)
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    node = autodiff.TensorNode(x)
    loss = autodiff.Sum.do_forward(autodiff.ReLU.do_forward(node) * autodiff.TensorNode(g))
    loss.backward()
    assert_close(node.grad, g * (x > 0), 'the gradient through ReLU')


# A student's copy keeps only the checks of their offering (the release names them); the grader picks its own.
GRADED = None
if GRADED is not None:
    for _name in [name for name in globals() if name.startswith('test_') and name not in GRADED]:
        del globals()[_name]
