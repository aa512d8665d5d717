"""The project's layout: the root holds the template's files, each training script its own loop, the library
(runkit/) imports no script, no study is imported by another module, no file runs another's source, and a run
passes through few files."""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_offerings import cifar_root  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parent.parent
TRAINING_SCRIPTS = ['train_mlp_numpy.py', 'train_mlp_pytorch.py', 'train_convnet_pytorch.py',
                    'vu2021/train_mlp_autodiff.py', 'uva2020/train_mlp_numpy.py', 'uva2020/train_mlp_pytorch.py',
                    'uva2020/train_convnet_pytorch.py', 'uva2021/train_mlp_numpy.py', 'uva2021/train_mlp_pytorch.py',
                    'uva2022_2023/train_mlp_numpy.py', 'uva2022_2023/train_mlp_pytorch.py',
                    'bgu2023/train_mlp_numpy.py', 'bgu2023/train_mlp_pytorch.py']


def python_files():
    listed = subprocess.run(['git', 'ls-files', '*.py'], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in listed.stdout.split() if not name.startswith('tests/')]


def command_lines():
    """The module names of every script and study: what has a `__main__` block, outside tests/."""
    return {path.stem for path in python_files() if any(map(is_main_block, ast.parse(path.read_text()).body))}


def is_main_block(statement):
    """Whether a module-level statement is `if __name__ == '__main__':`."""
    test = statement.test if isinstance(statement, ast.If) else None
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == '__name__'
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == '__main__')


def imported_names(path):
    tree = ast.parse(path.read_text())
    return [name for node in ast.walk(tree)
            for name in ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                         [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])]


def test_the_root_holds_the_templates_files_and_at_most_twelve_python_files():
    root_files = sorted(path.name for path in ROOT.glob('*.py'))
    assert len(root_files) <= 12, root_files
    template = {'cifar10_utils.py', 'modules.py', 'mlp_numpy.py', 'train_mlp_numpy.py', 'mlp_pytorch.py',
                'train_mlp_pytorch.py', 'custom_batchnorm.py', 'convnet_pytorch.py', 'train_convnet_pytorch.py'}
    assert template <= set(root_files) and 'evaluate.py' in root_files


def test_no_study_is_imported_and_the_library_imports_no_script():
    scripts, imports = command_lines(), []
    assert {'train_mlp_numpy', 'evaluate', 'seed_spread', 'make_report', 'bench_mlp_numpy'} <= scripts
    studies = {path.stem for path in python_files() if path.parent.name in ('experiments', 'benchmarks', 'report')}
    for path in python_files():
        for name in imported_names(path):
            importer_is_library = path.parent.name == 'runkit'
            if name.split('.')[0] in (scripts if importer_is_library else studies & scripts):
                imports.append(f'{path.relative_to(ROOT)} imports {name}')
    assert imports == []


def test_no_file_runs_another_files_source():
    for path in python_files():
        calls = [node.func.id for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ('exec', 'eval')]
        assert calls == [] and 'as_file_of' not in path.read_text(), path


@pytest.mark.parametrize('script', TRAINING_SCRIPTS)
def test_each_training_script_holds_train_with_its_loop(script):
    """train() itself steps through run.progress, computes a loss, updates and logs the evaluations."""
    tree = ast.parse((ROOT / script).read_text())
    (train,) = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == 'train']
    loops = [node for node in ast.walk(train) if isinstance(node, ast.For)
             and isinstance(node.iter, ast.Call) and getattr(node.iter.func, 'attr', None) == 'progress']
    assert len(loops) == 1, 'train() should loop over run.progress(...)'
    called = {node.func.attr for node in ast.walk(loops[0]) if isinstance(node, ast.Call)
              and isinstance(node.func, ast.Attribute)}
    assert {'backward', 'evaluates', 'log'} <= called, called
    assert {'main', 'parse_flags'} <= {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


TRACE = '''
import os, runpy, sys
root, script = os.path.realpath(sys.argv[1]), os.path.realpath(sys.argv[2])
sys.argv = [script] + sys.argv[3:]
sys.path.insert(0, os.path.dirname(script))
runpy.run_path(script, run_name='__main__')
# A project file runs only when it is imported (its body runs then), or as the script.
files = {os.path.realpath(getattr(module, '__file__', None) or '') for module in list(sys.modules.values())}
project = sorted(path for path in files | {script} if path.startswith(root + os.sep) and os.path.isfile(path))
print('\\n'.join(f'traced {sum(1 for _ in open(path))} {os.path.relpath(path, root)}' for path in project))
'''


def executed_files(script, folder, argv):
    """{project file: its lines} of every project file that runs when `script` runs as __main__ in `folder` with
    argv: the script and every project module it imported (each module's body runs when it is imported)."""
    result = subprocess.run([sys.executable, '-c', TRACE, str(ROOT), str(ROOT / script), *argv], cwd=ROOT / folder,
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'})
    assert result.returncode == 0, result.stderr[-2000:]
    return {name: int(lines) for _, lines, name in (line.split(' ', 2) for line in result.stdout.splitlines()
                                                    if line.startswith('traced '))}


def test_a_root_numpy_run_passes_through_few_files(tmp_path):
    """What a reader follows from the command line to the curves: at most 7 project files of 1,500 lines in all."""
    run = executed_files('train_mlp_numpy.py', '.', ['--dataset', 'fake_cifar10', '--max_steps', '2',
                                                      '--output_dir', str(tmp_path)])
    assert len(run) <= 7 and sum(run.values()) <= 1500, run
    assert {'train_mlp_numpy.py', 'mlp_numpy.py', 'modules.py', 'runkit/__init__.py'} <= set(run)


def test_a_bgu_run_passes_through_few_files(tmp_path, cifar_root):  # noqa: F811 (the fixture)
    """The same for BGU's script in its folder, on a small copy of the template's data: at most 8 files of 1,700
    lines."""
    run = executed_files('bgu2023/train_mlp_numpy.py', 'bgu2023', ['--epochs', '1', '--batch_size', '125',
                                                                   '--data_dir', cifar_root,
                                                                   '--output_dir', str(tmp_path)])
    assert len(run) <= 8 and sum(run.values()) <= 1700, run
    assert {'bgu2023/train_mlp_numpy.py', 'bgu2023/modules.py', 'runkit/__init__.py'} <= set(run)
