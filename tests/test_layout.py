"""The package's layering: scripts and studies are command lines over library modules, never imported by one."""
import ast
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def command_lines():
    """The module names of every script and study: what has a `__main__` block, outside tests/."""
    return {path.stem for path in python_files() if any(map(is_main_block, ast.parse(path.read_text()).body))}


def is_main_block(statement):
    """Whether a module-level statement is `if __name__ == '__main__':`."""
    test = statement.test if isinstance(statement, ast.If) else None
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == '__name__'
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == '__main__')


def python_files():
    listed = subprocess.run(['git', 'ls-files', '*.py'], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in listed.stdout.split() if not name.startswith('tests/')]


def test_no_script_or_study_is_imported_by_another_module():
    scripts, imports = command_lines(), []
    assert {'train_mlp_numpy', 'evaluate', 'seed_spread', 'make_report', 'bench_mlp_numpy'} <= scripts
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            imports += [f'{path.relative_to(ROOT)} imports {name}' for name in names if name.split('.')[0] in scripts]
    assert imports == []
