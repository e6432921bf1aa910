"""Fixtures of the student-side tests.

`sitting` is an open autumn campaign of school A (junior battery PHQ-A, GAD-7, ASQ) with a class
sitting for class A1, where 王小明 (stu_a1) sits; stu_a2 is in class A2 (outside the sitting).
"""

import pytest

from xinqiao.screening import services as screening

from .taking_helpers import make_open_campaign


@pytest.fixture
def campaign(world):
    return make_open_campaign(world)


@pytest.fixture
def sitting(world, campaign):
    return screening.open_sitting(actor=world.psych, campaign=campaign, school_class=world.class_a1)
