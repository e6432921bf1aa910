"""The keyed chain and its external anchor (issue 13, "The audit trail").

The two tamper scenarios of the issue, which the plain SHA-256 chain reported as intact: deleting
the newest 20 events (caught by the anchor), and deleting one account's events and recomputing
the hashes (caught by the key: plain SHA-256, or HMAC under any other key)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from xinqiao.audit import anchor as anchors
from xinqiao.audit.models import AuditEvent, KeyedChainStart, Scheme
from xinqiao.audit.services import check_chain, digest_of, record_event, verify_chain

OTHER_KEY = "b3RoZXIta2V5LW9mLTMyLWJ5dGVzLW5vdC10aGUtcmVhbC0h"


def _verify(*args: str) -> tuple[int, str]:
    out = SimpleNamespace(text="")
    stream = SimpleNamespace(write=lambda v: setattr(out, "text", out.text + v), flush=lambda: None)
    try:
        call_command("verify_audit", *args, stdout=stream)
    except CommandError as exc:
        return exc.returncode, str(exc)
    return 0, out.text.strip()


def _sql(sql: str, params: list | None = None) -> None:
    """Change the tables behind the application's back, as a person with SQL access would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute(sql, params or [])


def _rewrite(keep, *, scheme: int, settings=None, key: str | None = None) -> int:
    """Rewrite the whole table without the events `keep` rejects: renumbered from 1, every link
    and hash recomputed under `scheme` (and `key`, when given). The number of events removed."""
    events = list(AuditEvent.objects.order_by("seq"))
    kept = [e for e in events if keep(e)]
    if key is not None:
        real, settings.AUDIT_CHAIN_KEY = settings.AUDIT_CHAIN_KEY, key
    prev = "0" * 64
    for number, event in enumerate(kept, start=1):
        event.pk, event.seq, event.prev_hash, event.scheme = None, number, prev, scheme
        event.hash = prev = digest_of(event)
        event._state.adding = True
    if key is not None:
        settings.AUDIT_CHAIN_KEY = real
    _sql("DELETE FROM audit_auditevent")
    AuditEvent.objects.bulk_create(kept)
    return len(events) - len(kept)


def _account_events(user):
    def is_theirs(event: AuditEvent) -> bool:
        return (
            event.actor_id == user.pk
            or (event.object_type == "auth.user" and event.object_id == str(user.pk))
            or user.username in json.dumps(event.fields)
        )

    return is_theirs


# --- the keyed chain ------------------------------------------------------------------------------
def test_new_events_are_keyed_and_verify(logged):
    assert set(AuditEvent.objects.values_list("scheme", flat=True)) == {Scheme.HMAC_SHA256}
    assert KeyedChainStart.objects.get().first_seq == 1
    assert verify_chain() == (True, f"audit chain intact: {AuditEvent.objects.count()} events")


def test_the_hash_depends_on_the_key(logged, settings):
    event = AuditEvent.objects.order_by("seq").first()
    settings.AUDIT_CHAIN_KEY = OTHER_KEY
    assert digest_of(event) != event.hash
    assert verify_chain()[0] is False


@pytest.mark.parametrize(
    ("scheme", "forged_key"),
    [(Scheme.SHA256, None), (Scheme.HMAC_SHA256, OTHER_KEY)],
    ids=["plain-sha256", "hmac-wrong-key"],
)
def test_deleting_an_accounts_events_and_recomputing_is_detected(
    logged, settings, scheme, forged_key
):
    for n in range(8):  # the account's own work, among others' events
        record_event(actor=logged.psych_b, action="test.thing.done", object_id=n)
        record_event(actor=logged.psych, action="test.thing.done", object_id=n)
    removed = _rewrite(
        lambda e: not _account_events(logged.psych_b)(e),
        scheme=scheme,
        settings=settings,
        key=forged_key,
    )
    assert removed == 9
    code, message = _verify()
    assert code != 0
    assert message.startswith("audit chain broken: event #1 ")


def test_plain_sha256_labelled_keyed_is_detected(logged):
    # The forger keeps the column saying "keyed" but can only compute SHA-256.
    events = list(AuditEvent.objects.order_by("seq"))
    _sql("DELETE FROM audit_auditevent")
    prev = "0" * 64
    for event in events:
        event.pk, event.prev_hash = None, prev
        event.hash = prev = digest_of(event, Scheme.SHA256)
        event._state.adding = True
    AuditEvent.objects.bulk_create(events)
    assert verify_chain() == (
        False,
        "event #1 was altered (its hash does not match its content)",
    )


def test_removing_the_start_record_to_downgrade_is_detected(logged):
    _rewrite(lambda e: True, scheme=Scheme.SHA256)
    _sql("DELETE FROM audit_keyedchainstart")
    assert verify_chain() == (False, "the record of where the keyed chain starts is missing")


def test_moving_the_start_record_is_detected(logged):
    _sql("UPDATE audit_keyedchainstart SET first_seq = 10")
    ok, message = verify_chain()
    assert not ok
    assert "the record of where the keyed chain starts was altered" in message


# --- old events (plain SHA-256, before the keyed chain) -------------------------------------------
def _legacy_then_migrate(logged) -> int:
    """The log as the old code wrote it (all SHA-256, no start record), then the migration's
    cut-over. Returns the first keyed seq."""
    _rewrite(lambda e: True, scheme=Scheme.SHA256)
    _sql("DELETE FROM audit_keyedchainstart")
    migration = __import__("xinqiao.audit.migrations.0003_keyed_chain", fromlist=["record_start"])
    migration.record_start(apps, SimpleNamespace(connection=connection))
    return KeyedChainStart.objects.get().first_seq


def test_old_scheme_events_still_verify_and_new_ones_are_keyed(logged):
    first = _legacy_then_migrate(logged)
    old = AuditEvent.objects.count()
    assert first == old + 1
    for n in range(3):
        record_event(actor=None, action="test.thing.done", object_id=n)
    schemes = dict(AuditEvent.objects.values_list("seq", "scheme"))
    assert {schemes[s] for s in range(1, first)} == {Scheme.SHA256}
    assert {schemes[s] for s in range(first, first + 3)} == {Scheme.HMAC_SHA256}
    assert verify_chain() == (True, f"audit chain intact: {old + 3} events")


def test_sha256_after_the_cut_over_is_detected(logged):
    first = _legacy_then_migrate(logged)
    for n in range(3):
        record_event(actor=None, action="test.thing.done", object_id=n)
    # Rewrite the keyed events as "old" SHA-256 events: the start record says they must be keyed.
    event = AuditEvent.objects.get(seq=first + 1)
    event.action, event.scheme = "test.thing.undone", Scheme.SHA256
    _sql(
        "UPDATE audit_auditevent SET action = %s, scheme = 1, hash = %s WHERE seq = %s",
        [event.action, digest_of(event), event.seq],
    )
    ok, message = verify_chain()
    assert not ok
    assert message.startswith(f"event #{first + 1} claims the old unkeyed scheme")


def test_rewriting_old_events_is_detected_at_the_cut_over(logged):
    first = _legacy_then_migrate(logged)
    record_event(actor=None, action="test.thing.done", object_id=1)
    # The old events were never keyed: alter #3 and recompute the old chain up to the cut-over.
    # The start record pins the last old hash, so the first keyed event no longer links.
    prev = AuditEvent.objects.get(seq=2).hash
    for event in AuditEvent.objects.filter(seq__gte=3, seq__lt=first).order_by("seq"):
        if event.seq == 3:
            event.action = "people.student.deleted"
        event.prev_hash = prev
        event.hash = prev = digest_of(event)
        _sql(
            "UPDATE audit_auditevent SET action = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            [event.action, event.prev_hash, event.hash, event.seq],
        )
    ok, message = verify_chain()
    assert not ok
    assert message == (
        f"event #{first} does not link to event #{first - 1} as recorded when the keyed chain "
        "started (the events before it were rewritten)"
    )


# --- the anchor -----------------------------------------------------------------------------------
def test_verify_appends_an_anchor_line_with_a_valid_mac(logged, settings):
    count = AuditEvent.objects.count()
    assert _verify() == (0, f"audit chain intact: {count} events; anchored #{count}")
    lines = settings.AUDIT_ANCHOR_PATH.read_text().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert set(record) == {"at", "seq", "hash", "mac"}
    assert record["seq"] == count
    assert record["hash"] == AuditEvent.objects.get(seq=count).hash
    assert anchors.last_anchor() == anchors.parse_line(lines[0])

    record_event(actor=None, action="test.thing.done", object_id=1)
    code, message = _verify()
    assert code == 0
    assert message.endswith(
        f"holds the last anchor (#{count}, {record['at']}); anchored #{count + 1}"
    )
    assert len(settings.AUDIT_ANCHOR_PATH.read_text().splitlines()) == 2


def test_no_anchor_only_checks(logged, settings):
    assert _verify("--no-anchor")[0] == 0
    assert not settings.AUDIT_ANCHOR_PATH.exists()


def test_deleting_the_newest_20_events_is_detected_against_the_anchor(logged):
    for n in range(20):
        record_event(actor=None, action="test.thing.done", object_id=n)
    head = AuditEvent.objects.count()
    assert _verify()[0] == 0
    _sql("DELETE FROM audit_auditevent WHERE seq > %s", [head - 20])
    assert verify_chain()[0] is True  # the shorter chain is valid in itself
    for args in ((), ("--since-anchor",)):
        code, message = _verify(*args)
        assert code != 0
        assert message.startswith("audit anchor mismatch: the chain ends at event ")
        assert f"events #{head - 19}..#{head} were deleted" in message


def test_a_rewritten_head_is_detected_against_the_anchor(logged):
    # Even with the key (an insider, or a restore of an older copy): the anchored hash is gone.
    assert _verify()[0] == 0
    head = AuditEvent.objects.count()
    _sql("DELETE FROM audit_auditevent WHERE seq > %s", [head - 2])
    record_event(actor=None, action="test.thing.done", object_id="a")
    record_event(actor=None, action="test.thing.done", object_id="b")
    code, message = _verify()
    assert code != 0
    assert message.startswith(f"audit anchor mismatch: event #{head} differs from the anchor")


def test_a_forged_anchor_line_is_refused(logged, settings):
    assert _verify()[0] == 0
    line = json.loads(settings.AUDIT_ANCHOR_PATH.read_text())
    line["seq"] = 1
    with settings.AUDIT_ANCHOR_PATH.open("a") as out:
        out.write(json.dumps(line) + "\n")
    code, message = _verify()
    assert code != 0
    assert "does not carry a valid MAC" in message


def test_the_incremental_check_still_finds_an_altered_event_after_the_anchor(logged):
    assert _verify()[0] == 0
    for n in range(3):
        record_event(actor=None, action="test.thing.done", object_id=n)
    last = AuditEvent.objects.count()
    _sql("UPDATE audit_auditevent SET object_id = 'x' WHERE seq = %s", [last - 1])
    code, message = _verify("--since-anchor")
    assert code != 0
    assert message == (
        f"audit chain broken: event #{last - 1} was altered (its hash does not match its content)"
    )


def test_check_chain_reports_the_head(logged):
    result = check_chain()
    last = AuditEvent.objects.order_by("-seq").first()
    assert (result.ok, result.head_seq, result.head_hash) == (True, last.seq, last.hash)


# --- the scheduler entry --------------------------------------------------------------------------
def test_the_scheduler_entry_verifies_and_anchors(logged, settings):
    from xinqiao.audit.tasks import AuditCheckFailed
    from xinqiao.core.scheduler import declared_entries, resolve

    entry = next(e for e in declared_entries() if e.key == "audit-verify-and-anchor")
    assert entry.interval <= 600
    task = resolve(entry.task)
    task.apply(throw=True)
    assert anchors.last_anchor().seq == AuditEvent.objects.count()
    record_event(actor=None, action="test.thing.done", object_id=1)
    task.apply(throw=True)
    assert anchors.last_anchor().seq == AuditEvent.objects.count()
    assert len(settings.AUDIT_ANCHOR_PATH.read_text().splitlines()) == 2
    _sql("DELETE FROM audit_auditevent WHERE seq = %s", [AuditEvent.objects.count()])
    with pytest.raises(AuditCheckFailed, match="were deleted"):
        task.apply(throw=True)
    assert len(settings.AUDIT_ANCHOR_PATH.read_text().splitlines()) == 2
