"""Every offering's template signatures, as our own table of them (from each year's public template files): each name
importable from the offering's folder, with the template's parameters first, in its order, under its names and with
its defaults; what the project adds comes after them, with defaults, so that the template's calls still work."""
import inspect

import pytest

from instructor import course
from test_offerings import working_in

REQUIRED = inspect.Parameter.empty
# The project's own CIFAR-10 copy, not the templates' 'data/': one copy serves every folder (docs/offerings.md).
DEFAULTS_THE_PROJECT_CHANGES = {('cifar10_utils', 'get_cifar10', 'data_dir')}

_NUMPY_MODULES = {'LinearModule': ['in_features', 'out_features'], 'SoftMaxModule': [], 'CrossEntropyModule': []}
_STEP_SCRIPTS = {'accuracy': ['predictions', 'targets'], 'train': []}
_STEP = {  # UvA 2018, spring 2019, 2019 and 2020: the step templates
    'modules': _NUMPY_MODULES,
    'mlp_numpy': {'MLP': ['n_inputs', 'n_hidden', 'n_classes']},
    'mlp_pytorch': {'MLP': ['n_inputs', 'n_hidden', 'n_classes']},
    'train_mlp_numpy': _STEP_SCRIPTS, 'train_mlp_pytorch': _STEP_SCRIPTS, 'train_convnet_pytorch': _STEP_SCRIPTS,
    'convnet_pytorch': {'ConvNet': ['n_channels', 'n_classes']},
}
_EPOCH = {  # UvA 2021 on, and BGU
    'cifar10_utils': {'get_cifar10': [('data_dir', 'data/'), ('validation_size', 5000)],
                      'read_data_sets': ['data_dir', ('validation_size', 5000)],
                      'get_dataloader': ['dataset', 'batch_size', ('return_numpy', False)],
                      'numpy_collate_fn': ['batch']},
    'modules': {**_NUMPY_MODULES, 'LinearModule': ['in_features', 'out_features', ('input_layer', False)]},
    'mlp_numpy': {'MLP': ['n_inputs', 'n_hidden', 'n_classes']},
    'mlp_pytorch': {'MLP': ['n_inputs', 'n_hidden', 'n_classes', ('use_batch_norm', False)]},
    'train_mlp_numpy': {'train': ['hidden_dims', 'lr', 'batch_size', 'epochs', 'seed', 'data_dir']},
    'train_mlp_pytorch': {'train': ['hidden_dims', 'lr', 'use_batch_norm', 'batch_size', 'epochs', 'seed',
                                    'data_dir']},
}
_ACCURACY = {'accuracy': ['predictions', 'targets'], 'evaluate_model': ['model', 'data_loader']}
_CONFUSION = {'confusion_matrix': ['predictions', 'targets'],
              'confusion_matrix_to_metrics': ['confusion_matrix', ('beta', 1.0)],
              'evaluate_model': ['model', 'data_loader', ('num_classes', 10)]}
_COMPARISON = {'train_models': ['results_filename'], 'plot_results': ['results_filename']}


def _with(family, **more):
    """family with more names in some of its files."""
    return {**family, **{file: {**family.get(file, {}), **names} for file, names in more.items()}}


def _epoch(activation, scripts, **more):
    return _with(_EPOCH, modules=activation, train_mlp_numpy=scripts, train_mlp_pytorch=scripts, **more)


SIGNATURES = {
    'uva2018': _with(_STEP, modules={'ReLUModule': []}, custom_batchnorm={'CustomBatchNormAutograd': ['n_neurons']}),
    'uva2019': _with(_STEP, modules={'LeakyReLUModule': ['neg_slope']},
                     mlp_numpy={'MLP': ['n_inputs', 'n_hidden', 'n_classes', 'neg_slope']},
                     mlp_pytorch={'MLP': ['n_inputs', 'n_hidden', 'n_classes', 'neg_slope']},
                     custom_batchnorm={'CustomBatchNormAutograd': ['n_neurons']}),
    'uva2020': _with(_STEP, modules={'ELUModule': []}, custom_layernorm={'CustomLayerNormAutograd': ['n_neurons']}),
    'uva2021': _epoch({'ReLUModule': []}, _ACCURACY, compare_batch_norm=_COMPARISON),
    'uva2022': _epoch({'ELUModule': []}, _CONFUSION, compare_models=_COMPARISON),
    'uva2023': _epoch({'ELUModule': []}, _CONFUSION, compare_batch_norm=_COMPARISON),
    'uva2024': _epoch({'ELUModule': ['alpha']}, _ACCURACY),
    'bgu2023': _epoch({'RELUModule': []}, _CONFUSION),
}
SIGNATURES['uva2019spring'] = SIGNATURES['uva2018']  # the 2018 template, byte for byte
SIGNATURES['uva2025'] = SIGNATURES['uva2024']  # the 2024 template but for its headers and one docstring


def test_every_offering_but_vus_has_its_table():
    assert set(SIGNATURES) == set(course.OFFERINGS) - {'vu2021'}


def _check(function, expected, where):
    parameters = [p for p in inspect.signature(function).parameters.values() if p.name != 'self']
    expected = [item if isinstance(item, tuple) else (item, REQUIRED) for item in expected]
    names = [p.name for p in parameters[:len(expected)]]
    assert names == [name for name, _ in expected], f'{where}: parameters {names}, the template has {expected}'
    for parameter, (name, default) in zip(parameters, expected):
        if default is not REQUIRED and (where.split('.')[0], where.split('.')[1], name) \
                not in DEFAULTS_THE_PROJECT_CHANGES:
            assert parameter.default == default, f'{where}({name}) defaults to {parameter.default!r}, not {default!r}'
    extra = [p.name for p in parameters[len(expected):] if p.default is REQUIRED and p.kind not in
             (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    assert not extra, f'{where}: the project adds {extra} without defaults, so the template\'s calls fail'


@pytest.mark.parametrize('offering', sorted(SIGNATURES))
def test_each_template_signature_is_the_folders(offering):
    with working_in(offering) as load:
        for file, names in SIGNATURES[offering].items():
            module = load(file)
            for name, expected in names.items():
                assert hasattr(module, name), f'{offering}: {file}.py has no {name}'
                _check(getattr(module, name), expected, f'{file}.{name}')


_MLP_2019 = {'DNN_HIDDEN_UNITS_DEFAULT': '100', 'LEARNING_RATE_DEFAULT': 2e-3, 'MAX_STEPS_DEFAULT': 1500,
             'BATCH_SIZE_DEFAULT': 200, 'EVAL_FREQ_DEFAULT': 100}
_CONVNET_STEPS = {'LEARNING_RATE_DEFAULT': 1e-4, 'BATCH_SIZE_DEFAULT': 32, 'MAX_STEPS_DEFAULT': 5000,
                  'EVAL_FREQ_DEFAULT': 500}
# The step templates' default constants, which their flags default to (2020 lowered the MLPs' rate and steps).
CONSTANTS = {
    'uva2019': {'train_mlp_numpy': {**_MLP_2019, 'NEG_SLOPE_DEFAULT': 0.02},
                'train_mlp_pytorch': {**_MLP_2019, 'NEG_SLOPE_DEFAULT': 0.02}, 'train_convnet_pytorch': _CONVNET_STEPS},
    'uva2020': {'train_mlp_numpy': {**_MLP_2019, 'LEARNING_RATE_DEFAULT': 1e-3, 'MAX_STEPS_DEFAULT': 1400},
                'train_mlp_pytorch': {**_MLP_2019, 'LEARNING_RATE_DEFAULT': 1e-3, 'MAX_STEPS_DEFAULT': 1400},
                'train_convnet_pytorch': _CONVNET_STEPS},
}


@pytest.mark.parametrize('offering', sorted(CONSTANTS))
def test_the_step_templates_default_constants_are_the_folders_and_its_flags(offering):
    with working_in(offering) as load:
        for file, constants in CONSTANTS[offering].items():
            script = load(file)
            assert {name: getattr(script, name, None) for name in constants} == constants, file
            flags = script.parse_flags([])
            assert (flags.learning_rate, flags.max_steps, flags.batch_size) == (
                constants['LEARNING_RATE_DEFAULT'], constants['MAX_STEPS_DEFAULT'], constants['BATCH_SIZE_DEFAULT'])
