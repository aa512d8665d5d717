"""python -m instructor grade: wrong submissions lose the points of their mistake and no others, hostile ones are
graded with a reason and leave everything outside their folder as it was, and the outputs (table, Gradescope's
results.json, CSV, the staff's own tests) say what happened."""
import concurrent.futures
import csv
import json
import os
import shutil

import pytest

from instructor import __main__ as cli
from instructor import course, grade


def points_of(offering, name):
    """The points of the offering's check called name."""
    return next(check.points for check in course.RUBRIC[offering] if check.name == name)


QUICK = {**grade.LIMITS, 'wall_seconds': 20}


def submission(folder, edits=(), without=(), extra=None, offering_folder=None):
    """A submission in folder: the project's root files and its library, and with offering_folder that folder's files
    as they lie in the project, each (file, old, new) of edits applied, the files of `without` left out, and those of
    extra ({name: text}) added."""
    os.makedirs(folder)
    for name, text in (extra or {}).items():
        with open(os.path.join(folder, name), 'w') as file:
            file.write(text)
    for name in os.listdir(course.ROOT):
        if name.endswith('.py') and name not in without:
            shutil.copyfile(os.path.join(course.ROOT, name), os.path.join(folder, name))
    for name in ['runkit'] + ([offering_folder] if offering_folder else []):
        shutil.copytree(os.path.join(course.ROOT, name), os.path.join(folder, name),
                        ignore=shutil.ignore_patterns('__pycache__', 'runs'))
    for name, old, new in edits:
        path = os.path.join(folder, name)
        with open(path) as file:
            text = file.read()
        assert text.count(old) == 1, (name, old)
        with open(path, 'w') as file:
            file.write(text.replace(old, new))
    return str(folder)


def lost(outcomes):
    return {outcome.check.name for outcome in outcomes if not outcome.passed}


SOFTMAX_DIAGONAL = ('modules.py', 'return self.out * (dout - (dout * self.out).sum(axis=1, keepdims=True))',
                    'return dout * self.out * (1 - self.out)')
NO_BIAS_GRADIENT = ('modules.py', "self.grads['bias'] = dout.sum(axis=0)", 'pass')
NO_ONE_OVER_B = ('modules.py', 'return -self._one_hot(x, y) / (np.maximum(x, self.eps) * len(x))',
                 'return -self._one_hot(x, y) / np.maximum(x, self.eps)')


def test_each_wrong_submission_loses_the_checks_of_its_mistake_and_no_others(tmp_path):
    folders = {name: submission(tmp_path / name, edits) for name, edits in [
        ('right', []), ('softmax_diagonal', [SOFTMAX_DIAGONAL]), ('no_bias_gradient', [NO_BIAS_GRADIENT]),
        ('no_one_over_b', [NO_ONE_OVER_B])]}
    results = grade.grade(list(folders.values()), 'uva2019', questions=['1.2'], limits=QUICK, progress=False)
    assert lost(results[folders['right']]) == set()
    # the MLP's check goes through the softmax's backward, a part of the MLP, so it shares its mistake; not the
    # loss's, which is no part of the MLP and has its own check
    assert lost(results[folders['softmax_diagonal']]) == {'SoftMaxModule.backward', 'MLP forward and backward'}
    assert lost(results[folders['no_bias_gradient']]) == {'LinearModule.backward'}
    assert lost(results[folders['no_one_over_b']]) == {'CrossEntropyModule forward and backward'}
    numpy_points = sum(check.points for check in course.questions('uva2019')['1.2'])
    assert grade.score(results[folders['no_bias_gradient']]) == \
        numpy_points - points_of('uva2019', 'LinearModule.backward')
    reason = {o.check.name: o.reason for o in results[folders['no_bias_gradient']]}['LinearModule.backward']
    assert 'grads["bias"]: relative error' in reason


def test_a_batch_norm_backward_missing_a_term_loses_that_check(tmp_path):
    # the x_hat * sum(dout * x_hat) term of dL/dx left out
    missing_term = ('custom_batchnorm.py', 'dx.addcmul_(x_hat, k * sum_dout_xhat, value=-1).sub_(k * sum_dout)',
                    'dx.sub_(k * sum_dout)')
    folder = submission(tmp_path / 'bn', [missing_term])
    outcomes = grade.grade([folder], 'uva2019', questions=['3.2 b'], limits=QUICK, progress=False)[folder]
    assert lost(outcomes) == {'CustomBatchNormManualFunction backward'}
    assert 'gradcheck failed' in outcomes[1].reason


def test_a_train_that_returns_its_last_model_loses_the_train_check(tmp_path):
    """The 2021+ templates' train() returns the model that did best on validation: one that keeps the last, though
    right in everything else, loses that check."""
    keeps_the_last = ('bgu2023/train_mlp_numpy.py',
                      'if best_model is None or val_accuracies[-1] > max(val_accuracies[:-1]):', 'if True:')
    folder = submission(tmp_path / 'last', [keeps_the_last], offering_folder='bgu2023')
    outcomes = grade.grade([folder], 'bgu2023', questions=['Q3'], limits=QUICK, progress=False)[folder]
    assert lost(outcomes) == {'train_mlp_numpy.train returns the best model, its epochs and its test accuracy'}
    reason = {o.check.name: o.reason for o in outcomes}[
        'train_mlp_numpy.train returns the best model, its epochs and its test accuracy']
    assert 'did best on the validation set, not the last' in reason

AT_IMPORT = '"""NumPy layers'  # the start of modules.py: what an edit puts code before
HOSTILE = {
    'endless_loop': [('modules.py', AT_IMPORT, 'while True:\n    pass\n' + AT_IMPORT)],
    'loops_in_mlp': [('mlp_numpy.py', '        for layer in self.layers:\n            x = layer.forward(x)',
                      '        while True:\n            pass')],
    'sleeps_forever': [('modules.py', AT_IMPORT, 'import time\ntime.sleep(3600)\n' + AT_IMPORT)],
    'huge_allocation': [('modules.py', AT_IMPORT, 'import numpy\nnumpy.ones(20 * 2 ** 30 // 8)\n' + AT_IMPORT)],
    'exit_at_import': [('modules.py', AT_IMPORT, 'import sys\nsys.exit(0)\n' + AT_IMPORT)],
    'os_exit': [('modules.py', AT_IMPORT, 'import os\nos._exit(0)\n' + AT_IMPORT)],
    'patches_pytest': [('modules.py', AT_IMPORT, 'import _pytest.python\n'
                        '_pytest.python.Function.runtest = lambda self: None\n' + AT_IMPORT)],
    'patches_the_checks': [SOFTMAX_DIAGONAL, ('modules.py', AT_IMPORT, 'import sys\n'
                            'sys.modules["test_graded"].assert_close = lambda *args: None\n' + AT_IMPORT)],
}


def test_hostile_submissions_are_graded_with_a_reason_and_touch_nothing_outside(tmp_path):
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'precious.txt').write_text('keep me')
    results_json = tmp_path / 'results.json'
    cases = {**HOSTILE, 'deletes_outside': [('modules.py', AT_IMPORT,
                                             f'import shutil\nshutil.rmtree({str(outside)!r})\n' + AT_IMPORT)]}
    # What a careless or mischievous submission tries, each attempt's error caught: it still earns its points.
    mischief = '\n'.join([
        'import atexit, os, signal, subprocess, sys',
        'for attempt in (lambda: os.kill(os.getppid(), signal.SIGKILL),',
        f'                lambda: open({str(results_json)!r}, "w").write("{{}}"),',
        '                lambda: open("results.json", "w").write("{\\"score\\": 100}")):',
        '    try:',
        '        attempt()',
        '    except OSError:',
        '        pass',
        'subprocess.Popen(["sleep", "987.654"], start_new_session=True)',
        'subprocess.Popen(["/bin/sleep", "987.654"], start_new_session=True, env={})  # no mark of its run left',
        'if os.fork() == 0:  # a daemon that holds the report pipe open',
        '    os.setsid()',
        '    import time',
        '    time.sleep(600)',
        'atexit.register(lambda: sys.stderr.write("y" * 2_000_000))', AT_IMPORT])
    folders = {name: submission(tmp_path / name, edits) for name, edits in cases.items()}
    folders['shadows_numpy'] = submission(tmp_path / 'shadows_numpy', extra={'numpy.py': 'raise SystemExit\n'})
    folders['mischief'] = submission(tmp_path / 'mischief', [('modules.py', AT_IMPORT, mischief)])
    # the loops meet the CPU limit, the sleeper the wall clock: each in a run of its own with a short limit, so that
    # neither a busy machine nor the other limit comes first; the runs go at once
    alone = {'endless_loop': {**grade.LIMITS, 'cpu_seconds': 2}, 'loops_in_mlp': {**grade.LIMITS, 'cpu_seconds': 2},
             'sleeps_forever': {**grade.LIMITS, 'wall_seconds': 3}}
    runs = [([folders[name]], limits) for name, limits in alone.items()]
    runs.append(([folder for name, folder in folders.items() if name not in alone], grade.LIMITS))
    with concurrent.futures.ThreadPoolExecutor(len(runs)) as pool:
        graded = pool.map(lambda run: grade.grade(run[0], 'uva2019', questions=['1.2'], limits=run[1],
                                                  progress=False), runs)
        results = {folder: outcomes for run in graded for folder, outcomes in run.items()}
    reasons = {name: {o.reason for o in results[folder] if not o.passed} for name, folder in folders.items()}
    scores = {name: grade.score(results[folder]) for name, folder in folders.items()}
    # numpy is imported before the submission's folder is on the path: its numpy.py changes nothing
    # loops_in_mlp keeps the checks that ran before the MLP's, of the points of 1.2
    checks = course.questions('uva2019')['1.2']
    numpy_points = sum(check.points for check in checks)
    before_mlp = sum(check.points for check in checks[:[c.name for c in checks].index('MLP forward and backward')])
    assert scores == {**{name: 0 for name in folders}, 'loops_in_mlp': before_mlp, 'mischief': numpy_points,
                      'shadows_numpy': numpy_points}
    assert reasons['endless_loop'] == {'used up its 2 s of CPU time (an endless loop?)'}
    assert reasons['loops_in_mlp'] == {'used up its 2 s of CPU time (an endless loop?)'}
    assert reasons['sleeps_forever'] == {'stopped after 3 s (an endless loop?)'}
    assert all('MemoryError' in reason for reason in reasons['huge_allocation'])
    assert all('SystemExit' in reason for reason in reasons['exit_at_import'])
    assert all(reason.startswith('the process ended before its checks did') for reason in reasons['os_exit'])
    for name in ('patches_pytest', 'patches_the_checks'):
        assert reasons[name] == {'the submission changed pytest, the checks or numpy/torch; nothing it reported '
                                 'counts'}, name
    assert all('PermissionError' in reason for reason in reasons['deletes_outside'])
    assert (outside / 'precious.txt').read_text() == 'keep me' and not results_json.exists()
    left = [pid for pid in os.listdir('/proc') if pid.isdigit() and b'sleep\x00987.654' in _cmdline(pid)]
    assert left == [], 'a process the submission started outlived its grading'


def _cmdline(pid):
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as file:
            return file.read()
    except OSError:
        return b''


def test_a_missing_module_costs_only_the_questions_that_need_it(tmp_path):
    folder = submission(tmp_path / 'no_convnet', without=['convnet_pytorch.py'])
    outcomes = grade.grade([folder], 'uva2019', questions=['1.2', '4'], limits=QUICK, progress=False)[folder]
    assert lost(outcomes) == {'ConvNet layers of Table 1', 'ConvNet forward',
                              'train_convnet_pytorch.train runs a few steps'}
    assert {o.reason for o in outcomes if not o.passed} == {"ModuleNotFoundError: No module named 'convnet_pytorch'"}


def test_the_command_line_writes_the_table_gradescope_json_csv_and_the_staff_tests(tmp_path, capsys):
    good = submission(tmp_path / 'good', offering_folder='vu2021')
    broken = submission(tmp_path / 'broken', [('vu2021/autodiff.py', '        return np.maximum(x, 0)\n',
                                               '        return x.copy()\n')], offering_folder='vu2021')
    staff = tmp_path / 'unittests.py'
    staff.write_text('import unittest\nimport numpy as np\n\n\nclass TestReLU(unittest.TestCase):\n'
                     '    def test_relu(self):\n        from autodiff import ReLU, TensorNode\n'
                     '        self.assertEqual(ReLU.do_forward(TensorNode(np.array([-1.0]))).value[0], 0)\n')
    cli.main(['grade', good, '--offering', 'vu2021', '--json', str(tmp_path / 'one.json'),
              '--staff-tests', str(staff)])
    out = capsys.readouterr().out
    assert f'{good}: 10 of 10' in out and 'staff TestReLU::test_relu: passed' in out
    results = json.loads((tmp_path / 'one.json').read_text())
    assert results['score'] == 10 and results['tests'][0] == {'name': 'Q9 ReLU op forward', 'score': 4,
                                                              'max_score': 4, 'output': ''}
    cli.main(['grade', good, broken, '--offering', 'vu2021', '--json', str(tmp_path / 'each'),
              '--csv', str(tmp_path / 'grades.csv')])
    out = capsys.readouterr().out
    assert f'{broken}: 6 of 10' in out and 'Q9        6       10   ReLU op forward: ' in out
    assert json.loads((tmp_path / 'each' / 'broken.json').read_text())['score'] == 6
    rows = list(csv.reader(open(tmp_path / 'grades.csv')))
    assert rows[0] == ['submission', 'score', 'max'] + [f'{c.question} {c.name}' for c in course.RUBRIC['vu2021']]
    assert rows[1:] == [[good, '10', '10', '4', '6'], [broken, '6', '10', '0', '6']]
    with pytest.raises(SystemExit, match='is not a folder; expected a submission folder'):
        cli.main(['grade', str(tmp_path / 'nowhere')])


def test_an_upload_in_one_folder_same_named_submissions_and_staff_tests_that_cannot_import(tmp_path, capsys):
    nested = submission(tmp_path / 'a' / 'sub' / 'lastname_assignment1', offering_folder='vu2021')  # as unzipped
    other = submission(tmp_path / 'b' / 'sub', offering_folder='vu2021')
    staff = tmp_path / 'unittests.py'
    staff.write_text('from autodiff import NoSuchOp\n')
    cli.main(['grade', os.path.dirname(nested), other, '--offering', 'vu2021', '--json', str(tmp_path / 'each'),
              '--staff-tests', str(staff)])
    out = capsys.readouterr().out
    assert out.count(': 10 of 10') == 2
    assert "staff tests: the checks could not be collected: ImportError: cannot import name 'NoSuchOp'" in out
    assert sorted(os.listdir(tmp_path / 'each')) == ['sub-2.json', 'sub.json']
