"""The learning-rate schedule plot: drawn from a PyTorch run's config; anything else is a one-line error."""
import json

import pytest

import plot_lr_schedule
from command_line import run_main


def test_the_schedule_of_a_run_is_drawn_next_to_its_metrics(tmp_path, capsys):
    config = {'max_steps': 20, 'steps_per_epoch': 5, 'learning_rate': 0.1, 'lr_schedule': 'onecycle',
              'warmup_steps': 4}
    (tmp_path / 'metrics.json').write_text(json.dumps({'config': config}))
    assert run_main(plot_lr_schedule.main, [str(tmp_path)], capsys) == (0, '')
    assert (tmp_path / 'lr_schedule.png').read_bytes()[:4] == b'\x89PNG'


@pytest.mark.parametrize('content, message', [
    (None, 'holds no metrics.json; expected the folder of a PyTorch run'),
    ('not json', 'is not the metrics of a PyTorch run with a learning-rate schedule (JSONDecodeError'),
    ('{"config": {"max_steps": 3}}', "is not the metrics of a PyTorch run with a learning-rate schedule (KeyError"),
], ids=['missing', 'not-json', 'no-schedule'])
def test_a_folder_without_a_run_with_a_schedule_is_a_one_line_error(tmp_path, capsys, content, message):
    if content is not None:
        (tmp_path / 'metrics.json').write_text(content)
    status, stderr = run_main(plot_lr_schedule.main, [str(tmp_path)], capsys)
    assert status == 1 and message in stderr and len(stderr.splitlines()) == 1, stderr


def test_extra_arguments_are_a_one_line_error(capsys):
    status, stderr = run_main(plot_lr_schedule.main, ['a', 'b'], capsys)
    assert status == 2 and 'unrecognized arguments: b' in stderr and len(stderr.splitlines()) == 1
