"""evaluate.py on a run of every model kind: the test accuracy equals the run's, the four outputs are written;
crafted and mismatched model files, folders without a model and data that does not fit are one-line errors."""
import functools
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch

import cifar10_utils
import evaluate
import train_convnet_pytorch
import train_mlp_autodiff
import train_mlp_numpy
import train_mlp_pytorch
from runkit import model_files, models, plots, torch_data
from test_cifar10_utils import write_tiny_cifar10

SYNTHETIC = ['--dataset', 'fake_cifar10', '--max_steps', '2', '--eval_freq', '1', '--batch_size', '16']
RUNS = {  # model kind: (script, flags)
    'mlp_numpy': (train_mlp_numpy, SYNTHETIC + ['--init', 'kaiming']),
    'mlp_pytorch': (train_mlp_pytorch, SYNTHETIC + ['--batch_norm', '--dropout', '0.1', '--optimizer', 'adam']),
    'convnet': (train_convnet_pytorch, SYNTHETIC + ['--threads', '1']),
    'autodiff': (train_mlp_autodiff, ['--max_steps', '20']),
}


def use_synthetic(patch, num_test):
    """The synthetic set with 64 training and num_test test images, for the training scripts and evaluate.py
    alike."""
    patch.setitem(cifar10_utils.SYNTHETIC_SIZES, 'num_test', num_test)
    patch.setattr(cifar10_utils, 'get_synthetic',
                  functools.partial(cifar10_utils.get_synthetic, num_train=64, num_test=num_test))


@pytest.fixture
def tiny_synthetic(monkeypatch):
    """The synthetic set with 30 test images, every class among them."""
    use_synthetic(monkeypatch, num_test=30)


@pytest.mark.parametrize('kind', RUNS)
def test_the_analysis_of_every_kind_of_run_matches_the_run(tmp_path, tiny_synthetic, kind):
    script, flags = RUNS[kind]
    metrics = script.main(flags + ['--output_dir', str(tmp_path)])
    analysis = evaluate.main([str(tmp_path)])
    assert analysis['model']['kind'] == kind
    assert analysis['test_accuracy'] == metrics['final_test_accuracy'] == analysis['run_final_test_accuracy']
    confusion = np.array(analysis['confusion_matrix'])
    assert confusion.sum() == analysis['num_test']
    assert np.trace(confusion) / confusion.sum() == analysis['test_accuracy']
    classes = analysis['classes']
    for i, name in enumerate(classes):
        if confusion[:, i].sum():
            assert analysis['precision'][name] == confusion[i, i] / confusion[:, i].sum()
        assert analysis['recall'][name] == confusion[i, i] / confusion[i].sum()
    assert json.loads((tmp_path / 'analysis.json').read_text()) == json.loads(json.dumps(analysis))
    images = kind != 'autodiff'  # synth is points in the plane, not images
    expected = {'confusion_matrix.png', 'misclassified.png'} if images else {'confusion_matrix.png'}
    if kind in ('mlp_numpy', 'mlp_pytorch'):
        expected.add('first_layer.png')
    assert {name for name in os.listdir(tmp_path) if name.endswith('.png')} - {'curves.png', 'decision_boundary.png'} \
        == expected


def test_most_confidently_wrong_picks_wrong_predictions_by_confidence():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.05, 0.95]])
    labels = np.array([1, 1, 1, 0])  # rows 0, 2 and 3 are wrong, with confidences 0.9, 0.6 and 0.95
    assert evaluate.most_confidently_wrong(probabilities.argmax(axis=1), probabilities, labels, count=2).tolist() \
        == [3, 0]


def test_analysis_counts_by_true_and_predicted_class():
    analysis = evaluate.analyse(np.array([0, 1, 1, 2, 0]), np.array([0, 1, 2, 2, 1]), ('a', 'b', 'c'))
    assert analysis['confusion_matrix'] == [[1, 0, 0], [1, 1, 0], [0, 1, 1]]
    assert analysis['precision'] == {'a': 0.5, 'b': 0.5, 'c': 1.0}
    assert analysis['recall'] == {'a': 1.0, 'b': 0.5, 'c': 0.5}
    assert analysis['test_accuracy'] == 0.6
    assert analysis['most_confused'][:2] == [{'true': 'c', 'predicted': 'b', 'count': 1},
                                             {'true': 'b', 'predicted': 'a', 'count': 1}]


def error_of(argv):
    with pytest.raises(SystemExit) as error:
        evaluate.main(argv)
    message = str(error.value.code)
    assert message.startswith('error: ') and '\n' not in message
    return message


class Exploit:
    """Unpickling this would run code: it would create the file named by Exploit.target."""
    target = None

    def __reduce__(self):
        return (open, (Exploit.target, 'w'))


@pytest.mark.parametrize('layout', ['pickle', 'torch.save'])
def test_a_crafted_model_pt_is_refused_without_running_it(tmp_path, layout):
    Exploit.target = str(tmp_path / 'pwned')
    crafted = {'kind': 'mlp_pytorch', 'config': {}, 'state_dict': Exploit()}
    if layout == 'pickle':  # refused before anything is unpickled: torch.save writes a zip archive
        with open(tmp_path / 'model.pt', 'wb') as f:
            pickle.dump(crafted, f, protocol=2)
        expected = 'not unpickled'
    else:  # the pickle inside torch's archive, which weights_only=True refuses
        torch.save(crafted, tmp_path / 'model.pt')
        expected = 'UnpicklingError'
    assert 'cannot load' in error_of([str(tmp_path)]) and expected in error_of([str(tmp_path)])
    assert not (tmp_path / 'pwned').exists()
    with pytest.raises(model_files.ModelFileError):
        models.load(tmp_path / 'model.pt', 'mlp_pytorch')
    assert not (tmp_path / 'pwned').exists()


def test_a_crafted_model_npz_is_refused_without_running_it(tmp_path):
    Exploit.target = str(tmp_path / 'pwned')
    np.savez(tmp_path / 'model.npz', kind=np.array('mlp_numpy'), config=np.array('{}'),
             weight_0=np.array([Exploit()], dtype=object))  # an object array is a pickle inside the archive
    message = error_of([str(tmp_path)])
    assert 'cannot load' in message and 'allow_pickle=False' in message
    assert not (tmp_path / 'pwned').exists()


@pytest.mark.usefixtures('figures_unrendered')
def test_folders_and_files_that_hold_no_usable_model(tmp_path, tiny_synthetic):
    assert error_of([str(tmp_path)]) == (f'error: {tmp_path} holds no model (model.npz or model.pt); a training script '
                                         f'of this project writes one at the end of a run')
    np.savez(tmp_path / 'model.npz', kind=np.array('alien'), config=np.array('{}'))
    assert "unknown kind 'alien'" in error_of([str(tmp_path)])
    with zipfile.ZipFile(tmp_path / 'model.npz', 'w') as archive:
        archive.writestr('kind.npy', b'truncated')
    assert 'cannot load' in error_of([str(tmp_path)])

    train_mlp_pytorch.main(SYNTHETIC + ['--output_dir', str(tmp_path / 'mlp')])
    saved = torch.load(tmp_path / 'mlp' / 'model.pt', weights_only=True)
    saved['config']['dnn_hidden_units'] = [50]  # a model file whose flags describe another network
    torch.save(saved, tmp_path / 'mlp' / 'model.pt')
    assert 'does not fit the MLP the flags describe' in error_of([str(tmp_path / 'mlp')])


@pytest.mark.usefixtures('figures_unrendered')
def test_data_that_does_not_match_the_run(tmp_path):
    first, second = tmp_path / 'a' / 'cifar-10-batches-py', tmp_path / 'b' / 'cifar-10-batches-py'
    write_tiny_cifar10(str(first), seed=0)
    write_tiny_cifar10(str(second), seed=1)
    run = tmp_path / 'run'
    train_mlp_numpy.main(['--data_dir', str(first), '--max_steps', '2', '--batch_size', '5', '--output_dir', str(run)])
    assert evaluate.main([str(run)])['data']['data_dir'] == str(first)
    message = error_of([str(run), '--data_dir', str(second)])
    assert f'the cifar10 data in {second}' in message and 'is not the data the run was trained on' in message
    assert 'the model takes inputs of 3072 values, but the synth test images have 2' in \
        error_of([str(run), '--dataset', 'synth'])


def save_npz(path, kind, config, **arrays):
    np.savez(path, kind=np.array(kind), config=np.array(json.dumps(config)), **arrays)


@pytest.mark.parametrize('make', [
    lambda path: save_npz(path / 'model.npz', 'mlp_numpy', []),
    lambda path: save_npz(path / 'model.npz', 'mlp_numpy', {}),
    lambda path: save_npz(path / 'model.npz', 'mlp_numpy', {'dnn_hidden_units': [4], 'neg_slope': 0.0},
                          weight_0=np.ones((4, 3)), bias_0=np.ones(4)),
    lambda path: save_npz(path / 'model.npz', 'autodiff', {'dnn_hidden_units': 3}),
    lambda path: torch.save({'kind': 'convnet', 'config': {}}, path / 'model.pt'),
    lambda path: torch.save({'kind': 'mlp_pytorch', 'config': 'flags'}, path / 'model.pt'),
    lambda path: torch.save({'kind': 'mlp_pytorch', 'config': {}, 'state_dict': {'a': 1}}, path / 'model.pt'),
], ids=['config-list', 'config-empty', 'arrays-missing', 'hidden-not-a-list', 'convnet-no-flags', 'config-string',
        'state-dict-of-ints'])
def test_a_malformed_model_file_is_a_one_line_error(tmp_path, make):
    make(tmp_path)
    message = error_of([str(tmp_path)])
    assert str(tmp_path) in message


def test_a_malformed_checkpoint_is_a_one_line_error_on_resume(tmp_path):
    torch.save({'kind': 'mlp_pytorch', 'config': {'max_steps': 4}}, tmp_path / 'checkpoint.pt')
    with pytest.raises(SystemExit) as error:
        train_mlp_pytorch.main(['--dataset', 'fake_cifar10', '--max_steps', '4', '--resume', str(tmp_path)])
    message = str(error.value.code)
    assert message.startswith(f'error: --resume: {tmp_path / "checkpoint.pt"} does not hold the model') \
        and '\n' not in message


def test_a_run_evaluated_on_mirror_images_too_is_analysed_the_same_way():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 10))  # not mirror-symmetric
    images = torch.randn(5, 3, 4, 4).numpy()
    config = {'channels_last': False, 'amp': False}
    _, plain = models.predict('convnet', model, config, images)
    _, mirrored = models.predict('convnet', model, {**config, 'tta': True}, images)
    _, six = models.predict('convnet', model, {**config, 'tta': True, 'tta_shift': 1}, images)
    with torch.inference_mode():
        expected = torch_data.predict(model, torch.from_numpy(images), mirror=True).exp().numpy()
        expected_six = torch_data.predict(model, torch.from_numpy(images), mirror=True, shift=1).exp().numpy()
    assert np.allclose(mirrored, expected, rtol=1e-5) and not np.allclose(plain, expected, rtol=1e-3)
    assert np.allclose(six, expected_six, rtol=1e-5) and not np.allclose(six, expected, rtol=1e-3)


@pytest.mark.usefixtures('figures_unrendered')
def test_the_convnet_is_evaluated_on_other_views_when_asked_and_the_analysis_says_so(tmp_path, monkeypatch):
    use_synthetic(monkeypatch, num_test=10)  # the views are the question, not the classes
    script, flags = RUNS['convnet']
    metrics = script.main(flags + ['--tta', '--output_dir', str(tmp_path)])
    asked = []
    predict = torch_data.predict
    monkeypatch.setattr(torch_data, 'predict', lambda *args, **views: asked.append(views) or predict(*args, **views))
    as_run = evaluate.main([str(tmp_path)])
    assert as_run['views'] == {'tta': True, 'tta_shift': 0, 'as_in_the_run': True, 'count': 2}
    assert as_run['test_accuracy'] == metrics['final_test_accuracy']
    six = evaluate.main([str(tmp_path), '--tta_shift', '1'])
    assert six['views'] == {'tta': True, 'tta_shift': 1, 'as_in_the_run': False, 'count': 6}
    one = evaluate.main([str(tmp_path), '--no-tta'])
    assert one['views'] == {'tta': False, 'tta_shift': 0, 'as_in_the_run': False, 'count': 1}
    assert {(views['mirror'], views['shift']) for views in asked} == {(True, 0), (True, 1), (False, 0)}
    model, config = models.load(str(tmp_path / 'model.pt'), 'convnet')
    test, _ = models.run_split(config)
    with torch.inference_mode():
        predicted = predict(model, torch.from_numpy(test.images), mirror=True, shift=1).argmax(dim=1).numpy()
    assert six['test_accuracy'] == (predicted == test.labels).mean()


@pytest.mark.usefixtures('figures_unrendered')
def test_views_are_for_the_convnet_only(tmp_path, tiny_synthetic):
    script, flags = RUNS['mlp_numpy']
    script.main(flags + ['--output_dir', str(tmp_path)])
    assert error_of([str(tmp_path), '--tta_shift', '1']) == \
        f'error: --tta and --tta_shift are for the ConvNet; {tmp_path / "model.npz"} holds a model of kind mlp_numpy'
    assert 'views' not in evaluate.main([str(tmp_path)])


def test_evaluate_predicts_in_the_batches_each_training_script_evaluates_in():
    assert models.EVAL_BATCH == {'mlp_numpy': None, 'autodiff': train_mlp_autodiff.EVAL_BATCH_SIZE,
                                 'mlp_pytorch': train_mlp_pytorch.EVAL_BATCH_SIZE,
                                 'convnet': train_convnet_pytorch.EVAL_BATCH_SIZE}


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A finished NumPy run on the small stand-in, trained once for the tests that copy and spoil it."""
    folder = tmp_path_factory.mktemp('trained')
    with pytest.MonkeyPatch.context() as patch:
        use_synthetic(patch, num_test=30)
        train_mlp_numpy.main(SYNTHETIC + ['--output_dir', str(folder), '--overwrite'])
    return folder


@pytest.fixture(scope='module')
def analysed(trained, tmp_path_factory):
    """The trained run with its analysis, evaluated once for the tests that spoil the analysis."""
    folder = copy_of(trained, tmp_path_factory.mktemp('analysed'))
    with pytest.MonkeyPatch.context() as patch:
        use_synthetic(patch, num_test=30)
        evaluate.main([str(folder)])
    return folder


def copy_of(trained, tmp_path):
    """The trained run, copied into a folder of the test's own."""
    import shutil
    return shutil.copytree(trained, tmp_path / 'run', ignore=shutil.ignore_patterns('.run.lock'))


def test_evaluate_takes_the_run_folders_lock_so_no_training_replaces_the_run_meanwhile(tmp_path, tiny_synthetic):
    """evaluate.py writes into the run folder: it holds the folder's lock as training does, and a folder held by
    another process (a training with --overwrite, say) is refused in one line, before anything is written."""
    import fcntl

    from runkit import LOCK_FILE
    train_mlp_numpy.main(SYNTHETIC + ['--output_dir', str(tmp_path)])
    with open(tmp_path / LOCK_FILE, 'a+') as held:  # another process's lock: its own open file
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(SystemExit, match=f'RUN_DIR {tmp_path} is in use by a process still going on'):
            evaluate.main([str(tmp_path)])
    assert not (tmp_path / 'analysis.json').exists()
    evaluate.main([str(tmp_path)])  # free again
    assert (tmp_path / 'analysis.json').exists()


@pytest.mark.parametrize('hostile', ['fifo_metrics', 'deep_metrics', 'fifo_model'])
def test_hostile_files_in_a_run_folder_are_one_line_errors_not_hangs_or_tracebacks(trained, tmp_path, tiny_synthetic,
                                                                                    hostile, capsys):
    tmp_path = copy_of(trained, tmp_path)
    if hostile == 'fifo_metrics':
        os.remove(tmp_path / 'metrics.json')
        os.mkfifo(tmp_path / 'metrics.json')
    elif hostile == 'deep_metrics':
        (tmp_path / 'metrics.json').write_text('[' * 100_000 + ']' * 100_000)
    else:
        os.remove(tmp_path / 'model.npz')
        os.mkfifo(tmp_path / 'model.npz')
    with pytest.raises(SystemExit) as exit:
        evaluate.main([str(tmp_path)])
    assert str(exit.value).startswith('error: ') and '\n' not in str(exit.value)
    assert ('not a regular file' if hostile != 'deep_metrics' else 'nested deeper') in str(exit.value)


def test_a_model_file_swapped_after_its_check_is_not_the_one_read(trained, tmp_path, tiny_synthetic, monkeypatch):
    """The check and the load read one open file: a file put in its place in between is never read."""
    tmp_path = copy_of(trained, tmp_path)
    path = str(tmp_path / 'model.npz')
    expected = model_files.load_npz_model(path)[2]
    checked = model_files.check_model_archive

    def check_then_swap(file, name):
        checked(file, name)
        with zipfile.ZipFile(path + '.new', 'w', zipfile.ZIP_DEFLATED) as swapped:  # compressed: never allowed
            swapped.writestr('kind.npy', b'\x93NUMPY' + bytes(10_000))
        os.replace(path + '.new', path)
    monkeypatch.setattr(model_files, 'check_model_archive', check_then_swap)
    arrays = model_files.load_npz_model(path)[2]
    assert arrays.keys() == expected.keys() and all(np.array_equal(arrays[k], expected[k]) for k in arrays)


def test_a_run_folder_whose_name_is_not_utf8_trains_draws_and_is_evaluated(tmp_path, tiny_synthetic, capsys):
    folder = os.fsdecode(os.path.join(os.fsencode(tmp_path), b'm\xfcller'))
    train_mlp_numpy.main(SYNTHETIC + ['--output_dir', folder])
    evaluate.main([folder])
    assert {'curves.png', 'metrics.json', 'analysis.json', 'confusion_matrix.png'} <= set(os.listdir(folder))
    assert json.load(open(os.path.join(folder, 'metrics.json')))['status'] == 'completed'


def test_a_folder_where_an_output_of_evaluate_goes_is_refused_before_the_work(trained, tmp_path, tiny_synthetic,
                                                                             capsys):
    tmp_path = copy_of(trained, tmp_path)
    (tmp_path / 'confusion_matrix.png').mkdir()
    with pytest.raises(SystemExit, match='confusion_matrix.png is not a plain file; move it away'):
        evaluate.main([str(tmp_path)])
    assert not (tmp_path / 'analysis.json').exists()


def test_the_misclassified_examples_recorded_are_the_wrong_predictions_most_confident_first():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.05, 0.95]])
    labels = np.array([1, 1, 1, 0])
    assert evaluate.shown_wrong(probabilities.argmax(axis=1), probabilities, labels, ['cat', 'dog']) == [
        {'index': 3, 'true': 'cat', 'predicted': 'dog', 'probability': 0.95},
        {'index': 0, 'true': 'dog', 'predicted': 'cat', 'probability': 0.9},
        {'index': 2, 'true': 'dog', 'predicted': 'cat', 'probability': 0.6}]


def test_the_figures_are_drawn_again_from_analysis_json_alone_the_same(trained, tmp_path, tiny_synthetic):
    """analysis.json records the examples misclassified.png shows, and --redraw draws both its figures again from
    it without the model: the same files, byte for byte."""
    run = copy_of(trained, tmp_path)
    analysis = evaluate.main([str(run)])
    labels = cifar10_utils.get_synthetic()['test'].labels.argmax(axis=1)
    assert analysis['misclassified'] and all(
        example['true'] == analysis['classes'][labels[example['index']]] != example['predicted']
        for example in analysis['misclassified'])
    drawn = {name: (run / name).read_bytes() for name in ('confusion_matrix.png', 'misclassified.png')}
    for name in drawn:
        (run / name).unlink()
    (run / 'model.npz').rename(tmp_path / 'elsewhere.npz')
    evaluate.main([str(run), '--redraw'])
    assert {name: (run / name).read_bytes() for name in drawn} == drawn


def test_the_misclassified_images_are_drawn_with_what_analysis_json_says_of_them(trained, tmp_path, tiny_synthetic,
                                                                                 monkeypatch):
    drawn = {}

    def plot_images(images, captions, path, **kwargs):
        drawn.setdefault('grids', []).append((images, captions))
        open(path, 'wb').close()
    monkeypatch.setattr(plots, 'plot_images', plot_images)
    wrong = evaluate.main([str(copy_of(trained, tmp_path))])['misclassified']
    images, captions = drawn['grids'][0]  # then first_layer.png's
    assert captions == [f'{e["true"]}\n→ {e["predicted"]}\np = {e["probability"]:.3f}' for e in wrong]
    test_images = cifar10_utils.synthetic_test_images()
    assert np.array_equal(images, test_images[[example['index'] for example in wrong]])


def spoil_first(**fields):
    return lambda analysis: analysis['misclassified'][0].update(fields)


@pytest.mark.usefixtures('figures_unrendered')
@pytest.mark.parametrize('spoil, message', [
    (lambda analysis: analysis.pop('misclassified'), 'does not record the images misclassified.png shows'),
    (None, 'expected a JSON object with "data"'),  # analysis.json holds []
    (spoil_first(index=10 ** 6), 'shows test image 1000000, but there are 30'),
    (spoil_first(index='0'), r'"misclassified"\[0\] expected "index"'),
    (spoil_first(index=True), r'"misclassified"\[0\] expected "index"'),
    (spoil_first(true='unicorn'), r'"misclassified"\[0\] expected .* "true" and "predicted"'),
    (spoil_first(probability='0.5'), r'"misclassified"\[0\] expected .* "probability"'),
    (spoil_first(probability=float('nan')), r'"misclassified"\[0\] expected .* "probability"'),
    (lambda analysis: analysis['misclassified'].__setitem__(0, 5), r'"misclassified"\[0\] expected'),
    (lambda analysis: analysis['misclassified'].extend([analysis['misclassified'][0]] * 19),
     'expected a list of at most 18 test images'),
    (lambda analysis: analysis['confusion_matrix'][0].pop(), '"confusion_matrix" expected 10 rows of 10 counts'),
    (lambda analysis: analysis['classes'].append('unicorn'), '"classes" expected fake_cifar10\'s 10'),
    (lambda analysis: analysis['data'].update(dataset='imagenet'), '"dataset" one of cifar10'),
    (lambda analysis: analysis['data'].update(fingerprint=5), '"fingerprint" and "data_dir" strings'),
    (lambda analysis: analysis['data'].update(dataset='cifar10', data_dir=None), '"fingerprint" and "data_dir" str'),
    (lambda analysis: analysis['data'].update(dataset='cifar10') or analysis['data'].pop('data_dir'),
     '"fingerprint" and "data_dir" strings'),
    (lambda analysis: analysis['confusion_matrix'][0].__setitem__(0, 10 ** 30), '"confusion_matrix" expected 10 rows'),
    (lambda analysis: analysis['data'].update(fingerprint='0' * 16), 'is not the data .* analyses'),
])
def test_an_analysis_that_cannot_be_drawn_again_is_a_one_line_error_before_any_figure(analysed, tmp_path,
                                                                                     tiny_synthetic, spoil, message):
    run = copy_of(analysed, tmp_path)
    analysis = json.loads((run / 'analysis.json').read_text())
    if spoil:
        spoil(analysis)
    (run / 'analysis.json').write_text(json.dumps(analysis if spoil else []))
    (run / 'confusion_matrix.png').write_bytes(b'before')
    with pytest.raises(SystemExit, match=message):
        evaluate.main([str(run), '--redraw'])
    assert (run / 'confusion_matrix.png').read_bytes() == b'before'


@pytest.mark.usefixtures('figures_unrendered')
def test_a_network_without_errors_has_no_misclassified_images_to_draw(trained, tmp_path, tiny_synthetic):
    run = copy_of(trained, tmp_path)
    analysis = evaluate.main([str(run)])  # draws a misclassified.png, which the analysis without errors removes
    (run / 'analysis.json').write_text(json.dumps({**analysis, 'misclassified': []}))
    evaluate.main([str(run), '--redraw'])
    assert (run / 'confusion_matrix.png').exists() and not (run / 'misclassified.png').exists()


@pytest.mark.parametrize('flag', [['--tta'], ['--data_dir', 'x'], ['--overwrite'], ['--threads', '1'],
                                  ['--device', 'cpu']])
def test_redraw_takes_no_flag_of_a_new_evaluation(trained, tmp_path, flag, capsys):
    with pytest.raises(SystemExit):
        evaluate.main([str(copy_of(trained, tmp_path)), '--redraw', *flag])
    assert f'takes no {flag[0]}' in capsys.readouterr().err
