"""The PyTorch MLP: interface, parameters, options."""
import numpy as np
import pytest
import torch
from torch import nn

import mlp_numpy
from mlp_pytorch import MLP


def test_defaults_have_exactly_the_numpy_mlps_parameters():
    model = MLP(3072, [100, 50], 10, neg_slope=0.02)
    numpy_model = mlp_numpy.MLP(3072, [100, 50], 10, neg_slope=0.02)
    shapes = [tuple(p.shape) for p in model.parameters()]
    numpy_shapes = [value.shape for params, _ in numpy_model.parameters() for value in params.values()]
    assert shapes == numpy_shapes
    assert sum(p.numel() for p in model.parameters()) == 3072 * 100 + 100 + 100 * 50 + 50 + 50 * 10 + 10
    first = model.layers[0]
    assert first.weight.std().item() == pytest.approx(1e-4, rel=0.05) and not first.bias.any()


def test_same_weights_give_the_numpy_models_probabilities():
    torch.manual_seed(0)
    model = MLP(12, [7], 3, neg_slope=0.1, init='kaiming').double()
    numpy_model = mlp_numpy.MLP(12, [7], 3, neg_slope=0.1, dtype=np.float64)
    for (params, _), linear in zip(numpy_model.parameters(), [model.layers[0], model.layers[2]]):
        params['weight'] = linear.weight.detach().numpy().copy()
        params['bias'] = linear.bias.detach().numpy().copy()
    x = np.random.default_rng(0).standard_normal((5, 12))
    np.testing.assert_allclose(torch.softmax(model(torch.from_numpy(x)), dim=1).detach().numpy(),
                               numpy_model.forward(x), rtol=1e-12)


def test_options_add_batch_norm_and_dropout_per_hidden_layer():
    model = MLP(3072, [64, 32], 10, neg_slope=0.02, batch_norm=True, dropout=0.3)
    types = [type(layer) for layer in model.layers]
    assert types == [nn.Linear, nn.BatchNorm1d, nn.LeakyReLU, nn.Dropout] * 2 + [nn.Linear]
    assert 'batch_norm=True' in repr(model)


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
