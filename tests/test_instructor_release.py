"""python -m instructor release: the skeleton keeps every signature and docstring, leaves no line of a solution,
and checks itself: it imports, each graded check fails on it with NotImplementedError and passes on the
solution (which grading this package therefore gives full marks)."""
import ast
import os

import pytest

from instructor import __main__ as cli
from instructor import course, release

SOURCE = '''"""A module."""


class Layer:
    """A layer."""

    def forward(self, x):
        """x -> 2x."""
        doubled = 2 * x
        return doubled

    @staticmethod
    def backward(context, grad):
        # the derivative of 2x
        return 2 * grad


def helper(a,
           b=1):
    return a + b
'''


def test_stub_keeps_signatures_decorators_and_docstrings_and_removes_every_body_line():
    stubbed, removed = release.stub(SOURCE, ['Layer.forward', 'Layer.backward', 'helper'])
    functions = release.functions(ast.parse(stubbed))
    assert ast.get_docstring(functions['Layer.forward']) == 'x -> 2x.'
    assert [d.id for d in functions['Layer.backward'].decorator_list] == ['staticmethod']
    assert 'def helper(a,\n           b=1):\n    ####' in stubbed
    assert 'doubled' not in stubbed and 'return 2 * grad' not in stubbed and 'a + b' not in stubbed
    assert 'derivative' not in stubbed
    assert stubbed.count('raise NotImplementedError') == 3 and stubbed.count('# PUT YOUR CODE HERE') == 3
    assert removed['Layer.forward'] == ['        doubled = 2 * x', '        return doubled']
    with pytest.raises(ValueError, match='has no function Layer.update'):
        release.stub(SOURCE, ['Layer.update'])


def test_every_exercise_named_exists_in_the_project():
    for work in course.STUDENT_WORK.values():
        for name, functions in work.items():
            with open(os.path.join(course.ROOT, name)) as file:
                release.stub(file.read(), functions, name)  # a ValueError names what is missing


def test_a_skeleton_holds_its_offerings_files_and_the_library_and_nothing_of_another_offering():
    bgu = release.offering_files('bgu2023')
    assert {'bgu2023/train_mlp_numpy.py', 'bgu2023/modules.py', 'modules.py', 'mlp_numpy.py', 'cifar10_utils.py',
            'runkit/__init__.py'} <= set(bgu)
    assert not [name for name in bgu if name.startswith(('uva20', 'vu2021/')) or name.startswith('train_')
                or name in ('custom_batchnorm.py', 'convnet_pytorch.py', 'evaluate.py')]
    assert set(release.offering_files('uva2019')) >= {'train_mlp_numpy.py', 'custom_batchnorm.py', 'evaluate.py'}
    assert not [name for name in release.offering_files('uva2019') if '/' in name and not name.startswith('runkit/')]
    assert [name for name in release.offering_files('vu2021') if not name.startswith('runkit/')] == [
        'cifar10_utils.py', 'vu2021/autodiff.py', 'vu2021/train_mlp_autodiff.py', 'vu2021/vu_data.py']
    # UvA 2020's ConvNet is its own Figure 5's, not the root's Table 1 with 2019's custom batch norm
    assert 'uva2020/convnet_pytorch.py' in release.offering_files('uva2020')
    assert not {'convnet_pytorch.py', 'custom_batchnorm.py'} & set(release.offering_files('uva2020'))
    # 2022 and 2023 share a folder but not their comparison script's name: neither gets the other's, whole
    assert 'uva2022_2023/compare_models.py' in release.offering_files('uva2022')
    assert 'uva2022_2023/compare_batch_norm.py' not in release.offering_files('uva2022')
    assert 'uva2022_2023/compare_models.py' not in release.offering_files('uva2023')
    # the training scripts' own exercises, in the offering's folder
    assert course.STUDENT_WORK['uva2019']['train_mlp_numpy.py'] == ['accuracy', 'train']
    assert course.STUDENT_WORK['bgu2023']['bgu2023/train_mlp_numpy.py'][-2:] == ['evaluate_model', 'train']


def test_the_released_skeleton_passes_its_self_check(tmp_path, capsys):
    """VU's through the command line; BGU's (a face) on its NumPy question: a PyTorch one takes seconds to grade,
    and the command line's self-check of every offering was run by hand (docs/instructor.md)."""
    out = str(tmp_path / 'vu')
    cli.main(['release', out, '--offering', 'vu2021'])
    line = capsys.readouterr().out
    assert line.startswith(f'released vu2021 into {out}: 2 functions to write') and 'all 2 graded checks fail' in line
    with pytest.raises(SystemExit, match='exists; give release a new folder'):
        cli.main(['release', out, '--offering', 'vu2021'])
    out = str(tmp_path / 'bgu')
    release.release(out, 'bgu2023')
    assert release.self_check(out, 'bgu2023', questions=['Q3']) == ([], 9)
    assert not {'results', 'report', 'docs', 'experiments', 'benchmarks', 'instructor'} & set(os.listdir(out))
    public = open(os.path.join(out, 'tests', 'test_graded.py')).read()
    assert "os.environ.get('COURSE_OFFERING', 'bgu2023')" in public and "'..', 'bgu2023')" in public
    assert f"GRADED = {tuple(check.test for check in course.RUBRIC['bgu2023'])!r}" in public
    with open(os.path.join(out, 'modules.py')) as file:
        assert '# PUT YOUR CODE HERE' in file.read()
    listed = [sorted(name for name in os.listdir(os.path.join(root, 'bgu2023')) if name.endswith('.py'))
              for root in (out, course.ROOT)]
    assert listed[0] == listed[1] != []
    with open(os.path.join(out, 'bgu2023', 'train_mlp_numpy.py')) as file:
        stubbed = file.read()
    assert stubbed.count('raise NotImplementedError') == 4 and 'def main(argv=None):' in stubbed
    assert not {'uva2020', 'uva2021', 'uva2022_2023', 'vu2021'} & set(os.listdir(out))


def test_the_self_check_finds_a_solution_line_left_in_the_skeleton(tmp_path):
    with open(os.path.join(course.ROOT, 'modules.py')) as file:
        source = file.read()
    work = course.STUDENT_WORK['uva2019']['modules.py']
    stubbed, _ = release.stub(source, [name for name in work if name != 'SoftMaxModule.backward'])
    (tmp_path / 'modules.py').write_text(stubbed)
    assert release.leaked_lines('modules.py', work, str(tmp_path)) == [
        '# dx_ij = y_ij (dout_ij - sum_k dout_ik y_ik): the Jacobian diag(y) - y y^T applied per row',
        'return self.out * (dout - (dout * self.out).sum(axis=1, keepdims=True))']


def test_release_refuses_an_empty_name_or_an_unwritable_place_before_writing_anything(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'modules.py').write_text('# the instructor\'s own file\n')
    with pytest.raises(SystemExit, match='empty name, which would be the current folder'):
        cli.main(['release', ''])
    assert os.listdir(tmp_path) == ['modules.py'] and (tmp_path / 'modules.py').read_text().startswith('# the')
    (tmp_path / 'a_file').write_text('')
    with pytest.raises(SystemExit, match='cannot be made: .*a_file is not a writable folder'):
        cli.main(['release', str(tmp_path / 'a_file' / 'skeleton')])
