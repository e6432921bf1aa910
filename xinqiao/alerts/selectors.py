"""Reads of the alerts app, always starting from the access layer's scope."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Min, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access.roles import Cap, Role, Tier
from xinqiao.access.scope import Principal
from xinqiao.audit.services import record_read
from xinqiao.core.errors import DomainError
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.people.models import StudentQuerySet

from . import rules as rules_mod
from .models import Alert, Concern, PendingSubmission, RuleSet

# Who may read the evidence (T3): the school's psychology teachers and the district station.
EVIDENCE_ROLES = (Role.PSYCHOLOGY_TEACHER, Role.STATION_COUNSELLOR)


def alert_students(*, principal: Principal) -> StudentQuerySet:
    return principal.students(tier=Tier.T2, cap=Cap.VIEW_ALERTS)


def list_alerts(*, principal: Principal, open_only: bool = True) -> QuerySet[Alert]:
    qs = Alert.objects.filter(student__in=alert_students(principal=principal))
    if open_only:
        qs = qs.open()
    return qs.select_related("student", "student__school_class", "owner").order_by(
        "verify_by", "id"
    )


def worklist(*, principal: Principal) -> list[Alert]:
    """Open alerts by their next deadline (acknowledge-by for new red alerts)."""
    return sorted(list_alerts(principal=principal), key=lambda a: (a.next_deadline, a.pk))


# The worker raises a queued hand-in's alert within seconds: one still waiting after this long
# means the worker is stopped or failing.
STALLED_AFTER = datetime.timedelta(minutes=2)


def stalled_hand_ins(*, principal: Principal) -> int:
    """Hand-ins of students in scope whose rules fired but whose alert has waited longer than
    STALLED_AFTER to be raised. The worklist says so, so a stalled alert chain is seen by the
    people who rely on it rather than going unnoticed."""
    return PendingSubmission.objects.filter(
        student_id__in=alert_students(principal=principal).values("pk"),
        queued_at__lt=timezone.now() - STALLED_AFTER,
    ).count()


def oldest_pending_hand_in() -> datetime.datetime | None:
    """When the hand-in waiting longest for its alert was queued (operators' health figure; the
    worklist warns from it through xinqiao.core.health)."""
    found = PendingSubmission.objects.aggregate(oldest=Min("queued_at"))
    oldest: datetime.datetime | None = found["oldest"]
    return oldest


def get_alert(*, principal: Principal, code: Any) -> Alert:
    alert = Alert.objects.filter(code=code).select_related("student", "school", "owner").first()
    if (
        alert is None
        or not alert_students(principal=principal).filter(pk=alert.student_id).exists()
    ):
        raise Http404
    return alert


def can_read_evidence(principal: Principal, alert: Alert) -> bool:
    return principal.has_role(*EVIDENCE_ROLES) and any(
        g.role in EVIDENCE_ROLES and g.area.contains(alert.school) for g in principal.grants
    )


def alert_evidence(*, principal: Principal, alert: Alert) -> dict[str, Any]:
    """The evidence (T3) with the reporters' own words; the read is audited."""
    if not can_read_evidence(principal, alert):
        raise PermissionDenied
    concerns = list(alert.concerns.select_related("reporter").order_by("created_at"))
    record_read(
        actor=principal.user,
        obj=alert,
        fields=["evidence", f"student:{alert.student.code}"],
        action="alerts.alert.evidence_viewed",
    )
    triggers = list(alert.triggers.all())
    _describe_items(triggers)
    return {
        "triggers": triggers,
        "concerns": concerns,
        "escalations": list(alert.escalations.all()),
    }


def _describe_items(triggers: list[Any]) -> None:
    """Give each trigger's instruments their critical and unanswered items as the question's text
    and the answer given (`critical_answers`, `missing_texts`), read from the stored responses."""
    from xinqiao.screening.models import Response

    from .dry_run import answer_label, lang_text
    from .services.hand_ins import _definition

    ids = {i.get("response") for t in triggers for i in (t.evidence or {}).get("instruments", [])}
    from xinqiao.screening.models import AssignmentStatus

    responses = {
        r.pk: r
        for r in Response.objects.filter(pk__in=[i for i in ids if i])
        .select_related("assignment")
        .only(
            "pk",
            "instrument_code",
            "instrument_version",
            "answers",
            "client_key",
            "assignment__status",
        )
    }
    for trigger in triggers:
        for inst in (trigger.evidence or {}).get("instruments", []):
            response = responses.get(inst.get("response"))
            if response is None:
                continue
            # Voided by a psychology teacher since: the alert stays, its page says so.
            if response.assignment.status == AssignmentStatus.VOID:
                trigger.hand_in_voided = True
            defn = _definition(response.instrument_code, response.instrument_version)
            answers = dict(zip(defn.item_ids, list(response.answers or []), strict=False))
            items = {item.id: item for item in defn.items}

            def words(
                item_id: str, items: Any = items, answers: Any = answers, defn: Any = defn
            ) -> dict[str, str]:
                item = items.get(item_id)
                return {
                    "id": item_id,
                    "text": lang_text(item.text) if item and item.text else "",
                    "answer": answer_label(defn, item_id, answers.get(item_id)),
                }

            inst["critical_answers"] = [words(i) for i in inst.get("critical") or []]
            inst["missing_texts"] = [words(i) for i in inst.get("missing") or [] if i in items]


def concern_students(*, principal: Principal) -> StudentQuerySet:
    """Students a user may file a concern about: their classes, school, or own children."""
    return principal.students(tier=Tier.NONE, cap=Cap.FILE_CONCERN).select_related("school_class")


def my_concerns(*, principal: Principal) -> QuerySet[Concern]:
    return (
        Concern.objects.filter(reporter=principal.user)
        .select_related("student", "alert")
        .order_by("-created_at", "-id")
    )


def rule_units(*, principal: Principal) -> QuerySet[OrgUnit]:
    return principal.units(Cap.EDIT_RULESETS).filter(kind__in=[Kind.CITY, Kind.DISTRICT])


def list_rulesets(*, principal: Principal) -> QuerySet[RuleSet]:
    return (
        RuleSet.objects.filter(unit__in=rule_units(principal=principal))
        .select_related("unit", "created_by")
        .order_by("unit__path", "stage", "-version")
    )


def get_ruleset(*, principal: Principal, code: Any) -> RuleSet:
    """A saved rule set version the principal may edit (404 otherwise: another area's)."""
    try:
        found = list_rulesets(principal=principal).filter(code=code).first()
    except (ValueError, ValidationError):
        found = None
    if found is None:
        raise Http404
    return found


def ruleset_for_dry_run(*, code: Any = None, stage: str = "") -> tuple[str, Mapping[str, Any]]:
    """(label, definition) of the rules `manage.py explain_rules` evaluates: the shipped default
    without a code, else the saved version with that code, which must apply to `stage`."""
    if not code:
        active = rules_mod.default_active()
        return active.label, active.definition
    try:
        ruleset = RuleSet.objects.select_related("unit").filter(code=code).first()
    except (ValueError, ValidationError):
        ruleset = None
    if ruleset is None:
        raise DomainError(_("No rule set has the code %(code)s.") % {"code": code})
    if stage and ruleset.stage not in ("", stage):
        raise DomainError(
            _("Rule set %(label)s is for another school stage.") % {"label": ruleset.label}
        )
    return ruleset.label, ruleset.definition


# --- the alert loop's clock, for apps that follow it (counselling: students' help requests) ----
def deadlines_of(level: str, start: datetime.datetime) -> Any:
    """`deadlines.deadlines_for(level, start)`: the deadlines an alert of `level` raised at
    `start` would have (a red one's acknowledge_by, an orange one's verify_by, …)."""
    from .deadlines import deadlines_for

    return deadlines_for(level, start)


def escalation_time(step: str, since: datetime.datetime) -> datetime.datetime:
    """When a red alert raised to red at `since` escalates by `step` ("red_leader",
    "red_station"): `deadlines.escalation_due`."""
    from .deadlines import escalation_due

    return escalation_due(step, since)
