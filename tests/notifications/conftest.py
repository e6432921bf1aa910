"""Recipients for the inbox and channel tests."""

from __future__ import annotations

import pytest

from ..factories import two_schools, with_personas


@pytest.fixture
def staff(db):
    """Two schools with a student per class; school A's psychology teacher and admin, A1's head
    teacher and mentor (the world's usernames). Nothing is queued for anyone yet."""
    return with_personas(two_schools(), "psych", "school_admin", "head_teacher", "mentor")
