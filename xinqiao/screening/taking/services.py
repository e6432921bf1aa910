"""Writes of the student side: entering a sitting, autosaving answers, submitting.

Query budget (every request counts, see issue 4 "Scale and speed"):
- autosave batch: 2 statements (read the assignment with its campaign, one multi-row upsert);
- submission: at most 4 (assignment, drafts, the claiming UPDATE, one multi-row INSERT of the
  responses) — a retry or a second tab: assignment + its existing responses.
The battery (instrument definitions) of an open campaign cannot change, so it is cached per process.
"""

# ruff: noqa: S608 - SQL built only from model table names; every value is a parameter

from __future__ import annotations

import datetime
import functools
import hmac
import json
import math
import re
import uuid
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.fields import EncryptedJSONField, composite_row
from xinqiao.instruments.definition import Definition, Item, UnknownInstrumentError
from xinqiao.instruments.engine import score_response
from xinqiao.instruments.selectors import definition_for
from xinqiao.people.personal_codes import (
    is_personal_code,
    normalise_personal_code,
    personal_code_hash,
)
from xinqiao.people.search import NUMBER_TAIL_LENGTH, number_hash, number_tail_hash

from ..hooks import run_submission_hooks
from ..models import (
    AnswerDraft,
    Assignment,
    AssignmentStatus,
    BatteryEntry,
    Campaign,
    CampaignStatus,
    Response,
    Sitting,
    StudentLogin,
)
from .session import Binding, new_nonce

_CODE_RE = re.compile(r"^[A-Z0-9]{4,8}$")
_CLIENT_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,48}$")
MAX_BATCH = 400  # answers per autosave request (the largest battery is well below this)
MAX_SECONDS = 3600.0  # time on one item; more is clamped (a tab left open)
MAX_SEQ = 2**53  # JavaScript's safe integers

# States in which a student may answer.
OPEN_STATES = (AssignmentStatus.ASSIGNED, AssignmentStatus.STARTED, AssignmentStatus.ABSENT)
DONE_STATES = (AssignmentStatus.COMPLETED, AssignmentStatus.INVALID)


class TakingError(DomainError):
    """A refusal shown to the student; `code` tells the browser what to do next."""

    def __init__(self, message: str, *, code: str = "invalid", status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


# --- the battery ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatteryInstrument:
    code: str
    version: str
    definition: Definition
    items: Mapping[str, Item] = field(repr=False)
    codes: Mapping[str, frozenset[int]] = field(repr=False)  # item id -> allowed option codes


_battery_cache: dict[tuple[str, str, tuple[str, ...]], tuple[BatteryInstrument, ...]] = {}


def _entries(
    campaign_id: int, stage_band: str, instruments: tuple[str, ...]
) -> list[tuple[str, str | None]]:
    if not instruments:
        return list(
            BatteryEntry.objects.filter(campaign_id=campaign_id, stage_band=stage_band)
            .order_by("position", "id")
            .values_list("instrument_code", "instrument_version")
        )
    # A follow-up names its instruments; versions from the campaign's battery where listed.
    versions = dict(
        BatteryEntry.objects.filter(campaign_id=campaign_id).values_list(
            "instrument_code", "instrument_version"
        )
    )
    return [(code, versions.get(code)) for code in instruments]


def battery_for(
    campaign_id: int, campaign_code: Any, stage_band: str, instruments: Sequence[str] = ()
) -> tuple[BatteryInstrument, ...]:
    """The administrable instruments of an assignment, in order.

    Instruments whose item texts are neither shipped nor imported under licence are left out: they
    cannot be taken online. Cached per process by the campaign's UUID (the battery of an open
    campaign is frozen)."""
    key = (str(campaign_code), stage_band, tuple(instruments))
    found = _battery_cache.get(key)
    if found is not None:
        return found
    out = []
    for code, version in _entries(campaign_id, stage_band, key[2]):
        try:
            defn = definition_for(code, version)
        except UnknownInstrumentError:
            continue
        if not defn.text_shipped:
            continue
        out.append(
            BatteryInstrument(
                code=defn.code,
                version=defn.version,
                definition=defn,
                items={item.id: item for item in defn.items},
                codes={item.id: frozenset(defn.option_codes(item)) for item in defn.items},
            )
        )
    result = tuple(out)
    if len(_battery_cache) > 2000:
        _battery_cache.clear()
    _battery_cache[key] = result
    return result


# --- entering ------------------------------------------------------------------------------------


def normalise_code(raw: str) -> str:
    return re.sub(r"[\s\-]", "", raw or "").upper()


def _check_campaign_open(campaign: Campaign, now: datetime.datetime) -> None:
    if campaign.status != CampaignStatus.OPEN or not (
        campaign.opens_at <= now < campaign.closes_at
    ):
        raise TakingError(
            _("This screening is not open at the moment. Please ask your teacher."), code="closed"
        )


def _check_status_can_start(status: str) -> None:
    if status in DONE_STATES:
        raise TakingError(
            _("You have already handed in this questionnaire. Thank you!"), code="submitted"
        )
    if status == AssignmentStatus.NO_CONSENT:
        raise TakingError(
            _(
                "The consent needed for this questionnaire has not been recorded. "
                "Please tell your teacher."
            ),
            code="no_consent",
        )
    if status == AssignmentStatus.SUSPENDED:
        raise TakingError(_("This questionnaire is not available to you. Please ask your teacher."))


@dataclass(frozen=True)
class SignIn:
    """A sitting code looked up, with the student who typed it once the campaign's way of
    identifying students (`mode`: "number" or "digits") has been given."""

    code: str
    mode: str
    assignment_id: int | None
    nonce: str = ""  # the sign-in's nonce, for the cookie


# The student's identity, by the campaign's `student_login`. The number is encrypted: the whole
# number is matched by its keyed hash, last digits by the keyed hash of their last four (more
# digits typed are then checked against the decrypted number of the few candidates).
_MATCH = {
    "personal": "st.personal_code_hash = %s",
    "number": "st.student_number_hash = %s",
    "digits": "st.number_tail_hash = %s AND st.birth_date = %s",
}


@functools.cache
def _sign_in_sql(match: str, vendor: str) -> str:
    """The open sitting with its campaign and — for `match` ("personal" / "number" / "digits", ""
    for none) —
    the assignments of the matching student in the sitting's class: one statement."""
    from xinqiao.people.models import Student

    columns = "s.code, s.closes_at, c.status, c.opens_at, c.closes_at, c.student_login"
    tables = f"{_t(Sitting)} s JOIN {_t(Campaign)} c ON c.id = s.campaign_id"
    where = "WHERE s.code = %s AND s.closed_at IS NULL"
    if not match:
        return f"SELECT {columns} FROM {tables} {where} LIMIT 1"
    return (
        f"SELECT {columns}, a.id, a.status, a.student_id, a.school_id, a.session_nonce, "
        f"st.student_number, st.student_number_hash FROM {tables} "
        f"LEFT JOIN ({_t(Assignment)} a JOIN {_t(Student)} st "
        f"ON st.id = a.student_id AND {_MATCH[match]}) "
        "ON a.campaign_id = s.campaign_id AND a.school_class_id = s.school_class_id "
        f"{where} ORDER BY a.id LIMIT 10"
    )


def _sign_in_rows(
    code: str,
    match: str,
    number: str,
    digits: str,
    birth_date: datetime.date | None,
    personal_hash: str = "",
) -> list[tuple[Any, ...]]:
    params: list[Any]
    if match == "personal":
        params = [personal_hash, code]
    elif match == "number":
        params = [number_hash(number), code]
    elif match == "digits":
        birth = connection.ops.adapt_datefield_value(birth_date)
        params = [number_tail_hash(digits), birth, code]
    else:
        params = [code]
    with connection.cursor() as cursor:
        _execute(
            cursor, f"sign_in_{match or 'code'}", _sign_in_sql(match, connection.vendor), params
        )
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


@transaction.atomic
def sign_in(
    *,
    sitting_code: str,
    student_number: str | None = None,
    last_digits: str | None = None,
    birth_date: datetime.date | None = None,
    personal_code: str | None = None,
    current: Binding | None = None,
) -> SignIn:
    """Step 1, the sitting code; step 2, the student's identity (both may come at once).

    The identity is the student's personal code (people/personal_codes.py, matched by its keyed
    hash) or, as a fallback, the campaign's route (`student_login`: the number, or its last
    digits and the birth date). The open sitting (campaign open, sitting not ended), its campaign
    and the student's assignment in the sitting's class are read in one statement. With the
    identity given, the assignment's status becomes `started` (first time) and the audit event
    `screening.assignment.started` is written. Every sign-in gets a fresh nonce (stored on the
    assignment, returned for the cookie), so the browser signed in before stops working; `current`
    is this browser's binding, if any: signing in again where already signed in is not counted as
    another browser. Raises TakingError with a message for the student."""
    code = normalise_code(sitting_code)
    now = timezone.now()
    number = (student_number or "").strip().upper()
    digits = (last_digits or "").strip()
    personal = normalise_personal_code(personal_code)
    by_personal = is_personal_code(personal)
    by_number = 4 <= len(number) <= 20
    by_digits = 4 <= len(digits) <= 20 and birth_date is not None
    match = (
        "personal" if by_personal else ("number" if by_number else ("digits" if by_digits else ""))
    )
    personal_hash = personal_code_hash(personal) if by_personal else ""
    rows = (
        _sign_in_rows(code, match, number, digits, birth_date, personal_hash)
        if _CODE_RE.match(code)
        else []
    )
    if not rows:
        raise TakingError(
            _("There is no open sitting with this code. Check the code on the classroom screen."),
            code="unknown_code",
        )
    code, sitting_closes, status, opens_at, closes_at, login = rows[0][:6]
    if _aware(sitting_closes) <= now:
        raise TakingError(_("This sitting has ended. Please ask your teacher."), code="closed")
    if status != CampaignStatus.OPEN or not (_aware(opens_at) <= now < _aware(closes_at)):
        raise TakingError(
            _("This screening is not open at the moment. Please ask your teacher."), code="closed"
        )
    mode = "digits" if login == StudentLogin.LAST_DIGITS_BIRTH_DATE else "number"
    if personal:  # a personal code typed (maybe mistyped) wins over the fallback
        if not by_personal:
            raise TakingError(
                _("A personal code has eight letters and digits, e.g. ABCD-EFGH."),
                code="not_found",
            )
        mode = "personal"
    elif not (bool(last_digits or birth_date) if mode == "digits" else bool(student_number)):
        return SignIn(code=code, mode=mode, assignment_id=None)
    if mode == "digits" and not by_digits:
        raise TakingError(
            _("Enter the last digits of your student number and your birth date."),
            code="not_found",
        )
    if mode == "number" and not by_number:
        raise TakingError(_("Enter your national student number."), code="not_found")
    if match != mode:  # the form also carried the other kind of identity: look up this one
        rows = _sign_in_rows(code, mode, number, digits, birth_date, personal_hash)
    candidates = [r for r in rows if r[6] is not None]
    if mode == "digits" and len(digits) > NUMBER_TAIL_LENGTH:
        from xinqiao.people.models import Student

        sealed = Student._meta.get_field("student_number")
        typed = digits.upper()
        candidates = [r for r in candidates if sealed.open_token(r[12], r[11]).endswith(typed)]
    # A re-sit is a newer assignment for the same student: the open one wins.
    found = sorted(
        (r[6:11] for r in candidates),
        key=lambda a: (a[1] in OPEN_STATES, a[0]),
        reverse=True,
    )
    if len({a[2] for a in found}) != 1:
        raise TakingError(
            _(
                "We could not find you in this sitting. Check what you typed, or ask your "
                "teacher whether this code is for your class."
            ),
            code="not_found",
        )
    assignment_id, a_status, _student, school_id, stored_nonce = found[0]
    _check_status_can_start(a_status)
    nonce = _mark_started(
        assignment_id,
        status=a_status,
        school_id=school_id,
        now=now,
        via="sitting",
        stored_nonce=stored_nonce,
        current=current,
        sitting=code,
        identity=mode,
    )
    return SignIn(code=code, mode=mode, assignment_id=assignment_id, nonce=nonce)


@transaction.atomic
def enter_by_link(*, token: str, current: Binding | None = None) -> tuple[Assignment, str]:
    """A personal make-up link: valid until the questionnaire is handed in or the campaign
    closes (the hand-in clears the token). The assignment and the sign-in's nonce (as `sign_in`)."""
    assignment = None
    if token and 16 <= len(token) <= 64:
        assignment = Assignment.objects.select_related("campaign").filter(link_token=token).first()
    if assignment is None:
        raise TakingError(
            _("This link is not valid. Please ask your teacher for a new one."), code="bad_link"
        )
    now = timezone.now()
    _check_campaign_open(assignment.campaign, now)
    _check_status_can_start(assignment.status)
    nonce = _mark_started(
        assignment.pk,
        status=assignment.status,
        school_id=assignment.school_id,
        now=now,
        via="link",
        stored_nonce=assignment.session_nonce,
        current=current,
    )
    return assignment, nonce


def _mark_started(
    assignment_id: int,
    *,
    status: str,
    school_id: int,
    now: datetime.datetime,
    via: str,
    stored_nonce: str | None,
    current: Binding | None,
    sitting: str = "",
    identity: str = "",
) -> str:
    """Mark the assignment started and give it this sign-in's nonce (returned for the cookie).

    A browser that already holds the current binding keeps its nonce and is not counted again;
    any other sign-in replaces the nonce — the browser signed in before is refused from now on —
    and adds one to `sign_ins`. Nothing is written when nothing changes."""
    same_browser = (
        current is not None
        and current.assignment_id == assignment_id
        and bool(stored_nonce)
        and hmac.compare_digest(current.nonce, str(stored_nonce))
    )
    nonce = str(stored_nonce) if same_browser else new_nonce()
    if not (same_browser and status == AssignmentStatus.STARTED):
        at = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cursor:
            _execute(
                cursor,
                "start",
                _sql("start", connection.vendor),
                [
                    str(AssignmentStatus.STARTED.value),
                    at,
                    nonce,
                    0 if same_browser else 1,
                    assignment_id,
                    *(str(state.value) for state in OPEN_STATES),
                ],
            )
    fields: dict[str, Any] = {"via": via}
    if stored_nonce and not same_browser:  # another browser was signed in: it is now refused
        fields["replaced"] = True
    if sitting:
        fields["sitting"] = sitting
    if identity:  # how the student proved who they are: personal / number / digits
        fields["identity"] = identity
    record_event(
        actor=None,
        action="screening.assignment.started",
        object_type=Assignment._meta.label_lower,
        object_id=assignment_id,
        school_id=school_id,
        fields=fields,
        role="student",
    )
    return nonce


# --- the bound assignment ------------------------------------------------------------------------


@dataclass
class Bound:
    """What every student request needs to know, read in one query."""

    id: int
    status: str
    stage_band: str
    school_id: int
    student_id: int
    resit_of_id: int | None
    campaign_id: int
    campaign_code: Any
    campaign_status: str
    opens_at: datetime.datetime
    closes_at: datetime.datetime
    checks: Any
    gender: str
    grade_level: int | None
    instruments: Any
    nonce: str | None  # the latest sign-in's (the cookie must carry the same)

    @property
    def is_done(self) -> bool:
        return self.status in DONE_STATES

    def battery(self) -> tuple[BatteryInstrument, ...]:
        return battery_for(
            self.campaign_id, self.campaign_code, self.stage_band, self.instruments or ()
        )

    def require_open(self, now: datetime.datetime | None = None) -> None:
        now = now or timezone.now()
        if self.is_done:
            raise TakingError(
                _("You have already handed in this questionnaire. Thank you!"),
                code="submitted",
                status=409,
            )
        if self.status not in OPEN_STATES:
            raise TakingError(
                _("This questionnaire is not available to you. Please ask your teacher."),
                code="closed",
                status=409,
            )
        if self.campaign_status != CampaignStatus.OPEN or not (
            self.opens_at <= now < self.closes_at
        ):
            raise TakingError(
                _("This screening has closed. Answers can no longer be changed."),
                code="closed",
                status=409,
            )


# The hot paths (every autosave and hand-in) use SQL written once: compiling the equivalent ORM
# queries cost more CPU than running them (see docs/taking.md, "Cost per request").
def _t(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@functools.cache
def _sql(name: str, vendor: str) -> str:
    from xinqiao.orgs.models import OrgUnit
    from xinqiao.people.models import Student

    if name == "bound":
        return (
            "SELECT a.id, a.status, a.stage_band, a.school_id, a.student_id, a.resit_of_id, "
            "a.campaign_id, c.code, c.status, c.opens_at, c.closes_at, c.checks, s.gender, "
            "g.grade_level, a.instruments, a.session_nonce "
            f"FROM {_t(Assignment)} a JOIN {_t(Campaign)} c ON c.id = a.campaign_id "
            f"JOIN {_t(Student)} s ON s.id = a.student_id "
            f"LEFT JOIN {_t(OrgUnit)} g ON g.id = a.grade_id WHERE a.id = %s"
        )
    if name == "drafts":
        return (
            "SELECT instrument_code, item_id, answer, seconds, client_seq "
            f"FROM {_t(AnswerDraft)} WHERE assignment_id = %s"
        )
    if name == "start":
        return (
            f"UPDATE {_t(Assignment)} SET status = %s, started_at = COALESCE(started_at, %s), "
            "session_nonce = %s, sign_ins = sign_ins + %s WHERE id = %s AND status IN (%s, %s, %s)"
        )
    if name == "claim":
        return (
            f"UPDATE {_t(Assignment)} SET status = %s, completed_at = %s, "
            "started_at = COALESCE(started_at, %s), link_token = NULL "
            "WHERE id = %s AND status IN (%s, %s, %s)"
        )
    raise KeyError(name)


@functools.cache
def _responses_sql(rows: int, returning: bool) -> str:
    row = "(" + ", ".join(["%s"] * 15) + ")"
    return (
        f"INSERT INTO {_t(Response)} (assignment_id, school_id, instrument_code, "
        "instrument_version, answers, times, scores, bands, critical, missing, flags, valid, "
        "submitted_at, client_key, resit_of_id) VALUES "
        + ", ".join([row] * rows)
        + (" RETURNING id" if returning else "")
    )


# --- prepared statements -------------------------------------------------------------------------
# On PostgreSQL the statements of this module are prepared once per database session and run with
# EXECUTE: planning them cost several times running them (bench/submit.py, docs/benchmarks.md).
# They go through Django's cursor like any other statement (logged, counted in tests). A session's
# prepared statements do not follow a client through a transaction-pooling PgBouncer: there, set
# XINQIAO_PREPARED_SQL=false.
UPSERT_PREPARED_MAX = 64  # autosave batches of up to this many answers run prepared
RESPONSES_PREPARED_MAX = 8  # instruments in one hand-in
_prepared_sessions: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


@functools.cache
def _prepared() -> dict[str, str]:
    """Every statement prepared in a session, by name (all at once: one round trip)."""
    out = {name: _sql(name, "postgresql") for name in ("bound", "drafts", "claim", "start")}
    for match in ("", "personal", "number", "digits"):
        out[f"sign_in_{match or 'code'}"] = _sign_in_sql(match, "postgresql")
    for rows in range(1, UPSERT_PREPARED_MAX + 1):
        out[f"upsert_{rows}"] = _upsert_sql(rows)
    for rows in range(1, RESPONSES_PREPARED_MAX + 1):
        out[f"responses_{rows}"] = _responses_sql(rows, True)
    return out


@functools.cache
def _prepare_all() -> str:
    def numbered(sql: str) -> str:  # %s placeholders -> $1, $2, ...
        head, *rest = sql.split("%s")
        return head + "".join(f"${n}{part}" for n, part in enumerate(rest, start=1))

    return ";\n".join(
        f"PREPARE xq_take_{name} AS {numbered(sql)}" for name, sql in _prepared().items()
    )


def _execute(cursor: Any, name: str, sql: str, params: Sequence[Any]) -> None:
    """Run `sql` — the statement called `name` — with `params`; on PostgreSQL as the prepared
    statement (prepared with all the others on the session's first use)."""
    if (
        connection.vendor != "postgresql"
        or not getattr(settings, "XINQIAO_PREPARED_SQL", True)
        or name not in _prepared()
    ):
        cursor.execute(sql, params)
        return
    session = connection.connection
    if session not in _prepared_sessions:
        cursor.execute(_prepare_all())
        _prepared_sessions[session] = True
    cursor.execute(f"EXECUTE xq_take_{name}({', '.join(['%s'] * len(params))})", params)


def _fetch(name: str, params: Sequence[Any], *, one: bool = False) -> Any:
    with connection.cursor() as cursor:
        _execute(cursor, name, _sql(name, connection.vendor), params)
        return cursor.fetchone() if one else cursor.fetchall()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _aware(value: Any) -> datetime.datetime:
    if isinstance(value, str):  # SQLite gives text
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, datetime.UTC)
    aware: datetime.datetime = value
    return aware


def load_bound(binding: Binding | None) -> Bound:
    """The assignment this request acts for, with its campaign, in one statement.

    The cookie's nonce must be the assignment's current one (compared on the row just read, no
    extra query): after a newer sign-in — on another device, or with the personal code by someone
    else — this browser is refused and must sign in again."""
    row = _fetch("bound", [binding.assignment_id], one=True) if binding else None
    if row is None or binding is None:
        raise TakingError(
            _(
                "You are not signed in to a questionnaire. "
                "Enter the code from the classroom screen."
            ),
            code="session",
            status=403,
        )
    values = list(row)
    values[9], values[10] = _aware(values[9]), _aware(values[10])
    values[11], values[14] = _json(values[11]), _json(values[14])
    values[7] = uuid.UUID(str(values[7]))  # SQLite gives hex text
    bound = Bound(*values)
    if not bound.nonce or not hmac.compare_digest(str(bound.nonce), binding.nonce):
        raise TakingError(
            _(
                "This questionnaire was opened on another device. "
                "Sign in again with your personal code to go on here."
            ),
            code="superseded",
            status=403,
        )
    return bound


# --- autosave ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    instrument: str
    item: str
    value: int | None
    seconds: float
    seq: int


def _bad(message: str) -> TakingError:
    return TakingError(message, code="invalid", status=400)


def parse_answers(raw: Any, battery: Sequence[BatteryInstrument]) -> list[Answer]:
    """Validate a batch against the battery: every entry or nothing (a clear message)."""
    if not isinstance(raw, list):
        raise _bad(_("The answers could not be read."))
    if len(raw) > MAX_BATCH:
        raise _bad(_("Too many answers in one request."))
    by_code = {b.code: b for b in battery}
    best: dict[tuple[str, str], Answer] = {}
    for entry in raw:
        if not isinstance(entry, dict):
            raise _bad(_("The answers could not be read."))
        code, item_id = entry.get("i"), entry.get("q")
        value, seconds, seq = entry.get("v"), entry.get("s", 0), entry.get("n")
        inst = by_code.get(code) if isinstance(code, str) else None
        if inst is None or not isinstance(item_id, str) or item_id not in inst.items:
            raise _bad(_("An answer names a question that is not in this questionnaire."))
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value not in inst.codes[item_id]
        ):
            raise _bad(_("An answer is not one of the choices offered."))
        if isinstance(seq, bool) or not isinstance(seq, int) or not (0 < seq < MAX_SEQ):
            raise _bad(_("The answers could not be read."))
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not math.isfinite(seconds)
        ):
            raise _bad(_("The answers could not be read."))
        seconds = min(max(float(seconds), 0.0), MAX_SECONDS)
        answer = Answer(inst.code, item_id, value, seconds, seq)
        key = (inst.code, item_id)
        if key not in best or best[key].seq < seq:
            best[key] = answer
    return list(best.values())


@functools.cache
def _upsert_sql(rows: int) -> str:
    table = connection.ops.quote_name(AnswerDraft._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * rows)
    return (
        f"INSERT INTO {table} "
        "(assignment_id, instrument_code, item_id, answer, seconds, client_seq, updated_at) "
        f"VALUES {values} "
        "ON CONFLICT (assignment_id, instrument_code, item_id) DO UPDATE SET "
        "answer = excluded.answer, seconds = excluded.seconds, "
        "client_seq = excluded.client_seq, updated_at = excluded.updated_at "
        f"WHERE {table}.client_seq < excluded.client_seq"
    )


def _field(model: Any, name: str) -> EncryptedJSONField[Any, Any]:
    found = model._meta.get_field(name)
    assert isinstance(found, EncryptedJSONField)
    return found


# The encrypted columns this module writes and reads with raw SQL (core/fields.py): a draft's
# answer is bound to (assignment, instrument, item), a response's fields to its client key.
_DRAFT_ANSWER = _field(AnswerDraft, "answer")
_SEALED_RESPONSE = tuple(_field(Response, n) for n in ("answers", "scores", "critical", "missing"))


def _draft_row(assignment_id: int, instrument: str, item: str) -> str:
    return composite_row(assignment_id, instrument, item)


def upsert_drafts(assignment_id: int, answers: Iterable[Answer]) -> None:
    """One statement: insert or update each (assignment, instrument, item); a row is only
    overwritten by a newer client_seq, so a late retry never undoes a later answer."""
    answers = list(answers)
    if not answers:
        return
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    seal = _DRAFT_ANSWER.seal
    params: list[Any] = []
    for a in answers:
        value = seal(_draft_row(assignment_id, a.instrument, a.item), a.value)
        params += [assignment_id, a.instrument, a.item, value, a.seconds, a.seq, now]
    with connection.cursor() as cursor:
        _execute(cursor, f"upsert_{len(answers)}", _upsert_sql(len(answers)), params)


def save_answers(*, binding: Binding | None, raw_answers: Any) -> dict[str, Any]:
    """Autosave one batch. Idempotent: the same batch twice leaves the same rows.

    Returns {"saved": n, "seq": highest client_seq in the batch} — the browser marks everything up
    to that seq of this batch as safe on the server."""
    bound = load_bound(binding)
    bound.require_open()
    answers = parse_answers(raw_answers, bound.battery())
    upsert_drafts(bound.id, answers)  # autocommit: one statement is its own transaction
    return {"saved": len(answers), "seq": max((a.seq for a in answers), default=0)}


def _read_drafts(assignment_id: int) -> list[tuple[str, str, int | None, float, int]]:
    """(instrument, item, answer, seconds, client_seq) of every draft, answers decrypted."""
    open_token = _DRAFT_ANSWER.open_token
    return [
        (i, q, open_token(_draft_row(assignment_id, i, q), v), s, n)
        for i, q, v, s, n in _fetch("drafts", [assignment_id])
    ]


def drafts_of(assignment_id: int) -> list[dict[str, Any]]:
    """The server's copy of the answers, for resuming on any device."""
    rows = _read_drafts(assignment_id)
    return [{"i": i, "q": q, "v": v, "s": s, "n": n} for i, q, v, s, n in rows]


# --- submission ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    responses: list[Response]
    first_time: bool


def _applicable(item: Item, values: Mapping[str, int | None]) -> bool:
    if not item.ask_if_any_of:
        return True
    threshold = item.ask_if_min or 0
    return any(((v := values.get(t)) is not None and v >= threshold) for t in item.ask_if_any_of)


def _score_rows(
    bound: Bound,
    drafts: Iterable[tuple[str, str, int | None, float]],
    client_key: str,
    now: datetime.datetime,
) -> list[Response]:
    by_inst: dict[str, dict[str, tuple[int | None, float]]] = {}
    seconds: float | None  # a draft's time; None below for an item without a draft
    for code, item_id, value, seconds in drafts:
        by_inst.setdefault(code, {})[item_id] = (value, seconds)
    checks = bound.checks
    if isinstance(checks, str):  # SQLite returns JSON text through values_list on some versions
        import json

        checks = json.loads(checks or "{}")
    out = []
    for inst in bound.battery():
        given = by_inst.get(inst.code, {})
        values = {item_id: v for item_id, (v, _s) in given.items()}
        answers: list[int | None] = []
        times: list[float | None] = []
        for item in inst.definition.items:
            value, seconds = given.get(item.id, (None, None))
            if value is not None and not _applicable(item, values):
                value = None  # not shown (ask_if): not applicable, never an answer
            answers.append(value)
            times.append(seconds)
        result = score_response(
            inst.definition,
            answers,
            times,
            sex=bound.gender or None,
            grade=bound.grade_level,
            checks=checks or None,
        ).to_json_dict()
        out.append(
            Response(
                assignment_id=bound.id,
                school_id=bound.school_id,
                instrument_code=inst.code,
                instrument_version=inst.version,
                answers=answers,
                times=[None if t is None else round(t, 2) for t in times],
                scores=result["scores"],
                bands=result["bands"],
                critical=result["critical"],
                missing=result["missing"],
                flags=result["flags"],
                valid=result["valid"],
                submitted_at=now,
                client_key=f"{client_key}:{inst.code}",
            )
        )
    return out


def _insert_responses(responses: Sequence[Response]) -> None:
    """One multi-row INSERT (the ORM's bulk_create compiles slower than the row is written)."""
    if not responses:
        return
    dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))
    answers, scores, critical, missing = (f.seal for f in _SEALED_RESPONSE)
    params: list[Any] = []
    for r in responses:
        key = r.client_key  # the row key of the encrypted fields
        params += [
            r.assignment_id, r.school_id, r.instrument_code, r.instrument_version,
            answers(key, r.answers), dumps(r.times), scores(key, r.scores), dumps(r.bands),
            critical(key, r.critical), missing(key, r.missing), dumps(r.flags), r.valid,
            connection.ops.adapt_datetimefield_value(r.submitted_at), key, r.resit_of_id,
        ]  # fmt: skip
    returning = connection.features.can_return_rows_from_bulk_insert
    sql = _responses_sql(len(responses), returning)
    with connection.cursor() as cursor:
        # The new ids come back with the INSERT (the alert evidence names the responses).
        _execute(cursor, f"responses_{len(responses)}" if returning else "", sql, params)
        if returning:
            for r, (pk,) in zip(responses, cursor.fetchall(), strict=True):
                r.pk = pk


def _existing(bound: Bound) -> Submitted:
    return Submitted(list(Response.objects.filter(assignment_id=bound.id).order_by("id")), False)


@transaction.atomic
def submit_answers(*, binding: Binding | None, client_key: str, client_seq: int = 0) -> Submitted:
    """Hand in the questionnaire: score every instrument of the battery and store one Response each.

    Idempotent: a double click, a retry or a second tab return the first result. Effects, in one
    transaction: the assignment is claimed (status completed, or invalid when a response fails its
    validity checks) by a conditional UPDATE — two concurrent submissions serialise on that row
    and the loser returns the winner's responses — then the responses are inserted in one
    statement. `client_seq` is the newest answer the browser has; if the server has older drafts
    the browser must send what it still holds first (code "stale")."""
    if not isinstance(client_key, str) or not _CLIENT_KEY_RE.match(client_key):
        raise _bad(_("The submission could not be read."))
    bound = load_bound(binding)  # 1
    if bound.is_done:
        return _existing(bound)  # 2
    bound.require_open()
    drafts = _read_drafts(bound.id)  # 2
    server_seq = max((d[4] for d in drafts), default=0)
    if client_seq > server_seq:
        raise TakingError(
            _("Some answers have not reached the server yet. Sending them again…"),
            code="stale",
            status=409,
        )
    now = timezone.now()
    responses = _score_rows(bound, (d[:4] for d in drafts), client_key, now)
    status = (
        AssignmentStatus.COMPLETED if all(r.valid for r in responses) else AssignmentStatus.INVALID
    )
    # 3: the claim takes the row lock; a concurrent submitter waits here, then finds nothing to
    # claim. The personal make-up link is used up.
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        states = [str(state.value) for state in OPEN_STATES]
        _execute(
            cursor,
            "claim",
            _sql("claim", connection.vendor),
            [str(status.value), at, at, bound.id, *states],
        )
        claimed = cursor.rowcount
    if not claimed:
        return _existing(bound)  # 4
    if bound.resit_of_id:
        originals = dict(
            Response.objects.filter(assignment_id=bound.resit_of_id).values_list(
                "instrument_code", "pk"
            )
        )
        for r in responses:
            r.resit_of_id = originals.get(r.instrument_code)
    try:
        _insert_responses(responses)  # 4
    except IntegrityError as exc:  # a client key reused across assignments: refuse, roll back
        raise TakingError(
            _("The submission could not be stored. Please try again."), code="conflict", status=409
        ) from exc
    run_submission_hooks(  # same transaction: alerts (no query unless a rule fires)
        assignment_id=bound.id,
        student_id=bound.student_id,
        school_id=bound.school_id,
        stage_band=bound.stage_band,
        responses=responses,
    )
    return Submitted(responses, True)
