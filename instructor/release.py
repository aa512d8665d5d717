"""Write the student version of the project for an offering, and check it.

The skeleton holds the offering's files in the project's layout (its folder, and the root's files that they and
the library import; for UvA 2018 and 2019, the root itself) and the library runkit/, with the body of every
function that course.STUDENT_WORK names for the offering replaced by the course's banner and `raise
NotImplementedError` (its signature and docstring stay), and the graded checks as its public tests
(tests/test_graded.py). Nothing of another offering, the results, report, docs, studies, benchmarks and the
instructor's own tests stay out.
"""
import ast
import io
import os
import shutil
import subprocess
import sys
import tokenize

from instructor import course, grade

BANNER = ['########################', '# PUT YOUR CODE HERE  #', '#######################',
          'raise NotImplementedError', '########################', '# END OF YOUR CODE    #', '#######################']
KEPT_FILES = ['requirements.txt', '.gitignore']


def functions(tree):
    """{qualified name: FunctionDef} of a module's functions and its classes' methods."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef):
            found.update({f'{node.name}.{item.name}': item for item in node.body if isinstance(item, ast.FunctionDef)})
    return found


def body_lines(function, lines):
    """(first, last) line numbers (1-based, inclusive) of a function's body after its signature and docstring: the
    comments before its first statement belong to the body too."""
    body = function.body
    has_docstring = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and \
        isinstance(body[0].value.value, str)
    if has_docstring and len(body) == 1:
        raise ValueError(f'{function.name} has nothing but its docstring to write')
    start = body[0].end_lineno + 1 if has_docstring else _signature_end(function, lines) + 1
    return start, function.end_lineno


def _signature_end(function, lines):
    """The line (1-based) of the colon that ends a function's `def` (which may span lines)."""
    source = '\n'.join(lines[function.lineno - 1:]) + '\n'
    depth = 0
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.OP and token.string in '([{':
            depth += 1
        elif token.type == tokenize.OP and token.string in ')]}':
            depth -= 1
        elif token.type == tokenize.OP and token.string == ':' and depth == 0:
            return function.lineno + token.start[0] - 1
    raise ValueError(f'the def of {function.name} has no colon')


def stub(source, names, path='<source>'):
    """(source with the bodies of the functions `names` replaced by the banner, {name: the body's lines})."""
    found = functions(ast.parse(source))
    missing = [name for name in names if name not in found]
    if missing:
        raise ValueError(f'{path} has no function {", ".join(missing)} (course.STUDENT_WORK names it)')
    lines = source.splitlines()
    removed = {}
    for name in sorted(names, key=lambda name: -found[name].lineno):  # bottom up, so that line numbers hold
        start, end = body_lines(found[name], lines)
        indent = ' ' * found[name].body[-1].col_offset
        removed[name] = lines[start - 1:end]
        lines[start - 1:end] = [indent + line for line in BANNER]
    return '\n'.join(lines) + '\n', removed


def offering_files(offering, root=course.ROOT):
    """The Python files (relative to the root) that make an offering's code: for the root's offerings the root's
    files, else the offering's folder and the root's files that it imports (by its name, or as runkit.root_module
    does); and the library, runkit/, with the root's files it imports when it is imported."""
    face = course.OFFERINGS[offering][0]
    library = [f'runkit/{name}' for name in sorted(os.listdir(os.path.join(root, 'runkit'))) if name.endswith('.py')]
    if not face:
        return sorted(name for name in os.listdir(root) if name.endswith('.py')) + library
    # a file of the folder that only another offering's template has (2022's compare_models.py for 2023) stays out
    theirs = {path for other, paths in course.TEMPLATE_FILES.items() if course.OFFERINGS[other][0] == face
              for path in paths} - set(course.TEMPLATE_FILES[offering])
    files, pending = [], [f'{face}/{name}' for name in sorted(os.listdir(os.path.join(root, face)))
                          if name.endswith('.py') and f'{face}/{name}' not in theirs] + library
    while pending:
        path = pending.pop(0)
        if path in files:
            continue
        files.append(path)
        imported, of_the_root = _imported_at_load(os.path.join(root, path))
        # a plain import finds the folder's file before the root's
        plain = [name for name in imported if not os.path.isfile(os.path.join(root, face, f'{name}.py'))]
        pending += [f'{name}.py' for name in of_the_root + plain if os.path.isfile(os.path.join(root, f'{name}.py'))]
    return sorted(files, key=lambda path: ('/' in path, path))


def _imported_at_load(path):
    """(the modules a file imports by name when it is loaded, at its top level; those it names to
    runkit.root_module, which are the root's)."""
    with open(path) as file:
        tree = ast.parse(file.read())
    imported, of_the_root = [], []
    for node in tree.body:
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.append(node.module)
        of_the_root += [call.args[0].value for call in ast.walk(node)
                        if isinstance(call, ast.Call) and getattr(call.func, 'attr', None) == 'root_module']
    return imported, of_the_root


def release(out_dir, offering=course.DEFAULT):
    """Write the skeleton of `offering` into out_dir (which must not exist yet); returns {file: [stubbed names]},
    the offering's exercises."""
    if not str(out_dir).strip():
        raise ValueError("the skeleton's folder is an empty name, which would be the current folder; expected the "
                         "path of a new folder")
    if os.path.lexists(out_dir):
        raise FileExistsError(f'{out_dir} exists; give release a new folder')
    existing = os.path.dirname(os.path.abspath(out_dir))
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK):
        raise ValueError(f'{out_dir} cannot be made: {existing} is not a writable folder')
    face = course.OFFERINGS[offering][0]
    work = course.STUDENT_WORK[offering]
    os.makedirs(os.path.join(out_dir, 'tests'))
    for name in offering_files(offering) + KEPT_FILES:
        os.makedirs(os.path.join(out_dir, os.path.dirname(name)), exist_ok=True)
        _write(out_dir, name, work)
    with open(grade.CHECKS) as file:
        checks = file.read()
    graded = tuple(dict.fromkeys(check.test for check in course.RUBRIC[offering]))
    for old, new in ((" 'uva2019')", f' {offering!r})'), ('GRADED = None', f'GRADED = {graded!r}'),
                     ("os.path.join(os.path.dirname(__file__), '..')))\nSUBMISSION",
                      f"os.path.join(os.path.dirname(__file__), '..', {face!r})))\nSUBMISSION")):
        assert checks.count(old) == 1, old
        checks = checks.replace(old, new)
    with open(os.path.join(out_dir, 'tests', 'test_graded.py'), 'w') as file:
        file.write(checks)
    with open(os.path.join(out_dir, 'pytest.ini'), 'w') as file:
        file.write('[pytest]\ntestpaths = tests\n')
    with open(os.path.join(out_dir, 'README.md'), 'w') as file:
        file.write(_readme(offering, face, work))
    return work


def _write(out_dir, name, work):
    source_path = os.path.join(course.ROOT, name)
    if name not in work:
        shutil.copyfile(source_path, os.path.join(out_dir, name))
        return
    with open(source_path) as file:
        stubbed, _ = stub(file.read(), work[name], name)
    with open(os.path.join(out_dir, name), 'w') as file:
        file.write(stubbed)


def _readme(offering, face, work):
    listed = '\n'.join(f'- `{name}`: {", ".join(f"`{function}`" for function in names)}'
                       for name, names in work.items())
    where = (f'Run your template\'s commands in `{face}/`: its files have your template\'s names and signatures. '
             f'Where one of them only changes a default or a name of the file of the same name in this folder, you '
             f'write that code in this folder\'s file. ' if face else
             'Run your template\'s commands in this folder. ')
    graded = '\n'.join(f'- {question} ({sum(check.points for check in checks)} points): '
                       + ', '.join(check.name for check in checks)
                       for question, checks in course.questions(offering).items())
    return (f'# MLPs, CNNs and Backpropagation: the {offering} skeleton\n\n{where}'
            f'Write the body of every function marked `PUT YOUR CODE HERE` that your offering asks for '
            f'(`ReLUModule` and `RELUModule` are `LeakyReLUModule`s of slope 0):\n\n{listed}\n\n'
            'Each training script keeps its `main()`: it opens the run (`runkit.Run`) and hands it to your `train()`, '
            'which calls the run as the solution does (`run.progress`, `run.evaluates`, `run.log`).\n\n'
            f'`python -m pytest tests` runs the public checks that grading uses; each fails with NotImplementedError '
            f'until its functions are written. They check the code of these questions, numbered as your assignment '
            f'text numbers them, with their points:\n\n{graded}\n')


def self_check(out_dir, offering=course.DEFAULT, jobs=None, questions=None):
    """(problems of the skeleton in out_dir as lines, [] when there are none; the number of graded checks run): it
    must import; every graded check (of the questions named, default all) must fail on it with
    NotImplementedError; the solution (this package) must pass every one; no line of a solution body may be left
    in it."""
    problems = []
    face = course.OFFERINGS[offering][0]
    code = os.path.join(out_dir, face)
    names = sorted({os.path.splitext(name)[0] for name in os.listdir(code) if name.endswith('.py')})
    imported = subprocess.run([sys.executable, '-I', '-B', '-c', f'import sys; sys.path[:0] = {[code, out_dir]!r}; '
                               + '; '.join(f'import {name}' for name in names)],
                              cwd=out_dir, capture_output=True, text=True, env={**os.environ, 'MPLBACKEND': 'Agg'})
    if imported.returncode:
        problems.append(f'the skeleton does not import: {imported.stderr.strip().splitlines()[-1]}')
    graded = grade.grade([out_dir, course.ROOT], offering, jobs=jobs, progress=False, questions=questions)
    for outcome in graded[out_dir]:
        if outcome.passed or 'NotImplementedError' not in outcome.reason:
            problems.append(f'{outcome.check.question} {outcome.check.name} does not fail with NotImplementedError '
                            f'on the skeleton: {"it passes" if outcome.passed else outcome.reason}')
    problems += [f'the solution fails {o.check.question} {o.check.name}: {o.reason}'
                 for o in graded[course.ROOT] if not o.passed]
    for name, functions_named in course.STUDENT_WORK[offering].items():
        problems += [f'{name}: {line.strip()!r} of a solution is left in the skeleton'
                     for line in leaked_lines(name, functions_named, out_dir)]
    return problems, len(graded[out_dir])


def leaked_lines(name, functions_named, out_dir):
    """The lines of the solution's bodies of those functions that the skeleton's copy of the file still has (a
    line that the file also has outside those bodies is the template's, and does not count)."""
    with open(os.path.join(course.ROOT, name)) as file:
        source = file.read()
    kept, removed = stub(source, functions_named, name)
    bodies = {line.strip() for lines in removed.values() for line in lines if line.strip()}
    outside = {line.strip() for line in kept.splitlines()}
    with open(os.path.join(out_dir, name)) as file:
        skeleton = {line.strip() for line in file.read().splitlines()}
    return sorted((bodies - outside) & skeleton)
