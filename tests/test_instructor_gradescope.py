"""python -m instructor gradescope: the autograder zip holds the grader without the reference solution, and its
run_autograder, run in a folder laid out as Gradescope's /autograder, grades the submission into results.json."""
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from instructor import __main__ as cli
from instructor import course


def test_run_autograder_grades_a_submission_in_a_folder_laid_out_as_gradescopes(tmp_path, capsys):
    zip_path = tmp_path / 'autograder.zip'
    names = cli.main(['gradescope', str(zip_path), '--offering', 'vu2021'])
    assert {'setup.sh', 'run_autograder', 'instructor/grade.py', 'instructor/test_graded.py'} <= set(names)
    # no exercise's solution goes to Gradescope's machines
    solutions = {name for work in course.STUDENT_WORK.values() for name in work}
    assert not solutions & set(names) and not [name for name in names if name.startswith(('vu2021/', 'uva20'))]
    autograder = tmp_path / 'autograder'
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(autograder / 'source')
        assert archive.getinfo('run_autograder').external_attr >> 16 & 0o111  # executable
    (autograder / 'submission').mkdir()
    shutil.copyfile(os.path.join(course.ROOT, 'vu2021', 'autodiff.py'), autograder / 'submission' / 'autodiff.py')
    env = {**os.environ, 'AUTOGRADER': str(autograder), 'PYTHON': sys.executable}
    env.pop('PYTHONPATH', None)
    result = subprocess.run(['bash', str(autograder / 'source' / 'run_autograder')], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    results = json.loads((autograder / 'results' / 'results.json').read_text())
    assert results['score'] == 10 and [test['name'] for test in results['tests']] == ['Q9 ReLU op forward',
                                                                                      'Q9 ReLU op backward']


def test_the_zip_needs_a_known_offering_and_a_zip_path(tmp_path):
    with pytest.raises(SystemExit):
        cli.main(['gradescope', str(tmp_path / 'a.zip'), '--offering', 'uva2017'])
    with pytest.raises(SystemExit, match='expected a path ending in .zip'):
        cli.main(['gradescope', str(tmp_path / 'a.tar')])
