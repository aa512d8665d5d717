"""python -m instructor grade --offering auto: which template a submission follows, told from its own files without
running them, and a note when an explicit offering does not match."""
import os
import shutil

import pytest

from instructor import __main__ as cli
from instructor import course, detect

# Flat submissions as each template's students lay them out: the names that tell the templates apart.
SUBMISSIONS = {
    'uva2018': {'modules.py': 'class ReLUModule:\n    pass\n', 'train_mlp_numpy.py': 'def train():\n    pass\n'},
    'uva2019': {'modules.py': 'class LeakyReLUModule:\n    def __init__(self, neg_slope):\n        pass\n'},
    'uva2020': {'modules.py': 'class ELUModule:\n    pass\n', 'custom_layernorm.py': ''},
    'uva2021': {'modules.py': 'class ReLUModule:\n    pass\n',
                'train_mlp_numpy.py': 'def accuracy(p, t):\n    pass\ndef evaluate_model(m, d):\n    pass\n'},
    'uva2022': {'modules.py': 'class ELUModule:\n    pass\n', 'compare_models.py': '',
                'train_mlp_numpy.py': 'def confusion_matrix(p, t):\n    pass\n'},
    'uva2023': {'modules.py': 'class ELUModule:\n    pass\n', 'compare_batch_norm.py': '',
                'train_mlp_numpy.py': 'def confusion_matrix(p, t):\n    pass\n'},
    'uva2024': {'modules.py': 'class ELUModule:\n    def __init__(self, alpha):\n        pass\n',
                'train_mlp_numpy.py': 'def evaluate_model(m, d):\n    pass\n'},
    'bgu2023': {'modules.py': 'class RELUModule:\n    pass\n',
                'train_mlp_numpy.py': 'def confusion_matrix(p, t):\n    pass\n'},
    'vu2021': {'autodiff.py': 'class ReLU:\n    pass\n'},
}


def write(folder, files):
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return str(folder)


@pytest.mark.parametrize('offering', SUBMISSIONS)
def test_each_templates_names_tell_its_offering_flat_or_unzipped_into_one_folder(offering, tmp_path):
    assert detect.offering_of(write(tmp_path / 'flat', SUBMISSIONS[offering]))[0] == offering
    assert detect.offering_of(write(tmp_path / 'zip' / 'doe_assignment1', SUBMISSIONS[offering]))[0] == offering


def test_this_projects_layout_and_an_offerings_folder_tell_theirs(tmp_path):
    assert detect.offering_of(course.ROOT)[0] == 'uva2019'  # the root's template, with every folder beside it
    shutil.copytree(os.path.join(course.ROOT, 'uva2024_2025'), tmp_path / 'doe' / 'uva2024_2025',
                    ignore=shutil.ignore_patterns('__pycache__'))
    assert detect.offering_of(str(tmp_path / 'doe'))[0] == 'uva2024'
    assert detect.offering_of(write(tmp_path / 'empty', {'notes.txt': ''})) == \
        (None, 'no modules.py, train_mlp_numpy.py or autodiff.py that names a template')
    # 2022's and 2023's files without one comparison script: their rubrics differ, so it takes --offering
    files = {name: text for name, text in SUBMISSIONS['uva2022'].items() if name != 'compare_models.py'}
    assert detect.offering_of(write(tmp_path / 'either', files))[0] is None


def test_auto_grades_each_as_its_template_and_an_explicit_mismatch_is_noted(tmp_path, capsys):
    vu = write(tmp_path / 'vu', {})
    shutil.copyfile(os.path.join(course.ROOT, 'vu2021', 'autodiff.py'), os.path.join(vu, 'autodiff.py'))
    cli.main(['grade', vu, '--offering', 'auto'])
    out = capsys.readouterr().out
    assert f'{vu}: 10 of 10' in out and "graded as vu2021: autodiff.py, vugrad's engine" in out
    cli.main(['grade', write(tmp_path / 'old', SUBMISSIONS['uva2018']), '--offering', 'vu2021'])
    assert "note: it looks like uva2018's template (ReLUModule" in capsys.readouterr().out
    with pytest.raises(SystemExit, match='cannot tell which template'):
        cli.main(['grade', write(tmp_path / 'empty', {}), '--offering', 'auto'])


def test_2022s_files_with_the_metrics_elsewhere_are_told_from_2024s_by_elus_alpha(tmp_path):
    """A real 2022 submission kept confusion_matrix in a utils.py of its own: its ELUModule() without alpha (2024
    added it) and compare_models.py still say 2022."""
    files = {'modules.py': 'class ELUModule:\n    def forward(self, x):\n        pass\n',
             'train_mlp_numpy.py': 'from utils import confusion_matrix\ndef evaluate_model(m, d, num_classes=10):\n'
                                   '    pass\n', 'utils.py': 'def confusion_matrix(p, t):\n    pass\n'}
    assert detect.offering_of(write(tmp_path / 'no_comparison', files))[0] is None
    assert detect.offering_of(write(tmp_path / 'doe', {**files, 'compare_models.py': ''}))[0] == 'uva2022'
