"""The ConvNet against the assignment's Table 1, and its two batch-norm options against each other."""
import pytest
import torch
import torch.nn as nn

import cifar10_utils
from convnet_pytorch import ConvNet, conv_block
from custom_batchnorm import CustomBatchNormManualModule

# Table 1: name, kernel, stride, padding, channels in, channels out.
TABLE_1 = [
    ('conv1', 3, 1, 1, 3, 64), ('maxpool1', 3, 2, 1, 64, 64),
    ('conv2', 3, 1, 1, 64, 128), ('maxpool2', 3, 2, 1, 128, 128),
    ('conv3_a', 3, 1, 1, 128, 256), ('conv3_b', 3, 1, 1, 256, 256), ('maxpool3', 3, 2, 1, 256, 256),
    ('conv4_a', 3, 1, 1, 256, 512), ('conv4_b', 3, 1, 1, 512, 512), ('maxpool4', 3, 2, 1, 512, 512),
    ('conv5_a', 3, 1, 1, 512, 512), ('conv5_b', 3, 1, 1, 512, 512), ('maxpool5', 3, 2, 1, 512, 512),
    ('avgpool', 1, 1, 0, 512, 512),
]


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """On a shared 2-core machine, two OpenMP threads wait on each other whenever another process
    takes a core: a step then costs several times what it costs on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return ConvNet(3, 10)


def copy_into_custom(torch_model):
    """A batch_norm='custom' ConvNet with the same parameters and running statistics."""
    custom = ConvNet(3, 10, batch_norm='custom').to(next(torch_model.parameters()).dtype)
    renamed = {key.replace('bn.weight', 'bn.gamma').replace('bn.bias', 'bn.beta'): value
               for key, value in torch_model.state_dict().items() if not key.endswith('num_batches_tracked')}
    custom.load_state_dict(renamed)
    return custom


def test_layers_follow_table_1(model):
    assert [name for name, *_ in TABLE_1] + ['flatten', 'linear'] == [name for name, _ in model.named_children()]
    for name, kernel, stride, padding, channels_in, channels_out in TABLE_1:
        layer = getattr(model, name)
        if name.startswith('conv'):
            conv, bn, relu = layer.conv, layer.bn, layer.relu
            assert isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and isinstance(relu, nn.ReLU)
            assert (conv.in_channels, conv.out_channels) == (channels_in, channels_out)
            assert (conv.kernel_size, conv.stride, conv.padding) == ((kernel,) * 2, (stride,) * 2, (padding,) * 2)
            assert conv.bias is not None and bn.num_features == channels_out
        else:
            kind = nn.MaxPool2d if name.startswith('maxpool') else nn.AvgPool2d
            assert isinstance(layer, kind)
            assert (layer.kernel_size, layer.stride, layer.padding) == (kernel, stride, padding)
    assert (model.linear.in_features, model.linear.out_features) == (512, 10)


@pytest.mark.parametrize('batch_norm', ['torch', 'custom'])
def test_parameter_count(batch_norm):
    model = ConvNet(3, 10, batch_norm=batch_norm)
    assert sum(p.numel() for p in model.parameters()) == 9_231_114


def test_every_pool_halves_the_map_down_to_one_pixel(model):
    x = torch.randn(2, 3, 32, 32)
    sizes = {}
    model.eval()
    with torch.no_grad():
        for name, layer in model.named_children():
            x = layer(x)
            sizes[name] = tuple(x.shape)
    assert [sizes[f'maxpool{i}'] for i in range(1, 6)] == [
        (2, 64, 16, 16), (2, 128, 8, 8), (2, 256, 4, 4), (2, 512, 2, 2), (2, 512, 1, 1)]
    assert sizes['avgpool'] == (2, 512, 1, 1) and sizes['linear'] == (2, 10)


def test_eval_mode_is_deterministic_and_per_sample(model):
    model.eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        first, second, alone = model(x), model(x), model(x[:1])
    assert first.shape == (4, 10)
    assert torch.equal(first, second)
    torch.testing.assert_close(alone, first[:1], rtol=1e-4, atol=1e-5)  # running statistics, not the batch's


def test_a_few_adam_steps_fit_a_batch():
    torch.manual_seed(0)
    data = cifar10_utils.get_synthetic(num_train=8, num_test=1, one_hot=False)['train']
    x, y = torch.from_numpy(data.images), torch.from_numpy(data.labels)
    model = ConvNet(3, 10)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(5):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(2.3, abs=0.3)
    assert losses[-1] < 0.5 * losses[0]


def test_custom_batch_norm_matches_torch_in_train_and_eval_mode():
    # In float64, so that the comparison is not lost in rounding: through ten batch norms, float32
    # gradients of the first layers differ by ~0.3% from the float64 ones (nn.BatchNorm2d's more so).
    torch.manual_seed(0)
    reference = ConvNet(3, 10).double()
    custom = copy_into_custom(reference)
    x = torch.randn(4, 3, 32, 32, dtype=torch.float64)

    expected, actual = reference(x), custom(x)
    torch.testing.assert_close(actual, expected)
    expected.square().sum().backward()
    actual.square().sum().backward()
    gradients = {name: p.grad for name, p in custom.named_parameters()}
    for name, parameter in reference.named_parameters():
        name = name.replace('bn.weight', 'bn.gamma').replace('bn.bias', 'bn.beta')
        # A conv bias right before batch norm has no effect, so its gradient is rounding noise around 0.
        atol = 1e-12 if name.endswith('conv.bias') else 1e-7
        torch.testing.assert_close(gradients[name], parameter.grad, rtol=1e-7, atol=atol)
    for name in ('conv1', 'conv5_b'):  # the running statistics moved alike
        torch.testing.assert_close(getattr(custom, name).bn.running_mean, getattr(reference, name).bn.running_mean)
        torch.testing.assert_close(getattr(custom, name).bn.running_var, getattr(reference, name).bn.running_var)

    reference.eval()
    custom.eval()
    with torch.no_grad():
        torch.testing.assert_close(custom(x), reference(x))


def test_custom_batch_norm_keeps_float32_statistics_under_bfloat16_autocast():
    torch.manual_seed(0)
    reference, custom = conv_block(16, 32, 'torch'), conv_block(16, 32, 'custom')
    custom.conv.load_state_dict(reference.conv.state_dict())
    x = torch.randn(8, 16, 8, 8) + 3  # an offset that bfloat16 statistics would round badly
    with torch.autocast('cpu', dtype=torch.bfloat16):
        expected, actual = reference(x), custom(x)
    assert actual.dtype == torch.float32
    torch.testing.assert_close(actual, expected.float(), rtol=0.02, atol=0.02)  # bfloat16 rounding
    torch.testing.assert_close(custom.bn.running_mean, reference.bn.running_mean, rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(custom.bn.running_var, reference.bn.running_var, rtol=1e-3, atol=1e-4)


def test_unknown_batch_norm_is_refused():
    with pytest.raises(ValueError, match='batch_norm'):
        ConvNet(3, 10, batch_norm='mine')


def test_batch_norm_none_leaves_the_blocks_without_a_norm():
    model = ConvNet(3, 10, batch_norm='none')
    assert not any(isinstance(module, (nn.BatchNorm2d, CustomBatchNormManualModule)) for module in model.modules())
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
