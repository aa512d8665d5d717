"""python -m instructor pack: the deliverable the UvA text asks for, with its manifest, and nothing else."""
import hashlib
import json
import os
import shutil
import zipfile

import pytest

from instructor import __main__ as cli
from instructor import course, pack


def test_the_zip_holds_the_report_and_the_code_in_the_templates_layout_with_their_sha256(tmp_path):
    path = pack.pack('uva2021', 'Doe', str(tmp_path))
    assert os.path.basename(path) == 'doe_assignment1.zip'
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read('MANIFEST.json'))
        for name, digest in manifest['sha256'].items():
            assert hashlib.sha256(archive.read(name)).hexdigest() == digest
    assert {'modules.py', 'uva2021/train_mlp_numpy.py', 'report/uva2019.md', 'report/appendix.md',
            'requirements.txt'} <= names
    assert not {'report/bgu2023.md', 'report/vu2021.md'} & names
    assert names - {'MANIFEST.json'} == set(manifest['sha256']) and manifest['offering'] == 'uva2021'
    assert not [name for name in names if name.startswith(('cifar10/', 'runs/', 'results/', 'tests/'))
                or name.endswith(('.pt', '.npz', '.pyc')) or '__pycache__' in name]
    assert any(name.startswith('report/figures/') and name.endswith('.png') for name in names)
    assert not any(name.startswith('bgu2023/') for name in names)


def test_a_bad_name_or_a_missing_file_is_refused_in_one_line(tmp_path):
    with pytest.raises(ValueError, match="--name .doe/../x.: expected a last name of at most 64 letters"):
        pack.pack('uva2019', 'doe/../x', str(tmp_path))
    lacking = tmp_path / 'project'
    shutil.copytree(course.ROOT, lacking, ignore=shutil.ignore_patterns('cifar10', 'runs', '.git', 'results'))
    os.remove(lacking / 'custom_batchnorm.py')
    with pytest.raises(ValueError, match='cannot pack uva2019: missing custom_batchnorm.py$'):
        pack.pack('uva2019', 'Doe', str(tmp_path), root=str(lacking))
    assert not list(tmp_path.glob('*.zip'))


def test_the_command_line_runs_the_public_tests_first(tmp_path, capsys):
    cli.main(['pack', '--offering', 'vu2021', '--name', 'Doe', '--out_dir', str(tmp_path)])
    out = capsys.readouterr().out
    assert out.startswith('public tests: 2 of 2 pass\n') and 'doe_assignment1.zip' in out
    with pytest.raises(SystemExit, match='expected a last name'):
        cli.main(['pack', '--name', '1'])


def test_links_fifos_and_bad_outputs_neither_leak_nor_hang_nor_come_after_the_public_tests(tmp_path, monkeypatch):
    project = tmp_path / 'project'
    shutil.copytree(course.ROOT, project, ignore=shutil.ignore_patterns('cifar10', 'runs', '.git', 'results'))
    secret = tmp_path / 'secret.md'
    secret.write_text('the instructor\'s secret\n')
    (project / 'report' / 'figures' / 'leak.md').symlink_to(secret)
    (project / 'report' / 'dangling.png').symlink_to(tmp_path / 'nowhere.png')
    os.mkfifo(project / 'report' / 'figures' / 'blocks.md')
    path = pack.pack('vu2021', 'Doe', str(tmp_path), root=str(project))
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert not {'report/figures/leak.md', 'report/dangling.png', 'report/figures/blocks.md'} & set(names)
        assert not any(b'secret' in archive.read(name) for name in names)
    # a name too long for a file and a missing --out_dir are refused before the public tests run
    monkeypatch.setattr(cli.grade, 'grade', lambda *args, **kwargs: pytest.fail('graded before checking the name'))
    with pytest.raises(SystemExit, match='at most 64 letters'):
        cli.main(['pack', '--offering', 'vu2021', '--name', 'a' * 300, '--out_dir', str(tmp_path)])
    with pytest.raises(SystemExit, match='--out_dir .*missing: expected a writable folder'):
        cli.main(['pack', '--offering', 'vu2021', '--name', 'Doe', '--out_dir', str(tmp_path / 'missing')])
    assert not list(tmp_path.glob('*.partial'))
