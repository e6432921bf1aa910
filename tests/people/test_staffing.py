"""Staff pages, invitations, leaving and coverage (issue 14, R12): real database, access rules
(another district → 404, wrong role → 403), history kept, every step audited."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from xinqiao.access.models import RoleAssignment, StaffInvitation
from xinqiao.access.staffing import accept_invitation, invite_staff, staff_leaves
from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.people.models import CoverageArrangement, Position, Staff, StaffPosition
from xinqiao.people.selectors import psychology_ratio
from xinqiao.people.staffing import selectors as coverage
from xinqiao.people.staffing import services


@pytest.fixture
def record(world):
    return services.create_staff_record(
        actor=None,
        name="钱老师",
        org_unit=world.school_a,
        gender="F",
        phone="13900001111",
        positions=[(Position.PSYCHOLOGY_TEACHER_PART, None, datetime.date(2025, 9, 1))],
    )


@pytest.fixture
def record_b(world):
    return services.create_staff_record(actor=None, name="孙老师", org_unit=world.school_b)


def test_add_staff_page_creates_a_record_without_account(world, client_for):
    client = client_for(world.school_admin)
    assert client.get(reverse("staff:add")).status_code == 200
    response = client.post(
        reverse("staff:add"),
        {
            "name": "周老师",
            "gender": "M",
            "org_unit": world.school_a.pk,
            "staff_number": "S-9",
            "phone": "13912345678",
            "employment_status": "employed",
            "position": Position.PSYCHOLOGY_TEACHER_FULL,
            "start_date": "2026-09-01",
        },
    )
    assert response.status_code == 302
    staff = Staff.objects.get(name="周老师")
    assert staff.user is None
    assert staff.positions.get().start_date == datetime.date(2026, 9, 1)
    assert AuditEvent.objects.filter(
        action="people.staff.created", object_id=str(staff.pk)
    ).exists()


def test_school_admin_cannot_place_staff_in_another_school(world, client_for):
    client = client_for(world.school_admin)
    response = client.post(
        reverse("staff:add"),
        {"name": "X", "org_unit": world.school_b.pk, "employment_status": "employed"},
    )
    assert response.status_code == 200
    assert not Staff.objects.filter(name="X").exists()


def test_detail_edit_and_scope(world, client_for, record, record_b):
    admin = client_for(world.school_admin)
    assert admin.get(reverse("staff:detail", args=[record.code])).status_code == 200
    assert admin.get(reverse("staff:detail", args=[record_b.code])).status_code == 404
    assert admin.get(reverse("staff:edit", args=[record_b.code])).status_code == 404
    # a psychology teacher views staff but may not edit
    psych = client_for(world.psych)
    assert psych.get(reverse("staff:detail", args=[record.code])).status_code == 200
    assert psych.get(reverse("staff:edit", args=[record.code])).status_code == 403
    # the district admin of district A edits school A's staff, not district B's
    district = client_for(world.district_admin)
    assert district.get(reverse("staff:edit", args=[record.code])).status_code == 200
    assert district.get(reverse("staff:edit", args=[record_b.code])).status_code == 404
    response = admin.post(
        reverse("staff:edit", args=[record.code]),
        {
            "name": "钱老师",
            "gender": "F",
            "org_unit": world.school_a.pk,
            "staff_number": "Q1",
            "phone": "13900001111",
            "employment_status": "employed",
        },
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.staff_number == "Q1"
    event = AuditEvent.objects.filter(action="people.staff.updated").latest("seq")
    assert event.fields == {"changed": ["staff_number"]}


def test_positions_are_added_and_ended_with_history(world, client_for, record):
    client = client_for(world.school_admin)
    response = client.post(
        reverse("staff:position-add", args=[record.code]),
        {"position": Position.PSYCHOLOGY_TEACHER_FULL, "start_date": "2026-09-01"},
    )
    assert response.status_code == 302
    part = record.positions.get(position=Position.PSYCHOLOGY_TEACHER_PART)
    client.post(
        reverse("staff:position-end", args=[record.code, part.pk]), {"end_date": "2026-08-31"}
    )
    part.refresh_from_db()
    assert part.end_date == datetime.date(2026, 8, 31)
    assert StaffPosition.objects.filter(staff=record).count() == 2
    assert list(
        StaffPosition.objects.current().filter(staff=record).values_list("position", flat=True)
    ) == [Position.PSYCHOLOGY_TEACHER_FULL]
    # an ended post no longer counts in the ratio
    (row,) = [
        r
        for r in psychology_ratio(principal=_principal(world.school_admin))
        if r.school == world.school_a
    ]
    assert (row.full_time, row.part_time) == (1, 0)


def _principal(user):
    from xinqiao.access.scope import principal_for

    return principal_for(get_user_model().objects.get(pk=user.pk))


def test_add_qualification_with_file(world, client_for, record):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(world.school_admin)
    response = client.post(
        reverse("staff:qualification-add", args=[record.code]),
        {
            "kind": "mhe_certificate_b",
            "number": "B-2024-001",
            "issuer": "江西省教育厅",
            "issued_on": "2024-06-01",
            "file": SimpleUploadedFile(
                "cert.pdf", b"%PDF-1.4 test", content_type="application/pdf"
            ),
        },
    )
    assert response.status_code == 302
    qualification = record.qualifications.get()
    assert qualification.kind == "mhe_certificate_b"
    assert qualification.file.name.startswith("qualifications/")
    from django.conf import settings

    stored = (settings.MEDIA_ROOT / qualification.file.name).read_bytes()
    assert b"%PDF" not in stored  # sealed at rest
    # the same certificate twice is refused with a message, not a crash
    again = client.post(
        reverse("staff:qualification-add", args=[record.code]),
        {"kind": "mhe_certificate_b", "number": "B-2024-001"},
        follow=True,
    )
    assert record.qualifications.count() == 1
    assert "already recorded" in again.content.decode()


def test_invitation_lets_the_person_set_their_own_password(world, client_for, record):
    client = client_for(world.school_admin)
    response = client.post(
        reverse("staff:invite", args=[record.code]), {"role": "psychology_teacher"}
    )
    assert response.status_code == 200
    token = response.context["token"]
    invitation = StaffInvitation.objects.get(staff=record)
    assert token not in invitation.token_hash
    assert len(invitation.token_hash) == 64
    visitor = Client()
    url = reverse("account:invitation", args=[token])
    assert visitor.get(url).status_code == 200
    answer = visitor.post(
        url,
        {
            "username": "qian_t",
            "password": "Xq!long-pass-2026",
            "password_again": "Xq!long-pass-2026",
        },
    )
    assert answer.status_code == 302
    record.refresh_from_db()
    assert record.user.username == "qian_t"
    assert record.user.check_password("Xq!long-pass-2026")
    assert RoleAssignment.objects.filter(
        user=record.user, role="psychology_teacher", is_active=True
    ).exists()
    # used up: a second visit is a 404
    assert visitor.get(url).status_code == 404


def test_invitation_form_passes_the_csrf_check_a_browser_makes(world, record):
    """The page keeps its code out of every Referer, but a browser must still send the real
    Origin with the form's POST: under "Referrer-Policy: no-referrer" it sends `Origin: null`
    (Fetch, "serializing a request origin") and the CSRF check refused every acceptance (403)."""
    _invitation, token = invite_staff(actor=world.school_admin, staff=record)
    visitor = Client(enforce_csrf_checks=True)
    url = reverse("account:invitation", args=[token])
    page = visitor.get(url)
    policy = page["Referrer-Policy"]
    assert policy in {"strict-origin", "origin", "same-origin"}  # never the full URL elsewhere
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert csrf is not None
    origin = "null" if policy == "no-referrer" else "http://testserver"  # what Chromium sends
    answer = visitor.post(
        url,
        {
            "csrfmiddlewaretoken": csrf.group(1),
            "username": "qian_t",
            "password": "Xq!long-pass-2026",
            "password_again": "Xq!long-pass-2026",
        },
        HTTP_ORIGIN=origin,
    )
    assert answer.status_code == 302
    record.refresh_from_db()
    assert record.user.username == "qian_t"


def test_invitation_expires_and_a_new_one_revokes_the_old(world, record):
    _invitation, token = invite_staff(actor=world.school_admin, staff=record)
    _second, token2 = invite_staff(actor=world.school_admin, staff=record)
    with pytest.raises(DomainError):
        accept_invitation(token=token, username="a1", password="Xq!long-pass-2026")
    StaffInvitation.objects.filter(token_hash__isnull=False).update(
        expires_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    )
    with pytest.raises(DomainError):
        accept_invitation(token=token2, username="a2", password="Xq!long-pass-2026")
    assert Client().get(reverse("account:invitation", args=[token2])).status_code == 404


def test_leaving_ends_posts_roles_and_account(world, client_for):
    staff = world.psych.staff
    StaffPosition.objects.create(
        staff=staff, position=Position.PSYCHOLOGY_TEACHER_FULL, org_unit=world.school_a
    )
    client = client_for(world.school_admin)
    assert client.get(reverse("staff:leave", args=[staff.code])).status_code == 200
    response = client.post(reverse("staff:leave", args=[staff.code]), {"end_date": ""})
    assert response.status_code == 302
    staff.refresh_from_db()
    assert not staff.is_active
    assert staff.employment_status == "left"
    assert not staff.positions.filter(end_date__isnull=True).exists()
    assert not RoleAssignment.objects.filter(user=world.psych, is_active=True).exists()
    world.psych.refresh_from_db()
    assert not world.psych.is_active
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"people.staff.left", "access.role.revoked", "access.account.deactivated"} <= actions
    with pytest.raises(DomainError):
        staff_leaves(actor=world.school_admin, staff=staff)


def test_coverage_arrangement_covers_a_small_school(world, client_for):
    # school B has 700 students and no psychology teacher: short until a station covers it
    principal = _principal(world.city_admin)
    row_b = next(r for r in psychology_ratio(principal=principal) if r.school == world.school_b)
    assert row_b.students <= 800 or row_b.students == 0
    client = client_for(world.city_admin)
    assert client.get(reverse("staff:coverage")).status_code == 200
    response = client.post(
        reverse("staff:coverage-add"),
        {"school": world.school_b.pk, "supporter": world.station_a.pk, "start_date": "2026-01-01"},
    )
    assert response.status_code == 302
    arrangement = CoverageArrangement.objects.get()
    row_b = next(
        r
        for r in psychology_ratio(principal=_principal(world.city_admin))
        if r.school == world.school_b
    )
    assert row_b.covered_by == world.station_a
    assert not row_b.short
    # a school admin of school A may not end district B's arrangement (not in their scope)
    other = client_for(world.school_admin)
    assert other.post(reverse("staff:coverage-end", args=[arrangement.code])).status_code == 404
    client.post(reverse("staff:coverage-end", args=[arrangement.code]))
    arrangement.refresh_from_db()
    assert arrangement.end_date is not None


def test_district_coverage_counts_station_staff_and_research_teachers(world):
    principal = _principal(world.city_admin)
    rows = {r.district.pk: r for r in coverage.district_coverage(principal=principal)}
    assert rows[world.district_a.pk].stations == [(world.station_a, 0)]
    assert rows[world.district_a.pk].short
    services.create_staff_record(
        actor=None,
        name="站专职",
        org_unit=world.station_a,
        positions=[(Position.STATION_COUNSELLOR, None, None)],
    )
    services.create_staff_record(
        actor=None,
        name="教研员",
        org_unit=world.district_a,
        positions=[(Position.RESEARCH_TEACHER, None, None)],
    )
    rows = {
        r.district.pk: r for r in coverage.district_coverage(principal=_principal(world.city_admin))
    }
    assert rows[world.district_a.pk].stations == [(world.station_a, 1)]
    assert rows[world.district_a.pk].research_teachers == 1
    assert not rows[world.district_a.pk].short
    assert rows[world.district_b.pk].short  # no station, no research teacher


def test_staff_list_links_and_buttons(world, client_for, record):
    page = client_for(world.school_admin).get(reverse("people:staff-list")).content.decode()
    assert reverse("staff:detail", args=[record.code]) in page
    assert reverse("staff:add") in page
    psych_page = client_for(world.psych).get(reverse("people:staff-list")).content.decode()
    assert reverse("staff:add") not in psych_page


# --- qualifications: edit, remove, the sealed scan -----------------------------------------------
@pytest.fixture
def qualification(record):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return services.add_qualification(
        actor=None,
        staff=record,
        kind="mhe_certificate_c",
        number="C-1",
        issuer="示例市教育局",
        file=SimpleUploadedFile("c.pdf", b"%PDF-1.4 scan C", content_type="application/pdf"),
    )


def _urls(record, qualification):
    args = [record.code, qualification.code]
    return {
        name: reverse(f"staff:qualification-{name}", args=args)
        for name in ("edit", "remove", "scan")
    }


def test_qualification_is_edited_with_before_and_after_in_the_audit(
    world, client_for, record, qualification, django_capture_on_commit_callbacks
):
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(world.school_admin)
    urls = _urls(record, qualification)
    assert client.get(urls["edit"]).status_code == 200
    old_file = qualification.file.name
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            urls["edit"],
            {
                "kind": "mhe_certificate_b",
                "number": "B-7",
                "issuer": "示例市教育局",
                "issued_on": "2025-06-01",
                "file": SimpleUploadedFile(
                    "b.png", b"\x89PNG\r\n\x1a\n new", content_type="image/png"
                ),
            },
        )
    assert response.status_code == 302
    qualification.refresh_from_db()
    assert (qualification.kind, qualification.number) == ("mhe_certificate_b", "B-7")
    assert qualification.issued_on == datetime.date(2025, 6, 1)
    assert qualification.file.name != old_file
    assert not (settings.MEDIA_ROOT / old_file).exists()  # the replaced scan is gone
    assert b"PNG" not in (settings.MEDIA_ROOT / qualification.file.name).read_bytes()
    event = AuditEvent.objects.filter(action="people.qualification.updated").latest("seq")
    assert event.fields["changed"]["kind"] == ["mhe_certificate_c", "mhe_certificate_b"]
    assert event.fields["changed"]["number"] == ["C-1", "B-7"]
    assert event.fields["file"] is True


def test_qualification_edit_refuses_a_duplicate_number(world, client_for, record, qualification):
    services.add_qualification(actor=None, staff=record, kind="mhe_certificate_b", number="B-1")
    client = client_for(world.school_admin)
    response = client.post(
        _urls(record, qualification)["edit"], {"kind": "mhe_certificate_b", "number": "B-1"}
    )
    assert response.status_code == 200
    assert "already recorded" in response.content.decode()
    qualification.refresh_from_db()
    assert qualification.kind == "mhe_certificate_c"


def test_qualification_removal_keeps_an_audit_record(
    world, client_for, record, qualification, django_capture_on_commit_callbacks
):
    from django.conf import settings

    stored = settings.MEDIA_ROOT / qualification.file.name
    assert stored.exists()
    client = client_for(world.district_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_urls(record, qualification)["remove"])
    assert response.status_code == 302
    assert not record.qualifications.exists()
    assert not stored.exists()
    event = AuditEvent.objects.get(action="people.qualification.removed")
    assert event.object_id == str(qualification.pk)
    assert event.fields["kind"] == "mhe_certificate_c"
    assert event.fields["number"] == "C-1"
    assert event.fields["issuer"] == "示例市教育局"
    assert event.fields["file"] is True


def test_scan_is_served_decrypted_to_editors_with_an_audited_read(
    world, client_for, record, qualification
):
    client = client_for(world.school_admin)
    response = client.get(_urls(record, qualification)["scan"])
    assert response.status_code == 200
    assert response.content == b"%PDF-1.4 scan C"
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert AuditEvent.objects.filter(
        action="people.qualification.scan_viewed", object_id=str(qualification.pk)
    ).exists()
    # the staff page links the scan for editors
    page = client.get(reverse("staff:detail", args=[record.code])).content.decode()
    assert _urls(record, qualification)["scan"] in page


def test_qualification_pages_refuse_other_schools_and_other_roles(
    world, client_for, record, qualification
):
    urls = _urls(record, qualification)
    # a psychology teacher of the same school sees the record but may not change it or read scans
    psych = client_for(world.psych)
    assert psych.get(urls["edit"]).status_code == 403
    assert psych.get(urls["scan"]).status_code == 403
    assert psych.post(urls["remove"]).status_code == 403
    page = psych.get(reverse("staff:detail", args=[record.code])).content.decode()
    assert urls["scan"] not in page
    # school B's psychology teacher (another school, wrong role) and a district B admin: refused
    assert client_for(world.psych_b).get(urls["scan"]).status_code == 403
    other_district = _other_district_admin(world)
    assert client_for(other_district).get(urls["edit"]).status_code == 404
    assert client_for(other_district).get(urls["scan"]).status_code == 404
    assert client_for(other_district).post(urls["remove"]).status_code == 404
    assert record.qualifications.count() == 1
    assert not AuditEvent.objects.filter(action="people.qualification.scan_viewed").exists()
    # a qualification of another staff record is not reachable through this one's URL
    record_b = services.create_staff_record(actor=None, name="孙老师", org_unit=world.school_a)
    wrong = reverse("staff:qualification-edit", args=[record_b.code, qualification.code])
    assert client_for(world.school_admin).get(wrong).status_code == 404


def _other_district_admin(world):
    from xinqiao.access.services import assign_role

    user = get_user_model().objects.create_user("district_admin_b", password="x")
    assign_role(actor=None, user=user, role="district_admin", org_unit=world.district_b)
    return user


# --- coverage arrangements: edit, with the history kept ---------------------------------------
def test_coverage_arrangement_is_edited_and_its_history_kept(world, client_for):
    from xinqiao.orgs.services import create_unit

    other_school = create_unit(actor=None, parent=world.district_b, kind="school", name="乙区二小")
    arrangement = services.arrange_coverage(
        actor=None,
        school=world.school_b,
        supporter=world.station_a,
        start_date=datetime.date(2026, 1, 1),
    )
    client = client_for(world.city_admin)
    url = reverse("staff:coverage-edit", args=[arrangement.code])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "supporter": other_school.pk,
            "start_date": "2026-02-01",
            "end_date": "2026-07-31",
            "note": "对口援助",
        },
    )
    assert response.status_code == 302
    arrangement.refresh_from_db()
    assert arrangement.supporter == other_school
    assert arrangement.start_date == datetime.date(2026, 2, 1)
    assert arrangement.end_date == datetime.date(2026, 7, 31)
    event = AuditEvent.objects.get(action="people.coverage.updated")
    assert event.fields["changed"]["supporter"] == [world.station_a.pk, other_school.pk]
    assert event.fields["changed"]["start_date"] == ["2026-01-01", "2026-02-01"]
    # an end before the start is refused with a message on the form
    bad = client.post(
        url, {"supporter": other_school.pk, "start_date": "2026-02-01", "end_date": "2026-01-01"}
    )
    assert bad.status_code == 200
    arrangement.refresh_from_db()
    assert arrangement.end_date == datetime.date(2026, 7, 31)
    # the coverage page lists ended arrangements too (history), with their edit link
    page = client.get(reverse("staff:coverage")).content.decode()
    assert url in page
    # refusals: school A's admin (another school) 404; a psychology teacher (wrong role) 403
    assert client_for(world.school_admin).get(url).status_code == 404
    assert client_for(world.psych).get(url).status_code == 403
    assert (
        client_for(world.school_admin).post(url, {"supporter": world.school_a.pk}).status_code
        == 404
    )
