"""The PyTorch MLP: interface, parameters, options."""
import numpy as np
import pytest
import torch
from torch import nn

import mlp_numpy
from custom_batchnorm import CustomBatchNormManualModule
from mlp_pytorch import MLP
from modules import CrossEntropyModule


def test_defaults_have_exactly_the_numpy_mlps_parameters():
    model = MLP(3072, [100, 50], 10, neg_slope=0.02)
    numpy_model = mlp_numpy.MLP(3072, [100, 50], 10, neg_slope=0.02)
    shapes = [tuple(p.shape) for p in model.parameters()]
    numpy_shapes = [value.shape for params, _ in numpy_model.parameters() for value in params.values()]
    assert shapes == numpy_shapes
    assert sum(p.numel() for p in model.parameters()) == 3072 * 100 + 100 + 100 * 50 + 50 + 50 * 10 + 10
    first = model.layers[0]
    assert first.weight.std().item() == pytest.approx(1e-4, rel=0.05) and not first.bias.any()


# Inputs with the spread of CIFAR-10 pixels less the mean image for the assignment's tiny weights; unit inputs for
# Kaiming's, whose logits would otherwise saturate the softmax.
@pytest.mark.parametrize('init,neg_slope,input_scale', [('normal', 0.02, 60), ('kaiming', 0.1, 1)],
                         ids=["the assignment's defaults", 'kaiming'])
def test_same_weights_give_the_numpy_models_probabilities_and_gradients(init, neg_slope, input_scale):
    """Exact agreement in float64, so that another activation or slope, or a bias left out, fails."""
    numpy_model = mlp_numpy.MLP(3072, [100, 50], 10, neg_slope, init=init, seed=0, dtype=np.float64)
    model = MLP(3072, [100, 50], 10, neg_slope, init=init).double()
    linears = [layer for layer in model.layers if isinstance(layer, nn.Linear)]
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for (params, _), linear in zip(numpy_model.parameters(), linears, strict=True):
            params['bias'] = 0.1 * rng.standard_normal(params['bias'].shape)  # zero biases would hide a lost one
            linear.weight.copy_(torch.from_numpy(params['weight']))
            linear.bias.copy_(torch.from_numpy(params['bias']))
    x = input_scale * rng.standard_normal((8, 3072))
    labels = rng.integers(10, size=8)

    probabilities = numpy_model.forward(x)
    numpy_model.backward(CrossEntropyModule().backward(probabilities, np.eye(10)[labels]))
    logits = model(torch.from_numpy(x))
    nn.functional.cross_entropy(logits, torch.from_numpy(labels)).backward()

    np.testing.assert_allclose(torch.softmax(logits, dim=1).detach().numpy(), probabilities, rtol=1e-12)
    for (_, grads), linear in zip(numpy_model.parameters(), linears):
        for name, parameter in linear.named_parameters():
            scale = np.abs(grads[name]).max()
            np.testing.assert_allclose(parameter.grad.numpy(), grads[name], rtol=1e-10, atol=1e-13 * scale)


def test_options_add_batch_norm_and_dropout_per_hidden_layer():
    model = MLP(3072, [64, 32], 10, neg_slope=0.02, batch_norm=True, dropout=0.3)
    types = [type(layer) for layer in model.layers]
    assert types == [nn.Linear, nn.BatchNorm1d, nn.LeakyReLU, nn.Dropout] * 2 + [nn.Linear]
    assert 'batch_norm=torch' in repr(model)


def test_images_are_flattened_and_wrong_sizes_refused():
    model = MLP(3 * 32 * 32, [], 10, neg_slope=0.02)
    assert model(torch.zeros(4, 3, 32, 32)).shape == (4, 10)
    with pytest.raises(ValueError, match=r'expected input of shape \(batch, 3072\)'):
        model(torch.zeros(4, 3, 16, 16))


def test_kaiming_initialisation_scale():
    torch.manual_seed(0)
    weight = MLP(2000, [500], 10, neg_slope=0.0, init='kaiming').layers[0].weight
    assert weight.std().item() == pytest.approx(np.sqrt(2 / 2000), rel=0.02)


@pytest.mark.parametrize('kwargs', [{'init': 'xavier'}, {'dropout': 1.0}, {'n_hidden': [0]}])
def test_bad_arguments_are_refused(kwargs):
    arguments = dict(n_inputs=10, n_hidden=[5], n_classes=3, neg_slope=0.02) | kwargs
    with pytest.raises(ValueError):
        MLP(**arguments)


def test_the_custom_batch_norm_is_the_hand_written_module_and_trains_like_torchs():
    torch.manual_seed(0)
    custom = MLP(12, [8], 3, neg_slope=0.02, batch_norm='custom', init='kaiming')
    torch.manual_seed(0)
    ours = MLP(12, [8], 3, neg_slope=0.02, batch_norm='torch', init='kaiming')
    assert isinstance(custom.layers[1], CustomBatchNormManualModule) and isinstance(ours.layers[1], nn.BatchNorm1d)
    x = torch.randn(16, 12, dtype=torch.float64)
    custom, ours = custom.double(), ours.double()
    torch.testing.assert_close(custom(x), ours(x))  # the same affine start (gamma 1, beta 0), the same statistics
    with pytest.raises(ValueError, match="batch_norm must be one of \\('none', 'torch', 'custom'\\)"):
        MLP(12, [8], 3, neg_slope=0.02, batch_norm='group')
