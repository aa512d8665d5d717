"""The three layer-norm forms against torch's layer_norm, and the hand-derived backward against central differences
and autograd, in float64."""
import pytest
import torch

from folder_module import load
from gradient_check import spy_on_backward

custom_layernorm = load('uva2020', 'custom_layernorm')  # UvA 2020's file
CustomLayerNormAutograd, CustomLayerNormManualFunction, CustomLayerNormManualModule = (
    custom_layernorm.CustomLayerNormAutograd, custom_layernorm.CustomLayerNormManualFunction,
    custom_layernorm.CustomLayerNormManualModule)


def inputs(batch=6, features=5, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = (3 + 2 * torch.randn(batch, features, generator=generator, dtype=torch.float64)).requires_grad_()
    gamma = torch.randn(features, generator=generator, dtype=torch.float64).requires_grad_()
    beta = torch.randn(features, generator=generator, dtype=torch.float64).requires_grad_()
    return x, gamma, beta


@pytest.mark.parametrize('module_class', [CustomLayerNormAutograd, CustomLayerNormManualModule])
def test_each_module_is_torchs_layer_norm_in_training_and_in_eval(module_class):
    x, gamma, beta = inputs()
    module = module_class(5).double()
    with torch.no_grad():
        module.gamma.copy_(gamma)
        module.beta.copy_(beta)
    expected = torch.nn.functional.layer_norm(x, (5,), gamma, beta, eps=1e-5)
    torch.testing.assert_close(module(x), expected)
    torch.testing.assert_close(module.eval()(x[:1]), expected[:1])  # one sample alone: no batch statistics


def test_the_hand_derived_backward_passes_central_differences():
    assert torch.autograd.gradcheck(CustomLayerNormManualFunction.apply, inputs(), eps=1e-6, atol=1e-8)


def test_the_hand_derived_backward_equals_autograds_of_the_forward():
    x, gamma, beta = inputs(seed=1)
    weights = torch.randn(6, 5, dtype=torch.float64)
    manual = torch.autograd.grad((CustomLayerNormManualFunction.apply(x, gamma, beta) * weights).sum(),
                                 (x, gamma, beta))
    reference = torch.autograd.grad((torch.nn.functional.layer_norm(x, (5,), gamma, beta) * weights).sum(),
                                    (x, gamma, beta))
    for ours, theirs in zip(manual, reference):
        torch.testing.assert_close(ours, theirs)


def test_only_the_gradients_asked_for_are_computed(monkeypatch):
    returned = spy_on_backward(monkeypatch, CustomLayerNormManualFunction)
    x, gamma, beta = inputs()
    CustomLayerNormManualFunction.apply(x.detach(), gamma, beta.detach()).sum().backward()
    (dx, dgamma, dbeta, _), = returned
    assert dx is None and dbeta is None and dgamma.shape == (5,)


@pytest.mark.parametrize('shape', [(4, 6), (4,), (2, 5, 1)])
def test_a_wrong_shape_names_the_one_expected(shape):
    with pytest.raises(ValueError, match=r'expected an input of shape \(B, 5\)'):
        CustomLayerNormManualModule(5)(torch.randn(*shape))


def test_a_second_derivative_is_refused_rather_than_wrong():
    x, gamma, beta = inputs()
    grad, = torch.autograd.grad(CustomLayerNormManualFunction.apply(x, gamma, beta).pow(2).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match='once_differentiable'):
        grad.sum().backward()
