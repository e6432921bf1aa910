"""The home page shows one tile per page the user's roles can reach, and nothing else."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from ..factories import two_schools, with_personas

TILES = {
    "city_admin": ["orgs:tree", "orgs:term-list", "people:student-list", "people:staff-list"],
    "district_admin": ["orgs:tree", "people:student-list", "people:staff-list"],
    "school_admin": ["orgs:tree", "people:student-list", "people:staff-list"],
    "psych": ["orgs:tree", "people:student-list", "people:staff-list"],
    "head_teacher": ["orgs:tree", "people:student-list"],
    "mentor": ["orgs:tree", "people:student-list"],
    "parent": [],  # the family pages instead (tests/family/test_views.py)
    "psychiatrist": ["people:student-list"],
    "committee": [],
    "auditor": [],
    "sysadmin": ["orgs:tree"],
}
OURS = {"orgs:tree", "orgs:term-list", "people:student-list", "people:staff-list"}


@pytest.fixture
def schools(db):
    """Two schools with a student per class and the personas the tiles are checked for."""
    return with_personas(two_schools(), *TILES)


def _tiles(response) -> set[str]:
    return set(re.findall(r'data-tile="([^"]+)"', response.content.decode())) & OURS


@pytest.mark.parametrize(("persona", "expected"), TILES.items())
def test_home_tiles_follow_capabilities(schools, client_for, persona, expected):
    response = client_for(getattr(schools, persona)).get(reverse("home"))

    assert response.status_code == 200
    assert _tiles(response) == set(expected)


@pytest.mark.parametrize("persona", ["city_admin", "head_teacher", "psych", "parent", "sysadmin"])
def test_every_tile_opens(schools, client_for, persona):
    client = client_for(getattr(schools, persona))
    home = client.get(reverse("home"))

    statuses = {name: client.get(reverse(name)).status_code for name in _tiles(home)}

    assert set(statuses.values()) <= {200}


def test_home_requires_sign_in(db, client):
    response = client.get(reverse("home"))

    assert response.status_code == 302
