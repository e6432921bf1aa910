"""Research activities (R17): the service, the monthly indicator (met / missed / due), and the
pages: a district records its own, a school's staff read their district's, another district's
activity is 404, a wrong role 403."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from xinqiao.access.scope import principal_for
from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.workforce import selectors, services
from xinqiao.workforce.models import ResearchActivity


def activity(w, district, day, **kw):
    return services.record_research_activity(
        actor=None, district=district, date=day, theme=kw.pop("theme", f"教研{day}"), **kw
    )


def test_record_with_participants_is_audited(w):
    a = activity(w, w.district_a, datetime.date(2026, 9, 15), participants=[w.full, w.key])
    assert set(a.participants.all()) == {w.full, w.key}
    event = AuditEvent.objects.get(action="workforce.research_activity.created")
    assert event.fields["participants"] == 2


def test_participant_of_another_district_is_refused(w):
    with pytest.raises(DomainError) as refused:
        activity(w, w.district_a, datetime.date(2026, 9, 15), participants=[w.teacher_b])
    assert refused.value.field == "participants"
    assert not ResearchActivity.objects.exists()


def test_only_a_district_holds_research_activities(w):
    with pytest.raises(DomainError):
        activity(w, w.school_a, datetime.date(2026, 9, 15))


def test_indicator_months_met_missed_due_and_future(w):
    activity(w, w.district_a, datetime.date(2026, 9, 3))
    activity(w, w.district_a, datetime.date(2026, 9, 20))
    activity(w, w.district_a, datetime.date(2026, 11, 30))
    activity(w, w.district_b, datetime.date(2026, 10, 1))
    months, rows = selectors.research_indicator(
        principal=principal_for(w.city_admin),
        unit=w.city,
        year=2026,
        today=datetime.date(2026, 12, 7),
    )
    assert months[0] == datetime.date(2026, 9, 1)
    assert months[-1] == datetime.date(2027, 8, 1)
    by = {r["district"].pk: r for r in rows}
    a_states = [c["state"] for c in by[w.district_a.pk]["cells"][:5]]
    assert a_states == ["met", "missed", "met", "open", "future"]
    assert by[w.district_a.pk]["cells"][0]["count"] == 2
    assert (by[w.district_a.pk]["met"], by[w.district_a.pk]["due"]) == (2, 3)
    assert (by[w.district_b.pk]["met"], by[w.district_b.pk]["due"]) == (1, 3)


def test_district_indicator_shows_only_its_district(w):
    _months, rows = selectors.research_indicator(
        principal=principal_for(w.district_admin), unit=w.city, year=2026
    )
    assert [r["district"].pk for r in rows] == [w.district_a.pk]


def test_district_admin_records_through_the_page(w, client_for):
    client = client_for(w.district_admin)
    response = client.post(
        reverse("workforce:research-create"),
        {
            "district": w.district_a.pk,
            "date": "2026-10-20",
            "theme": "初中生情绪辅导课例研讨",
            "organiser": "区教师发展中心",
            "participants": [w.full.code, w.other.code],
            "notes": "",
        },
    )
    assert response.status_code == 302
    made = ResearchActivity.objects.get()
    assert made.participants.count() == 2
    detail = client.get(response["Location"]).content.decode()
    assert "专职甲" in detail
    edit = reverse("workforce:research-edit", kwargs={"code": made.code})
    response = client.post(
        edit, {"date": "2026-10-21", "theme": "改期", "participants": [w.full.code]}
    )
    assert response.status_code == 302
    made.refresh_from_db()
    assert (made.theme, made.participants.count()) == ("改期", 1)
    assert (
        client.post(reverse("workforce:research-remove", kwargs={"code": made.code})).status_code
        == 302
    )
    assert not ResearchActivity.objects.exists()
    assert AuditEvent.objects.filter(action="workforce.research_activity.removed").count() == 1


def test_district_of_another_district_cannot_be_chosen(w, client_for):
    response = client_for(w.district_admin).post(
        reverse("workforce:research-create"),
        {"district": w.district_b.pk, "date": "2026-10-20", "theme": "x"},
    )
    assert response.status_code == 200
    assert not ResearchActivity.objects.exists()


def test_school_staff_read_their_districts_indicator(w, client_for):
    activity(w, w.district_a, datetime.date(2026, 9, 3), theme="甲区教研")
    b = activity(w, w.district_b, datetime.date(2026, 9, 4), theme="乙区教研")
    client = client_for(w.psych)
    body = client.get(reverse("workforce:research-indicator")).content.decode()
    assert "甲区教研" in body
    assert "乙区教研" not in body
    url = reverse("workforce:research-detail", kwargs={"code": b.code})
    assert client.get(url).status_code == 404
    assert client_for(w.district_admin).get(url).status_code == 404
    assert client_for(w.city_admin).get(url).status_code == 200


def test_wrong_role_is_403(w, client_for):
    a = activity(w, w.district_a, datetime.date(2026, 9, 3))
    assert (
        client_for(w.head_teacher).get(reverse("workforce:research-indicator")).status_code == 403
    )
    assert client_for(w.school_admin).get(reverse("workforce:research-create")).status_code == 403
    edit = reverse("workforce:research-edit", kwargs={"code": a.code})
    assert client_for(w.school_admin).get(edit).status_code == 403
    assert client_for(w.station_counsellor).get(edit).status_code == 403


def test_indicator_of_another_district_is_404(w, client_for):
    url = reverse("workforce:research-indicator") + f"?unit={w.district_b.code}"
    assert client_for(w.district_admin).get(url).status_code == 404
    assert client_for(w.psych).get(url).status_code == 404


def test_research_form_picks_participants_by_search(w, client_for):
    client = client_for(w.district_admin)
    page = client.get(reverse("workforce:research-create")).content.decode()
    assert reverse("pick", args=["workforce-staff"]) in page
    assert "专职甲" not in page  # no list of the district's teachers: one searches
    # another district's teacher: not a valid choice
    response = client.post(
        reverse("workforce:research-create"),
        {
            "district": w.district_a.pk,
            "date": "2026-10-20",
            "theme": "x",
            "participants": [w.teacher_b.code],
        },
    )
    assert response.status_code == 200
    assert not ResearchActivity.objects.exists()


def test_edited_activity_keeps_a_participant_who_has_left(w, client_for):
    from xinqiao.people.staffing.services import end_staff_record

    made = activity(w, w.district_a, datetime.date(2026, 9, 3))
    made.participants.set([w.full, w.other])
    end_staff_record(actor=None, staff=w.other)
    client = client_for(w.district_admin)
    edit = reverse("workforce:research-edit", kwargs={"code": made.code})
    assert "科任甲" in client.get(edit).content.decode()  # shown, ticked
    response = client.post(
        edit,
        {"date": "2026-09-03", "theme": "t", "participants": [w.full.code, w.other.code]},
    )
    assert response.status_code == 302
    assert made.participants.count() == 2
