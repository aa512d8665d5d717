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
