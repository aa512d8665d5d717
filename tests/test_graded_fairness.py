"""The graded checks (instructor/test_graded.py) give what correct work earns whatever its own choices, and still
fail the real mistakes: each check run in-process on small implementations of our own, done another correct way
or with the mistake."""
import types

import numpy as np
import pytest
import torch

from instructor import test_graded


def graded_with(monkeypatch, offering='uva2019', **modules):
    """The checks as they run for `offering`, importing these objects as the student's modules."""
    monkeypatch.setattr(test_graded, 'OFFERING', offering)
    monkeypatch.setattr(test_graded, 'ONE_HOT_TARGETS', offering in ('uva2018', 'uva2019spring', 'uva2019',
                                                                      'uva2020'))
    monkeypatch.setattr(test_graded, 'ACCURACY_TEMPLATE', offering in ('uva2021', 'uva2024', 'uva2025'))
    monkeypatch.setattr(test_graded, 'student', lambda name: modules[name])
    return test_graded


class InOutLinear:
    """A LinearModule that stores its weight as (in, out): y = x W + b."""

    def __init__(self, in_features, out_features, transpose_in_backward=True):
        self.params = {'weight': 0.1 * np.random.randn(in_features, out_features), 'bias': np.zeros(out_features)}
        self.grads, self.transpose = {}, transpose_in_backward

    def forward(self, x):
        self.x = x
        return x @ self.params['weight'] + self.params['bias']

    def backward(self, dout):
        self.grads['weight'] = self.x.T @ dout if self.transpose else dout.T @ self.x
        self.grads['bias'] = dout.sum(axis=0)
        return dout @ self.params['weight'].T


def test_a_weight_stored_as_in_by_out_earns_the_linear_checks_and_a_wrong_gradient_does_not(monkeypatch):
    checks = graded_with(monkeypatch, modules=types.SimpleNamespace(LinearModule=InOutLinear))
    checks.test_linear_forward()
    checks.test_linear_backward()
    wrong = types.SimpleNamespace(LinearModule=lambda i, o: InOutLinear(i, o, transpose_in_backward=False))
    checks = graded_with(monkeypatch, modules=wrong)
    with pytest.raises(AssertionError):
        checks.test_linear_backward()


class _CrossEntropy:
    """The mean cross-entropy over class indices; with keep_state its backward reads what forward left behind."""

    def __init__(self, keep_state=False):
        self.keep_state = keep_state

    def forward(self, x, y):
        self.x, self.y = x, y
        return -np.log(x[np.arange(len(y)), y]).mean()

    def backward(self, x, y):
        x, y = (self.x, self.y) if self.keep_state else (x, y)
        grad = np.zeros_like(x)
        grad[np.arange(len(y)), y] = -1 / (x[np.arange(len(y)), y] * len(y))
        return grad


def test_a_cross_entropy_backward_that_needs_its_forward_first_fails_as_the_courses_tests_find(monkeypatch):
    checks = graded_with(monkeypatch, 'uva2022', modules=types.SimpleNamespace(CrossEntropyModule=_CrossEntropy))
    checks.test_cross_entropy()
    stateful = types.SimpleNamespace(CrossEntropyModule=lambda: _CrossEntropy(keep_state=True))
    checks = graded_with(monkeypatch, 'uva2022', modules=stateful)
    with pytest.raises(AttributeError):
        checks.test_cross_entropy()


def _metrics(confusion, beta=1.0, rows_are_predictions=False):
    confusion = np.asarray(confusion, dtype=float)
    if rows_are_predictions:
        confusion = confusion.T
    hits = np.diag(confusion)
    precision, recall = hits / confusion.sum(axis=0), hits / confusion.sum(axis=1)
    return {'accuracy': hits.sum() / confusion.sum(), 'precision': precision, 'recall': recall,
            'f1_beta': (1 + beta ** 2) * precision * recall / (beta ** 2 * precision + recall)}


def test_a_confusion_matrix_with_the_predictions_in_rows_earns_its_check_when_its_metrics_agree(monkeypatch):
    def confusion(predictions, targets):  # rows: the predicted class
        matrix = np.zeros((predictions.shape[1],) * 2)
        np.add.at(matrix, (predictions.argmax(axis=1), targets), 1)
        return matrix
    right = types.SimpleNamespace(confusion_matrix=confusion, confusion_matrix_to_metrics=lambda m, beta=1.0:
                                  _metrics(m, beta, rows_are_predictions=True))
    graded_with(monkeypatch, 'uva2022', train_mlp_numpy=right).test_confusion_matrix()
    mixed_up = types.SimpleNamespace(confusion_matrix=confusion, confusion_matrix_to_metrics=_metrics)
    with pytest.raises(AssertionError):  # precision and recall swapped
        graded_with(monkeypatch, 'uva2022', train_mlp_numpy=mixed_up).test_confusion_matrix()


def test_evaluate_model_gets_a_dataloader_whose_dataset_a_student_may_read(monkeypatch):
    def evaluate_model(model, data_loader):  # counts the samples from the loader's dataset
        correct = sum(int((model.forward(x).argmax(axis=1) == y).sum()) for x, y in data_loader)
        return correct / len(data_loader.dataset)
    graded_with(monkeypatch, 'uva2024', train_mlp_numpy=types.SimpleNamespace(
        evaluate_model=evaluate_model)).test_evaluate_model()

    def last_batch_only(model, data_loader):
        for x, y in data_loader:
            accuracy = float((model.forward(x).argmax(axis=1) == y).mean())
        return accuracy
    with pytest.raises(AssertionError):
        graded_with(monkeypatch, 'uva2024', train_mlp_numpy=types.SimpleNamespace(
            evaluate_model=last_batch_only)).test_evaluate_model()


class _ListNamedModules(torch.nn.Module):
    """A PyTorch MLP whose own list of layers is called `modules`, hiding nn.Module.modules on the instance."""

    def __init__(self, n_inputs, n_hidden, n_classes, *args):
        super().__init__()
        sizes = [n_inputs, *n_hidden, n_classes]
        self.layers = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.modules = list(self.layers)

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)


def test_a_list_attribute_named_modules_costs_no_points(monkeypatch):
    graded_with(monkeypatch, 'uva2018', mlp_pytorch=types.SimpleNamespace(MLP=_ListNamedModules)
                ).test_mlp_pytorch_layers()


class _Float64LayerNorm(torch.nn.Module):
    """A layer norm that computes in float64 and returns float64 for a float32 input."""

    def __init__(self, n_neurons, eps=1e-5):
        super().__init__()
        self.n_neurons, self.eps = n_neurons, eps
        self.gamma = torch.nn.Parameter(torch.ones(n_neurons))
        self.beta = torch.nn.Parameter(torch.zeros(n_neurons))

    def forward(self, x):
        if x.shape[1] != self.n_neurons:
            raise ValueError(f'expected {self.n_neurons} features, got {x.shape[1]}')
        x = x.double()
        mean, var = x.mean(1, keepdim=True), x.var(1, unbiased=False, keepdim=True)
        return self.gamma.double() * (x - mean) / (var + self.eps).sqrt() + self.beta.double()


def test_a_float64_output_and_a_forward_bug_are_judged_once_each(monkeypatch):
    layernorm = types.SimpleNamespace(CustomLayerNormAutograd=_Float64LayerNorm)
    checks = graded_with(monkeypatch, 'uva2020', custom_layernorm=layernorm)
    checks.test_norm_autograd_forward()
    checks.test_norm_autograd_shape()

    class Unnormalised(_Float64LayerNorm):  # refuses a wrong shape, but forgets to normalise
        def forward(self, x):
            super().forward(x)
            return x
    checks = graded_with(monkeypatch, 'uva2020', custom_layernorm=types.SimpleNamespace(
        CustomLayerNormAutograd=Unnormalised))
    with pytest.raises(AssertionError):
        checks.test_norm_autograd_forward()
    checks.test_norm_autograd_shape()  # the forward's bug is the forward check's, not the shape check's


STEP_SUBMISSION = {  # a UvA 2019 student's way: the course's loader, a flag of their own, fixed-size batches
    'cifar10_utils.py': '''import numpy as np


class DataSet:
    def __init__(self, images, labels):
        self.images, self.labels, self.start = images, labels, 0

    def next_batch(self, batch_size):
        if self.start + batch_size > len(self.images):
            self.start = 0
        self.start += batch_size
        return self.images[self.start - batch_size:self.start], self.labels[self.start - batch_size:self.start]


def get_cifar10(data_dir, one_hot=True, validation_size=0):
    raise RuntimeError('reads whole batch files of CIFAR-10: X.reshape(10000, 3, 32, 32)')
''',
    'mlp_numpy.py': '''import numpy as np


class MLP:
    def __init__(self, n_inputs, n_hidden, n_classes, neg_slope):
        self.weight = np.random.default_rng(0).standard_normal((n_inputs, n_classes)) * 1e-3

    def forward(self, x):
        scores = np.exp(x @ self.weight)
        return scores / scores.sum(axis=1, keepdims=True)
''',
    'train_mlp_numpy.py': '''import argparse

import cifar10_utils
from mlp_numpy import MLP

FLAGS = None


def train():
    data = cifar10_utils.get_cifar10(FLAGS.data_dir)
    model = MLP(3072, [int(FLAGS.dnn_hidden_units)], 10, FLAGS.neg_slope)
    assert FLAGS.optimizer == 'sgd'
    for step in range(FLAGS.max_steps):
        x, y = data['train'].next_batch(FLAGS.batch_size)
        model.forward(x.reshape(len(x), -1))
    x, y = data['test'].next_batch(100)  # a test batch of a fixed size
    model.forward(x.reshape(len(x), -1))


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    for flag, default in [('--dnn_hidden_units', '100'), ('--learning_rate', 2e-3), ('--max_steps', 1500),
                          ('--batch_size', 200), ('--eval_freq', 100), ('--neg_slope', 0.02),
                          ('--data_dir', 'cifar10'), ('--optimizer', 'sgd')]:
        parser.add_argument(flag, type=type(default), default=default)
    FLAGS, unparsed = parser.parse_known_args()
    train()
''',
}


def test_a_step_templates_script_runs_as_its_students_run_it(tmp_path):
    """The script's own argparse (a flag of the student's keeps its default), and the student's loader answering
    with its own DataSets (a loader that reads whole CIFAR-10 batch files, and a test batch of 100, work)."""
    from instructor import grade
    for name, text in STEP_SUBMISSION.items():
        (tmp_path / name).write_text(text)
    outcomes = grade.grade([str(tmp_path)], 'uva2019', questions=['1.2'], progress=False)[str(tmp_path)]
    train = next(o for o in outcomes if o.check.test == 'test_train_mlp_numpy')
    assert train.passed, train.reason


def test_2021s_stand_in_data_is_shaped_as_the_courses_loader_returns_it_and_flattened_for_a_pytorch_mlp():
    datasets = test_graded.tiny_datasets()
    assert datasets['train'].dataset.classes[0] == 'airplane' and len(datasets['validation']) == 20
    x, y = test_graded.tensors_of(datasets['validation'])
    assert x.shape == (20, 3, 32, 32) and y.shape == (20,)
    linear = torch.nn.Linear(3072, 10)  # an MLP that leaves flattening to its training loop, as templates allow
    assert 0 <= test_graded.accuracy_of(linear, datasets['test']) <= 1
