"""Seams for apps above alerts to answer questions the alerts app cannot answer alone.

`alert_owners_for(students)`: who should own a *new* alert for each of these students. The cases
app registers a resolver that answers "the owner of the student's open case", so every new trigger
for a high-care student lands with the psychology teacher who already knows them. A resolver takes
a list of students and returns {student id: user} for those it has an answer for (one query for
a whole batch of hand-ins); the first answer wins. The counselling app registers the next one
(after the cases app, by INSTALLED_APPS order): the counsellor on duty at the student's school by
its duty roster, else the school's psychology teachers, else the district station's on duty.
Without any answer the alert goes to the school's first psychology teacher
(`access.holders.owner_for_school`).
"""

from collections.abc import Callable, Sequence
from typing import Any

OwnerResolver = Callable[[Sequence[Any]], dict[int, Any]]
_owner_resolvers: list[OwnerResolver] = []


def register_owner_resolver(resolver: OwnerResolver) -> None:
    if resolver not in _owner_resolvers:
        _owner_resolvers.append(resolver)


def alert_owners_for(students: Sequence[Any]) -> dict[int, Any]:
    owners: dict[int, Any] = {}
    for resolver in _owner_resolvers:
        waiting = [s for s in students if s.pk not in owners]
        if not waiting:
            break
        owners.update({pk: u for pk, u in resolver(waiting).items() if u is not None})
    return owners


# `alert_links(principal, alert)`: pages of other apps about this alert that the user may open
# (the cases app answers "the case it opened"). A resolver takes (principal, alert) and returns
# (url, label) or None.
LinkResolver = Callable[[Any, Any], tuple[str, str] | None]
_link_resolvers: list[LinkResolver] = []


def register_alert_link(resolver: LinkResolver) -> None:
    if resolver not in _link_resolvers:
        _link_resolvers.append(resolver)


def alert_links(principal: Any, alert: Any) -> list[tuple[str, str]]:
    return [link for resolver in _link_resolvers if (link := resolver(principal, alert))]
