"""The import pages: upload → background job → progress → counts → error report; who sees what."""

from __future__ import annotations

import csv
import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from xinqiao.access.roles import Role
from xinqiao.people.models import ImportJob, Student

from ..conftest import PASSWORD  # noqa: F401  (personas share it)
from .roster_files import student_row, write_csv, write_xlsx


@pytest.fixture(autouse=True)
def _inline(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.XINQIAO_IMPORT_RUNNER = "inline"


def upload(client, path, **data):
    with path.open("rb") as fh:
        payload = {"file": SimpleUploadedFile(path.name, fh.read()), **data}
    return client.post(reverse("imports:job-list"), payload)


def _school_b_admin(world):
    from tests.conftest import _user

    return _user("school_admin_b", "乙校管理员", world.school_b, Role.SCHOOL_ADMIN)


def test_upload_runs_job_and_shows_counts_and_error_report(world, client_for, tmp_path):
    rows = [student_row(i) for i in range(1, 5)]
    rows[2]["监护人电话"] = "110"
    client = client_for(world.school_admin)

    response = upload(client, write_csv(tmp_path / "名单.csv", rows), term=world.term.pk)

    job = ImportJob.objects.exclude(pk=world.import_job.pk).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:job-detail", kwargs={"code": job.code})
    assert (job.status, job.created, job.rejected, job.created_by) == (
        "succeeded",
        3,
        1,
        world.school_admin,
    )
    assert job.org_unit == world.school_a  # bounded by the admin's scope
    assert job.file.startswith("imports/")

    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-count="created">3<' in html
    assert 'data-count="rejected">1<' in html
    assert reverse("imports:job-errors", kwargs={"code": job.code}) in html
    assert "hx-trigger" not in html  # finished: no more polling

    report = client.get(reverse("imports:job-errors", kwargs={"code": job.code}))
    assert report.status_code == 200
    body = report.content  # decrypted for the download
    assert body.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert lines[0][0].startswith(f"Exported by: {world.school_admin.get_full_name()}")
    assert lines[2][:2] == ["4", "监护人电话"]
    assert "attachment" in report["Content-Disposition"]


def test_xlsx_upload(world, client_for, tmp_path):
    client = client_for(world.district_admin)

    upload(client, write_xlsx(tmp_path / "roster.xlsx", [student_row(1)]), term=world.term.pk)

    assert ImportJob.objects.exclude(pk=world.import_job.pk).get().created == 1


def test_dry_run_from_the_form_writes_nothing(world, client_for, tmp_path):
    client = client_for(world.school_admin)
    before = Student.objects.count()

    upload(
        client, write_csv(tmp_path / "r.csv", [student_row(1)]), term=world.term.pk, dry_run="on"
    )

    job = ImportJob.objects.exclude(pk=world.import_job.pk).get()
    assert (job.dry_run, job.created) == (True, 1)
    assert Student.objects.count() == before


def test_bad_file_upload_shows_the_error(world, client_for, tmp_path):
    client = client_for(world.school_admin)
    path = tmp_path / "bad.csv"
    path.write_bytes(bytes(range(256)) * 10)

    response = upload(client, path, term=world.term.pk)

    job = ImportJob.objects.exclude(pk=world.import_job.pk).get()
    assert job.status == "failed"
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="import-error"' in page
    report = client.get(reverse("imports:job-errors", kwargs={"code": job.code}))
    assert job.error_message in report.content.decode("utf-8-sig")


def test_wrong_suffix_is_refused_by_the_form(world, client_for, tmp_path):
    client = client_for(world.school_admin)
    path = tmp_path / "roster.pdf"
    path.write_bytes(b"%PDF-1.4")

    response = upload(client, path, term=world.term.pk)

    assert response.status_code == 200
    assert ImportJob.objects.count() == 1  # only the fixture's


def test_school_admin_cannot_choose_another_school(world, client_for, tmp_path):
    client = client_for(world.school_admin)

    response = upload(
        client,
        write_csv(tmp_path / "r.csv", [student_row(1)]),
        term=world.term.pk,
        school=world.school_b.code,
    )

    assert response.status_code == 200  # form error: not a valid choice
    assert ImportJob.objects.count() == 1


def test_progress_partial_polls_while_running(world, client_for):
    job = world.import_job
    ImportJob.objects.filter(pk=job.pk).update(status="running", rows_total=100, rows_processed=40)
    client = client_for(world.school_admin)

    response = client.get(reverse("imports:job-progress", kwargs={"code": job.code}))

    html = response.content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert 'value="40"' in html


def test_job_list_shows_own_and_in_scope_jobs_only(world, client_for):
    school_b_admin = _school_b_admin(world)
    ImportJob.objects.create(
        created_by=school_b_admin,
        org_unit=world.school_b,
        school=world.school_b,
        term=world.term,
        file="imports/b.csv",
        original_name="乙校名单.csv",
    )

    own = client_for(world.school_admin).get(reverse("imports:job-list")).content.decode()
    district = client_for(world.district_admin).get(reverse("imports:job-list")).content.decode()
    city = client_for(world.city_admin).get(reverse("imports:job-list")).content.decode()
    other = client_for(school_b_admin).get(reverse("imports:job-list")).content.decode()

    assert ">名单.csv<" in own
    assert "乙校名单.csv" not in own
    assert ">名单.csv<" in district
    assert "乙校名单.csv" not in district
    assert "乙校名单.csv" in city
    assert "乙校名单.csv" in other
    assert ">名单.csv<" not in other


@pytest.mark.parametrize("name", ["job-detail", "job-progress", "job-errors"])
def test_another_schools_users_get_404(world, client_for, name):
    url = reverse(f"imports:{name}", kwargs={"code": world.import_job.code})

    assert client_for(_school_b_admin(world)).get(url).status_code == 404
    assert client_for(world.psych_b).get(url).status_code == 404
    assert client_for(world.head_teacher_b).get(url).status_code == 404


@pytest.mark.parametrize("name", ["job-detail", "job-progress", "job-errors"])
def test_wrong_role_of_the_same_school_gets_403(world, client_for, name):
    url = reverse(f"imports:{name}", kwargs={"code": world.import_job.code})

    assert client_for(world.head_teacher).get(url).status_code == 403
    assert client_for(world.psych).get(url).status_code == 403


def test_wrong_role_cannot_open_or_post_the_import_page(world, client_for, tmp_path):
    for user in (world.head_teacher, world.psych, world.psych_b):
        client = client_for(user)
        assert client.get(reverse("imports:job-list")).status_code == 403
        response = upload(
            client, write_csv(tmp_path / "r.csv", [student_row(1)]), term=world.term.pk
        )
        assert response.status_code == 403
    assert ImportJob.objects.count() == 1


def test_nav_item_for_admins_only(world, client_for):
    home_admin = client_for(world.school_admin).get(reverse("home")).content.decode()
    home_teacher = client_for(world.head_teacher).get(reverse("home")).content.decode()

    assert reverse("imports:job-list") in home_admin
    assert reverse("imports:job-list") not in home_teacher


@pytest.mark.django_db(transaction=True)
def test_background_thread_runner_finishes_the_job(world, client_for, tmp_path, settings):
    """The embedded default: the request returns at once, a thread runs the import."""
    settings.XINQIAO_IMPORT_RUNNER = "thread"
    client = client_for(world.school_admin)

    response = upload(
        client,
        write_csv(tmp_path / "r.csv", [student_row(i) for i in range(1, 4)]),
        term=world.term.pk,
    )

    assert response.status_code == 302
    job = ImportJob.objects.exclude(pk=world.import_job.pk).get()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_done:
            break
        time.sleep(0.2)
    assert (job.status, job.created) == ("succeeded", 3)
