"""Each offering's rubric as its own text numbers and weighs the questions (instructor/course.py), and UvA 2020's
ConvNet check against its Figure 5 for any way of building it."""
import pytest
import torch

from instructor import course, release
from instructor.test_graded import check_figure_5
from test_offerings import working_in


@pytest.mark.parametrize('offering, questions', [
    ('uva2018', ['1.2', '2', '3.1', '3.2 b', '3.2 c', '4']),
    ('uva2019spring', ['1.2', '2', '3.1', '3.2 b', '3.2 c', '4']),
    ('uva2020', ['1.2', '2.1', '3.1', '3.2 b', '3.2 c', '4 a']),
    ('uva2021', ['1.2', '2.1']),
    ('uva2022', ['1.2', '2.1', '2.3']),
    ('uva2023', ['Q3', 'Q4', 'Q6']),
    ('uva2024', ['Q2', 'Q3']),
    ('uva2025', ['Q2', 'Q3']),
    ('bgu2023', ['Q3', 'Q4.a']),
    ('vu2021', ['Q9']),
])
def test_each_offering_numbers_its_questions_as_its_text(offering, questions):
    assert list(course.questions(offering)) == questions


def test_a_question_the_text_gives_points_gets_them_shared_over_its_checks():
    assert set(course.QUESTIONS) == set(course.OFFERINGS)
    for offering, parts in course.QUESTIONS.items():
        grouped = course.questions(offering)
        assert all(check.points > 0 for check in course.RUBRIC[offering]), offering
        for question, points in parts.values():
            if points is not None:
                assert sum(check.points for check in grouped[question]) == points, (offering, question)
    # the text's points: 2019's NumPy MLP 15, its ConvNet 10; 2020's layer norm module 8
    assert sum(c.points for c in course.questions('uva2019')['1.2']) == 15
    assert sum(c.points for c in course.questions('uva2020')['3.1']) == 8


def test_only_the_templates_with_a_confusion_matrix_are_asked_for_one():
    for offering in course.OFFERINGS:
        asked = 'confusion_matrix and its metrics' in {check.name for check in course.RUBRIC[offering]}
        assert asked == (offering in ('uva2022', 'uva2023', 'bgu2023')), offering
    assert [c.question for c in course.RUBRIC['uva2022'] if c.test == 'test_confusion_matrix'] == ['2.3']


def test_the_skeletons_readme_lists_the_graded_questions_with_their_points():
    text = release._readme('uva2020', 'uva2020', course.STUDENT_WORK['uva2020'])
    assert '- 4 a (10 points): ConvNet layers of Figure 5, ConvNet forward' in text
    assert '- 2.1 (20 points): ' in text


class _OtherWay(torch.nn.Module):
    """Figure 5's network built another way: blocks in a ModuleList, the widening convolutions registered last, and
    a list attribute named `modules`."""

    def __init__(self):
        super().__init__()
        widths = [64, 128, 128, 256, 256, 512, 512, 512, 512]
        self.blocks = torch.nn.ModuleList(torch.nn.Sequential(torch.nn.BatchNorm2d(c), torch.nn.ReLU(),
                                                              torch.nn.Conv2d(c, c, 3, padding=1)) for c in widths)
        self.pools = torch.nn.ModuleList(torch.nn.MaxPool2d((3, 3), stride=2, padding=1) for _ in range(5))
        self.head = torch.nn.Sequential(torch.nn.BatchNorm2d(512), torch.nn.ReLU(), torch.nn.Flatten(),
                                        torch.nn.Linear(512, 10))
        self.stem = torch.nn.Conv2d(3, 64, 3, padding=1)
        self.widen = torch.nn.ModuleList(torch.nn.Conv2d(c, 2 * c, 1) for c in (64, 128, 256))
        self.modules = ['not the method']


def test_figure_5_is_checked_whatever_the_way_the_network_is_built():
    check_figure_5(_OtherWay())
    with working_in('uva2020') as load:
        check_figure_5(load('convnet_pytorch').ConvNet(3, 10))
    with working_in('uva2019') as load, pytest.raises(AssertionError, match='Figure 5 convolutions'):
        check_figure_5(load('convnet_pytorch').ConvNet(3, 10))  # Table 1's network
