"""Counselling rooms: recorded by the school (or the district, the city), the checklist with
evidence photos, the evaluation's status kept with its date, the lists with status counts; other
schools' and districts' rooms are 404, roles without the capability 403."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from xinqiao.access.roles import Role
from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.facilities import checklist, photos, selectors, services
from xinqiao.facilities.models import ChecklistAnswer, CounsellingRoom, RoomArea, StatusChange

from ..conftest import _user

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def jpeg(name="室.jpg"):
    return SimpleUploadedFile(name, JPEG, content_type="image/jpeg")


def _url(name, unit):
    return reverse(f"facilities:{name}", args=[unit.code])


@pytest.fixture
def fac(world):
    w = world
    w.district_admin_b = _user("district_admin_b", "乙区管理员", w.district_b, Role.DISTRICT_ADMIN)
    w.school_admin_b = _user("school_admin_b", "乙校管理员", w.school_b, Role.SCHOOL_ADMIN)
    w.room_a = services.save_room(
        actor=w.school_admin,
        unit=w.school_a,
        location="综合楼三楼 301–305",
        area_m2=Decimal("120.0"),
        equipment="沙盘一套\n放松椅两张",
        opening_hours="周一至周五 12:00–13:30",
        areas={"individual": (2, Decimal("15")), "group": (1, Decimal("60"))},
    )
    w.room_b = services.save_room(actor=w.school_admin_b, unit=w.school_b, location="乙校一楼")
    return w


# --- services -------------------------------------------------------------------------------------
def test_save_room_records_functions_and_changes_them(fac):
    services.save_room(
        actor=fac.school_admin,
        unit=fac.school_a,
        location="综合楼三楼 301–305",
        area_m2=Decimal("130.0"),
        areas={"individual": (3, Decimal("15")), "group": (0, None), "relaxation": (1, None)},
    )

    rows = dict(RoomArea.objects.filter(room=fac.room_a).values_list("function", "count"))
    assert rows == {"individual": 3, "relaxation": 1}
    assert CounsellingRoom.objects.get(pk=fac.room_a.pk).area_m2 == Decimal("130.0")
    assert AuditEvent.objects.filter(action="facilities.room.updated").count() == 1


def test_rooms_belong_to_schools_stations_and_the_centre(fac):
    with pytest.raises(DomainError):
        services.save_room(actor=fac.district_admin, unit=fac.district_a, location="区教育局")


def test_answer_item_keeps_the_photo_sealed_and_a_new_answer_keeps_it(fac, settings):
    answer = services.answer_item(
        actor=fac.school_admin, room=fac.room_a, item="n-individual", met=True, photo=jpeg()
    )
    again = services.answer_item(
        actor=fac.school_admin, room=fac.room_a, item="n-individual", met=False, note="装修中"
    )

    with open(f"{settings.MEDIA_ROOT}/facilities/{answer.photo_storage}", "rb") as fh:
        assert JPEG not in fh.read()
    assert again.pk == answer.pk
    assert again.met is False
    assert again.photo_storage == answer.photo_storage
    assert photos.read(again.photo_storage) == JPEG


def test_answer_item_refuses_an_unknown_item_and_a_non_image(fac):
    with pytest.raises(DomainError):
        services.answer_item(actor=fac.school_admin, room=fac.room_a, item="nope", met=True)
    with pytest.raises(DomainError):
        services.answer_item(
            actor=fac.school_admin,
            room=fac.room_a,
            item="n-group",
            met=True,
            photo=SimpleUploadedFile("x.jpg", b"%PDF-1.4", content_type="image/jpeg"),
        )


def test_status_history_is_kept_and_the_room_shows_the_latest(fac):
    services.set_status(
        actor=fac.district_admin,
        room=fac.room_a,
        status="compliant",
        evaluated_on=datetime.date(2025, 6, 1),
    )
    services.set_status(
        actor=fac.city_admin,
        room=fac.room_a,
        status="model",
        evaluated_on=datetime.date(2026, 6, 1),
    )
    # An older evaluation recorded late does not replace the newer one.
    services.set_status(
        actor=fac.district_admin,
        room=fac.room_a,
        status="below",
        evaluated_on=datetime.date(2024, 6, 1),
    )

    room = CounsellingRoom.objects.get(pk=fac.room_a.pk)
    assert (room.status, room.evaluated_on) == ("model", datetime.date(2026, 6, 1))
    assert StatusChange.objects.filter(room=room).count() == 3


def test_status_cannot_be_dated_in_the_future(fac):
    with pytest.raises(DomainError):
        services.set_status(
            actor=fac.city_admin,
            room=fac.room_a,
            status="model",
            evaluated_on=timezone.localdate() + datetime.timedelta(days=1),
        )


def test_checklist_items_are_data_with_unique_keys_and_both_sources():
    keys = [item.key for item in checklist.ITEMS]

    assert len(keys) == len(set(keys))
    assert {item.source for item in checklist.ITEMS} == {"national", "city"}


# --- the list -------------------------------------------------------------------------------------
def test_status_counts_of_the_city_and_of_a_district(fac):
    services.set_status(
        actor=fac.city_admin,
        room=fac.room_a,
        status="model",
        evaluated_on=datetime.date(2026, 6, 1),
    )
    from xinqiao.access.scope import principal_for

    city = selectors.units_in_scope(principal_for(fac.city_admin))
    district = selectors.units_in_scope(principal_for(fac.district_admin))

    # the city: schools A and B, district A's station and the city centre
    assert selectors.status_counts(city) == {
        "total": 4,
        "below": 1,
        "compliant": 0,
        "model": 1,
        "none": 2,
    }
    assert selectors.status_counts(district) == {
        "total": 2,
        "below": 0,
        "compliant": 0,
        "model": 1,
        "none": 1,
    }


def test_room_list_page_counts_and_filters(fac, client_for):
    client = client_for(fac.city_admin)

    everything = client.get(reverse("facilities:room-list"))
    below = client.get(reverse("facilities:room-list"), {"status": "below"})
    in_b = client.get(reverse("facilities:room-list"), {"district": str(fac.district_b.code)})

    assert everything.status_code == 200
    assert everything.context["counts"]["total"] == 4
    assert [u.pk for u in below.context["page"]] == [fac.school_a.pk, fac.school_b.pk]
    assert in_b.context["counts"]["total"] == 1


def test_room_list_shows_the_area_with_one_decimal_place(fac, client_for):
    """As the room's page does (96.0): SQLite once gave the list's subquery 96."""
    services.save_room(actor=None, unit=fac.school_a, location="综合楼", area_m2=Decimal("96"))
    body = client_for(fac.city_admin).get(reverse("facilities:room-list")).content.decode()
    assert "<td>96.0</td>" in body


def test_room_list_query_count_does_not_grow_with_rows(fac, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from xinqiao.orgs.services import create_unit

    client = client_for(fac.city_admin)
    client.get(reverse("facilities:room-list"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("facilities:room-list"))
    for i in range(5):
        school = create_unit(actor=None, parent=fac.district_a, kind="school", name=f"新校{i}")
        services.save_room(actor=None, unit=school, location="一楼")
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("facilities:room-list"))

    assert response.context["counts"]["total"] == 9
    assert len(many.captured_queries) == len(few.captured_queries)


def test_room_list_of_a_school_shows_only_its_own(fac, client_for):
    response = client_for(fac.school_admin).get(reverse("facilities:room-list"))

    assert [u.pk for u in response.context["page"]] == [fac.school_a.pk]


# --- pages ----------------------------------------------------------------------------------------
def test_room_page_in_scope(fac, client_for):
    response = client_for(fac.station_counsellor).get(_url("room-detail", fac.school_a))

    html = response.content.decode()
    assert response.status_code == 200
    assert "综合楼三楼" in html
    assert "沙盘一套" in html


def test_room_of_another_school_or_district_is_404(fac, client_for):
    assert client_for(fac.school_admin).get(_url("room-detail", fac.school_b)).status_code == 404
    assert client_for(fac.district_admin).get(_url("room-detail", fac.school_b)).status_code == 404
    assert client_for(fac.district_admin).get(_url("room-edit", fac.school_b)).status_code == 404
    assert client_for(fac.district_admin).get(_url("checklist", fac.school_b)).status_code == 404
    assert client_for(fac.district_admin).get(_url("evaluate", fac.school_b)).status_code == 404


def test_a_district_is_not_a_room_404(fac, client_for):
    assert (
        client_for(fac.district_admin).get(_url("room-detail", fac.district_a)).status_code == 404
    )


def test_wrong_roles_are_403(fac, client_for):
    assert client_for(fac.head_teacher).get(_url("room-detail", fac.school_a)).status_code == 403
    assert client_for(fac.psych).get(_url("room-edit", fac.school_a)).status_code == 403
    assert client_for(fac.school_admin).get(_url("evaluate", fac.school_a)).status_code == 403
    assert client_for(fac.parent).get(reverse("facilities:room-list")).status_code == 403


def test_room_edit_through_the_page(fac, client_for):
    data = {
        "location": "心理中心",
        "area_m2": "150",
        "opening_hours": "每天",
        "equipment": "测评软件",
        "count_individual": "2",
        "area_individual": "16",
        "count_assessment": "1",
    }

    response = client_for(fac.school_admin).post(_url("room-edit", fac.school_a), data)

    room = CounsellingRoom.objects.get(unit=fac.school_a)
    assert response.status_code == 302
    assert room.location == "心理中心"
    assert dict(room.areas.values_list("function", "count")) == {"individual": 2, "assessment": 1}


def test_room_edit_requires_a_location(fac, client_for):
    response = client_for(fac.school_admin).post(_url("room-edit", fac.school_a), {"location": ""})

    assert response.status_code == 400
    assert "location" in response.context["form"].errors


def test_checklist_through_the_page_with_a_photo(fac, client_for):
    client = client_for(fac.school_admin)
    data = {
        "met_n-individual": "yes",
        "note_n-individual": "两间",
        "photo_n-individual": jpeg(),
        "met_n-group": "no",
    }

    response = client.post(_url("checklist", fac.school_a), data)

    answers = {a.item: a for a in ChecklistAnswer.objects.filter(room=fac.room_a)}
    assert response.status_code == 302
    assert set(answers) == {"n-individual", "n-group"}
    assert answers["n-individual"].met is True
    photo = client.get(reverse("facilities:photo", args=[answers["n-individual"].code]))
    assert photo.status_code == 200
    assert photo.content == JPEG
    other = client_for(fac.school_admin_b).get(
        reverse("facilities:photo", args=[answers["n-individual"].code])
    )
    assert other.status_code == 404


def test_checklist_with_a_bad_photo_saves_nothing(fac, client_for):
    data = {
        "met_n-individual": "yes",
        "met_n-group": "yes",
        "photo_n-group": SimpleUploadedFile("x.jpg", b"GIF89a", content_type="image/jpeg"),
    }

    response = client_for(fac.school_admin).post(_url("checklist", fac.school_a), data)

    assert response.status_code == 400
    assert "photo_n-group" in response.context["form"].errors
    assert not ChecklistAnswer.objects.filter(room=fac.room_a).exists()


def test_evaluate_through_the_page(fac, client_for):
    response = client_for(fac.district_admin).post(
        _url("evaluate", fac.school_a), {"status": "compliant", "evaluated_on": "2026-06-01"}
    )

    room = CounsellingRoom.objects.get(pk=fac.room_a.pk)
    assert response.status_code == 302
    assert room.status == "compliant"
    detail = client_for(fac.school_admin).get(_url("room-detail", fac.school_a)).content.decode()
    assert "2026-06-01" in detail
