"""The CLI's --task choices are the datasets' tasks."""

from vosbench.cli import TASK_CHOICE
from vosbench.datasets.base import TASKS


def test_task_choices_are_the_dataset_tasks():
    assert tuple(TASK_CHOICE.choices) == TASKS
