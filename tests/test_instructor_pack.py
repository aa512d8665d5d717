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
    with pytest.raises(ValueError, match="--name 'doe/../x': expected a last name of letters"):
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
