"""The offerings of the course, the folder serving each, what their students write, and how each question is graded:
the one place that says so.

STUDENT_WORK[offering]: {file of the project: [the functions a student writes there, as qualified names]}. The
release replaces their bodies in the offering's skeleton; everything else (loaders, plotting, what the template
gives away, main()) stays whole.

RUBRIC[offering]: [Check(question, name, test, points)], in the assignment's order. `test` names a function of
instructor/test_graded.py, and `name` is how the check reads in a table, a CSV column and Gradescope
("1.2 SoftMaxModule.backward"). A question with several independent checks gives partial credit.

Each offering's questions are numbered as that year's text numbers them (the texts are in ../shared/assignments),
and where the text gives a question points, that question's checks share them (QUESTIONS below).
"""
import os
from collections import namedtuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# offering -> (the folder serving it, relative to the root: '' for the root itself; what tells it apart)
OFFERINGS = {
    'uva2018': ('', 'ReLUModule, one-hot targets, MLP(n_inputs, n_hidden, n_classes) with ReLU (--neg_slope 0)'),
    'uva2019spring': ('', "the spring 2019 offering (uvadlc_practicals_2019): 2018's template, byte for byte"),
    'uva2019': ('', 'the interface the project is laid out for: LeakyReLU with neg_slope'),
    'uva2020': ('uva2020', "ELU in the MLPs, custom_layernorm.py, Figure 5's pre-activation ResNet ConvNet"),
    'uva2021': ('uva2021', 'ReLU, class-index targets, Kaiming init, train() over DataLoaders, evaluate_model '
                           'returns the accuracy'),
    'uva2022': ('uva2022_2023', 'ELU, train() over DataLoaders, confusion-matrix metrics, compare_models.py'),
    'uva2023': ('uva2022_2023', 'as 2022, with compare_batch_norm.py for compare_models.py'),
    'uva2024': ('uva2024_2025', 'as 2021 with ELU, ELUModule(alpha): evaluate_model returns the accuracy, no '
                                'confusion matrix, no comparison script'),
    'uva2025': ('uva2024_2025', 'as 2024'),
    'bgu2023': ('bgu2023', "UvA 2022's files with ReLU (RELUModule)"),
    'vu2021': ('vu2021', "vugrad's names in autodiff.py, vu_data.load_synth"),
}
DEFAULT = 'uva2019'


# What the course's own environment files gave students beyond this project's requirements (the 2020 and 2022
# environment.yml / dl2022_cpu.yml): import name -> pip name. A submission may import them; a grader without one
# reports the run as not graded, naming the package (instructor/requirements-course.txt installs them all).
COURSE_PACKAGES = {'seaborn': 'seaborn', 'tensorboard': 'tensorboard', 'tabulate': 'tabulate',
                   'pytorch_lightning': 'pytorch-lightning', 'torchaudio': 'torchaudio', 'torchtext': 'torchtext',
                   'ipywidgets': 'ipywidgets'}


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
_PREACT_CONVNET = {'uva2020/convnet_pytorch.py': ['PreActBlock.__init__', 'PreActBlock.forward', 'ConvNet.__init__',
                                                  'ConvNet.forward']}
_COMPARISON = ['train_models', 'plot_results']


def _numpy(activation, clear_cache):
    return {'modules.py': (['_Cached.clear_cache'] if clear_cache else []) + _LINEAR + activation + _SOFTMAX_AND_LOSS,
            'mlp_numpy.py': _MLP_NUMPY}


def _step_training(folder=''):
    """The training scripts of the templates of UvA 2018-2020 (and spring 2019): accuracy() and train() in each."""
    return {os.path.join(folder, f'{script}.py'): ['accuracy', 'train']
            for script in ('train_mlp_numpy', 'train_mlp_pytorch', 'train_convnet_pytorch')}


def _epoch_training(folder, numpy_functions, pytorch_functions):
    """The training scripts of the templates from UvA 2021 on, in their folder."""
    return {f'{folder}/train_mlp_numpy.py': numpy_functions + ['evaluate_model', 'train'],
            f'{folder}/train_mlp_pytorch.py': pytorch_functions + ['evaluate_model', 'train']}


_CONFUSION = ['confusion_matrix', 'confusion_matrix_to_metrics']
STUDENT_WORK = {
    **{name: {**_numpy(_LEAKY_RELU, False), **_MLP_PYTORCH, **_BATCH_NORM, **_CONVNET, **_step_training()}
       for name in ('uva2018', 'uva2019spring', 'uva2019')},
    'uva2020': {**_numpy(_ELU, False), **_MLP_PYTORCH, **_LAYER_NORM, **_PREACT_CONVNET,
                **_step_training('uva2020')},
    'uva2021': {**_numpy(_LEAKY_RELU, True), **_MLP_PYTORCH, **_epoch_training('uva2021', ['accuracy'], ['accuracy']),
                'uva2021/compare_batch_norm.py': _COMPARISON},
    **{name: {**_numpy(_ELU, True), **_MLP_PYTORCH, **_epoch_training('uva2022_2023', _CONFUSION, _CONFUSION),
              f'uva2022_2023/{comparison}': _COMPARISON}
       for name, comparison in (('uva2022', 'compare_models.py'), ('uva2023', 'compare_batch_norm.py'))},
    **{name: {**_numpy(_ELU, True), **_MLP_PYTORCH, **_epoch_training('uva2024_2025', ['accuracy'], ['accuracy'])}
       for name in ('uva2024', 'uva2025')},
    'bgu2023': {**_numpy(_LEAKY_RELU, True), **_MLP_PYTORCH, **_epoch_training('bgu2023', _CONFUSION, _CONFUSION)},
    'vu2021': {'vu2021/autodiff.py': ['ReLU.forward', 'ReLU.backward']},
}


# The files of each offering's template, where this project has them: what a deliverable must hold.
_UVA_STEP_FILES = ['cifar10_utils.py', 'modules.py', 'mlp_numpy.py', 'train_mlp_numpy.py', 'mlp_pytorch.py',
                   'train_mlp_pytorch.py', 'convnet_pytorch.py', 'train_convnet_pytorch.py']
_EPOCH_FILES = ['cifar10_utils.py', 'modules.py', 'mlp_numpy.py', 'train_mlp_numpy.py', 'mlp_pytorch.py',
                'train_mlp_pytorch.py']
TEMPLATE_FILES = {
    **{name: _UVA_STEP_FILES + ['custom_batchnorm.py'] for name in ('uva2018', 'uva2019spring', 'uva2019')},
    'uva2020': [f'uva2020/{name}' for name in _UVA_STEP_FILES + ['custom_layernorm.py']],
    'uva2021': [f'uva2021/{name}' for name in _EPOCH_FILES + ['compare_batch_norm.py']],
    'uva2022': [f'uva2022_2023/{file}' for file in _EPOCH_FILES + ['compare_models.py']],
    'uva2023': [f'uva2022_2023/{file}' for file in _EPOCH_FILES + ['compare_batch_norm.py']],
    **{name: [f'uva2024_2025/{file}' for file in _EPOCH_FILES] for name in ('uva2024', 'uva2025')},
    'bgu2023': [f'bgu2023/{name}' for name in _EPOCH_FILES],
    'vu2021': ['vu2021/autodiff.py', 'vu2021/vu_data.py', 'vu2021/train_mlp_autodiff.py'],
}

ACTIVATION_NAMES = {'uva2018': 'ReLUModule', 'uva2019spring': 'ReLUModule', 'uva2019': 'LeakyReLUModule',
                    'uva2020': 'ELUModule', 'uva2021': 'ReLUModule', 'uva2022': 'ELUModule', 'uva2023': 'ELUModule',
                    'uva2024': 'ELUModule', 'uva2025': 'ELUModule', 'bgu2023': 'RELUModule'}


_STEP_TEMPLATES = ('uva2018', 'uva2019spring', 'uva2019', 'uva2020')  # train() by steps, one-hot targets
_ACCURACY_TEMPLATES = _STEP_TEMPLATES + ('uva2021', 'uva2024', 'uva2025')  # accuracy(); the others a confusion matrix

# Each offering's questions as its text numbers them ('3.2 b' for "Question 3.2 b)", 'Q3' for "Question 3"), with
# the points the text gives each: {part: (question, points or None)}. The checks of a question share its points;
# those the text gives for curves, tables and answers beside the code are the staff's to take off by hand where
# they are missing. None keeps the checks' own weights: BGU and VU give no points, and UvA 2022's 2.3 (2023's
# question 6) gives its points to a written sub-question too, which no check covers.
_STEP_QUESTIONS = {'numpy': ('1.2', 15), 'pytorch': ('2', 20), '3.1': ('3.1', 10), '3.2b': ('3.2 b', 3),
                   '3.2c': ('3.2 c', 1), 'convnet': ('4', 10)}
_LATER_QUESTIONS = {'numpy': ('Q2', 20), 'pytorch': ('Q3', 20)}
QUESTIONS = {
    **{name: _STEP_QUESTIONS for name in ('uva2018', 'uva2019spring', 'uva2019')},
    'uva2020': {'numpy': ('1.2', 15), 'pytorch': ('2.1', 20), '3.1': ('3.1', 8), '3.2b': ('3.2 b', 3),
                '3.2c': ('3.2 c', 1), 'convnet': ('4 a', 10)},
    'uva2021': {'numpy': ('1.2', 25), 'pytorch': ('2.1', 20)},
    'uva2022': {'numpy': ('1.2', 22), 'pytorch': ('2.1', 20), 'metrics': ('2.3', None)},
    'uva2023': {'numpy': ('Q3', 20), 'pytorch': ('Q4', 20), 'metrics': ('Q6', None)},
    'uva2024': _LATER_QUESTIONS,
    'uva2025': _LATER_QUESTIONS,
    'bgu2023': {'numpy': ('Q3', None), 'pytorch': ('Q4.a', None), 'metrics': ('Q3', None)},
    'vu2021': {'relu': ('Q9', None)},
}


def _numpy_checks(offering):
    activation = ACTIVATION_NAMES[offering]
    checks = [('LinearModule.forward', 'test_linear_forward', 2),
              ('LinearModule.backward', 'test_linear_backward', 3),
              (f'{activation} forward and backward', 'test_activation', 2),
              ('SoftMaxModule.backward', 'test_softmax_backward', 3),
              ('CrossEntropyModule forward and backward', 'test_cross_entropy', 2),
              ('MLP forward and backward', 'test_mlp_numpy', 3)]
    if offering in _ACCURACY_TEMPLATES:
        checks.append(('accuracy of a batch', 'test_accuracy', 1))
    if offering not in _STEP_TEMPLATES:
        checks.append(('evaluate_model over a whole loader', 'test_evaluate_model', 2))
    return _part(offering, 'numpy', checks + [(_training('train_mlp_numpy', offering), 'test_train_mlp_numpy', 3)])


def _metrics_checks(offering):
    """The confusion matrix and its metrics, of the templates that have them (UvA 2022-2023, BGU)."""
    if offering in _ACCURACY_TEMPLATES:
        return []
    return _part(offering, 'metrics', [('confusion_matrix and its metrics', 'test_confusion_matrix', 2)])


def _training(script, offering):
    """What the training check asks of a script's train(): that it runs a few steps (the UvA 2018-2020 templates'
    returns nothing), or its return contract (from UvA 2021 on)."""
    if offering in _STEP_TEMPLATES:
        return f'{script}.train runs a few steps'
    return f'{script}.train returns the best model, its epochs and its test accuracy'


def _pytorch_checks(offering):
    return _part(offering, 'pytorch', [('PyTorch MLP layers', 'test_mlp_pytorch_layers', 10),
                                       ('PyTorch MLP learns from a batch', 'test_mlp_pytorch_step', 10),
                                       (_training('train_mlp_pytorch', offering), 'test_train_mlp_pytorch', 5)])


def _normalisation_checks(offering, kind):
    return (_part(offering, '3.1', [(f'Custom{kind}Autograd forward', 'test_norm_autograd_forward', 7),
                                    (f'Custom{kind}Autograd refuses a wrong shape', 'test_norm_autograd_shape', 3)])
            + _part(offering, '3.2b', [(f'Custom{kind}ManualFunction forward', 'test_norm_function_forward', 1),
                                       (f'Custom{kind}ManualFunction backward', 'test_norm_function_backward', 2)])
            + _part(offering, '3.2c', [(f'Custom{kind}ManualModule forward and backward', 'test_norm_module', 1)]))


def _convnet_checks(offering):
    network = 'Figure 5' if offering == 'uva2020' else 'Table 1'
    return _part(offering, 'convnet', [(f'ConvNet layers of {network}', 'test_convnet_layers', 5),
                                       ('ConvNet forward', 'test_convnet_forward', 5),
                                       (_training('train_convnet_pytorch', offering), 'test_train_convnet_pytorch',
                                        5)])


def _part(offering, part, checks):
    """[Check] of one part of the offering's rubric: its question's number, and the checks' weights turned into the
    question's points where the text gives them (largest remainders, so that they add up exactly)."""
    question, points = QUESTIONS[offering][part]
    weights = [weight for _, _, weight in checks]
    if points is not None:
        shares = [points * weight / sum(weights) for weight in weights]
        weights = [int(share) for share in shares]
        for i in sorted(range(len(shares)), key=lambda i: int(shares[i]) - shares[i])[:points - sum(weights)]:
            weights[i] += 1
    return [Check(question, name, test, weight) for (name, test, _), weight in zip(checks, weights)]


RUBRIC = {
    **{name: _numpy_checks(name) + _pytorch_checks(name) + _normalisation_checks(name, 'BatchNorm')
       + _convnet_checks(name) for name in ('uva2018', 'uva2019spring', 'uva2019')},
    'uva2020': _numpy_checks('uva2020') + _pytorch_checks('uva2020') + _normalisation_checks('uva2020', 'LayerNorm')
    + _convnet_checks('uva2020'),
    **{name: _numpy_checks(name) + _pytorch_checks(name) + _metrics_checks(name)
       for name in ('uva2021', 'uva2022', 'uva2023', 'uva2024', 'uva2025')},
    'bgu2023': _numpy_checks('bgu2023') + _metrics_checks('bgu2023') + _pytorch_checks('bgu2023'),
    'vu2021': _part('vu2021', 'relu', [('ReLU op forward', 'test_relu_op_forward', 4),
                                       ('ReLU op backward', 'test_relu_op_backward', 6)]),
}


def questions(offering):
    """{question: [its checks]} in the rubric's order."""
    grouped = {}
    for check in RUBRIC[offering]:
        grouped.setdefault(check.question, []).append(check)
    return grouped
