"""The NumPy MLP end to end: every parameter's and the input's gradient of the loss, in float64."""
import numpy as np
import pytest
import torch

from gradient_check import numerical_gradient, relative_error
from mlp_numpy import MLP
from modules import (
    CrossEntropyModule,
    ELUModule,
    LeakyReLUModule,
    LinearModule,
    ReLUModule,
    SigmoidModule,
    SoftMaxModule,
)


def model_and_batch(n_hidden, batch=3, n_inputs=6, n_classes=4, seed=0, activation='leaky_relu'):
    model = MLP(n_inputs, n_hidden, n_classes, neg_slope=0.1, init='kaiming', seed=seed, dtype=np.float64,
                activation=activation)
    rng = np.random.default_rng(seed)
    for params, _ in model.parameters():
        params['bias'] = rng.standard_normal(params['bias'].shape)
    x = rng.standard_normal((batch, n_inputs))
    t = np.eye(n_classes)[rng.integers(n_classes, size=batch)]
    return model, x, t


def loss_and_gradients(model, x, t):
    loss = CrossEntropyModule()
    p = model.forward(x)
    dx = model.backward(loss.backward(p, t), input_grad=True)
    return loss.forward(p, t), dx


@pytest.mark.parametrize('n_hidden,batch,activation', [([5, 4], 3, 'leaky_relu'), ([7], 1, 'leaky_relu'),
                                                       ([], 2, 'leaky_relu'), ([5, 4], 3, 'sigmoid'),
                                                       ([5, 4], 3, 'elu'), ([5, 4], 3, 'relu')],
                         ids=['two hidden layers', 'batch of one', 'logistic regression', 'sigmoid', 'elu', 'relu'])
def test_mlp_gradients_match_finite_differences(n_hidden, batch, activation):
    model, x, t = model_and_batch(n_hidden, batch, activation=activation)
    _, dx = loss_and_gradients(model, x, t)
    def loss():
        return CrossEntropyModule().forward(model.forward(x), t)

    assert relative_error(dx, numerical_gradient(loss, x)) < 1e-7
    for params, grads in model.parameters():
        for name in params:
            assert relative_error(grads[name], numerical_gradient(loss, params[name])) < 1e-7


def test_mlp_gradients_match_torch_autograd():
    model, x, t = model_and_batch([5, 4])
    loss, dx = loss_and_gradients(model, x, t)

    x_torch = torch.tensor(x, requires_grad=True)
    h, weights = x_torch, []
    linears = [layer for layer in model.layers if isinstance(layer, LinearModule)]
    for i, layer in enumerate(linears):
        w = torch.tensor(layer.params['weight'], requires_grad=True)
        b = torch.tensor(layer.params['bias'], requires_grad=True)
        weights.append((w, b))
        h = torch.nn.functional.linear(h, w, b)
        if i < len(linears) - 1:
            h = torch.nn.functional.leaky_relu(h, 0.1)
    torch_loss = torch.nn.functional.cross_entropy(h, torch.tensor(t.argmax(axis=1)))
    torch_loss.backward()

    assert loss == pytest.approx(torch_loss.item(), rel=1e-12)
    np.testing.assert_allclose(dx, x_torch.grad.numpy(), rtol=1e-9, atol=1e-14)
    for layer, (w, b) in zip(linears, weights):
        np.testing.assert_allclose(layer.grads['weight'], w.grad.numpy(), rtol=1e-9, atol=1e-14)
        np.testing.assert_allclose(layer.grads['bias'], b.grad.numpy(), rtol=1e-9, atol=1e-14)


def test_sigmoid_hidden_layers_and_bad_activation():
    assert [type(layer) for layer in MLP(6, [5], 4, 0.0, activation='sigmoid').layers] == [
        LinearModule, SigmoidModule, LinearModule, SoftMaxModule]
    with pytest.raises(ValueError, match='activation must be one of'):
        MLP(6, [5], 4, 0.0, activation='tanh')


def test_the_templates_forms_of_the_mlp():
    # UvA 2018: MLP(n_inputs, n_hidden, n_classes) is ReLU; UvA 2020 on name their activation
    assert [type(layer) for layer in MLP(6, [5], 4).layers][1] is LeakyReLUModule
    assert MLP(6, [5], 4).layers[1].neg_slope == 0
    assert type(MLP(6, [5], 4, activation='relu').layers[1]) is ReLUModule
    assert type(MLP(6, [5], 4, activation='elu').layers[1]) is ELUModule
    # input_layer: the first layer's Kaiming scale is 1 / fan_in, the others' 2 / fan_in
    model = MLP(2000, [1000, 1000], 4, init='kaiming', seed=0, input_layer=True)
    stds = [params['weight'].std() for params, _ in model.parameters()]
    assert stds[0] == pytest.approx((1 / 2000) ** 0.5, rel=0.02)
    assert stds[1] == pytest.approx((2 / 1000) ** 0.5, rel=0.02)
    assert MLP(2000, [10], 4, init='kaiming', seed=0).parameters()[0][0]['weight'].std() == \
        pytest.approx((2 / 2000) ** 0.5, rel=0.02)


def test_without_a_seed_the_weights_come_from_numpys_global_generator():
    np.random.seed(3)
    first = MLP(6, [5], 4).parameters()[0][0]['weight']
    np.random.seed(3)
    assert np.array_equal(MLP(6, [5], 4).parameters()[0][0]['weight'], first)
    assert not np.array_equal(MLP(6, [5], 4).parameters()[0][0]['weight'], first)


def test_layer_structure():
    model = MLP(3072, [100, 50], 10, neg_slope=0.02)
    assert [type(layer) for layer in model.layers] == [
        LinearModule, LeakyReLUModule, LinearModule, LeakyReLUModule, LinearModule, SoftMaxModule]
    assert [params['weight'].shape for params, _ in model.parameters()] == [
        (100, 3072), (50, 100), (10, 50)]
    assert [type(layer) for layer in MLP(3072, [], 10, 0.02).layers] == [LinearModule, SoftMaxModule]


def test_probabilities_and_dtype():
    model = MLP(6, [5], 4, neg_slope=0.02, seed=0)
    p = model.forward(np.random.default_rng(0).standard_normal((8, 6)).astype(np.float32))
    assert p.shape == (8, 4) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)


def test_same_seed_same_weights_other_seed_other_weights():
    first, second, other = (MLP(6, [5], 4, 0.02, seed=seed) for seed in (1, 1, 2))
    np.testing.assert_array_equal(first.layers[0].params['weight'], second.layers[0].params['weight'])
    assert not np.array_equal(first.layers[0].params['weight'], other.layers[0].params['weight'])


@pytest.mark.parametrize('n_hidden', [[0], [-3], [2.5]])
def test_bad_widths_are_refused(n_hidden):
    with pytest.raises(ValueError, match='positive integers'):
        MLP(6, n_hidden, 4, 0.02)
