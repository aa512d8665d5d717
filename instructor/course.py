"""The offerings of the course, the folder serving each, what their students write, and how each question is graded:
the one place that says so.

STUDENT_WORK[offering]: {file of the project: [the functions a student writes there, as qualified names]}. The
release replaces their bodies in the offering's skeleton; everything else (loaders, plotting, what the template
gives away, main()) stays whole.

RUBRIC[offering]: [Check(question, name, test, points)], in the assignment's order. `test` names a function of
instructor/test_graded.py, and `name` is how the check reads in a table, a CSV column and Gradescope
("1.2 SoftMaxModule.backward"). A question with several independent checks gives partial credit.

The question numbers are UvA 2019's, BGU 2023's and VU 2021's (their texts are in ../shared/assignments); the
other UvA years' rubrics number the parts they share with 2019 as 2019 does.
"""
import os
from collections import namedtuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# offering -> (the folder serving it, relative to the root: '' for the root itself; what tells it apart)
OFFERINGS = {
    'uva2018': ('', 'ReLUModule, one-hot targets, MLP(n_inputs, n_hidden, n_classes) with ReLU (--neg_slope 0)'),
    'uva2019': ('', 'the interface the project is laid out for: LeakyReLU with neg_slope'),
    'uva2020': ('uva2020', 'ELU in the MLPs, custom_layernorm.py'),
    'uva2021': ('uva2021', 'ReLU, class-index targets, Kaiming init, train() over DataLoaders, evaluate_model '
                           'returns the accuracy'),
    'uva2022': ('uva2022_2024', 'ELU, train() over DataLoaders, confusion-matrix metrics'),
    'uva2023': ('uva2022_2024', 'as 2022'),
    'uva2024': ('uva2022_2024', 'as 2022, ELUModule(alpha)'),
    'bgu2023': ('bgu2023', "UvA 2022's files with ReLU (RELUModule)"),
    'vu2021': ('vu2021', "vugrad's names in autodiff.py, vu_data.load_synth"),
}
DEFAULT = 'uva2019'


def folder(offering):
    """The absolute path of the folder that serves `offering`; ValueError naming the offerings for another name."""
    if offering not in OFFERINGS:
        raise ValueError(f'unknown offering {offering!r}: expected one of {", ".join(OFFERINGS)}')
    return os.path.join(ROOT, OFFERINGS[offering][0])


Check = namedtuple('Check', 'question name test points')

_LINEAR = ['LinearModule.__init__', 'LinearModule.forward', 'LinearModule.backward']
_SOFTMAX_AND_LOSS = ['SoftMaxModule.forward', 'SoftMaxModule.backward', 'CrossEntropyModule._one_hot',
                     'CrossEntropyModule.forward', 'CrossEntropyModule.backward']
_LEAKY_RELU = ['LeakyReLUModule.forward', 'LeakyReLUModule.backward']  # ReLUModule is a LeakyReLUModule
_ELU = ['ELUModule.forward', 'ELUModule.backward']
_MLP_NUMPY = ['MLP.__init__', 'MLP.forward', 'MLP.backward', 'MLP.clear_cache']
_MLP_PYTORCH = {'mlp_pytorch.py': ['MLP.__init__', 'MLP.forward']}
_BATCH_NORM = {'custom_batchnorm.py': ['_stat_dims', '_update_running_stats', 'CustomBatchNormManualFunction.forward',
                                       'CustomBatchNormManualFunction.backward', '_BatchNormBase.__init__',
                                       '_BatchNormBase.forward', 'CustomBatchNormAutograd._forward_train',
                                       'CustomBatchNormManualModule._forward_train']}
_LAYER_NORM = {'uva2020/custom_layernorm.py': [
    '_check_input', 'CustomLayerNormManualFunction.forward', 'CustomLayerNormManualFunction.backward',
    '_LayerNormBase.__init__', 'CustomLayerNormAutograd.forward', 'CustomLayerNormManualModule.forward']}
_CONVNET = {'convnet_pytorch.py': ['conv_block', 'ConvNet.__init__', 'ConvNet.forward']}


def _numpy(activation, clear_cache):
    return {'modules.py': (['_Cached.clear_cache'] if clear_cache else []) + _LINEAR + activation + _SOFTMAX_AND_LOSS,
            'mlp_numpy.py': _MLP_NUMPY}


def _step_training(folder=''):
    """The training scripts of the templates of UvA 2018-2020: accuracy() and train() in each."""
    return {os.path.join(folder, f'{script}.py'): ['accuracy', 'train']
            for script in ('train_mlp_numpy', 'train_mlp_pytorch', 'train_convnet_pytorch')}


def _epoch_training(folder, numpy_functions, pytorch_functions):
    """The training scripts of the templates from UvA 2021 on, in their folder."""
    return {f'{folder}/train_mlp_numpy.py': numpy_functions + ['evaluate_model', 'train'],
            f'{folder}/train_mlp_pytorch.py': pytorch_functions + ['evaluate_model', 'train']}


_CONFUSION = ['confusion_matrix', 'confusion_matrix_to_metrics']
STUDENT_WORK = {
    **{name: {**_numpy(_LEAKY_RELU, False), **_MLP_PYTORCH, **_BATCH_NORM, **_CONVNET, **_step_training()}
       for name in ('uva2018', 'uva2019')},
    'uva2020': {**_numpy(_ELU, False), **_MLP_PYTORCH, **_LAYER_NORM, **_CONVNET, **_step_training('uva2020')},
    'uva2021': {**_numpy(_LEAKY_RELU, True), **_MLP_PYTORCH, **_epoch_training('uva2021', ['accuracy'], ['accuracy'])},
    **{name: {**_numpy(_ELU, True), **_MLP_PYTORCH, **_epoch_training('uva2022_2024', _CONFUSION, _CONFUSION)}
       for name in ('uva2022', 'uva2023', 'uva2024')},
    'bgu2023': {**_numpy(_LEAKY_RELU, True), **_MLP_PYTORCH, **_epoch_training('bgu2023', _CONFUSION, _CONFUSION)},
    'vu2021': {'vu2021/autodiff.py': ['ReLU.forward', 'ReLU.backward']},
}


# The files of each offering's template, where this project has them: what a deliverable must hold.
_UVA_STEP_FILES = ['cifar10_utils.py', 'modules.py', 'mlp_numpy.py', 'train_mlp_numpy.py', 'mlp_pytorch.py',
                   'train_mlp_pytorch.py', 'convnet_pytorch.py', 'train_convnet_pytorch.py']
_EPOCH_FILES = ['cifar10_utils.py', 'modules.py', 'mlp_numpy.py', 'train_mlp_numpy.py', 'mlp_pytorch.py',
                'train_mlp_pytorch.py']
TEMPLATE_FILES = {
    'uva2018': _UVA_STEP_FILES + ['custom_batchnorm.py'],
    'uva2019': _UVA_STEP_FILES + ['custom_batchnorm.py'],
    'uva2020': [f'uva2020/{name}' for name in _UVA_STEP_FILES + ['custom_layernorm.py']],
    'uva2021': [f'uva2021/{name}' for name in _EPOCH_FILES],
    **{name: [f'uva2022_2024/{file}' for file in _EPOCH_FILES] for name in ('uva2022', 'uva2023', 'uva2024')},
    'bgu2023': [f'bgu2023/{name}' for name in _EPOCH_FILES],
    'vu2021': ['vu2021/autodiff.py', 'vu2021/vu_data.py', 'vu2021/train_mlp_autodiff.py'],
}

ACTIVATION_NAMES = {'uva2018': 'ReLUModule', 'uva2019': 'LeakyReLUModule', 'uva2020': 'ELUModule',
                    'uva2021': 'ReLUModule', 'uva2022': 'ELUModule', 'uva2023': 'ELUModule', 'uva2024': 'ELUModule',
                    'bgu2023': 'RELUModule'}


def _numpy_checks(offering, question):
    activation = ACTIVATION_NAMES[offering]
    checks = [Check(question, 'LinearModule.forward', 'test_linear_forward', 2),
              Check(question, 'LinearModule.backward', 'test_linear_backward', 3),
              Check(question, f'{activation} forward and backward', 'test_activation', 2),
              Check(question, 'SoftMaxModule.backward', 'test_softmax_backward', 3),
              Check(question, 'CrossEntropyModule forward and backward', 'test_cross_entropy', 2),
              Check(question, 'MLP forward and backward', 'test_mlp_numpy', 3)]
    if offering in ('uva2018', 'uva2019', 'uva2020', 'uva2021'):
        checks.append(Check(question, 'accuracy of a batch', 'test_accuracy', 1))
    if offering == 'uva2021':
        checks.append(Check(question, 'evaluate_model over a whole loader', 'test_evaluate_model', 2))
    elif offering in ('uva2022', 'uva2023', 'uva2024', 'bgu2023'):
        checks += [Check(question, 'confusion_matrix and its metrics', 'test_confusion_matrix', 2),
                   Check(question, 'evaluate_model over a whole loader', 'test_evaluate_model', 2)]
    return checks + [Check(question, _training('train_mlp_numpy', offering), 'test_train_mlp_numpy', 3)]


def _training(script, offering):
    """What the training check asks of a script's train(): that it runs a few steps (the UvA 2018-2020 templates'
    returns nothing), or its return contract (from UvA 2021 on)."""
    if offering in ('uva2018', 'uva2019', 'uva2020'):
        return f'{script}.train runs a few steps'
    return f'{script}.train returns the best model, its epochs and its test accuracy'


def _pytorch_checks(offering, question):
    return [Check(question, 'PyTorch MLP layers', 'test_mlp_pytorch_layers', 10),
            Check(question, 'PyTorch MLP learns from a batch', 'test_mlp_pytorch_step', 10),
            Check(question, _training('train_mlp_pytorch', offering), 'test_train_mlp_pytorch', 5)]


def _normalisation_checks(kind):
    return [Check('3.1', f'Custom{kind}Autograd forward', 'test_norm_autograd_forward', 7),
            Check('3.1', f'Custom{kind}Autograd refuses a wrong shape', 'test_norm_autograd_shape', 3),
            Check('3.2b', f'Custom{kind}ManualFunction forward', 'test_norm_function_forward', 1),
            Check('3.2b', f'Custom{kind}ManualFunction backward', 'test_norm_function_backward', 2),
            Check('3.2c', f'Custom{kind}ManualModule forward and backward', 'test_norm_module', 1)]


_CONVNET_CHECKS = [Check('4', 'ConvNet layers of Table 1', 'test_convnet_layers', 5),
                   Check('4', 'ConvNet forward', 'test_convnet_forward', 5),
                   Check('4', _training('train_convnet_pytorch', 'uva2019'), 'test_train_convnet_pytorch', 5)]

RUBRIC = {
    **{name: _numpy_checks(name, '1.2') + _pytorch_checks(name, '2') + _normalisation_checks('BatchNorm')
       + _CONVNET_CHECKS for name in ('uva2018', 'uva2019')},
    'uva2020': _numpy_checks('uva2020', '1.2') + _pytorch_checks('uva2020', '2') + _normalisation_checks('LayerNorm')
    + _CONVNET_CHECKS,
    **{name: _numpy_checks(name, '1.2') + _pytorch_checks(name, '2')
       for name in ('uva2021', 'uva2022', 'uva2023', 'uva2024')},
    'bgu2023': _numpy_checks('bgu2023', 'Q3') + _pytorch_checks('bgu2023', 'Q4.a'),
    'vu2021': [Check('Q9', 'ReLU op forward', 'test_relu_op_forward', 4),
               Check('Q9', 'ReLU op backward', 'test_relu_op_backward', 6)],
}


def questions(offering):
    """{question: [its checks]} in the rubric's order."""
    grouped = {}
    for check in RUBRIC[offering]:
        grouped.setdefault(check.question, []).append(check)
    return grouped
