"""Every module's backward against central differences and against torch autograd, in float64."""
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
    RELUModule,
    ReLUModule,
    SigmoidModule,
    SoftMaxModule,
)

TOL = 1e-7


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def linear(rng, in_features=5, out_features=4):
    layer = LinearModule(in_features, out_features, init='kaiming', rng=rng, dtype=np.float64)
    layer.params['bias'] = rng.standard_normal(out_features)
    return layer


ELEMENTWISE = {
    'leaky_relu': (lambda: LeakyReLUModule(0.1), lambda x: torch.nn.functional.leaky_relu(x, 0.1)),
    'relu': (ReLUModule, torch.relu),
    'sigmoid': (SigmoidModule, torch.sigmoid),
    'elu': (ELUModule, torch.nn.functional.elu),
    'elu_alpha': (lambda: ELUModule(0.5), lambda x: torch.nn.functional.elu(x, 0.5)),
    'softmax': (SoftMaxModule, lambda x: torch.softmax(x, dim=1)),
}


def check_input_gradient(module, x, rng):
    """Backward of sum(forward(x) * r) is r pushed back; compare with central differences."""
    r = rng.standard_normal(module.forward(x).shape)
    analytic = module.backward(r)
    numeric = numerical_gradient(lambda: (module.forward(x) * r).sum(), x)
    assert relative_error(analytic, numeric) < TOL
    return r, analytic


@pytest.mark.parametrize('name', ELEMENTWISE)
def test_elementwise_and_softmax_backward_match_finite_differences_and_torch(name, rng):
    make, torch_forward = ELEMENTWISE[name]
    module = make()
    x = rng.standard_normal((3, 6))
    x[np.abs(x) < 1e-3] = 0.5  # keep central differences away from the kink at 0
    r, analytic = check_input_gradient(module, x, rng)
    x_torch = torch.tensor(x, requires_grad=True)
    out = torch_forward(x_torch)
    np.testing.assert_allclose(module.forward(x), out.detach().numpy(), rtol=1e-12, atol=1e-12)
    out.backward(torch.tensor(r))
    np.testing.assert_allclose(analytic, x_torch.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_linear_backward_matches_finite_differences_and_torch(rng):
    layer = linear(rng)
    x = rng.standard_normal((3, 5))
    r, dx = check_input_gradient(layer, x, rng)
    layer.forward(x)
    layer.backward(r)
    for name, value in layer.params.items():
        numeric = numerical_gradient(lambda: (layer.forward(x) * r).sum(), value)
        assert layer.grads[name].shape == value.shape
        assert relative_error(layer.grads[name], numeric) < TOL

    weight = torch.tensor(layer.params['weight'], requires_grad=True)
    bias = torch.tensor(layer.params['bias'], requires_grad=True)
    x_torch = torch.tensor(x, requires_grad=True)
    torch.nn.functional.linear(x_torch, weight, bias).backward(torch.tensor(r))
    np.testing.assert_allclose(dx, x_torch.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.grads['weight'], weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.grads['bias'], bias.grad.numpy(), rtol=1e-12)


def test_linear_skips_input_gradient_on_request(rng):
    layer = linear(rng)
    layer.forward(rng.standard_normal((3, 5)))
    assert layer.backward(np.ones((3, 4)), input_grad=False) is None
    assert np.abs(layer.grads['weight']).sum() > 0


def test_cross_entropy_matches_finite_differences_and_torch(rng):
    x = rng.uniform(0.05, 1, size=(4, 3))
    x /= x.sum(axis=1, keepdims=True)
    t = np.eye(3)[[0, 2, 1, 2]]
    loss = CrossEntropyModule()
    analytic = loss.backward(x, t)
    assert relative_error(analytic, numerical_gradient(lambda: loss.forward(x, t), x)) < TOL

    x_torch = torch.tensor(x, requires_grad=True)
    torch_loss = -(torch.tensor(t) * x_torch.log()).sum(dim=1).mean()
    torch_loss.backward()
    assert loss.forward(x, t) == pytest.approx(torch_loss.item(), rel=1e-12)
    np.testing.assert_allclose(analytic, x_torch.grad.numpy(), rtol=1e-12)


def test_softmax_then_cross_entropy_gives_the_textbook_gradient(rng):
    """dL/dlogits = (softmax - targets) / batch: the chain of the two backwards must reproduce it."""
    logits = rng.standard_normal((5, 4))
    t = np.eye(4)[[0, 1, 2, 3, 0]]
    softmax, loss = SoftMaxModule(), CrossEntropyModule()
    p = softmax.forward(logits)
    np.testing.assert_allclose(softmax.backward(loss.backward(p, t)), (p - t) / 5, atol=1e-14)


@pytest.mark.parametrize('gap', [20.0, 30.0, 800.0])
def test_clipped_cross_entropy_scales_the_textbook_gradient_by_p_over_eps(gap):
    """Below eps the target probability p_t turns (p - t)/B into r (p - t)/B, r = p_t / max(p_t, eps) (report 1.1 c)."""
    logits = np.array([[0.0, gap, 0.0]])     # the target, class 0, trails the winner by `gap`
    t = np.array([[1.0, 0.0, 0.0]])
    softmax, loss = SoftMaxModule(), CrossEntropyModule()
    p = softmax.forward(logits)
    r = p[0, 0] / max(p[0, 0], loss.eps)
    assert (r == 1) == (gap == 20.0) and (r == 0) == (gap == 800.0)   # exact, shrunk, underflowed
    np.testing.assert_allclose(softmax.backward(loss.backward(p, t)), r * (p - t), rtol=1e-12, atol=1e-300)


def test_softmax_is_stable_for_huge_logits():
    p = SoftMaxModule().forward(np.array([[1e4, 0, -1e4], [1e30, 1e30, 0]], dtype=np.float32))
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p, [[1, 0, 0], [0.5, 0.5, 0]], atol=1e-7)


def test_sigmoid_is_stable_for_huge_inputs():
    with np.errstate(all='raise'):
        y = SigmoidModule().forward(np.array([-1e4, 0, 1e4], dtype=np.float32))
    np.testing.assert_allclose(y, [0, 0.5, 1])


def test_cross_entropy_is_finite_for_zero_probabilities():
    x = np.array([[0.0, 1.0], [1.0, 0.0]])
    t = np.array([[1.0, 0.0], [1.0, 0.0]])
    loss = CrossEntropyModule()
    assert np.isfinite(loss.forward(x, t)) and loss.forward(x, t) > 10
    assert np.isfinite(loss.backward(x, t)).all()


def test_cross_entropy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r'\(batch, classes\)'):
        CrossEntropyModule().forward(np.ones((2, 3)) / 3, np.ones((2, 4)))


def test_single_class_softmax_is_certain_and_passes_no_gradient():
    softmax = SoftMaxModule()
    np.testing.assert_array_equal(softmax.forward(np.array([[3.0], [-2.0]])), [[1.0], [1.0]])
    np.testing.assert_array_equal(softmax.backward(np.array([[5.0], [7.0]])), [[0.0], [0.0]])
    assert CrossEntropyModule().forward(np.ones((2, 1)), np.ones((2, 1))) == 0


def test_linear_rejects_wrong_input_shape(rng):
    with pytest.raises(ValueError, match=r'expected input of shape \(batch, 5\), got \(3, 4\)'):
        linear(rng).forward(np.ones((3, 4)))


def test_linear_initialisation():
    rng = np.random.default_rng(1)
    normal = LinearModule(1000, 200, rng=rng)
    kaiming = LinearModule(1000, 200, init='kaiming', rng=rng)
    assert normal.params['weight'].shape == (200, 1000) and normal.params['bias'].shape == (200,)
    assert normal.params['weight'].std() == pytest.approx(1e-4, rel=0.02)
    assert kaiming.params['weight'].std() == pytest.approx(np.sqrt(2 / 1000), rel=0.02)
    assert not normal.params['bias'].any()
    with pytest.raises(ValueError, match='init must be one of'):
        LinearModule(3, 2, init='xavier')


def test_float32_stays_float32(rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    t = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    layer, act = LinearModule(5, 3, rng=rng), LeakyReLUModule(0.02)
    softmax, loss = SoftMaxModule(), CrossEntropyModule()
    p = softmax.forward(act.forward(layer.forward(x)))
    assert p.dtype == np.float32 and loss.forward(p, t).dtype == np.float32
    dx = layer.backward(act.backward(softmax.backward(loss.backward(p, t))))
    assert dx.dtype == np.float32
    assert all(grad.dtype == np.float32 for grad in layer.grads.values())
    assert SigmoidModule().forward(x).dtype == np.float32


def test_cross_entropy_takes_class_indices_for_the_one_hot_rows_they_mean(rng):
    x = SoftMaxModule().forward(rng.standard_normal((6, 4)))
    labels = rng.integers(4, size=6)
    one_hot, module = np.eye(4)[labels], CrossEntropyModule()
    assert module.forward(x, labels) == module.forward(x, one_hot)
    np.testing.assert_array_equal(module.backward(x, labels), module.backward(x, one_hot))
    with pytest.raises(ValueError, match=r'class indices in \[0, 4\), got 0 to 4'):
        module.forward(x, np.array([0, 1, 2, 3, 4, 0]))
    with pytest.raises(ValueError, match=r'or integer class indices \(batch,\), got \(6, 4\) and \(5,\) int64'):
        module.forward(x, labels[:5])


def test_clear_cache_drops_what_backward_kept_and_nothing_else(rng):
    model = MLP(5, [4], 3, 0.02, seed=0, dtype=np.float64)
    x = rng.standard_normal((7, 5))
    model.backward(CrossEntropyModule().backward(model.forward(x), rng.integers(3, size=7)))
    weights = [params['weight'].copy() for params, _ in model.parameters()]
    model.clear_cache()
    assert not any(hasattr(layer, name) for layer in model.layers for name in ('x', 'positive', 'out'))
    assert all(np.array_equal(w, params['weight']) for w, (params, _) in zip(weights, model.parameters()))
    np.testing.assert_array_equal(model.forward(x), MLP(5, [4], 3, 0.02, seed=0, dtype=np.float64).forward(x))
    ELUModule().clear_cache()  # nothing kept yet: nothing to drop


def test_a_kaiming_input_layer_draws_half_the_variance_of_a_hidden_one():
    rng = np.random.default_rng(0)
    hidden = LinearModule(2000, 500, init='kaiming', rng=rng).params['weight'].std()
    first = LinearModule(2000, 500, input_layer=True, init='kaiming', rng=rng).params['weight'].std()
    assert abs(hidden - np.sqrt(2 / 2000)) < 1e-2 * hidden and abs(first - np.sqrt(1 / 2000)) < 1e-2 * first
    assert RELUModule is ReLUModule and LinearModule(3, 2, input_layer=True).params['weight'].std() < 1e-3


def test_a_positional_init_is_refused_rather_than_taken_for_input_layer():
    with pytest.raises(TypeError, match="input_layer must be True or False, got 'kaiming'; pass init= by name"):
        LinearModule(5, 3, 'kaiming')
