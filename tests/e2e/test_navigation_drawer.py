"""On a phone the navigation is an offcanvas drawer (issue 12): the menu button opens it, and it
shows the user's groups, the current page's group open."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e]


def test_drawer_opens_at_phone_width_and_shows_the_groups(page, login, world):
    page.set_viewport_size({"width": 390, "height": 844})
    login(world.psych.username, PASSWORD)
    page.goto("/cases/worklist/")
    drawer = page.locator("#main-nav")
    assert not drawer.is_visible()

    page.get_by_test_id("nav-toggle").click()

    drawer.wait_for(state="visible")
    for label in ("监测预警", "干预处置", "管理"):
        assert drawer.get_by_role("button", name=label).is_visible()
    # the current page's group is open: its entries are on screen without a tap
    assert drawer.locator('[data-nav="cases:worklist"]').is_visible()
