import datetime

import pytest

from xinqiao.people.services import create_student


@pytest.fixture
def class_of_six(world):
    """Class A1 with five more students (six in all), for bulk assignment."""
    extra = [
        create_student(
            actor=None,
            student_number=f"G{770000 + i:017d}X",
            name=f"学生{i}",
            gender="F",
            birth_date=datetime.date(2013, 1, 1),
            school_class=world.class_a1,
            term=world.term,
        )
        for i in range(5)
    ]
    return [world.stu_a1, *extra]
