"""UvA 2020's ConvNet (uva2020/convnet_pytorch.py) against its text's Figure 5, layer by layer, and its training
script with the 2020 defaults, evaluated back by evaluate.py as the same network."""
import json

import pytest
import torch

import cifar10_utils
import evaluate
from test_evaluate import use_synthetic
from test_offerings import working_in

# Figure 5's table: name, kernel, stride, padding, channels in/out ('PreAct' rows are blocks of a 3x3 convolution).
FIGURE_5 = [
    ('conv0', 3, 1, 1, 3, 64), ('PreAct1', 3, 1, 1, 64, 64), ('conv1', 1, 1, 0, 64, 128),
    ('maxpool1', 3, 2, 1, 128, 128), ('PreAct2_a', 3, 1, 1, 128, 128), ('PreAct2_b', 3, 1, 1, 128, 128),
    ('conv2', 1, 1, 0, 128, 256), ('maxpool2', 3, 2, 1, 256, 256), ('PreAct3_a', 3, 1, 1, 256, 256),
    ('PreAct3_b', 3, 1, 1, 256, 256), ('conv3', 1, 1, 0, 256, 512), ('maxpool3', 3, 2, 1, 512, 512),
    ('PreAct4_a', 3, 1, 1, 512, 512), ('PreAct4_b', 3, 1, 1, 512, 512), ('maxpool4', 3, 2, 1, 512, 512),
    ('PreAct5_a', 3, 1, 1, 512, 512), ('PreAct5_b', 3, 1, 1, 512, 512), ('maxpool5', 3, 2, 1, 512, 512),
]


@pytest.fixture(scope='module')
def convnet_pytorch():
    with working_in('uva2020') as load:
        yield load('convnet_pytorch')


def as_row(name, layer):
    """A layer as a row of Figure 5's table."""
    if isinstance(layer, torch.nn.MaxPool2d):  # keeps its input's channels
        return (name, layer.kernel_size, layer.stride, layer.padding)
    conv = layer if isinstance(layer, torch.nn.Conv2d) else layer.conv
    return (name, conv.kernel_size[0], conv.stride[0], conv.padding[0], conv.in_channels, conv.out_channels)


def test_the_layers_are_figure_5s_table_in_its_order(convnet_pytorch):
    model = convnet_pytorch.ConvNet(3, 10)
    children = dict(model.named_children())
    table = [row[:4] if row[0].startswith('maxpool') else row for row in FIGURE_5]
    assert [as_row(name, children[name]) for name, *_ in FIGURE_5] == table
    assert list(children)[:len(FIGURE_5)] == [name for name, *_ in FIGURE_5]
    # "A BatchNorm layer and ReLU activation is applied before the final linear layer"
    tail = [type(layer) for layer in list(children.values())[len(FIGURE_5):]]
    assert tail == [torch.nn.BatchNorm2d, torch.nn.ReLU, torch.nn.Flatten, torch.nn.Linear]
    assert (model.linear.in_features, model.linear.out_features) == (512, 10)
    assert model.bn.num_features == 512
    # the plain convolutions carry no activation: the only ReLUs are the blocks' and the one before the classifier
    relus = [name for name, layer in model.named_modules() if isinstance(layer, torch.nn.ReLU)]
    assert relus == [f'{name}.relu' for name, *_ in FIGURE_5 if name.startswith('PreAct')] + ['relu']


def test_a_preact_block_adds_conv_of_relu_of_batch_norm_to_its_input(convnet_pytorch):
    torch.manual_seed(0)
    block = convnet_pytorch.PreActBlock(4).double().eval()
    torch.nn.init.normal_(block.bn.running_mean)
    x = torch.randn(2, 4, 5, 5, dtype=torch.float64)
    bn = torch.nn.functional.batch_norm(x, block.bn.running_mean, block.bn.running_var, block.bn.weight,
                                        block.bn.bias)
    expected = x + torch.nn.functional.conv2d(torch.relu(bn), block.conv.weight, block.conv.bias, padding=1)
    assert torch.allclose(block(x), expected)
    assert [type(layer) for layer in block.children()] == [torch.nn.BatchNorm2d, torch.nn.ReLU, torch.nn.Conv2d]


def test_the_convnet_maps_cifar_images_to_class_scores_with_gradients_everywhere(convnet_pytorch):
    torch.manual_seed(0)
    model = convnet_pytorch.ConvNet(3, 10)
    logits = model(torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, 10)
    logits.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_the_script_trains_with_the_2020_defaults_and_evaluate_rebuilds_figure_5s_network(tmp_path, capsys,
                                                                                         figures_unrendered,
                                                                                         monkeypatch):
    use_synthetic(monkeypatch, num_test=30)  # evaluate.py's, the root's cifar10_utils
    with working_in('uva2020') as load:
        face = load('cifar10_utils')
        monkeypatch.setattr(face, 'get_synthetic', cifar10_utils.get_synthetic)  # the script's, through the face
        script = load('train_convnet_pytorch')
        defaults = script.parse_flags([])
        assert (defaults.learning_rate, defaults.batch_size, defaults.max_steps, defaults.eval_freq,
                defaults.optimizer) == (1e-4, 32, 5000, 500, 'adam')
        with pytest.raises(SystemExit):  # the network's batch norms are Figure 5's, not a choice
            script.parse_flags(['--batch_norm', 'none'])
        metrics = script.main(['--dataset', 'fake_cifar10', '--max_steps', '2', '--batch_size', '8',
                               '--output_dir', str(tmp_path)])
    assert metrics['config']['network'] == 'preact_resnet'
    evaluate.main([str(tmp_path)])
    analysis = json.loads((tmp_path / 'analysis.json').read_text())
    assert analysis['test_accuracy'] == metrics['final_test_accuracy']
