"""The tuning flags of train_mlp_pytorch.py and train_convnet_pytorch.py, each shown to change what training does:
the learning rate of each optimiser step, the loss of the same logits, the modules built, what the model is shown."""
import pytest
import torch
from torch import nn

import train_convnet_pytorch
import train_mlp_pytorch
from custom_batchnorm import CustomBatchNormManualModule
from prepared_run import TorchRun
from runkit import optimisers, torch_data
from test_torch_data import shifts_and_mirrors

pytestmark = pytest.mark.usefixtures('figures_unrendered')  # no test here looks at a figure

# Kaiming's initialisation gives the MLP logits far from 0, where label smoothing changes the loss visibly.
SCRIPTS = {'mlp': (train_mlp_pytorch, ['--dnn_hidden_units', '16,16', '--init', 'kaiming']),
           'convnet': (train_convnet_pytorch, ['--no-amp'])}


def prepared(script, tmp_path, *flags):
    """The script's train() built for batches of 2 stand-in images and the flags (TorchRun)."""
    module, defaults = SCRIPTS[script]
    return TorchRun(module, '--batch_size', '2', *defaults, *flags)


@pytest.mark.parametrize('script', SCRIPTS)
@pytest.mark.parametrize('schedule,factors', [('constant', [1, 1]), ('step', [1, 0.1])])
def test_lr_schedule_sets_the_learning_rate_of_every_step(tmp_path, script, schedule, factors):
    run = prepared(script, tmp_path, '--learning_rate', '0.01', '--lr_schedule', schedule)
    run.train(2)
    assert run.rates == pytest.approx([0.01 * factor for factor in factors])


@pytest.mark.parametrize('script', SCRIPTS)
@pytest.mark.parametrize('warmup', ['4', '5'])
def test_warmup_as_long_as_the_run_is_a_one_line_error(tmp_path, script, warmup):
    with pytest.raises(SystemExit, match=f"^error: --warmup_steps {warmup} leaves no step of the run's 4 [^\n]*$"):
        prepared(script, tmp_path, '--max_steps', '4', '--warmup_steps', warmup)


@pytest.mark.parametrize('script', SCRIPTS)
def test_label_smoothing_mixes_the_uniform_distribution_into_the_loss_of_the_same_logits(tmp_path, script):
    plain, smoothed = (prepared(script, tmp_path, '--label_smoothing', value) for value in ('0', '0.2'))
    plain_loss, smoothed_loss = plain.train(1)['train_loss'][0], smoothed.train(1)['train_loss'][0]
    logits = smoothed.outputs[0].detach().double()
    assert torch.equal(logits, plain.outputs[0].detach().double())  # the same seed: the same weights and batch
    uniform = -torch.log_softmax(logits, dim=1).mean().item()  # cross-entropy against the uniform distribution
    assert abs(uniform - plain_loss) > 0.01  # far enough apart for the mixture to show
    assert smoothed_loss == pytest.approx(0.8 * plain_loss + 0.2 * uniform, rel=1e-5)


@pytest.mark.parametrize('script', SCRIPTS)
def test_weight_decay_reaches_the_optimiser(tmp_path, script):
    assert prepared(script, tmp_path).optimizer.param_groups[0]['weight_decay'] == 0
    assert prepared(script, tmp_path, '--weight_decay', '0.05').optimizer.param_groups[0]['weight_decay'] == 0.05


def test_fused_switches_the_convnets_optimiser_to_the_fused_implementation(tmp_path):
    assert prepared('convnet', tmp_path).optimizer.defaults['fused'] is True
    assert not prepared('convnet', tmp_path, '--no-fused').optimizer.defaults['fused']


@pytest.mark.parametrize('script', SCRIPTS)
def test_augment_shifts_and_mirrors_the_training_batches_and_nothing_else(tmp_path, script):
    plain, augmented = prepared(script, tmp_path), prepared(script, tmp_path, '--augment')
    for run in (plain, augmented):
        run.train(1)  # a step, then the evaluation after it
    (batch, *evaluated), (augmented_batch, *augmented_evaluated) = plain.inputs, augmented.inputs
    matches = shifts_and_mirrors(batch, augmented_batch)
    assert all(len(found) == 1 for found in matches) and any(found != [(0, 0, False)] for found in matches)
    assert len(evaluated) == len(augmented_evaluated) == 1 and torch.equal(evaluated[0], augmented_evaluated[0])


def test_dropout_follows_every_hidden_activation_of_the_mlp(tmp_path):
    def dropout(run):
        return [layer.p for layer in run.model.modules() if isinstance(layer, nn.Dropout)]

    assert dropout(prepared('mlp', tmp_path)) == []
    assert dropout(prepared('mlp', tmp_path, '--dropout', '0.3')) == [0.3, 0.3]


def test_batch_norm_follows_every_hidden_linear_layer_of_the_mlp(tmp_path):
    def layers(run):
        return [type(layer) for layer in run.model.layers]

    assert layers(prepared('mlp', tmp_path)) == [nn.Linear, nn.LeakyReLU] * 2 + [nn.Linear]
    assert layers(prepared('mlp', tmp_path, '--batch_norm')) == \
        [nn.Linear, nn.BatchNorm1d, nn.LeakyReLU] * 2 + [nn.Linear]


@pytest.mark.parametrize('choice,norm', [('torch', nn.BatchNorm2d), ('custom', CustomBatchNormManualModule)])
def test_batch_norm_chooses_the_convnets_implementation(tmp_path, choice, norm):
    model = prepared('convnet', tmp_path, '--batch_norm', choice).model
    norms = [layer for layer in model.modules() if isinstance(layer, (nn.BatchNorm2d, CustomBatchNormManualModule))]
    assert len(norms) == 8 and all(isinstance(layer, norm) for layer in norms)


def test_nesterov_reaches_the_convnets_optimiser_and_needs_sgd_with_momentum(tmp_path):
    assert not prepared('convnet', tmp_path, '--optimizer', 'sgd').optimizer.defaults['nesterov']
    assert prepared('convnet', tmp_path, '--optimizer', 'sgd', '--nesterov').optimizer.defaults['nesterov']
    for flags, got in ((['--nesterov'], '--optimizer adam'),
                       (['--optimizer', 'sgd', '--momentum', '0', '--nesterov'],
                        '--optimizer sgd with --momentum 0.0')):
        with pytest.raises(SystemExit) as error:
            prepared('convnet', tmp_path, *flags)
        assert str(error.value.code) == f'error: --nesterov needs --optimizer sgd with a --momentum above 0, not {got}'
    with pytest.raises(ValueError,
                       match='^Nesterov momentum needs the sgd optimizer with a momentum above 0, got adam$'):
        optimisers.make_optimizer('adam', [torch.zeros(1, requires_grad=True)], 0.1, nesterov=True)


def test_tta_evaluates_the_convnet_on_each_image_and_its_mirror(tmp_path):
    plain, mirrored = (prepared('convnet', tmp_path, *flags) for flags in ([], ['--tta']))
    plain.train(1), mirrored.train(1)  # what the mirrored evaluation computes is test_torch_data's concern
    test_images = plain.inputs[1]  # after the training batch
    assert torch.equal(mirrored.inputs[1], test_images)  # the same seed: the same weights and test set
    assert torch.equal(mirrored.inputs[2], test_images.flip(3)) and len(plain.inputs) == 2


def test_tta_shift_evaluates_the_convnet_on_the_shifted_views_too(tmp_path):
    run = prepared('convnet', tmp_path, '--tta', '--tta_shift', '1')
    run.train(1)
    evaluated = run.inputs[1:]  # after the training batch
    expected = torch_data.views(evaluated[0], mirror=True, shift=1)
    assert len(evaluated) == 6 and all(torch.equal(a, b) for a, b in zip(evaluated, expected))
