"""The flags' conventions across the training scripts, and the frozen config a run's flags are settled into."""
import argparse
import os

import pytest

import train_convnet_pytorch
import train_mlp_autodiff
import train_mlp_numpy
import train_mlp_pytorch
from command_line import help_text, run_main
from prepared_run import built, tiny_stand_in
from runkit import flags

SCRIPTS = {'mlp_numpy': train_mlp_numpy, 'mlp_pytorch': train_mlp_pytorch, 'convnet': train_convnet_pytorch,
           'autodiff': train_mlp_autodiff}


def test_a_config_is_read_only_and_replace_makes_a_new_one():
    config = flags.Config({'seed': 1}, max_steps=10)
    assert (config.seed, config['max_steps'], dict(config)) == (1, 10, {'seed': 1, 'max_steps': 10})
    with pytest.raises(AttributeError, match='frozen'):
        config.seed = 2
    with pytest.raises(TypeError):
        config['seed'] = 2
    changed = config.replace(seed=2, data_fingerprint='x')
    assert (config.seed, changed.seed, list(changed)) == (1, 2, ['seed', 'max_steps', 'data_fingerprint'])


def test_settling_turns_epochs_into_steps_without_changing_the_parsed_flags():
    parsed = train_mlp_numpy.parse_flags(['--dataset', 'fake_cifar10', '--epochs', '2', '--batch_size', '8'])
    run, _ = built(train_mlp_numpy, ['--epochs', '2'])  # on 64 images of the stand-in, in batches of 8
    assert (parsed.max_steps, 'data_fingerprint' in parsed) == (1500, False)
    assert (run.config.max_steps, run.config.data_fingerprint) == (2 * 64 // 8, 'generated (fake_cifar10, data_seed 0)')


@pytest.mark.parametrize('kind', SCRIPTS)
def test_the_old_name_of_the_cifar_shaped_stand_in_is_taken_for_the_new_one(kind):
    if kind == 'autodiff':  # VU's script trains on synth, MNIST and CIFAR-10 only
        assert SCRIPTS[kind].parse_flags(['--dataset', 'synth']).dataset == 'synth'
    else:
        assert SCRIPTS[kind].parse_flags(['--dataset', 'synthetic']).dataset == 'fake_cifar10'


@pytest.mark.parametrize('kind, argv, expected', [
    ('mlp_pytorch', [], 'none'), ('mlp_pytorch', ['--batch_norm'], 'torch'),
    ('mlp_pytorch', ['--batch_norm', 'custom'], 'custom'), ('convnet', [], 'torch'),
    ('convnet', ['--batch_norm', 'custom'], 'custom'), ('convnet', ['--batch_norm'], 'torch'),
    ('convnet', ['--batch_norm', 'none'], 'none'),
])
def test_batch_norm_means_the_same_in_both_pytorch_scripts(kind, argv, expected):
    assert SCRIPTS[kind].parse_flags(argv).batch_norm == expected


@pytest.mark.parametrize('kind', ['mlp_pytorch', 'convnet'])
def test_every_pytorch_script_takes_threads_and_the_no_form_of_its_switches(kind):
    config = SCRIPTS[kind].parse_flags(['--threads', '1', '--augment', '--no-augment'])
    assert (config.threads, config.augment) == (1, False)


def test_a_bad_batch_norm_is_a_one_line_error(capsys):
    status, stderr = run_main(train_convnet_pytorch.parse_flags, ['--batch_norm', 'group'], capsys)
    assert status == 2 and "invalid choice: 'group'" in stderr and len(stderr.splitlines()) == 1


@pytest.mark.parametrize('kind', SCRIPTS)
def test_help_lists_the_templates_flags_alone_then_the_groups_the_project_adds(kind, capsys):
    text, first = help_text(SCRIPTS[kind].parse_flags, capsys)
    template = {'-h', '--learning_rate', '--max_steps', '--batch_size', '--eval_freq', '--data_dir'}
    mlp = {'--dnn_hidden_units', '--neg_slope'}
    template |= {'mlp_numpy': mlp, 'mlp_pytorch': mlp, 'convnet': set(),
                 'autodiff': {'--dnn_hidden_units', '--activation'}}[kind]  # VU's activation: sigmoid or ReLU
    assert first == template
    assert text.index('beyond the template:') < text.index('the run (runkit):')
    run_group = text[text.index('the run (runkit):'):]
    assert '--output_dir' in run_group and '--overwrite' in run_group and '--epochs' not in run_group
    assert ('--resume' in run_group) == (kind in ('mlp_pytorch', 'convnet'))


@pytest.mark.parametrize('kind', ['mlp_numpy', 'mlp_pytorch', 'convnet'])
def test_train_alone_reads_the_templates_flags_and_keeps_its_run_in_memory(kind, monkeypatch, tmp_path):
    """As the UvA 2019 template's main() calls it: FLAGS as its parser leaves them (--dnn_hidden_units as text),
    the flags it does not have at their defaults."""
    template = dict(learning_rate=1e-3, max_steps=2, batch_size=8, eval_freq=1, data_dir=None, dataset='fake_cifar10')
    if kind != 'convnet':
        template.update(dnn_hidden_units='8,4', neg_slope=0.02)
    monkeypatch.setattr(SCRIPTS[kind], 'FLAGS', argparse.Namespace(**template))
    monkeypatch.chdir(tmp_path)
    with tiny_stand_in():
        metrics = SCRIPTS[kind].train()
    assert metrics['status'] == 'completed' and metrics['steps'] == [1, 2] and os.listdir(tmp_path) == []
    assert metrics['config'].get('dnn_hidden_units', [8, 4]) == [8, 4] and metrics['config']['seed'] == 42
