"""Reads of the case lifecycle: the case list, the timeline, and whether a step down is allowed.

Every list starts from `common.visible_cases` (the one place the case scope is decided). The
timeline merges every row kind of a case into one chronological list; free-text notes (T3) are
decrypted only when the caller says the reader may see them (`common.can_read_notes`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case as CaseWhen
from django.db.models import IntegerField, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access.roles import Cap, Role
from xinqiao.access.scope import Principal
from xinqiao.alerts import rules as rules_mod
from xinqiao.alerts import services as alert_services
from xinqiao.alerts.models import LEVEL_RANK, Level
from xinqiao.people.models import Staff

from .. import policy
from ..models import (
    Case,
    CaseStatus,
    ChangeKind,
    FeedbackSource,
    RequestStatus,
    SchoolingChangeKind,
    StepDownRequest,
    Trend,
)
from .common import can_handle, visible_cases

ROUTINE_CAMPAIGNS = ("routine_spring", "routine_autumn")


# --- display helpers --------------------------------------------------------------------------


def person_name(user: Any) -> str:
    """A user's name for display: the staff name, else the username ("" for the system)."""
    if user is None:
        return ""
    try:
        return str(user.staff.name)
    except Staff.DoesNotExist:
        return str(user.get_username())


def level_label(level: str) -> str:
    return str(Level(level).label) if level in Level.values else ""


_RANK: dict[str, int] = {str(level): rank for level, rank in LEVEL_RANK.items()}


def level_rank(level: str) -> int:
    """yellow 1, orange 2, red 3 (alerts.models.LEVEL_RANK)."""
    return _RANK[level]


# --- the case list ----------------------------------------------------------------------------


def list_cases(
    *, principal: Principal, level: str = "", status: str = CaseStatus.OPEN
) -> QuerySet[Case]:
    """The cases a user may see, red first, then by the next follow-up due (soonest first).

    `status` is "open", "closed" or "" (both); `level` one of Level or "" (any)."""
    qs = visible_cases(principal=principal)
    if status in CaseStatus.values:
        qs = qs.filter(status=status)
    if level in Level.values:
        qs = qs.filter(level=level)
    rank = CaseWhen(
        When(level=Level.RED, then=Value(0)),
        When(level=Level.ORANGE, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        qs.select_related("student", "student__school_class", "school", "owner", "owner__staff")
        .annotate(level_rank=rank)
        .order_by("status", "level_rank", "next_follow_up_due", "-opened_at", "id")
    )


def is_overdue(case: Case, now: datetime.datetime | None = None) -> bool:
    now = now or timezone.now()
    return bool(case.is_open and case.next_follow_up_due and case.next_follow_up_due < now)


# --- step down: the minimum stays -------------------------------------------------------------


@dataclass(frozen=True)
class RuleCheck:
    """One minimum-stay rule: what it asks (`label`), whether it is met, and if not, why."""

    key: str
    label: str
    met: bool
    unmet_message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepDownCheck:
    from_level: str
    to_level: str  # "" = close the case
    rules: list[RuleCheck]
    any_of: bool = False  # yellow closes when either rule holds; the others need all

    @property
    def ok(self) -> bool:
        if not self.rules:
            return False
        met = [r.met for r in self.rules]
        return any(met) if self.any_of else all(met)

    @property
    def unmet_messages(self) -> list[str]:
        if self.ok:
            return []
        return [r.unmet_message for r in self.rules if not r.met]

    @property
    def evidence(self) -> dict[str, Any]:
        return {r.key: {"met": r.met, **r.evidence} for r in self.rules}

    @property
    def closes(self) -> bool:
        return self.to_level == ""

    @property
    def from_label(self) -> str:
        return level_label(self.from_level)

    @property
    def to_label(self) -> str:
        return level_label(self.to_level)


def _days_rule(case: Case, now: datetime.datetime) -> RuleCheck:
    need = policy.MIN_STAY_DAYS[case.level]
    days = (now - case.level_since).days
    label = _("At least %(n)d days at %(level)s (now %(days)d)") % {
        "n": need,
        "level": level_label(case.level),
        "days": days,
    }
    if days >= need:
        return RuleCheck("min_stay", label, True, evidence={"days": days, "need": need})
    until = timezone.localtime(case.level_since + datetime.timedelta(days=need))
    return RuleCheck(
        "min_stay",
        label,
        False,
        _(
            "The case has been at %(level)s for %(days)d days; at least %(n)d are needed "
            "(not before %(date)s)."
        )
        % {
            "level": level_label(case.level),
            "days": days,
            "n": need,
            "date": until.strftime("%Y-%m-%d"),
        },
        {"days": days, "need": need},
    )


def _hospital_opinion_rule(case: Case) -> RuleCheck:
    referral = (
        case.referrals.filter(feedback_at__isnull=False, feedback_at__gte=case.level_since)
        .order_by("-feedback_at")
        .only("code", "feedback_at")
        .first()
    )
    label = _("A psychiatrist's or hospital's opinion given since the case turned red")
    if referral is not None:
        return RuleCheck("hospital_opinion", label, True, evidence={"referral": str(referral.code)})
    return RuleCheck(
        "hospital_opinion",
        label,
        False,
        _(
            "No psychiatrist's or hospital's opinion since the case turned red: a referral needs "
            "its feedback first."
        ),
    )


def _improving_rule(case: Case) -> RuleCheck:
    need = policy.IMPROVING_FOLLOW_UPS_FOR_ORANGE
    ids = list(
        case.follow_ups.filter(done_at__gte=case.level_since, trend=Trend.IMPROVING)
        .order_by("done_at")
        .values_list("pk", flat=True)
    )
    label = _("At least %(n)d follow-ups marked improving since the case turned orange") % {
        "n": need
    }
    if len(ids) >= need:
        return RuleCheck("improving_follow_ups", label, True, evidence={"follow_ups": ids})
    return RuleCheck(
        "improving_follow_ups",
        label,
        False,
        _("%(have)d follow-ups marked improving since the case turned orange; %(n)d are needed.")
        % {"have": len(ids), "n": need},
        {"follow_ups": ids},
    )


@dataclass(frozen=True)
class ScreenResult:
    assignment_id: int
    campaign_kind: str
    submitted_at: datetime.datetime
    levels: frozenset[str]  # levels of the rules that fired (or were held on an invalid response)


def latest_screen(
    student: Any, *, since: datetime.datetime, campaign_kinds: Iterable[str] = ()
) -> ScreenResult | None:
    """The student's newest screening (one assignment: every instrument handed in together) with
    a response submitted at or after `since`, evaluated with the alert rules in force for the
    school — the same rules and facts a submission is evaluated with (alerts.services.facts_of,
    alerts.rules.evaluate). Rules held back by an invalid questionnaire count as firing: an
    invalid re-screen proves nothing."""
    from xinqiao.screening.models import AssignmentStatus, Response

    responses = (
        Response.objects.filter(assignment__student_id=student.pk, submitted_at__gte=since)
        .exclude(assignment__status=AssignmentStatus.VOID)  # a voided hand-in proves nothing
        .select_related("assignment", "assignment__campaign")
    )
    kinds = list(campaign_kinds)
    if kinds:
        responses = responses.filter(assignment__campaign__kind__in=kinds)
    newest = responses.order_by("-submitted_at", "-id").first()
    if newest is None:
        return None
    assignment = newest.assignment
    all_responses = list(Response.objects.filter(assignment=assignment).order_by("id"))
    birth = student.birth_date

    def age() -> int | None:
        today = timezone.localdate()
        before_birthday = (today.month, today.day) < (birth.month, birth.day)
        return int(today.year - birth.year - before_birthday)

    active = rules_mod.ruleset_for(school_id=assignment.school_id, stage=assignment.stage_band)
    outcome = rules_mod.evaluate(active.definition, alert_services.facts_of(all_responses, age))
    levels = frozenset(h.level for h in [*outcome.hits, *outcome.held])
    return ScreenResult(
        assignment_id=assignment.pk,
        campaign_kind=assignment.campaign.kind,
        submitted_at=newest.submitted_at,
        levels=levels,
    )


def _below(result: ScreenResult | None, level: str) -> bool:
    """True when the screen fired no rule at `level` or above."""
    if result is None:
        return False
    return all(level_rank(lv) < level_rank(level) for lv in result.levels)


def _rescreen_rule(case: Case) -> RuleCheck:
    result = latest_screen(case.student, since=case.level_since)
    label = _("A re-screen since the case turned orange, below the orange thresholds")
    evidence = {"assignment": result.assignment_id if result else None}
    if _below(result, Level.ORANGE):
        return RuleCheck("rescreen_below_orange", label, True, evidence=evidence)
    if result is None:
        message = _("No re-screen since the case turned orange.")
    else:
        message = _("The newest re-screen is still at or above the orange thresholds.")
    return RuleCheck("rescreen_below_orange", label, False, message, evidence)


def _semester_screen_rule(case: Case) -> RuleCheck:
    result = latest_screen(case.student, since=case.level_since, campaign_kinds=ROUTINE_CAMPAIGNS)
    label = _("Or: a semester screening since the case turned yellow, below the yellow thresholds")
    evidence = {"assignment": result.assignment_id if result else None}
    if _below(result, Level.YELLOW):
        return RuleCheck("semester_screen_below_yellow", label, True, evidence=evidence)
    if result is None:
        message = _("No semester screening since the case turned yellow.")
    else:
        message = _("The newest semester screening is still at or above the yellow thresholds.")
    return RuleCheck("semester_screen_below_yellow", label, False, message, evidence)


def step_down_check(case: Case, *, now: datetime.datetime | None = None) -> StepDownCheck:
    """Which minimum-stay rules (policy.MIN_STAY_DAYS and friends) a step down from the case's
    level meets now. Red → orange: the stay and a hospital opinion; orange → yellow: the stay,
    improving follow-ups and a re-screen below orange; yellow → closed: the stay or a semester
    screening below yellow."""
    now = now or timezone.now()
    level = case.level
    to_level = policy.STEP_DOWN[level]
    if level == Level.RED:
        return StepDownCheck(level, to_level, [_days_rule(case, now), _hospital_opinion_rule(case)])
    if level == Level.ORANGE:
        rules = [_days_rule(case, now), _improving_rule(case), _rescreen_rule(case)]
        return StepDownCheck(level, to_level, rules)
    rules = [_days_rule(case, now), _semester_screen_rule(case)]
    return StepDownCheck(level, to_level, rules, any_of=True)


def pending_step_down(case: Case) -> StepDownRequest | None:
    return (
        case.step_down_requests.filter(status=RequestStatus.PENDING)
        .select_related("requested_by", "requested_by__staff")
        .first()
    )


def can_approve(principal: Principal, case: Case) -> bool:
    """The school's moral-education leader (school administrator) approves step-downs."""
    return any(
        g.role == Role.SCHOOL_ADMIN and g.area.contains(case.school)
        for g in principal.grants_with(Cap.APPROVE_LEVEL_CHANGES)
    )


@dataclass
class StepDownPanel:
    check: StepDownCheck | None
    pending: StepDownRequest | None
    can_request: bool
    can_decide: bool


def step_down_panel(*, principal: Principal, case: Case) -> StepDownPanel:
    pending = pending_step_down(case) if case.is_open else None
    handles = can_handle(principal, case)
    approves = can_approve(principal, case)
    check = step_down_check(case) if case.is_open and (handles or approves) else None
    return StepDownPanel(
        check=check,
        pending=pending,
        can_request=handles and case.is_open and pending is None,
        # Four eyes: nobody approves their own request (a user holding both roles).
        can_decide=(
            approves and pending is not None and pending.requested_by_id != principal.user_id
        ),
    )


# --- the timeline -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    # level | follow_up | guardian_contact | referral | schooling | transfer | sweep | step_down
    kind: str
    at: datetime.datetime
    actor: str
    summary: str
    note: str = ""  # decrypted free text, only when the reader may see notes
    level: str = ""  # a level badge to show next to the summary
    order: int = 0  # ties at the same instant keep the order they happened in


def _level_entries(case: Case, include_notes: bool) -> Iterable[TimelineEntry]:
    changes = case.level_changes.select_related(
        "changed_by", "changed_by__staff", "approved_by", "approved_by__staff"
    ).order_by("at", "id")
    for c in changes:
        frm, to = level_label(c.from_level), level_label(c.to_level)
        if c.kind == ChangeKind.OPENED:
            summary = _("Case opened at %(level)s") % {"level": to}
        elif c.kind == ChangeKind.REOPENED:
            summary = _("Case reopened at %(level)s") % {"level": to}
        elif c.kind == ChangeKind.RAISED:
            summary = _("Level raised: %(from)s → %(to)s") % {"from": frm, "to": to}
        elif c.kind == ChangeKind.ATTACHED:
            summary = _("A verified alert was attached (%(level)s)") % {"level": to or frm}
        elif c.kind == ChangeKind.STEPPED_DOWN:
            summary = _("Level stepped down: %(from)s → %(to)s") % {"from": frm, "to": to}
        elif c.kind == ChangeKind.CLOSED:
            summary = _("Case closed")
        else:
            summary = str(c.get_kind_display())
        if c.approved_by_id:
            summary += " · " + _("approved by %(name)s") % {"name": person_name(c.approved_by)}
        yield TimelineEntry(
            "level",
            c.at,
            person_name(c.changed_by),
            summary,
            c.reason if include_notes else "",
            c.to_level,
            order=0,
        )


def _follow_up_entries(case: Case, include_notes: bool) -> Iterable[TimelineEntry]:
    for f in case.follow_ups.select_related("recorded_by", "recorded_by__staff").order_by(
        "done_at", "id"
    ):
        summary = _("Follow-up (%(method)s)") % {"method": f.get_method_display()}
        note = ""
        if include_notes:
            summary += " · " + str(f.get_trend_display())
            if f.risk_signs:
                summary += " · " + _("signs of risk")
            note = f.note
        yield TimelineEntry("follow_up", f.done_at, person_name(f.recorded_by), summary, note)


def _guardian_entries(case: Case, include_notes: bool) -> Iterable[TimelineEntry]:
    for g in case.guardian_contacts.select_related("recorded_by", "recorded_by__staff").order_by(
        "contacted_at", "id"
    ):
        summary = _("Guardian contact (%(method)s)") % {"method": g.get_method_display()}
        note = ""
        if include_notes:
            summary += " · " + str(g.get_consent_display())
            note = "\n".join(x for x in (g.what_was_said, g.guardian_response) if x)
        yield TimelineEntry(
            "guardian_contact", g.contacted_at, person_name(g.recorded_by), summary, note
        )


def _referral_entries(case: Case, include_notes: bool) -> Iterable[TimelineEntry]:
    referrals = case.referrals.select_related(
        "hospital", "sent_by", "sent_by__staff", "feedback_by", "feedback_by__staff"
    ).order_by("sent_at", "id")
    for r in referrals:
        where = f" · {r.hospital.name}" if include_notes else ""
        yield TimelineEntry(
            "referral",
            r.sent_at,
            person_name(r.sent_by),
            _("Referral sent") + where,
            r.reason if include_notes else "",
            order=1,
        )
        if r.received_at:
            yield TimelineEntry(
                "referral", r.received_at, "", _("Referral received by the hospital") + where
            )
        if r.seen_at:
            yield TimelineEntry("referral", r.seen_at, "", _("Seen by the psychiatrist") + where)
        if r.feedback_at:
            # Paper feedback: feedback_by is the teacher who copied the hospital's letter.
            summary = (
                _("Feedback from the hospital, recorded from its letter")
                if r.feedback_source == FeedbackSource.PAPER
                else _("Feedback from the hospital")
            )
            yield TimelineEntry(
                "referral",
                r.feedback_at,
                person_name(r.feedback_by),
                summary + where,
                r.advice_for_school if include_notes else "",
            )


def _schooling_entries(case: Case, include_notes: bool) -> Iterable[TimelineEntry]:
    for s in case.schooling_changes.select_related("recorded_by", "recorded_by__staff").order_by(
        "recorded_at", "id"
    ):
        if s.kind == SchoolingChangeKind.SUSPENSION:
            summary = _("Suspension from %(date)s") % {"date": s.effective_on.isoformat()}
            note = s.reason
        else:
            summary = _("Return to school from %(date)s") % {"date": s.effective_on.isoformat()}
            note = "\n".join(x for x in (s.return_assessment, s.return_plan) if x)
        yield TimelineEntry(
            "schooling",
            s.recorded_at,
            person_name(s.recorded_by),
            summary,
            note if include_notes else "",
        )


def _transfer_entries(case: Case, include_notes: bool) -> Iterable[TimelineEntry]:
    transfers = case.transfers.select_related(
        "from_school",
        "to_school",
        "requested_by",
        "requested_by__staff",
        "forwarded_by",
        "forwarded_by__staff",
        "accepted_by",
        "accepted_by__staff",
    ).order_by("requested_at", "id")
    for t in transfers:
        names = {"from": t.from_school.name, "to": t.to_school.name}
        yield TimelineEntry(
            "transfer",
            t.requested_at,
            person_name(t.requested_by),
            _("Transfer requested: %(from)s → %(to)s") % names,
            t.handover_note if include_notes else "",
        )
        if t.forwarded_at:
            yield TimelineEntry(
                "transfer",
                t.forwarded_at,
                person_name(t.forwarded_by),
                _("Transfer forwarded by the district station"),
            )
        if t.accepted_at:
            yield TimelineEntry(
                "transfer",
                t.accepted_at,
                person_name(t.accepted_by),
                _("Transfer accepted by %(to)s") % names,
            )


def _sweep_entries(case: Case, include_notes: bool) -> Iterable[TimelineEntry]:
    reviews = (
        case.sweep_reviews.filter(reviewed_at__isnull=False)
        .select_related("sweep", "reviewed_by", "reviewed_by__staff")
        .order_by("reviewed_at", "id")
    )
    for r in reviews:
        yield TimelineEntry(
            "sweep",
            r.reviewed_at,  # type: ignore[arg-type]
            person_name(r.reviewed_by),
            _("Reviewed in the sweep “%(title)s”") % {"title": r.sweep.title},
            r.note if include_notes else "",
        )


def _step_down_entries(case: Case, include_notes: bool) -> Iterable[TimelineEntry]:
    requests = case.step_down_requests.select_related(
        "requested_by", "requested_by__staff", "decided_by", "decided_by__staff"
    ).order_by("requested_at", "id")
    for r in requests:
        if r.to_level:
            summary = _("Step down requested: %(from)s → %(to)s") % {
                "from": level_label(r.from_level),
                "to": level_label(r.to_level),
            }
        else:
            summary = _("Closing the case requested (at %(level)s)") % {
                "level": level_label(r.from_level)
            }
        yield TimelineEntry(
            "step_down",
            r.requested_at,
            person_name(r.requested_by),
            summary,
            r.reason if include_notes else "",
            order=-1,  # asked before it was approved at the same instant
        )
        if r.decided_at and r.status == RequestStatus.REJECTED:
            summary = (
                _("Step-down request rejected")
                if r.decided_by_id
                else _("Step-down request withdrawn: the level was raised")
            )
            yield TimelineEntry(
                "step_down",
                r.decided_at,
                person_name(r.decided_by),
                summary,
                r.decision_note if include_notes else "",
            )


SOURCES: list[Callable[[Case, bool], Iterable[TimelineEntry]]] = [
    _level_entries,
    _follow_up_entries,
    _guardian_entries,
    _referral_entries,
    _schooling_entries,
    _transfer_entries,
    _sweep_entries,
    _step_down_entries,
]


def case_timeline(case: Case, *, include_notes: bool) -> list[TimelineEntry]:
    """Everything that happened to the case, oldest first, one small entry per event.

    Notes (T3, encrypted at rest) are decrypted into `note` only with `include_notes` — pass
    `common.can_read_notes(principal, case)` and audit the read (the case page does)."""
    entries: list[TimelineEntry] = []
    for source in SOURCES:
        entries.extend(source(case, include_notes))
    entries.sort(key=lambda e: (e.at, e.order))
    return entries
