"""Hospital areas (片区), the referral form's suggestion, the psychiatrist's plan advice, the
de-identified referral summary and the hospital concern source (issue 14, R7/R9/R25)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from xinqiao.alerts.models import Concern, Source
from xinqiao.audit.models import AuditEvent
from xinqiao.cases.forms.referrals import ReferralForm
from xinqiao.cases.models import Referral
from xinqiao.cases.selectors.referrals import hospital_directory
from xinqiao.core.errors import DomainError
from xinqiao.orgs.services import create_unit
from xinqiao.partners import services
from xinqiao.partners.models import HospitalArea, PlanAdvice

pytestmark = pytest.mark.django_db


def test_the_area_hospital_comes_first_on_the_referral_form(world):
    other = create_unit(actor=None, parent=world.district_a, kind="hospital", name="甲区人民医院")
    directory = hospital_directory(world.case_a2)
    # Without the area, the district's own hospital would come first (it is deeper).
    assert [e.hospital for e in directory] == [world.hospital, other]
    assert directory[0].suggested is True
    form = ReferralForm(case=world.case_a2, directory=directory)
    assert form.initial["destination"] == f"{world.hospital.code}:{world.psychiatrist.pk}"
    label = form.fields["destination"].choices[1][0]
    assert "市精神卫生中心" in str(label)


def test_without_an_area_the_old_order_holds(world):
    HospitalArea.objects.all().delete()
    other = create_unit(actor=None, parent=world.district_a, kind="hospital", name="甲区人民医院")
    directory = hospital_directory(world.case_a2)
    assert [e.hospital for e in directory] == [other, world.hospital]
    assert not any(e.suggested for e in directory)


def test_the_district_admin_assigns_and_ends_an_area(world, client_for):
    client = client_for(world.district_admin)
    response = client.post(
        reverse("partners:hospital-areas"),
        {"hospital": world.hospital.pk, "area": world.school_a.code, "started_on": "2026-09-01"},
    )
    assert response.status_code == 302
    row = HospitalArea.objects.get(area=world.school_a)
    assert row.psychiatrist is None
    end = reverse("partners:hospital-area-end", kwargs={"code": row.code})
    assert client.post(end).status_code == 302
    row.refresh_from_db()
    assert row.ended_on == timezone.localdate()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"partners.hospital_area.assigned", "partners.hospital_area.ended"} <= actions


def test_a_district_admin_cannot_assign_another_districts_school(world, client_for):
    response = client_for(world.district_admin).post(
        reverse("partners:hospital-areas"),
        {"hospital": world.hospital.pk, "area": world.school_b.code, "started_on": "2026-09-01"},
    )
    assert response.status_code == 400
    assert not HospitalArea.objects.filter(area=world.school_b).exists()


def test_another_districts_area_is_404_to_end(world, client_for):
    row = services.assign_hospital_area(actor=None, hospital=world.hospital, area=world.district_b)
    url = reverse("partners:hospital-area-end", kwargs={"code": row.code})
    assert client_for(world.district_admin).post(url).status_code == 404
    assert client_for(world.psych).post(url).status_code == 403


def test_a_hospital_of_another_district_cannot_serve(world):
    hospital_b = create_unit(actor=None, parent=world.district_b, kind="hospital", name="乙区医院")
    with pytest.raises(DomainError):
        services.assign_hospital_area(actor=None, hospital=hospital_b, area=world.school_a)
    with pytest.raises(DomainError):  # not a psychiatrist of that hospital
        services.assign_hospital_area(
            actor=None, hospital=world.hospital, area=world.school_b, psychiatrist=world.psych
        )


def test_the_station_sees_which_schools_each_psychiatrist_serves(world, client_for):
    response = client_for(world.station_counsellor).get(reverse("partners:hospital-areas"))
    assert response.status_code == 200
    served = response.context["served"]
    assert [(s.hospital, s.psychiatrist, s.schools) for s in served] == [
        (world.hospital, world.psychiatrist, ["甲区第一中学"])
    ]
    assert response.context["form"] is None
    url = reverse("partners:hospital-areas")
    assert client_for(world.station_counsellor).post(url, {}).status_code == 403


def test_the_psychiatrist_adds_advice_encrypted_and_audited(world, client_for):
    url = reverse("partners:plan-advice", kwargs={"code": world.referral_a2.code})
    review = (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    response = client_for(world.psychiatrist).post(
        url, {"advice": "建议每周心理辅导一次，注意睡眠", "review_on": review}
    )
    assert response.status_code == 302
    advice = PlanAdvice.objects.get()
    assert advice.case == world.case_a2
    assert advice.advice == "建议每周心理辅导一次，注意睡眠"
    with connection.cursor() as cursor:
        cursor.execute("SELECT advice FROM partners_planadvice WHERE id = %s", [advice.pk])
        raw = cursor.fetchone()[0]
    assert "睡眠" not in raw
    event = AuditEvent.objects.filter(action="partners.plan_advice.added").get()
    assert "advice" not in event.fields
    # The case owner sees it on the case's partners page.
    page = client_for(world.psych).get(
        reverse("partners:case-experts", kwargs={"code": world.case_a2.code})
    )
    assert "注意睡眠" in page.content.decode()


def test_plan_advice_other_psychiatrist_404_wrong_role_403(world, client_for):
    from xinqiao.access.roles import Role

    from ..factories import StaffFactory

    other = StaffFactory(role=Role.PSYCHIATRIST, org_unit=world.hospital).user
    Referral.objects.filter(pk=world.referral_a2.pk).update(psychiatrist=world.psychiatrist)
    url = reverse("partners:plan-advice", kwargs={"code": world.referral_a2.code})
    assert client_for(other).get(url).status_code == 404
    assert client_for(world.psych).get(url).status_code == 403
    assert client_for(world.expert).get(url).status_code == 403


def test_the_referral_summary_counts_without_names(world, client_for):
    now = timezone.now()
    Referral.objects.filter(pk=world.referral_a2.pk).update(
        status="seen", sent_at=now, seen_at=now + datetime.timedelta(days=2)
    )
    for i in range(6):
        Referral.objects.create(
            case=world.case_a2,
            student=world.stu_a2,
            hospital=world.hospital,
            reason="x",
            consent_basis="guardian_consent",
            sent_by=world.psych,
            sent_at=now,
            seen_at=now + datetime.timedelta(days=2),
            status="seen",
            client_key=f"summary-{i}",
        )
    response = client_for(world.district_admin).get(reverse("partners:referral-summary"))
    assert response.status_code == 200
    html = response.content.decode()
    assert world.stu_a2.name not in html
    summary = response.context["summaries"][0]
    total = summary.rows[-1]
    assert total["total"] == 7
    assert total["seen"] == 7
    assert total["waiting"] == 0
    assert total["median_days"] == 2.0
    Referral.objects.filter(client_key="summary-0").update(status="sent", seen_at=None)
    response = client_for(world.district_admin).get(reverse("partners:referral-summary"))
    total = response.context["summaries"][0].rows[-1]
    assert total["waiting"] is None  # one: hidden, and another cell with it
    assert total["seen"] is None
    assert client_for(world.psych).get(reverse("partners:referral-summary")).status_code == 403


def test_district_b_summary_does_not_count_district_a(world, client_for):
    from xinqiao.access.roles import Role

    from ..factories import StaffFactory

    admin_b = StaffFactory(role=Role.DISTRICT_ADMIN, org_unit=world.district_b).user
    response = client_for(admin_b).get(reverse("partners:referral-summary"))
    assert response.context["summaries"][0].rows[-1]["total"] == 0


def test_the_psychiatrist_files_a_hospital_concern_about_a_referred_student(world, client_for):
    response = client_for(world.psychiatrist).post(
        reverse("alerts:concern-create"),
        {
            "student": world.stu_a2.code,
            "what_seen": "门诊时流露自伤想法",
            "seen_on": timezone.localdate().isoformat(),
            "urgency": "soon",
        },
    )
    assert response.status_code == 302
    concern = Concern.objects.get(reporter=world.psychiatrist)
    assert concern.source == Source.HOSPITAL
    assert concern.alert.source == Source.HOSPITAL


def test_the_psychiatrist_cannot_report_an_unreferred_student(world, client_for):
    response = client_for(world.psychiatrist).post(
        reverse("alerts:concern-create"),
        {
            "student": world.stu_a1.code,
            "what_seen": "x",
            "seen_on": timezone.localdate().isoformat(),
            "urgency": "soon",
        },
    )
    assert response.status_code == 200
    assert not Concern.objects.filter(reporter=world.psychiatrist).exists()


def test_a_schools_monitoring_duty_reports_as_online_monitoring(world, client_for):
    client = client_for(world.psych)
    form = client.get(reverse("alerts:concern-create")).context["form"]
    assert [c[0] for c in form.fields["source"].choices] == ["counselling", "online_monitoring"]
    response = client.post(
        reverse("alerts:concern-create"),
        {
            "student": world.stu_a1.code,
            "what_seen": "网络巡查发现该生在社交平台发布消极言论",
            "seen_on": timezone.localdate().isoformat(),
            "urgency": "soon",
            "source": "online_monitoring",
        },
    )
    assert response.status_code == 302
    assert Concern.objects.get(reporter=world.psych).source == Source.ONLINE_MONITORING


def test_a_committee_member_has_no_source_to_choose(world, client_for):
    form = client_for(world.committee).get(reverse("alerts:concern-create")).context["form"]
    assert "source" not in form.fields
    response = client_for(world.head_teacher).post(
        reverse("alerts:concern-create"),
        {
            "student": world.stu_a1.code,
            "what_seen": "x",
            "seen_on": timezone.localdate().isoformat(),
            "urgency": "soon",
            "source": "hospital",
        },
    )
    assert response.status_code == 200
    assert not Concern.objects.filter(reporter=world.head_teacher).exists()
