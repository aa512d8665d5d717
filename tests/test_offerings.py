"""Every offering's template interface, as that offering's student and staff call it from the folder serving it
(instructor/course.py's OFFERINGS): the signatures, central-difference checks of every module's backward in float64,
the MLPs' activations, the 2021+ loaders, train() contracts and flags, and the UvA 2020 scripts' ELU."""
import ast
import contextlib
import importlib
import json
import os
import pickle
import signal
import sys

import numpy as np
import pytest
import torch

from command_line import help_text
from gradient_check import numerical_gradient, relative_error
from instructor import course

ROOT = course.ROOT
EPOCH_TEMPLATES = ('uva2021', 'uva2022', 'uva2023', 'uva2024', 'uva2025', 'bgu2023')
ONE_HOT_TARGETS = ('uva2018', 'uva2019spring', 'uva2019', 'uva2020')
# the hidden activation of each template's MLPs: y(-1), as the NumPy MLP computes it
HIDDEN_AT_MINUS_ONE = {'uva2018': 0.0, 'uva2019spring': 0.0, 'uva2019': -0.02, 'uva2020': np.expm1(-1.0),
                       'uva2021': 0.0, 'uva2022': np.expm1(-1.0), 'uva2023': np.expm1(-1.0),
                       'uva2024': np.expm1(-1.0), 'uva2025': np.expm1(-1.0), 'bgu2023': 0.0}
TORCH_ACTIVATION = {'uva2018': torch.nn.LeakyReLU, 'uva2019spring': torch.nn.LeakyReLU,
                    'uva2019': torch.nn.LeakyReLU, 'uva2020': torch.nn.ELU, 'uva2021': torch.nn.ReLU,
                    'uva2022': torch.nn.ELU, 'uva2023': torch.nn.ELU, 'uva2024': torch.nn.ELU,
                    'uva2025': torch.nn.ELU, 'bgu2023': torch.nn.ReLU}
TEMPLATE_FILES = {
    'uva2020': ['modules.py', 'mlp_numpy.py', 'train_mlp_numpy.py', 'mlp_pytorch.py', 'train_mlp_pytorch.py',
                'custom_layernorm.py', 'convnet_pytorch.py', 'train_convnet_pytorch.py', 'cifar10_utils.py'],
    **{name: ['modules.py', 'mlp_numpy.py', 'train_mlp_numpy.py', 'mlp_pytorch.py', 'train_mlp_pytorch.py',
              'cifar10_utils.py'] + {'uva2021': ['compare_batch_norm.py'], 'uva2022': ['compare_models.py'],
                                     'uva2023': ['compare_batch_norm.py']}.get(name, [])
       for name in EPOCH_TEMPLATES},
    'vu2021': ['autodiff.py', 'vu_data.py', 'train_mlp_autodiff.py'],
}


def _is_project_module(module):
    path = getattr(module, '__file__', None) or ''
    return path.startswith(ROOT + os.sep) and 'site-packages' not in path


@contextlib.contextmanager
def working_in(offering):
    """Import as a student of `offering` working in its folder: that folder first on sys.path, every project module
    imported anew from there (or from the root behind it); sys.modules and sys.path as they were afterwards."""
    saved_path = list(sys.path)
    saved_modules = {name: sys.modules.pop(name) for name, module in list(sys.modules.items())
                     if _is_project_module(module)}
    sys.path.insert(0, course.folder(offering))
    try:
        yield importlib.import_module
    finally:
        # Only the project's modules go back: a library's, imported meanwhile, stays (torch registers some once).
        for name, module in list(sys.modules.items()):
            if _is_project_module(module):
                del sys.modules[name]
        sys.modules.update(saved_modules)
        sys.path[:] = saved_path


@pytest.fixture(params=[name for name in course.OFFERINGS if name != 'vu2021'])
def uva_or_bgu(request):
    with working_in(request.param) as load:
        yield request.param, load


def test_every_offering_is_served_from_its_folder_with_every_file_of_its_template():
    for offering, files in TEMPLATE_FILES.items():
        for name in files:
            assert os.path.isfile(os.path.join(course.folder(offering), name)), (offering, name)
    for offering in set(course.OFFERINGS) - set(TEMPLATE_FILES):
        assert course.folder(offering) == os.path.join(ROOT, '')
    with pytest.raises(ValueError, match='expected one of uva2018'):
        course.folder('uva2017')


def test_a_folders_file_that_is_the_roots_module_only_changes_defaults_or_names():
    """Such a file imports the root's module under another name (runkit.root_module) and defines no forward or
    backward of its own; the training scripts of the folders hold their own loops (test_layout.py)."""
    faces = []
    for folder in {course.folder(name) for name in TEMPLATE_FILES}:
        for name in os.listdir(folder):
            text = open(os.path.join(folder, name)).read() if name.endswith('.py') else ''
            if 'runkit.root_module(' in text:
                faces.append(f'{os.path.basename(folder)}/{name}')
                assert f"runkit.root_module('{name[:-3]}')" in text, name
                assert 'def forward' not in text and 'def backward' not in text, name
    assert {'bgu2023/modules.py', 'uva2020/mlp_numpy.py', 'uva2021/cifar10_utils.py'} <= set(faces)
    assert not [face for face in faces if 'train_' in face or face.endswith('custom_layernorm.py')]


def test_the_faces_modules_are_the_folders_and_the_roots_module_a_real_module_of_its_own():
    with working_in('bgu2023') as load:
        face = load('mlp_numpy')
        assert face.__file__ == os.path.join(ROOT, 'bgu2023', 'mlp_numpy.py')
        assert load('runkit').__file__ == os.path.join(ROOT, 'runkit', '__init__.py')
        root = sys.modules['root_mlp_numpy']
        assert root.__file__ == os.path.join(ROOT, 'mlp_numpy.py') and issubclass(face.MLP, root.MLP)
        # the root's MLP builds its layers from the folder's modules, the face's defaults changing none it passes
        model = face.MLP(6, [4], 3, seed=0)
        assert type(model.layers[0]) is load('modules').LinearModule and model.layers[0].params['weight'].dtype == \
            np.float64
        assert model.layers[1].forward(np.array([-1.0]))[0] == 0.0
    assert importlib.import_module('mlp_numpy').__file__ == os.path.join(ROOT, 'mlp_numpy.py')


def _targets(offering, batch, classes, rng):
    labels = rng.integers(classes, size=batch)
    return np.eye(classes)[labels] if offering in ONE_HOT_TARGETS else labels


def _check_backward(module, x, dout, params=None):
    """The module's backward against central differences of sum(forward(x) * dout), for x and each parameter: the
    largest difference within 1e-5 of the largest gradient."""
    module.forward(x)
    dx = module.backward(dout)
    assert relative_error(dx, numerical_gradient(lambda: (module.forward(x) * dout).sum(), x)) < 1e-5
    for name in params or ():
        value = module.params[name]
        numeric = numerical_gradient(lambda: (module.forward(x) * dout).sum(), value)
        assert relative_error(module.grads[name], numeric) < 1e-5, name


def test_every_modules_backward_passes_central_differences_as_the_template_calls_it(uva_or_bgu):
    offering, load = uva_or_bgu
    modules = load('modules')
    rng = np.random.default_rng(0)
    x, dout = rng.standard_normal((7, 5)), rng.standard_normal((7, 4))
    linear = modules.LinearModule(5, 4)
    if offering in EPOCH_TEMPLATES:  # Kaiming's scale in float64, so that the staff's float64 checks hold
        linear = modules.LinearModule(5, 4, input_layer=True)
        assert linear.params['weight'].dtype == np.float64 and 0.1 < linear.params['weight'].std() < 2
    linear.params['weight'] = linear.params['weight'].astype(np.float64)
    linear.params['bias'] = rng.standard_normal(4)
    _check_backward(linear, x, dout, ['weight', 'bias'])
    activations = {'uva2018': modules.ReLUModule(), 'uva2019spring': modules.ReLUModule(),
                   'uva2019': modules.LeakyReLUModule(0.02), 'uva2020': modules.ELUModule(),
                   'uva2021': modules.ReLUModule(), 'uva2022': modules.ELUModule(), 'uva2023': modules.ELUModule(),
                   'uva2024': modules.ELUModule(0.5), 'uva2025': modules.ELUModule(alpha=0.5),
                   'bgu2023': modules.RELUModule()}
    _check_backward(activations[offering], x, rng.standard_normal((7, 5)))
    _check_backward(modules.SoftMaxModule(), x, rng.standard_normal((7, 5)))
    probabilities = modules.SoftMaxModule().forward(x)
    targets = _targets(offering, 7, 5, rng)
    loss = modules.CrossEntropyModule()
    numeric = numerical_gradient(lambda: loss.forward(probabilities, targets), probabilities)
    assert relative_error(loss.backward(probabilities, targets), numeric) < 1e-6


def test_clear_cache_leaves_no_batch_behind(uva_or_bgu):
    offering, load = uva_or_bgu
    mlp = _numpy_mlp(offering, load)
    x = np.random.default_rng(0).standard_normal((11, 6))
    mlp.backward(mlp.forward(x))
    mlp.clear_cache()
    kept = [value for layer in mlp.layers for value in vars(layer).values()
            if isinstance(value, np.ndarray) and value.shape[:1] == (11,)]
    assert kept == [] and all(layer.grads['weight'].any() for layer in mlp.layers if hasattr(layer, 'grads'))


def _numpy_mlp(offering, load, **kwargs):
    mlp_numpy = load('mlp_numpy')
    if offering == 'uva2019':
        return mlp_numpy.MLP(6, [5, 4], 3, 0.02, **kwargs)
    return mlp_numpy.MLP(6, [5, 4], 3, **kwargs)


def test_the_numpy_mlp_has_the_templates_activation_and_its_gradients_pass_central_differences(uva_or_bgu):
    offering, load = uva_or_bgu
    np.random.seed(0)  # the 2021+ templates draw the weights from NumPy's global generator
    mlp = _numpy_mlp(offering, load)
    assert mlp.layers[1].forward(np.array([-1.0]))[0] == pytest.approx(HIDDEN_AT_MINUS_ONE[offering])
    np.random.seed(0)
    assert np.array_equal(_numpy_mlp(offering, load).layers[0].params['weight'], mlp.layers[0].params['weight'])
    if offering not in EPOCH_TEMPLATES:  # the root's MLP is float32 unless asked
        mlp = _numpy_mlp(offering, load, dtype=np.float64, init='kaiming', seed=0)
    rng = np.random.default_rng(1)
    x, targets = rng.standard_normal((7, 6)), _targets(offering, 7, 3, rng)
    loss_module = load('modules').CrossEntropyModule()

    def loss():
        return loss_module.forward(mlp.forward(x), targets)

    probabilities = mlp.forward(x)
    mlp.backward(loss_module.backward(probabilities, targets))
    for params, grads in mlp.parameters():
        for name in params:
            assert relative_error(grads[name], numerical_gradient(loss, params[name])) < 1e-5


def test_the_pytorch_mlp_takes_the_templates_arguments(uva_or_bgu):
    offering, load = uva_or_bgu
    MLP = load('mlp_pytorch').MLP
    x = torch.randn(8, 3, 2, 2)
    if offering in EPOCH_TEMPLATES:
        plain, normed = MLP(12, [6], 10), MLP(12, [6], 10, use_batch_norm=True)
        assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in plain.modules())
        assert any(isinstance(m, torch.nn.BatchNorm1d) for m in normed.modules())
        assert normed(x).shape == (8, 10)
    else:
        plain = MLP(12, [6], 10, 0.02) if offering == 'uva2019' else MLP(12, [6], 10)
    assert plain(x).shape == (8, 10)
    assert [type(m) for m in plain.modules() if type(m) in set(TORCH_ACTIVATION.values())] == \
        [TORCH_ACTIVATION[offering]]


def test_uva2020_has_the_layer_norm_in_its_three_forms():
    with working_in('uva2020') as load:
        layernorm = load('custom_layernorm')
        x = torch.randn(4, 6, dtype=torch.float64)
        expected = torch.nn.functional.layer_norm(x, (6,))
        for module in (layernorm.CustomLayerNormAutograd(6), layernorm.CustomLayerNormManualModule(6, eps=1e-5)):
            assert torch.allclose(module.double()(x), expected)
        out = layernorm.CustomLayerNormManualFunction.apply(x, torch.ones(6, dtype=torch.float64),
                                                            torch.zeros(6, dtype=torch.float64), 1e-5)
        assert torch.allclose(out, expected)


def test_uva2020s_scripts_train_the_elu_networks(tmp_path, figures_unrendered, capsys):
    with working_in('uva2020') as load:
        for script in ('train_mlp_numpy', 'train_mlp_pytorch'):
            folder = str(tmp_path / script)
            metrics = load(script).main(['--dataset', 'fake_cifar10', '--max_steps', '2', '--output_dir', folder])
            assert metrics['config']['activation'] == 'elu'
            # --help lists the template's flags alone first: 2019's without --neg_slope
            assert help_text(load(script).parse_flags, capsys)[1] == {
                '-h', '--dnn_hidden_units', '--learning_rate', '--max_steps', '--batch_size', '--eval_freq',
                '--data_dir'}


def test_the_vu_names_are_the_roots():
    import autodiff
    import vu_data
    node = autodiff.TensorNode(np.ones((2, 3)), source=None, name='x')
    assert node.size() == (2, 3) and autodiff.Sub is autodiff.Subtract
    for name in ('RowSum', 'RowMax', 'Id', 'BatchMM'):
        assert hasattr(autodiff, name)
    (x_train, y_train), (x_val, y_val), classes = vu_data.load_synth(num_train=20, num_val=10)
    assert x_train.shape == (20, 2) and len(y_val) == 10 and classes == 2


# ---- the templates of UvA 2021-2024 and BGU 2023: loaders, train(), evaluate_model, flags

TRAIN_IMAGES = 5000 + 250  # the templates' validation split is 5,000 images


def _write_batch(path, images, labels):
    with open(path, 'wb') as file:
        pickle.dump({'data': images.reshape(len(images), -1), 'labels': labels.tolist()}, file, protocol=4)


@pytest.fixture(scope='module')
def cifar_root(tmp_path_factory):
    """A torchvision-style root: cifar-10-batches-py with five training batches and a test batch, each image its
    class's pattern under noise."""
    root = tmp_path_factory.mktemp('data')
    folder = root / 'cifar-10-batches-py'
    folder.mkdir()
    rng = np.random.default_rng(0)

    patterns = rng.uniform(0, 255, size=(10, 3072))

    def batch(n):
        labels = rng.integers(10, size=n)
        images = np.clip(0.5 * patterns[labels] + rng.normal(64, 40, size=(n, 3072)), 0, 255).astype(np.uint8)
        return images, labels

    for i in range(1, 6):
        _write_batch(folder / f'data_batch_{i}', *batch(TRAIN_IMAGES // 5))
    _write_batch(folder / 'test_batch', *batch(300))
    return str(root)


@pytest.fixture(params=['uva2021', 'uva2022', 'uva2024', 'bgu2023'])  # one offering of each folder
def epoch_template(request):
    with working_in(request.param) as load:
        yield request.param, load


def test_get_cifar10_and_get_dataloader_as_the_template_calls_them(cifar_root):
    with working_in('uva2021') as load:
        cifar10_utils = load('cifar10_utils')
        datasets = cifar10_utils.get_cifar10(cifar_root)
        assert [len(datasets[name]) for name in ('train', 'validation', 'test')] == [250, 5000, 300]
        assert len(cifar10_utils.get_cifar10(os.path.join(cifar_root, 'cifar-10-batches-py'),
                                             validation_size=50)['validation']) == 50
        loaders = cifar10_utils.get_dataloader(datasets, batch_size=64, return_numpy=True)
        x, y = next(iter(loaders['train']))
        assert isinstance(x, np.ndarray) and x.shape == (64, 3, 32, 32) and x.dtype == np.float32
        assert y.dtype == np.int64 and len(loaders['train']) == 250 // 64  # the incomplete batch is dropped
        assert sum(len(y) for _, y in loaders['test']) == 300  # the held-out splits are whole
        x, y = next(iter(cifar10_utils.get_dataloader(datasets, batch_size=32)['validation']))
        assert isinstance(x, torch.Tensor) and x.shape == (32, 3, 32, 32)
        # each channel standardised with the training split's statistics
        train_images = datasets['train'].tensors[0]
        assert torch.allclose(train_images.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4)


def test_evaluate_model_covers_the_whole_loader_whatever_the_batch_sizes(epoch_template, cifar_root):
    offering, load = epoch_template
    cifar10_utils, script = load('cifar10_utils'), load('train_mlp_numpy')
    np.random.seed(0)
    model = load('mlp_numpy').MLP(3072, [8], 10)
    datasets = cifar10_utils.get_cifar10(cifar_root)
    x, y = datasets['test'].tensors
    expected = float((model.forward(x.numpy().reshape(300, -1)).argmax(axis=1) == y.numpy()).mean())
    for batch_size in (300, 128, 7):
        loader = cifar10_utils.get_dataloader(datasets, batch_size, return_numpy=True)['test']
        result = script.evaluate_model(model, loader)
        if offering in ('uva2021', 'uva2024'):  # the accuracy, a float
            assert isinstance(result, float) and result == pytest.approx(expected)
        else:
            assert result['accuracy'] == pytest.approx(expected) and result['precision'].shape == (10,)
            assert set(result) == {'accuracy', 'precision', 'recall', 'f1_beta', 'loss'}  # and the curves' loss


@pytest.mark.parametrize('name', ['train_mlp_numpy', 'train_mlp_pytorch'])  # the template asks for both
def test_confusion_matrix_and_its_metrics(name):
    with working_in('bgu2023') as load:
        script = load(name)
        predictions = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.0, 0.3, 0.7]])
        targets = np.array([0, 1, 2, 2])
        matrix = script.confusion_matrix(predictions, targets)
        assert matrix.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
        metrics = script.confusion_matrix_to_metrics(matrix)
        assert metrics['accuracy'] == 0.75
        assert metrics['precision'].tolist() == [1, 0.5, 1] and metrics['recall'].tolist() == [1, 1, 0.5]
        assert metrics['f1_beta'].tolist() == pytest.approx([1, 2 / 3, 2 / 3])
        # beta weighs recall beta times as much as precision: F2 of class 1 is 5 pr / (4 p + r)
        assert float(script.confusion_matrix_to_metrics(matrix, beta=2.)['f1_beta'][1]) == pytest.approx(2.5 / 3)
        with pytest.raises(ValueError, match=r'class indices \(batch,\)'):
            script.confusion_matrix(predictions, np.eye(3)[[0, 1, 2, 2]])
        with pytest.raises(ValueError, match='integer class indices'):
            script.confusion_matrix(predictions, np.array([0.5, 1, 2, 2]))
        with pytest.raises(ValueError, match=r'class indices in \[0, 3\) for predictions of 3 classes, got -1 to 2'):
            script.confusion_matrix(predictions, np.array([0, 1, 2, -1]))
        with pytest.raises(ValueError, match=r'class indices in \[0, 3\) for predictions of 3 classes, got 0 to 9'):
            script.confusion_matrix(predictions, np.array([0, 1, 2, 9]))  # targets of more classes than predicted
        # a class never predicted, and one never present: precision or recall 0, and F-beta 0, not NaN
        never = script.confusion_matrix_to_metrics(np.array([[2., 0, 0], [1, 0, 0], [0, 0, 0]]))
        assert never['precision'].tolist() == [2 / 3, 0, 0] and never['recall'].tolist() == [1, 0, 0]
        assert never['f1_beta'].tolist() == pytest.approx([0.8, 0, 0])


def _numpy_train(load, cifar_root, **changes):
    arguments = {**dict(hidden_dims=[16], lr=0.05, batch_size=50, epochs=3, seed=1, data_dir=cifar_root), **changes}
    return load('train_mlp_numpy').train(**arguments)


def test_numpy_train_returns_the_best_validation_model_and_one_accuracy_per_epoch(epoch_template, cifar_root):
    offering, load = epoch_template
    model, val_accuracies, test_accuracy, logging_dict = _numpy_train(load, cifar_root)
    assert len(val_accuracies) == 3 and len(logging_dict['train_loss_per_epoch']) == 3
    cifar10_utils, script = load('cifar10_utils'), load('train_mlp_numpy')
    loaders = cifar10_utils.get_dataloader(cifar10_utils.get_cifar10(cifar_root), 100, return_numpy=True)
    accuracy = script.evaluate_model if offering in ('uva2021', 'uva2024') else \
        (lambda m, loader: script.evaluate_model(m, loader)['accuracy'])
    assert accuracy(model, loaders['validation']) == pytest.approx(max(val_accuracies))
    assert accuracy(model, loaders['test']) == pytest.approx(test_accuracy)
    assert logging_dict['val_accuracies'][logging_dict['best_epoch'] - 1] == max(val_accuracies)
    assert max(val_accuracies) > 0.3  # it learns (chance: 0.1)


def test_train_returns_the_model_of_the_best_validation_epoch_not_the_last(cifar_root, monkeypatch):
    with working_in('uva2021') as load:
        script = load('train_mlp_numpy')
        evaluate_model = script.evaluate_model

        def trained(validation_accuracies, epochs):
            """train(), the validation accuracies at step 1 and after each epoch being those given."""
            scripted = list(validation_accuracies)

            def scripted_validation(model, loader, with_loss=False):
                loss, accuracy = evaluate_model(model, loader, with_loss=True)
                if len(loader.dataset) == 5000:  # the validation split
                    accuracy = scripted.pop(0)
                return (loss, accuracy) if with_loss else accuracy

            with monkeypatch.context() as patch:
                patch.setattr(script, 'evaluate_model', scripted_validation)
                return _numpy_train(load, cifar_root, epochs=epochs)

        def weights(model):
            return [layer.params['weight'] for layer in model.layers if hasattr(layer, 'params')]

        model, val_accuracies, _, logging_dict = trained([0.1, 0.5, 0.9, 0.7], epochs=3)
        assert val_accuracies == [0.5, 0.9, 0.7] and logging_dict['best_epoch'] == 2
        # the same seed gives the same first epochs; improving accuracies make the last model the one returned
        after_two, after_three = trained([0.1, 0.5, 0.9], epochs=2)[0], trained([0.1, 0.5, 0.9, 1.0], epochs=3)[0]
        assert all(np.array_equal(a, b) for a, b in zip(weights(model), weights(after_two)))
        assert not all(np.array_equal(a, b) for a, b in zip(weights(model), weights(after_three)))


def test_numpy_train_uses_every_argument_and_repeats_with_its_seed(cifar_root):
    with working_in('bgu2023') as load:
        _, val_accuracies, _, logging_dict = _numpy_train(load, cifar_root)
        assert _numpy_train(load, cifar_root)[3]['train_loss'] == logging_dict['train_loss']
        for change in [dict(seed=2), dict(lr=0.01), dict(batch_size=25)]:
            assert _numpy_train(load, cifar_root, **change)[3]['train_loss'] != logging_dict['train_loss'], change
        assert _numpy_train(load, cifar_root, batch_size=25)[3]['config']['steps_per_epoch'] == 10
        model, val_accuracies, _, _ = _numpy_train(load, cifar_root, hidden_dims=[7, 5], epochs=1)
        assert len(val_accuracies) == 1 and [layer.params['weight'].shape for layer in model.layers
                                             if hasattr(layer, 'params')] == [(7, 3072), (5, 7), (10, 5)]
        with pytest.raises(load('cifar10_utils').DataError, match='does not exist|failed'):
            _numpy_train(load, cifar_root + '_missing', epochs=1)
        with pytest.raises(load('cifar10_utils').DataError,
                           match=r'batch_size 251 is larger than the training split \(250 images\)'):
            _numpy_train(load, cifar_root, batch_size=251, epochs=1)  # no batch would be left to train on


def test_pytorch_train_returns_the_best_validation_model_and_uses_batch_norm(cifar_root):
    with working_in('uva2022') as load:
        arguments = dict(hidden_dims=[16], lr=0.05, batch_size=50, epochs=2, seed=1, data_dir=cifar_root)
        model, val_accuracies, test_accuracy, logging_dict = load('train_mlp_pytorch').train(
            use_batch_norm=True, **arguments)
        assert len(val_accuracies) == 2 and any(isinstance(m, torch.nn.BatchNorm1d) for m in model.modules())
        assert type(model.layers[2]) is torch.nn.ELU and model.training
        cifar10_utils = load('cifar10_utils')
        loaders = cifar10_utils.get_dataloader(cifar10_utils.get_cifar10(cifar_root), 100)
        script = load('train_mlp_pytorch')
        assert script.evaluate_model(model, loaders['validation'])['accuracy'] == pytest.approx(max(val_accuracies))
        assert script.evaluate_model(model, loaders['test'])['accuracy'] == pytest.approx(test_accuracy)
        again = script.train(use_batch_norm=True, **arguments)[3]
        assert again['train_loss'] == logging_dict['train_loss']
        assert script.train(use_batch_norm=False, **arguments)[3]['train_loss'] != logging_dict['train_loss']


@pytest.mark.parametrize('script', ['train_mlp_numpy', 'train_mlp_pytorch'])
def test_the_flags_and_defaults_are_the_templates(script, tmp_path, cifar_root, figures_unrendered):
    with working_in('bgu2023') as load:
        face = load(script)
        defaults = vars(face.parse_flags([]))
        expected = dict(hidden_dims=[128], lr=0.1, batch_size=128, epochs=10, seed=42)
        assert {name: defaults[name] for name in expected} == expected
        assert defaults.get('use_batch_norm', False) is False
        assert face.parse_flags(['--hidden_dims', '256', '128']).hidden_dims == [256, 128]
        folder = str(tmp_path / 'run')
        metrics = face.main(['--hidden_dims', '8', '--epochs', '1', '--batch_size', '125', '--data_dir', cifar_root,
                             '--output_dir', folder])
        assert metrics['config']['offering'] == 'bgu2023' and metrics['config']['hidden_dims'] == [8]
        assert {'curves.png', 'metrics.json'} <= set(os.listdir(folder))
        with pytest.raises(SystemExit, match='already holds'):
            face.main(['--epochs', '1', '--data_dir', cifar_root, '--output_dir', folder])
        with pytest.raises(SystemExit):
            face.main(['--lr', '-1'])


@pytest.mark.parametrize('offering', ['uva2021', 'uva2022', 'uva2024', 'bgu2023'])
def test_a_seed_np_random_seed_refuses_is_a_one_line_error_naming_the_flag(offering, capsys):
    with working_in(offering) as load:
        for script in ('train_mlp_numpy', 'train_mlp_pytorch'):
            with pytest.raises(SystemExit):
                load(script).parse_flags(['--seed', str(2 ** 32)])
            assert 'seed must be an integer in [0, 2**32), got 4294967296' in capsys.readouterr().err


def test_the_docs_quote_the_committed_face_runs():
    """docs/offerings.md's numbers of the later templates' default runs, UvA 2020's ConvNet and 2022's F-beta are the
    committed runs' own."""
    text = open(os.path.join(ROOT, 'docs', 'offerings.md')).read()
    lines = text.splitlines()

    def metrics(run):
        return json.load(open(os.path.join(ROOT, 'results', run, 'metrics.json')))
    for run, offering in [('bgu_face_mlp_numpy', 'bgu2023'), ('bgu_face_mlp_pytorch', 'bgu2023'),
                          ('uva2021_mlp_numpy', 'uva2021'), ('uva2021_mlp_pytorch', 'uva2021'),
                          ('uva2022_mlp_numpy', 'uva2022_2023'), ('uva2022_mlp_pytorch', 'uva2022_2023'),
                          ('uva2024_mlp_numpy', 'uva2024_2025'), ('uva2024_mlp_pytorch', 'uva2024_2025'),
                          ('uva2024_mlp_pytorch_batch_norm', 'uva2024_2025')]:
        m = metrics(run)
        best = m['best_epoch']
        tail = (f'| {m["test_metrics"]["accuracy"]:.4f} | {m["val_accuracies"][best - 1]:.4f} ({best} of '
                f'{len(m["val_accuracies"])}) | {m["wall_time_s"]:.1f} s |')
        assert any(line.startswith(f'| `results/{run}` |') and line.endswith(tail) for line in lines), run
        assert m['config']['offering'] == offering and m['config']['epochs'] == 10 and m['status'] == 'completed'
    convnet = metrics('uva2020_convnet')
    assert convnet['config']['network'] == 'preact_resnet' and convnet['config']['max_steps'] == 5000
    assert f'| `results/uva2020_convnet` | {convnet["final_test_accuracy"]:.4f} | {convnet["wall_time_s"]:.0f} s |' \
        in text
    f_beta = metrics('uva2022_mlp_numpy')
    for i, name in enumerate(('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship',
                              'truck')):
        row = ' | '.join([f'| {name}'] + [f'{f_beta["test_metrics"][key][i]:.4f}' for key in ('precision', 'recall')]
                         + [f'{f_beta["test_f_beta"][beta][i]:.4f}' for beta in ('0.1', '1', '10')]) + ' |'
        assert row in text, row


def test_a_student_in_each_folder_imports_the_template_as_the_staffs_tests_do(tmp_path):
    """In a separate Python, as `python unittests.py` in the folder runs it: `from modules import *` first, nothing of
    the project's on PYTHONPATH. The NumPy files only, for every folder (torch takes seconds to import); all of
    BGU's."""
    import subprocess
    # an installed package named like a root module must not hide it (HuggingFace's datasets)
    shadow = tmp_path / 'site' / 'datasets'
    shadow.mkdir(parents=True)
    (shadow / '__init__.py').write_text('')
    env = {**{name: value for name, value in os.environ.items() if name != 'PYTHONPATH'},
           'PYTHONPATH': str(tmp_path / 'site')}
    for offering in ('uva2020', 'uva2021', 'uva2022', 'uva2024', 'bgu2023'):
        extra = 'import cifar10_utils, mlp_pytorch, train_mlp_numpy, train_mlp_pytorch' if offering == 'bgu2023' else ''
        code = ('from modules import *\nimport numpy as np\nnp.random.seed(42)\nfrom mlp_numpy import MLP\n'
                'print(type(MLP(4, [3], 2).layers[1]).__name__, LinearModule(4, 3).params["weight"].dtype)\n' + extra)
        result = subprocess.run([sys.executable, '-c', code], cwd=course.folder(offering), env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        expected = {'uva2020': 'ELUModule float32', 'uva2021': 'ReLUModule float64',
                    'uva2022': 'ELUModule float64', 'uva2024': 'ELUModule float64',
                    'bgu2023': 'ReLUModule float64'}[offering]
        assert result.stdout.split('\n')[0] == expected


def _code_of(path):
    """A script's statements but its docstring and the lines that put the root on sys.path, as ast dumps."""
    body = ast.parse(open(os.path.join(ROOT, path)).read()).body[1:]
    return [ast.dump(node) for node in body if '_root_dir' not in ast.unparse(node)
            and not (isinstance(node, ast.Import) and node.names[0].name in ('os', 'sys'))]


@pytest.mark.parametrize('copy, original', [
    ('bgu2023/train_mlp_numpy.py', 'uva2022_2023/train_mlp_numpy.py'),
    ('bgu2023/train_mlp_pytorch.py', 'uva2022_2023/train_mlp_pytorch.py'),
    ('uva2021/cifar10_utils.py', 'uva2022_2023/cifar10_utils.py'),
    ('bgu2023/cifar10_utils.py', 'uva2022_2023/cifar10_utils.py'),
    ('uva2024_2025/cifar10_utils.py', 'uva2022_2023/cifar10_utils.py'),
    ('uva2024_2025/train_mlp_numpy.py', 'uva2021/train_mlp_numpy.py'),
    ('uva2024_2025/train_mlp_pytorch.py', 'uva2021/train_mlp_pytorch.py'),
    ('uva2022_2023/compare_models.py', 'uva2021/compare_batch_norm.py'),
    ('uva2022_2023/compare_batch_norm.py', 'uva2021/compare_batch_norm.py'),
    *[(f'{folder}/modules.py', 'uva2021/modules.py') for folder in ('uva2022_2023', 'uva2024_2025', 'bgu2023')],
    *[(f'uva2024_2025/{name}', f'uva2022_2023/{name}') for name in ('mlp_numpy.py', 'mlp_pytorch.py')],
])
def test_the_scripts_a_folder_repeats_stay_the_same_code(copy, original):
    """BGU's scripts are UvA 2022's, UvA 2024's UvA 2021's (their networks differ, in their folders' modules), 2022's
    compare_models.py 2021's compare_batch_norm.py, and the 2021+ templates' cifar10_utils.py one file in four
    folders, but for their docstrings and names: each folder holds its own files, so a fix to one must go to the
    others."""
    assert _code_of(copy) == _code_of(original)


def test_a_step_offerings_scripts_default_to_the_roots_data_from_their_folder(monkeypatch):
    """UvA 2020's scripts, run in uva2020/, read the root's cifar10/ as the root's scripts do: one copy serves all."""
    monkeypatch.chdir(os.path.join(ROOT, 'uva2020'))
    with working_in('uva2020') as load:
        for script in ('train_mlp_numpy', 'train_mlp_pytorch', 'train_convnet_pytorch'):
            data_dir = load(script).parse_flags([]).data_dir
            assert os.path.abspath(data_dir) == os.path.join(ROOT, 'cifar10', 'cifar-10-batches-py'), script


def test_evaluate_finds_the_projects_copy_for_a_run_trained_in_an_offerings_folder(cifar_root, tmp_path,
                                                                                   monkeypatch):
    """Such a run records the copy relative to its folder ('../cifar10/...'); evaluated from elsewhere it reads the
    project's copy when that is the data the run recorded, and no other."""
    import runkit
    from cifar10_utils import DataError
    from runkit import datasets, models
    project = tmp_path / 'project'
    project.mkdir()
    (project / 'cifar10').symlink_to(cifar_root)
    (tmp_path / 'elsewhere').mkdir()
    monkeypatch.setattr(runkit, 'ROOT', str(project))
    monkeypatch.chdir(tmp_path / 'elsewhere')
    copy = os.path.join(cifar_root, 'cifar-10-batches-py')
    config = {'dataset': 'cifar10', 'data_dir': '../cifar10/cifar-10-batches-py', 'validation_size': 0,
              'data_fingerprint': datasets.fingerprint('cifar10', copy)}
    test, provenance = models.run_split(config)
    assert os.path.samefile(provenance['data_dir'], copy) and test.num_examples == 300
    # another copy's fingerprint: the recorded path stands, and is missing here (no download is tried)
    def missing(name, data_dir, **kwargs):
        raise DataError(f'CIFAR-10 is not in {data_dir}')
    monkeypatch.setattr(datasets, 'load_dataset', missing)
    with pytest.raises(DataError, match=r'not in \.\./cifar10/cifar-10-batches-py'):
        models.run_split({**config, 'data_fingerprint': '0123456789abcdef'})


@pytest.mark.parametrize('requests', [1, 2])
def test_a_stop_during_the_final_test_evaluation_never_leaves_a_completed_run_without_its_results(
        requests, cifar_root, tmp_path, monkeypatch, figures_unrendered):
    """One stop request there lets the run finish whole; a second stops it at once, and it says it was interrupted."""
    with working_in('uva2021') as load:
        script = load('train_mlp_pytorch')
        evaluate_model = script.evaluate_model

        def stopped_in_the_final_evaluation(model, loader, with_loss=False):
            if not with_loss:  # only the best model's test accuracy is asked for without the loss
                for _ in range(requests):
                    os.kill(os.getpid(), signal.SIGTERM)
            return evaluate_model(model, loader, with_loss)

        monkeypatch.setattr(script, 'evaluate_model', stopped_in_the_final_evaluation)
        argv = ['--epochs', '1', '--batch_size', '125', '--data_dir', cifar_root, '--output_dir', str(tmp_path)]
        if requests == 1:
            script.main(argv)
        else:
            with pytest.raises(SystemExit, match=f'^interrupted; what was recorded is in {tmp_path}$'):
                script.main(argv)
        metrics = json.loads((tmp_path / 'metrics.json').read_text())
        assert metrics['status'] == ('completed' if requests == 1 else 'interrupted')
        if metrics['status'] == 'completed':
            assert {'val_accuracies', 'best_epoch', 'test_metrics'} <= metrics.keys()
