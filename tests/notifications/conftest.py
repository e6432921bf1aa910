"""Recipients for the inbox and channel tests."""

from __future__ import annotations

import pytest

from ..factories import two_schools, with_personas


@pytest.fixture
def staff(db):
    """School A's psychology teacher, A1's head teacher and mentor (with the world's usernames);
    nothing is queued for them yet."""
    return with_personas(two_schools(), "psych", "head_teacher", "mentor")
