"""The custom batch-norm layers against torch's own, in float64."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from custom_batchnorm import CustomBatchNormAutograd, CustomBatchNormManualFunction, CustomBatchNormManualModule
from gradient_check import spy_on_backward

SHAPES = [(8, 5), (3, 4, 2, 3)]
MODULES = [CustomBatchNormAutograd, CustomBatchNormManualModule]
TOL = dict(rtol=1e-10, atol=1e-10)


@pytest.fixture(autouse=True)
def seed():
    torch.manual_seed(0)


def random_affine(c):
    """gamma and beta far from their initial 1 and 0, so mix-ups show."""
    return torch.rand(c, dtype=torch.float64) + 0.5, torch.randn(c, dtype=torch.float64)


def native_layer(shape):
    c = shape[1]
    return (nn.BatchNorm1d(c) if len(shape) == 2 else nn.BatchNorm2d(c)).double()


def custom_layer(cls, shape, gamma, beta):
    layer = cls(shape[1]).double()
    with torch.no_grad():
        layer.gamma.copy_(gamma)
        layer.beta.copy_(beta)
    return layer


def forward_backward(fn, x, params, weight):
    """Output of fn(x) and the gradients of sum(weight * out) w.r.t. x and params."""
    x = x.detach().requires_grad_()
    out = fn(x)
    grads = torch.autograd.grad((out * weight).sum(), [x, *params])
    return out.detach(), grads


def assert_all_close(actual, expected):
    for a, e in zip(actual, expected, strict=True):
        torch.testing.assert_close(a, e, **TOL)


@pytest.mark.parametrize("shape", [(4, 3), (7, 5), (2, 3), (3, 2, 4, 5), (2, 3, 1, 1), (1, 2, 3, 1)])
def test_manual_function_gradcheck(shape):
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    gamma, beta = (p.requires_grad_() for p in random_affine(shape[1]))
    assert torch.autograd.gradcheck(CustomBatchNormManualFunction.apply, (x, gamma, beta, 1e-3))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("impl", ["autograd", "manual_module", "function"])
def test_training_matches_torch(impl, shape):
    x = torch.randn(shape, dtype=torch.float64) * 3 + 2
    weight = torch.randn(shape, dtype=torch.float64)
    gamma, beta = random_affine(shape[1])

    ref_gamma, ref_beta = gamma.clone().requires_grad_(), beta.clone().requires_grad_()
    expected = forward_backward(
        lambda x: F.batch_norm(x, None, None, ref_gamma, ref_beta, training=True, eps=1e-5),
        x, [ref_gamma, ref_beta], weight)

    if impl == "function":
        params = [gamma.requires_grad_(), beta.requires_grad_()]
        fn = lambda x: CustomBatchNormManualFunction.apply(x, *params)  # noqa: E731
    else:
        cls = CustomBatchNormAutograd if impl == "autograd" else CustomBatchNormManualModule
        fn = custom_layer(cls, shape, gamma, beta)
        params = [fn.gamma, fn.beta]
    out, grads = forward_backward(fn, x, params, weight)

    torch.testing.assert_close(out, expected[0], **TOL)
    assert_all_close(grads, expected[1])


@pytest.mark.parametrize("shape", SHAPES)
def test_function_updates_running_stats_like_torch(shape):
    x = torch.randn(shape, dtype=torch.float64) * 3 + 2
    gamma, beta = random_affine(shape[1])
    mean, var = torch.zeros(shape[1], dtype=torch.float64), torch.ones(shape[1], dtype=torch.float64)
    ref_mean, ref_var = mean.clone(), var.clone()
    CustomBatchNormManualFunction.apply(x, gamma, beta, 1e-5, mean, var, 0.3)
    F.batch_norm(x, ref_mean, ref_var, gamma, beta, training=True, momentum=0.3)
    assert_all_close((mean, var), (ref_mean, ref_var))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("cls", MODULES)
def test_eval_after_training_matches_torch(cls, shape):
    gamma, beta = random_affine(shape[1])
    ours, ref = custom_layer(cls, shape, gamma, beta), native_layer(shape)
    with torch.no_grad():
        ref.weight.copy_(gamma)
        ref.bias.copy_(beta)
    for step in range(3):
        x = torch.randn(shape, dtype=torch.float64) * (step + 1) + step
        torch.testing.assert_close(ours(x), ref(x), **TOL)
    assert_all_close((ours.running_mean, ours.running_var), (ref.running_mean, ref.running_var))
    assert not torch.equal(ours.running_var, torch.ones(shape[1], dtype=torch.float64))

    ours.eval()
    ref.eval()
    # A whole batch and a single sample, which only the running statistics can normalise.
    for x in (torch.randn(shape, dtype=torch.float64), torch.randn((1, *shape[1:]), dtype=torch.float64)):
        weight = torch.randn(x.shape, dtype=torch.float64)
        out, grads = forward_backward(ours, x, [ours.gamma, ours.beta], weight)
        expected = forward_backward(ref, x, [ref.weight, ref.bias], weight)
        torch.testing.assert_close(out, expected[0], **TOL)
        assert_all_close(grads, expected[1])
    before = ours.running_mean.clone(), ours.running_var.clone()
    ours(x)
    assert torch.equal(ours.running_mean, before[0]) and torch.equal(ours.running_var, before[1]), \
        "eval mode must not update the running statistics"


@pytest.mark.parametrize("shape", SHAPES)
def test_backward_skips_unneeded_gradients(monkeypatch, shape):
    returned = spy_on_backward(monkeypatch, CustomBatchNormManualFunction)
    gamma, beta = random_affine(shape[1])
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    beta.requires_grad_()
    CustomBatchNormManualFunction.apply(x, gamma, beta).sum().backward()
    dx, dgamma, dbeta, *rest = returned[-1]
    assert dgamma is None and gamma.grad is None
    assert dx is not None and dbeta is not None
    assert rest == [None] * 4, "eps and the running-stat arguments get no gradient"

    # Only gamma: no input gradient is computed either.
    x = torch.randn(shape, dtype=torch.float64)
    gamma.requires_grad_()
    beta.requires_grad_(False)
    CustomBatchNormManualFunction.apply(x, gamma, beta).sum().backward()
    dx, dgamma, dbeta, *_ = returned[-1]
    assert dx is None and dbeta is None and dgamma is not None


def test_function_does_not_save_the_input():
    x = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    gamma, beta = (p.requires_grad_() for p in random_affine(4))
    out = CustomBatchNormManualFunction.apply(x, gamma, beta)
    saved = out.grad_fn.saved_tensors
    assert len(saved) == 3
    assert all(t.untyped_storage().data_ptr() != x.untyped_storage().data_ptr() for t in saved)


@pytest.mark.parametrize("bad_shape, expected", [
    ((3, 5), r"expected an input of shape \(B, 4\), got \(3, 5\)"),
    ((2, 5, 3, 3), r"expected an input of shape \(N, 4, H, W\), got \(2, 5, 3, 3\)"),
    ((4,), r"\(B, 4\) or \(N, 4, H, W\), got 1-D input of shape \(4,\)"),
    ((2, 4, 3), r"\(B, 4\) or \(N, 4, H, W\), got 3-D input of shape \(2, 4, 3\)"),
])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("cls", MODULES)
def test_wrong_shape_raises(cls, training, bad_shape, expected):
    layer = cls(4).train(training)
    with pytest.raises(ValueError, match=expected):
        layer(torch.randn(bad_shape))


def test_function_checks_shape_against_gamma():
    with pytest.raises(ValueError, match=r"expected an input of shape \(B, 4\), got \(3, 5\)"):
        CustomBatchNormManualFunction.apply(torch.randn(3, 5), torch.ones(4), torch.zeros(4))


@pytest.mark.parametrize("shape", [(1, 4), (1, 4, 1, 1)])
@pytest.mark.parametrize("cls", MODULES)
def test_single_value_per_neuron_in_training_raises(cls, shape):
    layer = cls(4)
    with pytest.raises(ValueError, match=r"more than one value per neuron.*\(1, 4"):
        layer(torch.randn(shape))
    assert torch.equal(layer.running_mean, torch.zeros(4)), "a rejected batch must not touch the running stats"
    with pytest.raises(ValueError, match="more than one value per neuron"):
        CustomBatchNormManualFunction.apply(torch.randn(shape), torch.ones(4), torch.zeros(4))


@pytest.mark.parametrize("cls", MODULES)
def test_single_sample_with_spatial_positions_trains(cls):
    # N = 1 is fine for a feature map: the statistics run over H and W too.
    out = cls(4)(torch.randn(1, 4, 2, 3))
    torch.testing.assert_close(out.mean((0, 2, 3)), torch.zeros(4), atol=1e-6, rtol=0)


@pytest.mark.parametrize("cls", MODULES)
def test_running_stats_are_buffers(cls):
    layer = cls(3, eps=1e-3, momentum=0.2)
    assert set(layer.state_dict()) == {"gamma", "beta", "running_mean", "running_var"}
    assert {name for name, _ in layer.named_parameters()} == {"gamma", "beta"}
    assert repr(layer) == f"{cls.__name__}(3, eps=0.001, momentum=0.2)"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("cls", MODULES)
def test_cuda_matches_torch(cls, shape):
    gamma, beta = random_affine(shape[1])
    ours = custom_layer(cls, shape, gamma, beta).cuda()
    ref = native_layer(shape).cuda()
    with torch.no_grad():
        ref.weight.copy_(gamma)
        ref.bias.copy_(beta)
    x = torch.randn(shape, dtype=torch.float64, device="cuda")
    weight = torch.randn(shape, dtype=torch.float64, device="cuda")
    out, grads = forward_backward(ours, x, [ours.gamma, ours.beta], weight)
    expected = forward_backward(ref, x, [ref.weight, ref.bias], weight)
    torch.testing.assert_close(out, expected[0], **TOL)
    assert_all_close(grads, expected[1])
    assert_all_close((ours.running_mean, ours.running_var), (ref.running_mean, ref.running_var))
