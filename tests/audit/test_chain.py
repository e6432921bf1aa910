"""The hash chain: verify_audit passes when intact and names the first broken link otherwise."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction

from xinqiao.audit.models import AppendOnlyError, AuditEvent
from xinqiao.audit.services import GENESIS, record_event, verify_chain

ROOT = Path(__file__).resolve().parents[2]
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL-only (trigger / concurrency)"
)


def _tamper(sql: str, params: list) -> None:
    """Change the table behind the application's back, as an attacker with SQL access would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Rolled back with the test's transaction (ALTER TABLE is transactional in PostgreSQL).
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute(sql, params)


def _verify() -> tuple[int, str]:
    """Run the command as manage.py would: (exit code, output)."""
    try:
        call_command("verify_audit", stdout=(out := _Buffer()))
    except CommandError as exc:
        return exc.returncode, str(exc)
    return 0, out.text


class _Buffer:
    def __init__(self) -> None:
        self.text = ""

    def write(self, value: str) -> None:
        self.text += value

    def flush(self) -> None:
        pass


def test_intact_chain_verifies(logged):
    count = AuditEvent.objects.count()
    assert count > 20
    code, message = _verify()
    assert code == 0
    assert message.strip() == f"audit chain intact: {count} events; anchored #{count}"


def test_first_event_links_to_genesis_and_each_to_its_predecessor(logged):
    events = list(AuditEvent.objects.order_by("seq"))
    assert events[0].seq == 1
    assert events[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(events):
        assert after.seq == before.seq + 1
        assert after.prev_hash == before.hash


def test_empty_log_verifies(db):
    assert verify_chain() == (True, "audit chain intact: 0 events")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("action", "people.student.deleted"),
        ("actor_username", "somebody_else"),
        ("fields", '{"student_number": "G000"}'),
        ("result", "denied"),
    ],
)
def test_altered_event_is_reported_first(logged, column, value):
    _tamper(f"UPDATE audit_auditevent SET {column} = %s WHERE seq IN (5, 9)", [value])  # noqa: S608
    code, message = _verify()
    assert code != 0
    assert (
        message == "audit chain broken: event #5 was altered (its hash does not match its content)"
    )


def test_altered_event_with_recomputed_hash_breaks_the_next_link(logged):
    # A forger who recomputes the altered event's hash still breaks the link from event #6.
    from xinqiao.audit.services import digest_of

    event = AuditEvent.objects.get(seq=5)
    event.action = "people.student.deleted"
    _tamper(
        "UPDATE audit_auditevent SET action = %s, hash = %s WHERE seq = 5",
        [event.action, digest_of(event)],
    )
    code, message = _verify()
    assert code != 0
    assert message == "audit chain broken: event #6 does not link to event #5"


def test_deleted_event_is_reported(logged):
    _tamper("DELETE FROM audit_auditevent WHERE seq IN (7, 12)", [])
    code, message = _verify()
    assert code != 0
    assert message == "audit chain broken: event #7 is missing (next present is #8)"


def test_model_refuses_to_change_or_delete_events(logged):
    event = AuditEvent.objects.order_by("seq").first()
    event.action = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert AuditEvent.objects.get(seq=event.seq).action != "changed"


@postgres_only
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET action = 'x' WHERE seq = 1",
        "DELETE FROM audit_auditevent WHERE seq = 1",
        "UPDATE audit_auditevent SET result = 'ok'",
    ],
)
def test_postgres_trigger_refuses_update_and_delete(logged, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql)
    assert verify_chain()[0]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_the_chain(django_user_model):
    per_thread, errors = 40, []
    barrier = threading.Barrier(2)

    def append(name: str) -> None:
        try:
            barrier.wait()
            for number in range(per_thread):
                record_event(actor=None, action=f"test.thread.{name}", object_id=number)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 2 * per_thread + 1))
    assert verify_chain() == (True, f"audit chain intact: {2 * per_thread} events")


@pytest.mark.slow
def test_manage_py_exits_non_zero_naming_the_event(tmp_path, migrated_sqlite):
    """The real command line, on a throw-away SQLite database: exit 0, then 1 with the event."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{migrated_sqlite}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "AUDIT_ANCHOR_PATH": str(tmp_path / "anchors.jsonl"),
    }

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    script = (
        "import django; django.setup()\n"
        "from xinqiao.audit.services import record_event\n"
        "for n in range(5): record_event(actor=None, action='test.thing.done', object_id=n)\n"
    )
    assert run("-c", script).returncode == 0
    ok = run("manage.py", "verify_audit")
    assert ok.returncode == 0, ok.stderr
    assert "audit chain intact: 5 events; anchored #5" in ok.stdout
    tamper = (
        "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]);"
        "db.execute(\"UPDATE audit_auditevent SET object_id='x' WHERE seq=3\"); db.commit()"
    )
    assert run("-c", tamper, str(migrated_sqlite)).returncode == 0
    broken = run("manage.py", "verify_audit")
    assert broken.returncode != 0
    assert "event #3 was altered" in broken.stderr
