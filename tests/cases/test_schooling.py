"""Suspension and return (R10): the student's status follows; a return needs three pieces."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from xinqiao.audit.models import AuditEvent
from xinqiao.cases.models import DocumentKind, SchoolingChange, SchoolingChangeKind
from xinqiao.cases.panels import panels_for
from xinqiao.cases.services import schooling as services
from xinqiao.cases.services.schooling import ReturnIncomplete
from xinqiao.cases.views.schooling import panel
from xinqiao.core.errors import DomainError
from xinqiao.people.models import StudentStatus
from xinqiao.screening.models import Assignment, AssignmentStatus

TODAY = datetime.date(2026, 10, 12)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def pdf(name: str = "diagnosis.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4\n% medical paper\n", content_type="application/pdf")


def png(name: str = "scan.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"\x89PNG\r\n\x1a\n" + b"0" * 32, content_type="image/png")


def suspend(world, **overrides):
    args = {
        "actor": world.psych,
        "reason": "重度抑郁发作，住院治疗",
        "effective_on": TODAY,
        "expected_until": TODAY + datetime.timedelta(days=90),
        "documents": [pdf(), png()],
        "client_key": uuid.uuid4().hex,
    }
    case = overrides.pop("case", world.case_a2)
    args.update(overrides)
    return services.suspend_student(case, **args)


def return_args(world, **overrides):
    args = {
        "actor": world.psych,
        "returned_on": TODAY + datetime.timedelta(days=60),
        "medical_opinion": "病情稳定，可复学，继续门诊随访",
        "opinion_documents": [pdf("opinion.pdf")],
        "return_assessment": "情绪平稳，社会功能恢复",
        "return_plan": "前两周半天上课，每周随访",
        "client_key": uuid.uuid4().hex,
    }
    args.update(overrides)
    return args


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


# --- suspension -------------------------------------------------------------------------------


def test_suspension_sets_the_student_suspended_with_documents(world):
    change = suspend(world)

    world.stu_a2.refresh_from_db()
    assert world.stu_a2.status == StudentStatus.SUSPENDED
    assert change.kind == SchoolingChangeKind.SUSPENSION
    assert change.student_id == world.stu_a2.pk
    docs = list(change.documents.order_by("original_name"))
    assert [d.original_name for d in docs] == ["diagnosis.pdf", "scan.png"]
    assert {d.kind for d in docs} == {DocumentKind.MEDICAL}
    assert {d.case_id for d in docs} == {world.case_a2.pk}
    tail = actions()[-2:]
    assert tail == ["people.student.updated", "cases.suspension.recorded"]
    event = AuditEvent.objects.get(action="cases.suspension.recorded")
    assert event.school_id == world.school_a.pk
    assert event.fields["documents"] == 2
    assert "重度抑郁" not in str(event.fields)


def test_suspension_reason_is_encrypted_at_rest(world):
    change = suspend(world)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT reason FROM {SchoolingChange._meta.db_table} WHERE id = %s",  # noqa: S608
            [change.pk],
        )
        raw = cursor.fetchone()[0]
    assert "抑郁" not in raw
    change.refresh_from_db()
    assert change.reason == "重度抑郁发作，住院治疗"


def test_cannot_suspend_twice(world):
    suspend(world)
    with pytest.raises(DomainError, match="already suspended"):
        suspend(world)
    assert SchoolingChange.objects.count() == 1


def test_repeated_client_key_records_one_suspension(world):
    first = suspend(world, client_key="suspend-key-1")
    # The student is suspended now, yet the repeat returns the first change instead of refusing.
    assert suspend(world, client_key="suspend-key-1") == first
    assert SchoolingChange.objects.count() == 1
    assert AuditEvent.objects.filter(action="cases.suspension.recorded").count() == 1


def test_client_key_of_another_schools_case_is_refused(world):
    from xinqiao.cases.models import Case

    now = timezone.now()
    case_b1 = Case.objects.create(
        student=world.stu_b1,
        school=world.school_b,
        level="orange",
        level_since=now,
        owner=world.psych_b,
        opened_at=now,
        opened_by=world.psych_b,
    )
    theirs = suspend(world, case=case_b1, actor=world.psych_b, client_key="shared-key")
    with pytest.raises(DomainError, match="form has expired"):
        suspend(world, client_key="shared-key")
    assert list(SchoolingChange.objects.all()) == [theirs]
    world.stu_a2.refresh_from_db()
    assert world.stu_a2.status == StudentStatus.ENROLLED


def test_a_suspension_key_does_not_record_a_return(world):
    suspend(world, client_key="suspend-key-2")
    with pytest.raises(DomainError, match="form has expired"):
        services.return_student(world.case_a2, **return_args(world, client_key="suspend-key-2"))
    world.stu_a2.refresh_from_db()
    assert world.stu_a2.status == StudentStatus.SUSPENDED


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reason": "  "}, "reason"),
        ({"effective_on": None}, "effective_on"),
        ({"expected_until": TODAY}, "expected_until"),
        ({"documents": []}, "documents"),
    ],
)
def test_suspension_refuses_missing_pieces(world, overrides, field):
    with pytest.raises(DomainError) as exc:
        suspend(world, **overrides)
    assert exc.value.field == field
    world.stu_a2.refresh_from_db()
    assert world.stu_a2.status == StudentStatus.ENROLLED
    assert not SchoolingChange.objects.exists()


def test_suspension_refuses_a_file_that_is_not_a_document(world):
    bad = SimpleUploadedFile("x.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    with pytest.raises(DomainError) as exc:
        suspend(world, documents=[pdf(), bad])
    assert exc.value.field == "documents"
    world.stu_a2.refresh_from_db()
    assert world.stu_a2.status == StudentStatus.ENROLLED


@pytest.mark.parametrize("who", ["psych_b", "school_admin", "head_teacher", "station_counsellor"])
def test_only_the_schools_psychology_teacher_suspends(world, who):
    with pytest.raises(PermissionDenied):
        suspend(world, actor=getattr(world, who))
    world.stu_a2.refresh_from_db()
    assert world.stu_a2.status == StudentStatus.ENROLLED


def test_suspension_sets_open_screening_assignment_apart(world, django_capture_on_commit_callbacks):
    assert (
        Assignment.objects.get(campaign=world.campaign, student=world.stu_a2).status
        == AssignmentStatus.ASSIGNED
    )
    with django_capture_on_commit_callbacks(execute=True):
        suspend(world)
    assignment = Assignment.objects.get(campaign=world.campaign, student=world.stu_a2)
    assert assignment.status == AssignmentStatus.SUSPENDED

    with django_capture_on_commit_callbacks(execute=True):
        services.return_student(world.case_a2, **return_args(world))
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.ASSIGNED


# --- return -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "field", "words"),
    [
        ({"medical_opinion": ""}, "medical_opinion", "medical opinion"),
        ({"opinion_documents": []}, "opinion_documents", "document"),
        ({"return_assessment": " "}, "return_assessment", "return assessment"),
        ({"return_plan": ""}, "return_plan", "return plan"),
    ],
)
def test_return_refused_until_every_piece_is_there(world, missing, field, words):
    suspend(world)
    with pytest.raises(ReturnIncomplete) as exc:
        services.return_student(world.case_a2, **return_args(world, **missing))
    assert list(exc.value.missing) == [field]
    assert words in exc.value.missing[field]
    world.stu_a2.refresh_from_db()
    assert world.stu_a2.status == StudentStatus.SUSPENDED
    assert not SchoolingChange.objects.filter(kind=SchoolingChangeKind.RETURN).exists()


def test_return_names_every_missing_piece_at_once(world):
    suspend(world)
    with pytest.raises(ReturnIncomplete) as exc:
        services.return_student(
            world.case_a2,
            **return_args(
                world,
                medical_opinion="",
                opinion_documents=[],
                return_assessment="",
                return_plan="",
            ),
        )
    assert set(exc.value.missing) == {
        "medical_opinion",
        "opinion_documents",
        "return_assessment",
        "return_plan",
    }


def test_return_with_all_pieces_enrols_and_schedules_a_follow_up(world):
    suspend(world)
    world.case_a2.next_follow_up_due = timezone.now() + datetime.timedelta(days=200)
    world.case_a2.save(update_fields=["next_follow_up_due"])
    args = return_args(world)

    change = services.return_student(world.case_a2, **args)

    world.stu_a2.refresh_from_db()
    assert world.stu_a2.status == StudentStatus.ENROLLED
    assert change.kind == SchoolingChangeKind.RETURN
    assert change.medical_opinion == args["medical_opinion"]
    assert change.return_assessment == args["return_assessment"]
    assert change.return_plan == args["return_plan"]
    assert [d.kind for d in change.documents.all()] == [DocumentKind.MEDICAL_OPINION]
    world.case_a2.refresh_from_db()
    first_day_back = timezone.make_aware(
        datetime.datetime.combine(args["returned_on"] + datetime.timedelta(days=1), datetime.time())
    )
    assert world.case_a2.next_follow_up_due == first_day_back
    assert actions()[-2:] == ["people.student.updated", "cases.return.recorded"]


def test_return_keeps_a_sooner_follow_up(world):
    suspend(world)
    sooner = timezone.now() + datetime.timedelta(days=1)
    world.case_a2.next_follow_up_due = sooner
    world.case_a2.save(update_fields=["next_follow_up_due"])
    services.return_student(world.case_a2, **return_args(world))
    world.case_a2.refresh_from_db()
    assert world.case_a2.next_follow_up_due == sooner


def test_repeated_client_key_records_one_return(world):
    suspend(world)
    first = services.return_student(world.case_a2, **return_args(world, client_key="ret-1"))
    again = services.return_student(world.case_a2, **return_args(world, client_key="ret-1"))
    assert again == first
    assert SchoolingChange.objects.filter(kind=SchoolingChangeKind.RETURN).count() == 1
    assert AuditEvent.objects.filter(action="cases.return.recorded").count() == 1


def test_cannot_return_a_student_who_is_not_suspended(world):
    with pytest.raises(DomainError, match="not suspended"):
        services.return_student(world.case_a2, **return_args(world))


def test_return_cannot_predate_the_suspension(world):
    suspend(world)
    with pytest.raises(DomainError) as exc:
        services.return_student(
            world.case_a2, **return_args(world, returned_on=TODAY - datetime.timedelta(days=1))
        )
    assert exc.value.field == "returned_on"


def test_return_refused_for_another_school(world):
    suspend(world)
    with pytest.raises(PermissionDenied):
        services.return_student(world.case_a2, **return_args(world, actor=world.psych_b))


def test_suspend_again_after_return(world):
    suspend(world)
    services.return_student(world.case_a2, **return_args(world))
    suspend(world, effective_on=TODAY + datetime.timedelta(days=100), expected_until=None)
    world.stu_a2.refresh_from_db()
    assert world.stu_a2.status == StudentStatus.SUSPENDED
    assert SchoolingChange.objects.count() == 3


# --- the panel --------------------------------------------------------------------------------


def _principal(user):
    from xinqiao.access.scope import principal_for

    return principal_for(user)


def fresh(case):
    from xinqiao.cases.models import Case

    return Case.objects.select_related("student", "school").get(pk=case.pk)


def test_panel_is_registered_and_shows_texts_to_the_psychology_teacher(world):
    suspend(world)
    built = panel(_principal(world.psych), fresh(world.case_a2))
    assert built is not None
    ctx = built.context["schooling"]
    assert ctx["show_texts"] is True
    assert ctx["can_return"] is True
    assert ctx["can_suspend"] is False
    assert [c.kind for c in ctx["history"]] == ["suspension"]
    assert "cases/schooling/_panel.html" in [
        p.template for p in panels_for(principal=_principal(world.psych), case=fresh(world.case_a2))
    ]
    assert AuditEvent.objects.filter(action="cases.case.schooling_viewed").count() == 2


def test_panel_hides_texts_and_actions_from_the_leader(world):
    from django.template.loader import render_to_string

    suspend(world)
    built = panel(_principal(world.school_admin), fresh(world.case_a2))
    ctx = built.context["schooling"]
    assert ctx["show_texts"] is False
    assert ctx["can_return"] is False
    html = render_to_string(built.template, built.context)
    assert "重度抑郁" not in html
    assert "Suspension" in html
    assert not AuditEvent.objects.filter(action="cases.case.schooling_viewed").exists()


def test_panel_for_a_role_without_cases_is_none(world):
    assert panel(_principal(world.head_teacher), world.case_a2) is None


def test_panel_renders_for_the_psychology_teacher(world):
    from django.template.loader import render_to_string

    suspend(world)
    built = panel(_principal(world.psych), fresh(world.case_a2))
    html = render_to_string(built.template, built.context)
    assert "重度抑郁发作" in html
    assert reverse("cases:return-create", kwargs={"code": world.case_a2.code}) in html


# --- views ------------------------------------------------------------------------------------


def test_suspension_form_and_post(world, client_for):
    url = reverse("cases:suspension-create", kwargs={"code": world.case_a2.code})
    client = client_for(world.psych)
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="client_key"' in page.content.decode()
    response = client.post(
        url,
        {
            "reason": "住院治疗",
            "effective_on": TODAY.isoformat(),
            "expected_until": "",
            "documents": [pdf(), png()],
            "client_key": uuid.uuid4().hex,
        },
    )
    assert response.status_code == 302
    world.stu_a2.refresh_from_db()
    assert world.stu_a2.status == StudentStatus.SUSPENDED
    assert SchoolingChange.objects.get().documents.count() == 2


def test_suspension_form_keeps_what_was_typed_on_error(world, client_for):
    url = reverse("cases:suspension-create", kwargs={"code": world.case_a2.code})
    response = client_for(world.psych).post(
        url,
        {
            "reason": "住院治疗，等待诊断书",
            "effective_on": TODAY.isoformat(),
            "client_key": uuid.uuid4().hex,
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "住院治疗，等待诊断书" in body
    assert "Attach the medical documents" in body


def test_return_form_names_each_missing_piece(world, client_for):
    suspend(world)
    url = reverse("cases:return-create", kwargs={"code": world.case_a2.code})
    client = client_for(world.psych)
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="client_key"' in page.content.decode()
    response = client.post(
        url,
        {
            "returned_on": (TODAY + datetime.timedelta(days=30)).isoformat(),
            "return_plan": "半天",
            "client_key": uuid.uuid4().hex,
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "A return needs the medical opinion: write down" in body
    assert "attach the doctor" in body
    assert "return assessment as the psychology teacher" in body
    assert "半天" in body
    world.stu_a2.refresh_from_db()
    assert world.stu_a2.status == StudentStatus.SUSPENDED

    response = client.post(
        url,
        {
            "returned_on": (TODAY + datetime.timedelta(days=30)).isoformat(),
            "medical_opinion": "可复学",
            "opinion_documents": [pdf("opinion.pdf")],
            "return_assessment": "平稳",
            "return_plan": "半天",
            "client_key": uuid.uuid4().hex,
        },
    )
    assert response.status_code == 302
    world.stu_a2.refresh_from_db()
    assert world.stu_a2.status == StudentStatus.ENROLLED


@pytest.mark.parametrize("name", ["cases:suspension-create", "cases:return-create"])
def test_schooling_forms_refuse_other_school_and_wrong_role(world, client_for, name):
    url = reverse(name, kwargs={"code": world.case_a2.code})
    assert client_for(world.psych_b).get(url).status_code == 404
    assert client_for(world.school_admin).get(url).status_code == 403
    assert client_for(world.head_teacher).get(url).status_code == 403
    assert client_for(world.station_counsellor).get(url).status_code == 403
    assert client_for(world.psych_b).post(url, {"reason": "x"}).status_code == 404
    world.stu_a2.refresh_from_db()
    assert world.stu_a2.status == StudentStatus.ENROLLED


def test_case_page_shows_the_schooling_panel(world, client_for):
    try:
        url = reverse("cases:case-detail", kwargs={"code": world.case_a2.code})
    except Exception:  # the case page is another area's; skip until it exists
        pytest.skip("no case page yet")
    suspend(world)
    body = client_for(world.psych).get(url).content.decode()
    assert 'data-testid="schooling-panel"' in body
    assert "重度抑郁发作" in body
    doc = SchoolingChange.objects.get().documents.first()
    assert reverse("cases:document", kwargs={"code": doc.code}) in body
    assert reverse("cases:return-create", kwargs={"code": world.case_a2.code}) in body
    leader = client_for(world.school_admin).get(url).content.decode()
    assert 'data-testid="schooling-panel"' in leader
    assert "重度抑郁发作" not in leader
    assert reverse("cases:return-create", kwargs={"code": world.case_a2.code}) not in leader
