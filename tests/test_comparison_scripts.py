"""UvA 2021's compare_batch_norm.py and 2022's compare_models.py (2023's compare_batch_norm.py): the template's
train_models(results_filename) and plot_results(results_filename), run on a small stand-in CIFAR-10."""
import json
import os

import pytest

from test_offerings import cifar_root, working_in  # noqa: F401 (a fixture)


def test_compare_batch_norm_trains_each_size_without_and_with_batch_norm_and_plots_both_accuracies(
        cifar_root, tmp_path, figures_unrendered, capsys):  # noqa: F811
    with working_in('uva2021') as load:
        compare = load('compare_batch_norm')
        results = compare.main(['--epochs', '1', '--data_dir', cifar_root, '--output_dir', str(tmp_path)])
        saved = json.loads((tmp_path / 'metrics.json').read_text())
        assert saved == json.loads(json.dumps(results))
        assert saved['settings'] == {'lr': 0.1, 'batch_size': 128, 'epochs': 1, 'seed': 42}
        assert [(m['hidden_dims'], m['use_batch_norm']) for m in saved['models'].values()] == [
            ([128], False), ([128], True), ([256, 128], False), ([256, 128], True), ([512, 256, 128], False),
            ([512, 256, 128], True)]
        for model in saved['models'].values():
            assert len(model['train_accuracies']) == len(model['val_accuracies']) == 1
            assert 0 <= model['test_accuracy'] <= 1 and model['best_epoch'] == 1
        assert {'train_accuracy.png', 'validation_accuracy.png', 'mlp_128_batch_norm'} <= \
            {path.name for path in tmp_path.iterdir()}
        assert json.loads((tmp_path / 'mlp_128' / 'metrics.json').read_text())['status'] == 'completed'

        # a rerun of the same settings keeps what the results hold: nothing is trained again
        def no_training(*args, **kwargs):
            raise AssertionError('trained again')
        compare.train_mlp_pytorch.train = no_training
        assert compare.train_models(str(tmp_path / 'metrics.json'), epochs=1, data_dir=cifar_root) == saved
        # other settings in the same folder need --overwrite
        with pytest.raises(SystemExit):
            compare.main(['--epochs', '3', '--data_dir', cifar_root, '--output_dir', str(tmp_path)])
        assert 'holds a comparison with --epochs 1;' in capsys.readouterr().err


def test_compare_models_is_2022s_name_and_2023s_template_calls_it_compare_batch_norm():
    with working_in('uva2022') as load:
        models = load('compare_models')
        assert load('compare_batch_norm').SCRIPT == 'compare_batch_norm' and models.SCRIPT == 'compare_models'
        assert models.HIDDEN_DIMS == ([128], [256, 128], [512, 256, 128])
        # the folder's MLP: ELU, as 2022's template builds it
        import torch
        mlp = models.train_mlp_pytorch.MLP(10, [4], 2)
        assert any(isinstance(m, torch.nn.ELU) for m in mlp.modules())


@pytest.mark.parametrize('run', ['uva2021_compare_batch_norm', 'uva2022_compare_models'])
def test_the_docs_quote_the_committed_comparisons(run):
    from instructor import course
    text = open(os.path.join(course.ROOT, 'docs', 'offerings.md')).read()
    results = os.path.join(course.ROOT, 'results', run)
    saved = json.load(open(os.path.join(results, 'metrics.json')))
    assert saved['settings'] == {'lr': 0.1, 'batch_size': 128, 'epochs': 20, 'seed': 42}  # the texts' settings
    for name, model in saved['models'].items():
        wall = json.load(open(os.path.join(results, name, 'metrics.json')))['wall_time_s']
        best = model['best_epoch']
        row = (f"| {model['hidden_dims']} | {'yes' if model['use_batch_norm'] else 'no'} | "
               f"{model['val_accuracies'][best - 1]:.4f} ({best}) | {model['test_accuracy']:.4f} | "
               f"{model['train_accuracies'][-1]:.4f} | {wall:.0f} s |")
        assert row in text, row


def test_the_templates_call_writes_its_results_file_alone(tmp_path, monkeypatch):
    """train_models('results.txt'), as the templates' __main__ calls it, keeps its runs in memory: no run folders
    among the student's files."""
    with working_in('uva2021') as load:
        compare = load('compare_batch_norm')

        def train(hidden_dims, lr, use_batch_norm, batch_size, epochs, seed, data_dir, run):
            assert run.folder is None
            return None, [0.5] * epochs, 0.5, {'train_accuracy_per_epoch': [0.6] * epochs, 'best_epoch': 1}
        monkeypatch.setattr(compare.train_mlp_pytorch, 'train', train)
        monkeypatch.chdir(tmp_path)
        compare.train_models('results.txt', epochs=2)
        assert os.listdir(tmp_path) == ['results.txt']
        assert len(json.loads((tmp_path / 'results.txt').read_text())['models']) == 6
