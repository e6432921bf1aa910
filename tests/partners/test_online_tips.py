"""Online-monitoring tips (issue 14, R7): a 网信 department officer files a concern about a
student of their area, identified by 学籍号 or school + name + class, without ever seeing a
student or a result; the concern enters the normal alert flow as "online monitoring". A school's
monitoring duty files through the concern form. Other departments, other roles and other areas
are refused."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from xinqiao.access.roles import Cap, Tier
from xinqiao.access.scope import principal_for
from xinqiao.alerts.models import Concern, Source
from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.partners import services

pytestmark = pytest.mark.django_db

URL = "partners:online-tip"
NAMES = ("王小明", "李小红", "赵小刚")
REPORTERS = ("cyber_a", "civil_affairs_a", "school_admin_a", "mentor_a1")


@pytest.fixture
def cyber(world):
    """甲区's 网信 officer."""
    user = get_user_model().objects.create_user("cyber_a", password="x", first_name="甲区网信干部")
    services.give_department_post(
        actor=None, user=user, department="cyberspace", org_unit=world.district_a
    )
    return user


def _tip(world, **extra):
    data = {
        "school": world.school_a.code,
        "what_seen": "网络巡查：该生在社交平台发布消极言论",
        "seen_on": timezone.localdate().isoformat(),
        "urgency": "soon",
    }
    data.update(extra)
    return data


def test_cyber_officer_files_by_name_and_class_into_the_alert_flow(world, cyber, client_for):
    client = client_for(cyber)
    home = client.get(reverse("partners:department-home")).content.decode()
    assert reverse(URL) in home
    assert client.get(reverse(URL)).status_code == 200
    response = client.post(reverse(URL), _tip(world, name="王小明", class_name="七年级（1）班"))
    assert response.status_code == 302
    concern = Concern.objects.get(reporter=cyber)
    assert concern.student == world.stu_a1
    assert concern.source == Source.ONLINE_MONITORING
    assert concern.alert is not None
    assert concern.alert.student == world.stu_a1
    assert AuditEvent.objects.filter(
        action="alerts.concern.filed", actor=cyber, fields__source="online_monitoring"
    ).exists()
    # nothing about the student comes back: the page after filing names no child
    after = client.get(response["Location"]).content.decode()
    for name in NAMES:
        assert name not in after


def test_cyber_officer_files_by_student_number(world, cyber, client_for):
    response = client_for(cyber).post(
        reverse(URL), _tip(world, student_number=world.stu_a2.student_number.lower())
    )
    assert response.status_code == 302
    assert Concern.objects.get(reporter=cyber).student == world.stu_a2


@pytest.mark.parametrize(
    "identification",
    [
        {"name": "王小明", "class_name": "七(2)班"},  # wrong class
        {"name": "无此人", "class_name": "七(1)"},
        {"student_number": "G000000000000000000"},
    ],
)
def test_no_match_gives_one_message_and_names_nobody(world, cyber, client_for, identification):
    response = client_for(cyber).post(reverse(URL), _tip(world, **identification))
    assert response.status_code == 200
    html = response.content.decode()
    assert "No single student" in html or "没有" in html or "唯一" in html
    for name in ("李小红", "赵小刚"):
        assert name not in html
    assert not Concern.objects.filter(reporter__username__in=REPORTERS).exists()


def test_a_student_of_another_district_cannot_be_named(world, cyber, client_for):
    client = client_for(cyber)
    # school B is not a choice (not in the officer's area); its student's number is not found
    response = client.post(
        reverse(URL), _tip(world, school=world.school_b.code, name="赵小刚", class_name="七(1)")
    )
    assert response.status_code == 200
    response = client.post(reverse(URL), _tip(world, student_number=world.stu_b1.student_number))
    assert response.status_code == 200
    assert not Concern.objects.filter(reporter__username__in=REPORTERS).exists()
    pick = client.get(
        reverse("pick", args=["tip-school"]), {"field": "school", "school__q": "中学"}
    ).content.decode()
    assert str(world.school_a.code) in pick
    assert str(world.school_b.code) not in pick
    with pytest.raises(DomainError):
        services.file_online_tip(
            actor=cyber,
            school=world.school_b,
            student_number=world.stu_b1.student_number,
            what_seen="x",
            seen_on=timezone.localdate(),
            urgency="soon",
        )


def test_the_cyber_officer_still_never_sees_a_student(world, cyber, client_for):
    principal = principal_for(cyber)
    assert principal.students(tier=Tier.T1).count() == 0
    assert principal.students(tier=Tier.T0, cap=Cap.VIEW_STUDENTS).count() == 0
    client = client_for(cyber)
    assert client.get(reverse("people:student-list")).status_code == 403
    assert client.get(reverse("alerts:concern-create")).status_code == 403
    assert client.get(reverse("alerts:concern-list")).status_code == 403
    url = reverse("people:student-detail", kwargs={"code": world.stu_a1.code})
    assert client.get(url).status_code == 403
    assert client.get(reverse("pick", args=["concern-student"])).status_code == 403


def test_other_departments_and_other_roles_are_refused(world, client_for):
    # the civil-affairs officer holds the role but not the 网信 post
    civil = client_for(world.department_officer)
    assert civil.get(reverse(URL)).status_code == 403
    assert (
        civil.post(reverse(URL), _tip(world, name="王小明", class_name="七(1)")).status_code == 403
    )
    assert "online-tip" not in civil.get(reverse("partners:department-home")).content.decode()
    for user in (world.psych, world.school_admin, world.city_admin, world.expert, world.parent):
        assert client_for(user).get(reverse(URL)).status_code == 403
    with pytest.raises(DomainError):
        services.file_online_tip(
            actor=world.department_officer,
            school=world.school_a,
            name="王小明",
            class_name="七(1)",
            what_seen="x",
            seen_on=timezone.localdate(),
            urgency="soon",
        )
    assert not Concern.objects.filter(reporter__username__in=REPORTERS).exists()


def test_an_ended_cyber_post_ends_the_filing(world, cyber, client_for):
    from xinqiao.partners.models import DepartmentPost

    post = DepartmentPost.objects.get(user=cyber)
    services.end_department_post(actor=None, post=post)
    assert client_for(cyber).get(reverse(URL)).status_code == 403


# --- a school's monitoring duty ---------------------------------------------------------------
def test_a_school_admin_files_as_online_monitoring(world, client_for):
    client = client_for(world.school_admin)
    response = client.post(
        reverse("alerts:concern-create"),
        {
            "student": world.stu_a1.code,
            "what_seen": "学校网络值班发现该生发布消极言论",
            "seen_on": timezone.localdate().isoformat(),
            "urgency": "watch",
            "source": "online_monitoring",
        },
    )
    assert response.status_code == 302
    concern = Concern.objects.get(reporter=world.school_admin)
    assert concern.source == Source.ONLINE_MONITORING
    assert concern.alert is not None


def test_a_monitoring_duty_cannot_file_about_another_school(world, client_for):
    response = client_for(world.school_admin).post(
        reverse("alerts:concern-create"),
        {
            "student": world.stu_b1.code,
            "what_seen": "x",
            "seen_on": timezone.localdate().isoformat(),
            "urgency": "watch",
            "source": "online_monitoring",
        },
    )
    assert response.status_code == 200
    assert not Concern.objects.filter(reporter__username__in=REPORTERS).exists()


def test_a_role_without_monitoring_duty_cannot_report_as_online_monitoring(world):
    from xinqiao.alerts.services import file_concern

    with pytest.raises(DomainError):
        file_concern(
            actor=world.mentor,
            student=world.stu_a1,
            what_seen="x",
            seen_on=timezone.localdate(),
            urgency="watch",
            source="online_monitoring",
        )
    assert not Concern.objects.filter(reporter__username__in=REPORTERS).exists()


def test_tips_are_rate_limited_per_officer(world, cyber, client_for, monkeypatch):
    from django.core.cache import cache

    from xinqiao.partners import views

    cache.delete(f"xq:online-tip:{cyber.pk}")
    monkeypatch.setattr(views, "TIP_LIMIT", 1)
    client = client_for(cyber)
    first = client.post(reverse(URL), _tip(world, name="无此人", class_name="七(1)"))
    assert first.status_code == 200
    second = client.post(reverse(URL), _tip(world, name="王小明", class_name="七(1)"))
    assert second.status_code == 429
    assert not Concern.objects.filter(reporter=cyber).exists()
    cache.delete(f"xq:online-tip:{cyber.pk}")
