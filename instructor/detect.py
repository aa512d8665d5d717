"""Which offering's template a submission follows, told from its own files without running them (their syntax
trees): the names and signatures that tell the templates apart.

    offering, why = detect.offering_of('submissions/doe')     # ('uva2018', 'ReLUModule, train() by steps')

Offerings whose templates and rubrics are the same (2018 and spring 2019, 2024 and 2025) come out as the earlier
one. 2022 and 2023 share their files but not their rubrics: the comparison script's name (compare_models.py,
compare_batch_norm.py) tells them apart, and without it the offering must be given.
"""
import ast
import os

from instructor import course


def _definitions(path):
    """{name: ast node} of the top-level functions and classes of the Python file at path ({} when it is missing or
    does not parse)."""
    try:
        with open(path, encoding='utf-8', errors='replace') as file:
            tree = ast.parse(file.read())
    except (OSError, SyntaxError, ValueError):
        return {}
    return {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def _init_arguments(cls):
    """The parameter names of a class's __init__ after self ([] without one)."""
    for node in getattr(cls, 'body', []):
        if isinstance(node, ast.FunctionDef) and node.name == '__init__':
            return [argument.arg for argument in node.args.args[1:]]
    return []


def _code_folder(submission):
    """(the folder holding the template's files, the offering its name says or None): an offering's folder of this
    project's layout when the submission has exactly one, else the submission (or the one folder an upload unzips
    to)."""
    named = {path: offering for offering, (path, _) in course.OFFERINGS.items() if path}
    entries = [name for name in os.listdir(submission) if not name.startswith(('.', '__'))]
    if len(entries) == 1 and os.path.isdir(os.path.join(submission, entries[0])) \
            and not os.path.islink(os.path.join(submission, entries[0])) and entries[0] not in named:
        submission = os.path.join(submission, entries[0])
    folders = [name for name in named if os.path.isdir(os.path.join(submission, name))]
    if len(folders) == 1:
        return os.path.join(submission, folders[0]), folders[0]
    return submission, None


def offering_of(submission):
    """(the offering whose template the submission follows, why: the names that tell) or (None, why not)."""
    folder, layout = _code_folder(submission)
    files = set(os.listdir(folder))
    modules = _definitions(os.path.join(folder, 'modules.py'))
    script = _definitions(os.path.join(folder, 'train_mlp_numpy.py'))
    if layout == 'uva2022_2023':
        return None, 'its uva2022_2023/ folder serves 2022 and 2023, whose rubrics differ; give --offering'
    if layout:  # this project's layout: the folder's name says it (a shared folder: its offerings' templates agree)
        offering = next(name for name, (path, _) in course.OFFERINGS.items() if path == layout)
        return offering, f'its {layout}/ folder'
    if 'autodiff.py' in files and 'modules.py' not in files:
        return 'vu2021', "autodiff.py, vugrad's engine"
    if 'RELUModule' in modules:
        return 'bgu2023', 'RELUModule'
    if 'compare_models.py' in files and 'compare_batch_norm.py' not in files:  # 2022's name alone
        return 'uva2022', 'compare_models.py (2023 named it compare_batch_norm.py)'
    elu = 'ELUModule' in modules and 'alpha' not in _init_arguments(modules['ELUModule'])  # 2024 added alpha
    if 'confusion_matrix' in script or ('evaluate_model' in script and elu):  # 2022's and 2023's files
        if 'compare_batch_norm.py' in files:
            return 'uva2023', 'confusion_matrix or ELUModule(), and compare_batch_norm.py (2022 named it ' \
                              'compare_models.py)'
        return None, ('the template of 2022 and 2023 (confusion_matrix, or ELUModule without alpha), whose rubrics '
                      'differ, and no comparison script tells which; give --offering')
    if 'evaluate_model' in script:  # the 2021+ templates that return the accuracy
        if 'ELUModule' in modules:
            return 'uva2024', 'ELUModule(alpha) and evaluate_model returning the accuracy (2024 and 2025 share ' \
                              'these files)'
        return 'uva2021', 'ReLUModule and evaluate_model'
    if 'LeakyReLUModule' in modules:
        return 'uva2019', 'LeakyReLUModule'
    if 'custom_layernorm.py' in files or 'ELUModule' in modules:
        return 'uva2020', 'ELUModule' + (' and custom_layernorm.py' if 'custom_layernorm.py' in files else '')
    if 'ReLUModule' in modules:
        return 'uva2018', 'ReLUModule and train() by steps (2018 and spring 2019 share these files)'
    return None, 'no modules.py, train_mlp_numpy.py or autodiff.py that names a template'


def same_template(first, second):
    """Whether two offerings' templates are the same files (2022's and 2023's but for the comparison script's name),
    so that a submission's files cannot tell one from the other; their rubrics may still differ."""
    groups = [{'uva2018', 'uva2019spring'}, {'uva2022', 'uva2023'}, {'uva2024', 'uva2025'}]
    return first == second or any({first, second} <= group for group in groups)
