"""The registry import framework (xinqiao/people/registry/) with a small test registry of terms:
real files (UTF-8, GBK, XLSX), header aliases, row errors with their row number, dry run,
idempotent re-import, the error report, a bad file changing nothing, and the generic pages."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.translation import gettext_lazy

from xinqiao.access.roles import Cap
from xinqiao.audit.models import AuditEvent
from xinqiao.core.tabular.reader import BadFileError
from xinqiao.orgs.models import Term, TermSeason
from xinqiao.people.importer import files
from xinqiao.people.models import ImportJob
from xinqiao.people.registry import (
    Column,
    Counts,
    Registry,
    RowError,
    choice,
    create_job,
    parse_date,
    register,
    run_job,
    store_upload,
    text,
    upsert,
)
from xinqiao.people.registry.base import _REGISTRIES

from ..people.roster_files import write_csv, write_xlsx

HEADERS = ["学期代码", "学年", "学期", "开始日期", "结束日期"]


def _year(value: str) -> int:
    from xinqiao.people.registry import CellError

    if not value.isdigit() or not 2000 <= int(value) <= 2100:
        raise CellError("学年应为四位数字")
    return int(value)


class TermRegistry(Registry):
    kind = "test-terms"
    label = gettext_lazy("Terms")
    cap = Cap.EDIT_STAFF
    columns = (
        Column("code", "code", ("学期代码", "代码"), text(16), required=True),
        Column("year", "year", ("学年", "school year"), _year, required=True),
        Column("season", "season", ("学期", "季"), choice(TermSeason, {"秋": "autumn"})),
        Column("start", "start", ("开始日期", "start date"), parse_date, required=True),
        Column("end", "end", ("结束日期",), parse_date, required=True),
    )
    key_fields = ("code",)

    def check(self, row, ctx):
        if row.values["end"] <= row.values["start"]:
            raise RowError("结束日期应晚于开始日期", "end")

    def write(self, rows, ctx):
        existing = {
            t.code: t for t in Term.objects.filter(code__in=[r.values["code"] for r in rows])
        }
        items = [
            (
                r.values["code"],
                {
                    "code": r.values["code"],
                    "school_year_start": r.values["year"],
                    "season": r.values["season"] or TermSeason.AUTUMN,
                    "start_date": r.values["start"],
                    "end_date": r.values["end"],
                },
            )
            for r in rows
        ]
        done = upsert(
            Term,
            items,
            existing=existing,
            fields=("school_year_start", "season", "start_date", "end_date"),
        )
        return Counts(len(done.created), len(done.updated), len(done.unchanged))


@pytest.fixture(autouse=True)
def registry(settings):
    settings.XINQIAO_IMPORT_RUNNER = "inline"
    reg = register(TermRegistry())
    yield reg
    _REGISTRIES.pop(reg.kind, None)


def term_row(year: int, season: str = "秋季学期", **extra):
    start = datetime.date(year, 9, 1) if "秋" in season else datetime.date(year + 1, 2, 20)
    row = {
        "学期代码": f"T{year}{'a' if '秋' in season else 's'}",
        "学年": str(year),
        "学期": season,
        "开始日期": start.isoformat(),
        "结束日期": (start + datetime.timedelta(days=140)).isoformat(),
    }
    row.update(extra)
    return row


def run(path: Path, *, actor=None, dry_run=False):
    relative, _size = store_upload([path.read_bytes()], path.name)
    job = create_job(
        actor=actor, kind="test-terms", file=relative, original_name=path.name, dry_run=dry_run
    )
    result = run_job(job)
    job.refresh_from_db()
    return job, result


def report_rows(job):
    import csv
    import io

    return list(csv.reader(io.StringIO(files.read(job.error_report).decode("utf-8-sig"))))


@pytest.mark.django_db
def test_utf8_csv_with_aliases_creates_rows(tmp_path):
    headers = ["代码", "school year", "季", "start date", "结束日期(YYYY-MM-DD)"]
    rows = [dict(zip(headers, term_row(y).values(), strict=True)) for y in (2030, 2031)]
    job, result = run(write_csv(tmp_path / "t.csv", rows, headers=headers, encoding="utf-8-sig"))
    assert (result.created, result.rejected) == (2, 0)
    assert job.status == "succeeded"
    assert Term.objects.get(code="T2030a").start_date == datetime.date(2030, 9, 1)


@pytest.mark.django_db
def test_gbk_csv(tmp_path):
    _job, result = run(
        write_csv(tmp_path / "t.csv", [term_row(2032)], headers=HEADERS, encoding="gbk")
    )
    assert result.created == 1
    assert Term.objects.get(code="T2032a").season == "autumn"


@pytest.mark.django_db
def test_xlsx(tmp_path):
    _job, result = run(
        write_xlsx(
            tmp_path / "t.xlsx", [term_row(2033), term_row(2033, "春季学期")], headers=HEADERS
        )
    )
    assert result.created == 2
    assert Term.objects.get(code="T2033s").season == "spring"


@pytest.mark.django_db
def test_bad_rows_are_reported_with_row_number_while_good_rows_go_in(tmp_path):
    rows = [
        term_row(2034),
        term_row(2035, 学年="二〇三五"),  # row 3: bad cell
        term_row(2036, 结束日期="2036-01-01"),  # row 4: row check
        term_row(2037, 学期="冬季"),  # row 5: unknown choice
        term_row(2034),  # row 6: same key as row 2
    ]
    job, result = run(write_csv(tmp_path / "t.csv", rows, headers=HEADERS))
    assert (result.created, result.rejected) == (1, 4)
    assert job.rejected == 4
    assert set(Term.objects.filter(code__startswith="T203").values_list("code", flat=True)) == {
        "T2034a"
    }
    report = report_rows(job)
    assert report[0][:3] == ["Row", "Column", "Reason"]
    by_row = {r[0]: r for r in report[1:]}
    assert by_row["3"][1] == "学年"
    assert "四位" in by_row["3"][2]
    assert by_row["4"][1] == "结束日期"
    assert by_row["5"][1] == "学期"
    assert "冬季" in by_row["5"][2]
    assert "2" in by_row["6"][2]
    assert by_row["3"][3:8] == list(rows[1].values())


@pytest.mark.django_db
def test_dry_run_changes_nothing(tmp_path):
    before = AuditEvent.objects.count()
    _job, result = run(
        write_csv(tmp_path / "t.csv", [term_row(2040)], headers=HEADERS), dry_run=True
    )
    assert result.created == 1
    assert not Term.objects.filter(code="T2040a").exists()
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
def test_reimport_is_idempotent_and_updates_changes(tmp_path):
    path = write_csv(tmp_path / "t.csv", [term_row(2041), term_row(2042)], headers=HEADERS)
    run(path)
    _job, again = run(path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    changed = write_csv(
        tmp_path / "t2.csv",
        [term_row(2041, 结束日期="2042-01-30"), term_row(2042)],
        headers=HEADERS,
    )
    _job, third = run(changed)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 1)
    assert Term.objects.get(code="T2041a").end_date == datetime.date(2042, 1, 30)


@pytest.mark.django_db
def test_missing_required_column_fails_and_changes_nothing(tmp_path):
    path = write_csv(tmp_path / "t.csv", [term_row(2043)], headers=["学期代码", "学年", "开始日期"])
    relative, _size = store_upload([path.read_bytes()], path.name)
    job = create_job(actor=None, kind="test-terms", file=relative, original_name="t.csv")
    with pytest.raises(BadFileError, match="结束日期"):
        run_job(job)
    job.refresh_from_db()
    assert job.status == "failed"
    assert not Term.objects.filter(code="T2043a").exists()


@pytest.mark.django_db
def test_garbage_file_fails(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(BadFileError):
        run(path)


@pytest.mark.django_db
def test_audit_events_for_a_real_import(tmp_path, world):
    job, _result = run(
        write_csv(tmp_path / "t.csv", [term_row(2044)], headers=HEADERS), actor=world.school_admin
    )
    actions = set(AuditEvent.objects.filter(object_id=str(job.pk)).values_list("action", flat=True))
    assert {"people.registry.imported", "people.import_job.finished"} <= actions


# --- the generic pages ---------------------------------------------------------------------------
def upload(client, path, **data):
    payload = {"file": SimpleUploadedFile(path.name, path.read_bytes()), **data}
    return client.post(reverse("registries:upload", args=["test-terms"]), payload)


def test_upload_page_runs_the_job_and_shows_it(world, client_for, tmp_path):
    client = client_for(world.school_admin)
    page = client.get(reverse("registries:upload", args=["test-terms"]))
    assert page.status_code == 200
    assert "学期代码" in page.content.decode()
    response = upload(
        client,
        write_csv(tmp_path / "t.csv", [term_row(2050), term_row(2051, 学年="x")], headers=HEADERS),
    )
    assert response.status_code == 302
    job = ImportJob.objects.get(kind="test-terms")
    assert job.org_unit == world.school_a
    assert (job.created, job.rejected) == (1, 1)
    detail = client.get(response["Location"])
    assert detail.status_code == 200
    report = client.get(reverse("registries:job-errors", args=["test-terms", job.code]))
    assert report.status_code == 200
    assert "x" in report.content.decode("utf-8-sig")


def test_wrong_role_gets_403(world, client_for):
    client = client_for(world.psych)
    assert client.get(reverse("registries:upload", args=["test-terms"])).status_code == 403


def test_unknown_registry_is_404(world, client_for):
    client = client_for(world.school_admin)
    assert client.get(reverse("registries:upload", args=["nothing"])).status_code == 404


def test_job_of_another_district_is_404_and_wrong_role_403(world, client_for):
    job_b = ImportJob.objects.create(
        kind="test-terms", org_unit=world.school_b, file="x", original_name="x.csv"
    )
    job_a = ImportJob.objects.create(
        kind="test-terms", org_unit=world.school_a, file="x", original_name="x.csv"
    )
    url_b = reverse("registries:job-detail", args=["test-terms", job_b.code])
    url_a = reverse("registries:job-detail", args=["test-terms", job_a.code])
    assert client_for(world.district_admin).get(url_b).status_code == 404
    assert client_for(world.district_admin).get(url_a).status_code == 200
    assert client_for(world.psych).get(url_a).status_code == 403
    # a roster job is not a registry job
    url = reverse("registries:job-detail", args=["test-terms", world.import_job.code])
    assert client_for(world.school_admin).get(url).status_code == 404
