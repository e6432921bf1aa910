"""A log of real events for the chain and append-only tests."""

from __future__ import annotations

import pytest

from ..factories import two_schools, with_personas


@pytest.fixture
def logged(db):
    """Two schools and five staff built through the services: a chain of 25 real events (units,
    term, students, staff and their roles), enough for tampering in the middle of it."""
    return with_personas(
        two_schools(), "city_admin", "school_admin", "psych", "head_teacher", "psych_b"
    )
