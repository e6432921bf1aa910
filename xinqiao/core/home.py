"""Home panels: what needs the user now, each app contributing its own (core imports no app).

An app registers a `HomePanelSpec` (in its AppConfig.ready): the capability a user needs to see
it, and `build(principal, now)` returning a `HomePanel` (or None when there is nothing to show
this user). The home page draws the panels of the capabilities the principal holds, in order.

A panel's build reads through the app's selectors (scope from the principal), with a fixed number
of queries whatever the number of rows, and never names a student to a user who may not know of
them: counts for those who only need to know how many, names only where the linked page shows
them to the same user.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise


@dataclass
class HomeCount:
    label: str | Promise
    value: int
    url: str = ""
    alarm: bool = False  # red when above zero (something is late)
    key: str = ""  # for tests and styling: data-count="<panel>.<key>"


@dataclass
class HomeRow:
    label: str | Promise
    url: str = ""
    due: datetime.datetime | None = None  # the deadline: time left, red when past
    note: str | Promise = ""
    overdue: bool = False


@dataclass
class HomePanel:
    title: str | Promise
    url: str = ""  # the page with the whole list
    counts: list[HomeCount] = field(default_factory=list)
    rows: list[HomeRow] = field(default_factory=list)
    empty: str | Promise = ""  # said when there are no rows and every count is zero
    key: str = ""

    @property
    def quiet(self) -> bool:
        return not self.rows and not any(c.value for c in self.counts)


Build = Callable[[Any, datetime.datetime], HomePanel | None]


@dataclass(frozen=True)
class HomePanelSpec:
    key: str
    cap: str | None  # None: every signed-in user
    build: Build
    order: int = 100


HOME_PANELS: list[HomePanelSpec] = []


def register_home_panel(spec: HomePanelSpec) -> None:
    if all(existing.key != spec.key for existing in HOME_PANELS):
        HOME_PANELS.append(spec)


def panels_for(principal: Any, now: datetime.datetime) -> list[HomePanel]:
    panels = []
    for spec in sorted(HOME_PANELS, key=lambda s: s.order):
        if spec.cap is not None and not principal.can(spec.cap):
            continue
        panel = spec.build(principal, now)
        if panel is None:
            continue
        panel.key = panel.key or spec.key
        for row in panel.rows:
            row.overdue = row.due is not None and row.due < now
        panels.append(panel)
    return panels
