"""The test-time augmentation study: every candidate's validation numbers are those of evaluating the run's model
on its validation split with that candidate's views; the choice follows the rule; the test set is not read."""
import functools
import json
import shutil
from pathlib import Path

import pytest
import torch

import cifar10_utils
import train_convnet_pytorch
import tta_study
from runkit import models, torch_data


def use_small_synthetic(patch):
    patch.setattr(cifar10_utils, 'get_synthetic',
                  functools.partial(cifar10_utils.get_synthetic, num_train=48, num_test=8))


@pytest.fixture(autouse=True)
def small_synthetic(monkeypatch):
    """The synthetic set the runs were trained on, for the study to rebuild their validation split from."""
    use_small_synthetic(monkeypatch)


@pytest.fixture(scope='module')
def trained_run(tmp_path_factory):
    """A ConvNet run on a small synthetic set with 8 validation images, trained once for the module's tests."""
    folder = tmp_path_factory.mktemp('tta') / 'run'
    with pytest.MonkeyPatch.context() as patch:
        use_small_synthetic(patch)
        train_convnet_pytorch.main(['--dataset', 'fake_cifar10', '--validation_size', '8', '--max_steps', '3',
                                    '--batch_size', '8', '--threads', '1', '--output_dir', str(folder)])
    return folder


@pytest.fixture
def run(trained_run, tmp_path):
    """A copy of the trained run, for a test to read and write as it likes."""
    return Path(shutil.copytree(trained_run, tmp_path / 'run'))


def test_each_candidate_is_the_models_validation_accuracy_with_its_views(tmp_path, run, monkeypatch):
    loaded = []
    original = models.run_split
    monkeypatch.setattr(models, 'run_split',
                        lambda *args, **kwargs: loaded.append(kwargs) or original(*args, **kwargs))
    study = tta_study.main([str(run), '--output_dir', str(tmp_path / 'study')])
    assert loaded == [{'split': 'validation'}]  # and never the test set
    model, config = models.load(str(run / 'model.pt'), 'convnet')
    validation, _ = original(config, split='validation')
    # The model fed as the run's flags say: channels-last memory, bfloat16 autocast where the run used it.
    memory_format = torch.channels_last if config['channels_last'] else torch.contiguous_format
    images = torch.from_numpy(validation.images).contiguous(memory_format=memory_format)
    autocast_dtype = torch.bfloat16 if config['amp'] else None
    labels = torch.from_numpy(validation.labels)
    assert study['num_validation'] == 8
    assert [(c['tta'], c['tta_shift'], c['views']) for c in study['candidates']] == \
        [(False, 0, 1), (True, 0, 2), (False, 1, 3), (True, 1, 6), (False, 2, 3), (True, 2, 6)]
    for candidate in study['candidates']:
        loss, accuracy = torch_data.evaluate(model, images, labels, autocast_dtype=autocast_dtype,
                                              mirror=candidate['tta'], shift=candidate['tta_shift'])
        assert (candidate['validation_loss'], candidate['validation_accuracy']) == pytest.approx((loss, accuracy))
    assert len({c['validation_loss'] for c in study['candidates']}) == 6  # the views change the predictions
    assert json.loads((tmp_path / 'study' / 'metrics.json').read_text())['chosen'] == study['chosen']
    assert (tmp_path / 'study' / 'validation_accuracy.png').read_bytes()[:4] == b'\x89PNG'


def test_the_choice_is_the_highest_accuracy_and_fewer_views_on_a_tie():
    candidates = [{'views': 1, 'validation_accuracy': 0.5}, {'views': 6, 'validation_accuracy': 0.7},
                  {'views': 2, 'validation_accuracy': 0.7}, {'views': 3, 'validation_accuracy': 0.6}]
    assert tta_study.choose(candidates) is candidates[2]


def test_a_run_without_a_validation_split_is_a_one_line_error(tmp_path):
    train_convnet_pytorch.main(['--dataset', 'fake_cifar10', '--max_steps', '1', '--batch_size', '8', '--threads', '1',
                                '--output_dir', str(tmp_path / 'run')])
    with pytest.raises(SystemExit, match='^error: the run holds out no validation split; train it with '
                                         '--validation_size$'):
        tta_study.main([str(tmp_path / 'run'), '--output_dir', str(tmp_path / 'study')])


def test_the_study_refuses_to_write_into_the_run_it_reads(run):
    with pytest.raises(SystemExit, match="^error: --output_dir is the run's own folder; expected another"):
        tta_study.main([str(run), '--output_dir', str(run), '--overwrite'])
    assert (run / 'model.pt').exists()
