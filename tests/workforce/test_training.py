"""Training records (R13): the service, the yearly thresholds per teacher, school, district and
city, and the pages with their scope (another school's teacher 404, a wrong role 403)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from xinqiao.access.scope import principal_for
from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.workforce import selectors, services
from xinqiao.workforce.models import TrainingRecord

from .conftest import add

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_add_training_is_audited(w):
    record = add(w.full, 12, actor=w.school_admin)
    event = AuditEvent.objects.get(action="workforce.training.created")
    assert event.object_id == str(record.pk)
    assert event.fields["hours"] == "12.0"
    assert record.end_date == record.start_date


def test_same_course_same_start_is_refused(w):
    add(w.full, 3, course="心理危机干预")
    with pytest.raises(DomainError):
        add(w.full, 4, course="心理危机干预")
    assert TrainingRecord.objects.filter(staff=w.full).count() == 1


def test_end_before_start_is_refused(w):
    with pytest.raises(DomainError) as refused:
        services.add_training(
            actor=None,
            staff=w.full,
            course="x",
            start_date=datetime.date(2026, 10, 2),
            end_date=datetime.date(2026, 10, 1),
            hours=Decimal(2),
            level="city",
            mode="online",
        )
    assert refused.value.field == "end_date"


def test_update_and_remove_keep_an_audit_trail(w):
    record = add(w.full, 3)
    services.update_training(record, actor=w.school_admin, hours=Decimal("4.5"))
    updated = AuditEvent.objects.get(action="workforce.training.updated")
    assert updated.fields["hours"] == ["3.0", "4.5"]
    services.remove_training(record, actor=w.school_admin)
    removed = AuditEvent.objects.get(action="workforce.training.removed")
    assert removed.fields["course"] == record.course
    assert not TrainingRecord.objects.filter(pk=record.pk).exists()


def _school(w, user, year=2026):
    rows, tally = selectors.school_training(
        principal=principal_for(user), school=w.school_a, year=year
    )
    return {r.staff.pk: r for r in rows}, tally


def test_thresholds_per_category(w):
    add(w.full, 39.5)
    add(w.key, 10)
    add(w.moral, 9.5)
    add(w.other, 1)
    rows, _tally = _school(w, w.school_admin)
    assert (rows[w.full.pk].category, rows[w.full.pk].met) == ("full_time", False)
    assert (rows[w.key.pk].category, rows[w.key.pk].met) == ("key", True)
    assert (rows[w.moral.pk].category, rows[w.moral.pk].met) == ("key", False)
    assert (rows[w.other.pk].category, rows[w.other.pk].met) == ("other", True)
    add(w.full, 0.5, course="补学")
    rows, _tally = _school(w, w.school_admin)
    assert rows[w.full.pk].hours == Decimal("40.0")
    assert rows[w.full.pk].met is True


def test_hours_have_one_decimal_place_on_every_database(w):
    """A teacher's yearly hours read as a record's do ("42.0", "0.0"): PostgreSQL's SUM kept the
    scale and SQLite's dropped it, so the summary page showed 42.0 on one and 42 on the other."""
    add(w.full, 36)
    add(w.full, 6, course="团体心理辅导")
    rows, _tally = _school(w, w.school_admin)
    assert (str(rows[w.full.pk].hours), str(rows[w.key.pk].hours)) == ("42.0", "0.0")


def test_only_the_school_year_counts(w):
    add(w.full, 40, day=datetime.date(2026, 8, 31))  # the year before
    add(w.other, 2, day=datetime.date(2027, 8, 31))  # last day of 2026–2027 (no 2027 terms)
    rows, _tally = _school(w, w.school_admin)
    assert rows[w.full.pk].hours == Decimal(0)
    assert rows[w.other.pk].courses == 1
    before, _t = _school(w, w.school_admin, year=2025)
    assert before[w.full.pk].hours == Decimal(40)


def test_school_share_counts_every_active_teacher(w):
    add(w.full, 40)
    add(w.key, 10)
    _rows, tally = _school(w, w.school_admin)
    # full, key, moral, other + the school's personas (school admin, psych, head teacher)
    assert tally.teachers == 7
    assert tally.met == 2
    assert tally.share == 29
    full = next(c for c in tally.categories() if c["category"] == "full_time")
    assert (full["teachers"], full["met"]) == (1, 1)


def test_district_and_city_tallies(w):
    add(w.full, 40)
    add(w.teacher_b, 1)
    parts, total = selectors.area_training(
        principal=principal_for(w.city_admin), unit=w.city, year=2026
    )
    by_unit = {p.unit.pk: p.tally for p in parts}
    assert (by_unit[w.district_a.pk].teachers, by_unit[w.district_a.pk].met) == (7, 1)
    assert (by_unit[w.district_b.pk].teachers, by_unit[w.district_b.pk].met) == (2, 1)
    assert (total.teachers, total.met) == (9, 2)
    schools, _total = selectors.area_training(
        principal=principal_for(w.district_admin), unit=w.district_a, year=2026
    )
    assert [(p.unit.pk, p.tally.met) for p in schools] == [(w.school_a.pk, 1)]


def test_district_summary_never_counts_another_district(w):
    add(w.teacher_b, 1)
    _parts, total = selectors.area_training(
        principal=principal_for(w.district_admin), unit=w.city, year=2026
    )
    assert total.met == 0


# --- pages ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["city_admin", "district_admin", "school_admin", "psych"])
def test_summary_page_for_each_level(w, client_for, who):
    add(w.full, 40)
    response = client_for(getattr(w, who)).get(reverse("workforce:training-summary"))
    assert response.status_code == 200
    assert "data-share" in response.content.decode()


def test_summary_page_of_a_school_lists_its_teachers_only(w, client_for):
    url = reverse("workforce:training-summary") + f"?unit={w.school_a.code}&year=2026"
    body = client_for(w.district_admin).get(url).content.decode()
    assert "专职甲" in body
    assert "乙校老师" not in body


def test_summary_of_another_district_is_404(w, client_for):
    url = reverse("workforce:training-summary") + f"?unit={w.school_b.code}"
    assert client_for(w.district_admin).get(url).status_code == 404
    assert client_for(w.school_admin).get(url).status_code == 404


def test_summary_wrong_role_is_403(w, client_for):
    assert client_for(w.head_teacher).get(reverse("workforce:training-summary")).status_code == 403


def test_teacher_page_of_another_school_is_404(w, client_for):
    url = reverse("workforce:staff-training", kwargs={"code": w.teacher_b.code})
    assert client_for(w.school_admin).get(url).status_code == 404
    assert client_for(w.district_admin).get(url).status_code == 404
    assert client_for(w.city_admin).get(url).status_code == 200


def test_teacher_page_wrong_role_is_403(w, client_for):
    url = reverse("workforce:staff-training", kwargs={"code": w.full.code})
    assert client_for(w.head_teacher).get(url).status_code == 403
    create = reverse("workforce:training-create", kwargs={"code": w.full.code})
    assert client_for(w.psych).get(create).status_code == 403
    assert client_for(w.station_counsellor).get(create).status_code == 403


def test_add_edit_remove_through_the_pages(w, client_for):
    client = client_for(w.school_admin)
    create = reverse("workforce:training-create", kwargs={"code": w.full.code})
    response = client.post(
        create,
        {
            "course": "心理健康教育骨干教师培训",
            "provider": "市教育学院",
            "start_date": "2026-10-12",
            "end_date": "2026-10-14",
            "hours": "24",
            "level": "city",
            "mode": "offline",
            "certificate": SimpleUploadedFile("证书.png", PNG),
        },
    )
    assert response.status_code == 302
    record = TrainingRecord.objects.get(staff=w.full)
    assert record.certificate_type == "image/png"
    cert = client.get(reverse("workforce:training-certificate", kwargs={"code": record.code}))
    assert cert.content == PNG
    assert AuditEvent.objects.filter(action="workforce.training.certificate_viewed").count() == 1
    edit = reverse("workforce:training-edit", kwargs={"code": record.code})
    assert client.get(edit).status_code == 200
    response = client.post(
        edit,
        {
            "course": record.course,
            "start_date": "2026-10-12",
            "end_date": "",
            "hours": "16",
            "level": "city",
            "mode": "online",
        },
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.hours, record.mode, record.end_date) == (
        Decimal("16.0"),
        "online",
        datetime.date(2026, 10, 12),
    )
    remove = reverse("workforce:training-remove", kwargs={"code": record.code})
    assert client.post(remove).status_code == 302
    assert not TrainingRecord.objects.filter(pk=record.pk).exists()


def test_form_errors_in_the_users_language(w, client_for):
    add(w.full, 3, course="重复课程")
    client = client_for(w.school_admin)
    create = reverse("workforce:training-create", kwargs={"code": w.full.code})
    data = {
        "course": "重复课程",
        "start_date": "2026-10-10",
        "hours": "3",
        "level": "city",
        "mode": "offline",
        "certificate": SimpleUploadedFile("a.txt", b"hello"),
    }
    response = client.post(create, data, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert "PDF" in response.content.decode()


def test_edit_a_record_of_another_school_is_404(w, client_for):
    record = add(w.teacher_b, 2)
    url = reverse("workforce:training-edit", kwargs={"code": record.code})
    assert client_for(w.school_admin).get(url).status_code == 404
    remove = reverse("workforce:training-remove", kwargs={"code": record.code})
    assert client_for(w.school_admin).post(remove).status_code == 404
    assert TrainingRecord.objects.filter(pk=record.pk).exists()


def test_psych_sees_but_does_not_edit(w, client_for):
    record = add(w.full, 2)
    client = client_for(w.psych)
    url = reverse("workforce:staff-training", kwargs={"code": w.full.code})
    body = client.get(url).content.decode()
    assert record.course in body
    assert reverse("workforce:training-edit", kwargs={"code": record.code}) not in body
    edit = reverse("workforce:training-edit", kwargs={"code": record.code})
    assert client.get(edit).status_code == 403


def test_a_post_ended_before_the_year_does_not_count(w):
    from xinqiao.people.models import StaffPosition

    StaffPosition.objects.filter(staff=w.full).update(end_date=datetime.date(2026, 7, 1))
    add(w.full, 1)
    rows, _tally = _school(w, w.school_admin)
    assert (rows[w.full.pk].category, rows[w.full.pk].met) == ("other", True)
