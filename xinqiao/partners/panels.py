"""The case page's partners panel (cases/panels.py registry): the psychiatrist's advice on the
joint support plan and the invited experts, for the case's psychology teachers and station."""

from __future__ import annotations

from typing import Any

from xinqiao.access.roles import Cap
from xinqiao.audit.services import record_read
from xinqiao.cases.panels import Panel
from xinqiao.cases.selectors.common import can_handle, can_read_notes

from . import selectors


def case_panel(principal: Any, case: Any) -> Panel | None:
    if principal is None or not principal.can(Cap.INVITE_EXPERTS):
        return None
    if not (can_handle(principal, case) or can_read_notes(principal, case)):
        return None
    advice = list(selectors.case_advice(case)[:5])
    grants = [g for g in selectors.case_invitations(case) if g.is_active]
    if advice:
        record_read(
            actor=principal.user,
            obj=case,
            fields=["plan_advice"],
            action="partners.case_partners.viewed",
        )
    return Panel(
        template="partners/_case_panel.html",
        context={"partners": {"case": case, "advice": advice, "grants": grants}},
        order=35,
    )
