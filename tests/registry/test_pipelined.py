"""Chunks written by a writer thread while the next rows are read (runner.start_writer): on
PostgreSQL outside a transaction, as the roster import; inline elsewhere. The rows, counts,
report and audit events are those of the inline path; a failing chunk leaves nothing behind and
stops the job."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from xinqiao.audit.models import AuditEvent
from xinqiao.audit.services import verify_chain
from xinqiao.people.models import Guardian, ImportJob, ImportJobStatus, Qualification, Staff
from xinqiao.people.registry import get_registry

from ..conftest import ID_A1, ID_A2, ID_B1
from ..people.roster_files import write_csv
from .test_guardian_import import HEADERS as GUARDIAN_HEADERS
from .test_guardian_import import g_row
from .test_guardian_import import report as guardian_report
from .test_guardian_import import run as run_guardians
from .test_staff_import import HEADERS, report, run, staff_row

pytestmark = pytest.mark.django_db(transaction=True)


def writer_name() -> str:
    """The thread a chunk is expected to be written by."""
    return "registry-writer" if connection.vendor == "postgresql" else "MainThread"


@pytest.fixture
def writes(monkeypatch):
    """The registries' `write`, recording which thread wrote each chunk (and how many rows)."""
    calls: list[tuple[str, int]] = []
    for kind in ("staff", "guardians"):
        registry = get_registry(kind)
        original = registry.write

        def write(rows, ctx, original=original):
            calls.append((threading.current_thread().name, len(rows)))
            return original(rows, ctx)

        monkeypatch.setattr(registry, "write", write)
    return calls


def test_staff_chunks_pipelined_with_a_bad_row_in_a_later_chunk(world, tmp_path, settings, writes):
    settings.XINQIAO_REGISTRY_CHUNK_ROWS = 7
    rows = [staff_row(n) for n in range(1, 51)]
    rows[44]["学校标识码"] = "9999999999"  # row 46 of the file, in the seventh chunk
    staff, qualifications = Staff.objects.count(), Qualification.objects.count()
    job, result = run(write_csv(tmp_path / "s.csv", rows, headers=HEADERS))

    assert (result.created, result.updated, result.unchanged, result.rejected) == (49, 0, 0, 1)
    assert [n for _thread, n in writes] == [7] * 7
    assert all(thread.startswith(writer_name()) for thread, _n in writes)
    assert job.status == ImportJobStatus.SUCCEEDED
    assert (job.rows_processed, job.created, job.rejected) == (50, 49, 1)
    assert [line[0] for line in report(job)[1:]] == ["46"]
    assert Staff.objects.count() == staff + 49
    assert Qualification.objects.count() == qualifications + 49
    chunks = AuditEvent.objects.filter(action="people.registry.imported").order_by("id")
    assert [e.fields["chunk"] for e in chunks] == [1, 2, 3, 4, 5, 6, 7]
    assert verify_chain()[0] is True

    _job, again = run(write_csv(tmp_path / "s2.csv", rows, headers=HEADERS))
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 49, 1)


def test_rows_the_writer_rejects_reach_the_report(world, tmp_path, settings, writes):
    settings.XINQIAO_REGISTRY_CHUNK_ROWS = 2
    rows = [
        g_row("G" + ID_A1, "王爸爸", "父亲", "13900139001"),
        g_row("G" + ID_A2, "李奶奶", "奶奶", "13900139002"),
        g_row("G" + ID_A1, "王爷爷", "爷爷", "13900139003"),
        g_row("G" + ID_A2, "李爷爷", "爷爷", "13900139004"),
        g_row("G" + ID_B1, "赵爸爸", "父亲", "13900139005"),  # another school: the writer refuses
    ]
    job, result = run_guardians(
        write_csv(tmp_path / "g.csv", rows, headers=GUARDIAN_HEADERS), actor=world.school_admin
    )
    assert (result.created, result.updated, result.unchanged, result.rejected) == (4, 0, 0, 1)
    assert all(thread.startswith(writer_name()) for thread, _n in writes)
    assert [line[0] for line in guardian_report(job)[1:]] == ["6"]
    assert Guardian.objects.filter(name__in=["王爸爸", "李奶奶", "王爷爷", "李爷爷"]).count() == 4
    assert not Guardian.objects.filter(name="赵爸爸").exists()


def test_a_failing_chunk_stops_the_job_and_leaves_nothing_of_itself(
    world, tmp_path, settings, monkeypatch
):
    """The third chunk's rows are written, then the writer fails: that chunk is rolled back,
    no later chunk is written, the job is marked failed and the error reaches the caller."""
    settings.XINQIAO_REGISTRY_CHUNK_ROWS = 7
    registry = get_registry("staff")
    original = registry.write
    threads: list[str] = []

    def write(rows, ctx):
        threads.append(threading.current_thread().name)
        counts = original(rows, ctx)
        if len(threads) == 3:
            raise RuntimeError("the database went away")
        return counts

    monkeypatch.setattr(registry, "write", write)
    before = set(Staff.objects.values_list("pk", flat=True))
    with pytest.raises(RuntimeError, match="went away"):
        run(write_csv(tmp_path / "s.csv", [staff_row(n) for n in range(1, 51)], headers=HEADERS))

    assert len(threads) == 3
    assert all(thread.startswith(writer_name()) for thread in threads)
    assert sorted(Staff.objects.exclude(pk__in=before).values_list("staff_number", flat=True)) == [
        f"A{n:04d}" for n in range(1, 15)
    ]
    job = ImportJob.objects.get(original_name="s.csv")
    assert job.status == ImportJobStatus.FAILED
    assert AuditEvent.objects.filter(action="people.registry.imported").count() == 2
    assert not AuditEvent.objects.filter(action="people.import_job.finished").exists()
    assert verify_chain()[0] is True
