"""Writing the audit log, and checking it. Call inside the transaction of the change being audited.

The chain: each event's `hash` is HMAC-SHA256 (scheme 2) under the chain key (keys.py) over its
content and the previous event's hash. Events written before the keyed chain keep scheme 1 (plain
SHA-256) and are checked as such; `KeyedChainStart` says, under the key, where scheme 2 begins.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from xinqiao.core.types import Actor

from . import keys
from .context import current
from .models import AuditEvent, KeyedChainStart, Scheme

GENESIS = "0" * 64
# Any constant works; it names the one advisory lock that serialises appends on PostgreSQL.
_CHAIN_LOCK_ID = 7_305_002


def _normalise(fields: dict[str, Any] | None) -> dict[str, Any]:
    # Round-trip through JSON so the hashed form equals what the database gives back.
    normalised: dict[str, Any] = json.loads(
        json.dumps(fields or {}, default=str, ensure_ascii=False)
    )
    return normalised


def event_digest(
    *,
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor_username: str,
    actor_role: str,
    action: str,
    object_type: str,
    object_id: str,
    school_id: int | None,
    fields: dict[str, Any],
    result: str,
    ip: str | None,
    prev_hash: str,
    scheme: int = Scheme.HMAC_SHA256,
) -> str:
    """The event's hash under `scheme`: 1 = SHA-256 (old events), 2 = HMAC-SHA256 under the chain
    key, over the same content with the scheme itself in front (so it cannot be swapped)."""
    payload: list[Any] = [
        seq,
        at.astimezone(UTC).isoformat(timespec="microseconds"),
        actor_id,
        actor_username,
        actor_role,
        action,
        object_type,
        object_id,
        school_id,
        fields,
        result,
        ip,
        prev_hash,
    ]
    if scheme == Scheme.SHA256:
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()
    if scheme != Scheme.HMAC_SHA256:
        raise ValueError(f"unknown audit hash scheme {scheme!r}")
    blob = json.dumps(
        [int(scheme), *payload], sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return keys.mac(keys.chain_key(), blob)


def start_mac(*, first_seq: int, prev_hash: str) -> str:
    """The keyed chain start record's MAC (KeyedChainStart)."""
    blob = json.dumps(["xinqiao audit chain start", int(Scheme.HMAC_SHA256), first_seq, prev_hash])
    return keys.mac(keys.chain_key(), blob)


def digest_of(event: AuditEvent, scheme: int | None = None) -> str:
    """The hash `event` should carry, under its own scheme unless one is given."""
    return event_digest(
        scheme=event.scheme if scheme is None else scheme,
        seq=event.seq,
        at=event.at,
        actor_id=event.actor_id,
        actor_username=event.actor_username,
        actor_role=event.actor_role,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        school_id=event.school_id,
        fields=event.fields,
        result=event.result,
        ip=event.ip,
        prev_hash=event.prev_hash,
    )


def _object_school_id(obj: Model | None) -> int | None:
    if obj is None:
        return None
    school_id = getattr(obj, "school_id", None)
    if school_id is None and getattr(obj, "kind", None) == "school":
        school_id = obj.pk
    return school_id


def _chain_end() -> tuple[int, str]:
    """The last event's (seq, hash), with the chain locked until the transaction ends."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_ID])
        cursor.execute(_sql("end"))
        last = cursor.fetchone()
    if not last:
        # An empty log (a new database, or one emptied by a test's flush) starts keyed at #1.
        _ensure_start()
    return (int(last[0]), last[1]) if last else (0, GENESIS)


def _ensure_start() -> None:
    if not KeyedChainStart.objects.exists():
        KeyedChainStart.objects.create(
            first_seq=1,
            prev_hash=GENESIS,
            at=timezone.now(),
            mac=start_mac(first_seq=1, prev_hash=GENESIS),
        )


# Every request that writes appends here, so the two statements are written once rather than
# compiled by the ORM on each append.
@functools.cache
def _columns() -> tuple[Any, ...]:
    return tuple(f for f in AuditEvent._meta.concrete_fields if not f.primary_key)


@functools.cache
def _sql(name: str, rows: int = 1) -> str:
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    if name == "end":
        return f"SELECT seq, hash FROM {table} ORDER BY seq DESC LIMIT 1"  # noqa: S608
    columns = ", ".join(connection.ops.quote_name(f.column) for f in _columns())
    values = ", ".join(["(" + ", ".join(["%s"] * len(_columns())) + ")"] * rows)
    return f"INSERT INTO {table} ({columns}) VALUES {values} RETURNING id"  # noqa: S608


def _insert(events: list[AuditEvent]) -> None:
    """Write the events with one INSERT; their ids come back with it."""
    if not connection.features.can_return_rows_from_bulk_insert:  # pragma: no cover
        AuditEvent.objects.bulk_create(events)
        return
    params = [
        f.get_db_prep_save(getattr(event, f.attname), connection)
        for event in events
        for f in _columns()
    ]
    with connection.cursor() as cursor:
        cursor.execute(_sql("insert", len(events)), params)
        for event, (pk,) in zip(events, cursor.fetchall(), strict=True):
            event.pk = pk
            event._state.adding = False
            event._state.db = connection.alias


def _event(
    *,
    seq: int,
    prev_hash: str,
    actor: Actor,
    action: str,
    obj: Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    school_id: int | None = None,
    fields: dict[str, Any] | None = None,
    result: str = "ok",
    role: str | None = None,
) -> AuditEvent:
    ctx = current.get()
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    event = AuditEvent(
        seq=seq,
        at=timezone.now(),
        actor_id=user.pk if user else None,
        actor_username=user.get_username() if user else "",
        actor_role=role if role is not None else ctx.role,
        action=action,
        object_type=object_type or (obj._meta.label_lower if obj is not None else ""),
        object_id=str(object_id if object_id != "" else (obj.pk if obj is not None else "")),
        school_id=school_id if school_id is not None else _object_school_id(obj),
        fields=_normalise(fields),
        result=result,
        ip=ctx.ip,
        prev_hash=prev_hash,
        scheme=Scheme.HMAC_SHA256,
    )
    event.hash = digest_of(event)
    return event


# No savepoint of its own: an event that cannot be written must undo the change it records.
@transaction.atomic(savepoint=False)
def record_event(
    *,
    actor: Actor,
    action: str,
    obj: Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    school_id: int | None = None,
    fields: dict[str, Any] | None = None,
    result: str = "ok",
    role: str | None = None,
) -> AuditEvent:
    """Append one event, chained to the last one. `action` is `app.object.past_verb`."""
    seq, prev_hash = _chain_end()
    event = _event(
        seq=seq + 1,
        prev_hash=prev_hash,
        actor=actor,
        action=action,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        school_id=school_id,
        fields=fields,
        result=result,
        role=role,
    )
    _insert([event])
    return event


@transaction.atomic(savepoint=False)
def record_events(events: Sequence[Mapping[str, Any]]) -> list[AuditEvent]:
    """Append several events in this order, each given as `record_event`'s keyword arguments.

    The same events as that many `record_event` calls, for the cost of one: the chain is locked
    and its end read once, and the events are written by one multi-row INSERT (a hand-in that
    raises an alert writes one event per rule that fired)."""
    if not events:
        return []
    seq, prev_hash = _chain_end()
    out = []
    for spec in events:
        seq += 1
        event = _event(seq=seq, prev_hash=prev_hash, **spec)
        prev_hash = event.hash
        out.append(event)
    _insert(out)
    return out


def record_read(*, actor: Actor, obj: Model, fields: list[str], action: str | None = None) -> None:
    """Log a read of sensitive data (a profile, a full ID number, clinical fields)."""
    record_event(
        actor=actor,
        action=action or f"{obj._meta.label_lower}.viewed",
        obj=obj,
        fields={"read": fields},
    )


# A list page names at most a page of students; the event lists their ids (never names).
LIST_READ_MAX = 500


def _student_id(row: Any) -> int | None:
    meta = getattr(row, "_meta", None)
    if meta is not None and meta.label_lower == "people.student":
        return int(row.pk)
    found = getattr(row, "student_id", None)
    if found is not None:
        return int(found)
    for via in ("case", "alert"):
        related = getattr(row, via, None)
        if related is not None and getattr(related, "student_id", None) is not None:
            return int(related.student_id)
    return None


def record_list_read(
    *,
    actor: Actor,
    action: str,
    rows: Iterable[Any],
    read: list[str],
    fields: dict[str, Any] | None = None,
) -> None:
    """Log a page that lists named students with a level or result (a worklist, a board): one
    event per page shown, naming the students listed by id (rows: students, or records with a
    `student_id`, `case` or `alert`). Nothing is written when the page lists nobody."""
    ids = sorted({sid for row in rows if (sid := _student_id(row)) is not None})
    if not ids:
        return
    record_event(
        actor=actor,
        action=action,
        object_type="people.student",
        fields={"read": read, "count": len(ids), "students": ids[:LIST_READ_MAX], **(fields or {})},
    )


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    message: str
    head_seq: int = 0  # the last event checked (0: none)
    head_hash: str = GENESIS
    count: int = 0  # events checked


def _start_record() -> tuple[KeyedChainStart | None, str]:
    """The keyed chain's start record and "" when it is sound, or an error message."""
    starts = list(KeyedChainStart.objects.order_by("first_seq")[:2])
    if len(starts) > 1:
        return None, "there is more than one record of where the keyed chain starts"
    if not starts:
        return None, ""
    start = starts[0]
    if not hmac.compare_digest(
        start.mac, start_mac(first_seq=start.first_seq, prev_hash=start.prev_hash)
    ):
        return None, (
            "the record of where the keyed chain starts was altered (or AUDIT_CHAIN_KEY is not "
            "the key the chain was written with)"
        )
    return start, ""


def check_chain(*, after: tuple[int, str] | None = None, batch: int = 5000) -> ChainCheck:
    """Walk the chain in order and name the first broken link.

    `after=(seq, hash)` (a trusted anchor) checks only the events after `seq`, starting from the
    event at `seq` itself, which must still carry `hash`: the periodic check's incremental walk.
    """
    start, problem = _start_record()
    if problem:
        return ChainCheck(False, problem)
    events = AuditEvent.objects.order_by("seq")
    if start is None:
        if events.exists():
            return ChainCheck(False, "the record of where the keyed chain starts is missing")
        return ChainCheck(True, "audit chain intact: 0 events")
    expected_seq, count = 1, 0
    prev_hash: str | None = GENESIS
    if after is not None and after[0] > 0:
        expected_seq, prev_hash = after[0], None
        events = events.filter(seq__gte=after[0])
    for event in events.iterator(chunk_size=batch):
        seq = event.seq
        if seq != expected_seq:
            return ChainCheck(False, f"event #{expected_seq} is missing (next present is #{seq})")
        if seq == start.first_seq and event.prev_hash != start.prev_hash:
            return ChainCheck(
                False,
                f"event #{seq} does not link to event #{seq - 1} as recorded when the keyed "
                f"chain started",
            )
        if prev_hash is not None and event.prev_hash != prev_hash:
            if seq == start.first_seq:
                return ChainCheck(
                    False,
                    f"event #{seq} does not link to event #{seq - 1} as recorded when the keyed "
                    f"chain started (the events before it were rewritten)",
                )
            return ChainCheck(False, f"event #{seq} does not link to event #{seq - 1}")
        scheme = Scheme.SHA256 if seq < start.first_seq else Scheme.HMAC_SHA256
        if event.scheme != scheme:
            return ChainCheck(
                False,
                f"event #{seq} claims the old unkeyed scheme after the keyed chain started at "
                f"#{start.first_seq} (rewritten without the key)",
            )
        if not hmac.compare_digest(digest_of(event, scheme), event.hash):
            return ChainCheck(
                False, f"event #{seq} was altered (its hash does not match its content)"
            )
        if after is not None and prev_hash is None and event.hash != after[1]:
            return ChainCheck(
                False, f"event #{seq} no longer has the hash it had when it was anchored"
            )
        prev_hash, expected_seq, count = event.hash, expected_seq + 1, count + 1
    if expected_seq <= start.first_seq - 1:
        return ChainCheck(
            False,
            f"the chain ends at event #{expected_seq - 1}, before the keyed chain's start at "
            f"#{start.first_seq} (events #{expected_seq}..#{start.first_seq - 1} were deleted)",
        )
    if after is not None and after[0] > 0 and count == 0:
        return ChainCheck(False, f"event #{after[0]} is missing (the chain ends before it)")
    head = (expected_seq - 1, prev_hash or GENESIS)
    return ChainCheck(True, f"audit chain intact: {count} events", head[0], head[1], count)


def verify_chain(*, batch: int = 5000) -> tuple[bool, str]:
    """Walk the whole chain in order; return (ok, message naming the first broken link)."""
    result = check_chain(batch=batch)
    return result.ok, result.message
