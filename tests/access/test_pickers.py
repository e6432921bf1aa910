"""Pickers (access/pickers.py, issue 12 "Scale in every picker"): the search behind every picker
of a student, staff member, class or school finds by name, pinyin initials, class and last digits,
returns at most a page, and only from the form's scope; the endpoint refuses a user without the
form's capability."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from xinqiao.access.pickers import SOURCES, staff_source, student_source, unit_source
from xinqiao.access.roles import Cap, Tier
from xinqiao.access.scope import principal_for
from xinqiao.orgs.models import Kind
from xinqiao.people.models import PICK_LIMIT, Student
from xinqiao.people.search import name_initials, number_hash, number_tail_hash
from xinqiao.people.services import create_student, update_student

pytestmark = pytest.mark.django_db

STUDENTS = student_source("test-students", cap=Cap.VIEW_STUDENTS, tier=Tier.T1)
STAFF = staff_source("test-staff", cap=Cap.VIEW_STAFF)
SCHOOLS = unit_source("test-schools", cap=Cap.VIEW_ORG_TREE, kinds=[Kind.SCHOOL])
CLASSES = unit_source("test-classes", cap=Cap.VIEW_ORG_TREE, kinds=[Kind.CLASS])


def _id_number(body17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(body17, weights, strict=True))
    return body17 + "10X98765432"[total % 11]


def _names(rows):
    return {s.name for s in rows}


def test_name_initials_are_pinyin_first_letters():
    assert name_initials("王小明") == "wxm"
    assert name_initials("欧阳娜娜") == "oynn"


def test_search_keys_are_written_with_the_row_and_follow_a_rename(world):
    stu = Student.objects.get(pk=world.stu_a1.pk)
    assert stu.name_initials == "wxm"
    assert stu.student_number_hash == number_hash(stu.student_number)
    assert stu.number_tail_hash == number_tail_hash(stu.student_number)
    assert stu.id_tail_hash
    assert "001X" not in stu.id_tail_hash
    update_student(actor=None, student=stu, name="刘晓")
    assert Student.objects.get(pk=stu.pk).name_initials == "lx"


def test_pick_finds_by_name_initials_class_and_last_digits(world):
    rows = principal_for(world.city_admin).students()
    assert _names(rows.pick("王小")) == {"王小明"}
    assert _names(rows.pick("wx")) == {"王小明"}
    assert _names(rows.pick("W X M")) == {"王小明"}
    assert _names(rows.pick("七(2)")) == {"李小红"}
    assert _names(rows.pick("七(1)")) == {"王小明", "赵小刚"}
    assert _names(rows.pick(world.stu_b1.student_number[-5:])) == {"赵小刚"}
    assert _names(rows.pick(world.stu_b1.student_number[-4:])) == {"赵小刚"}
    assert rows.pick("37") == []  # two digits would match a tenth of a city: not searched
    assert rows.pick(world.stu_b1.student_number[-3:]) == []  # the tail hash covers four
    assert rows.pick("   ") == []


def test_the_last_four_characters_of_the_id_number_are_found_without_decrypting(world):
    id_number = _id_number("36010220130404123")
    stu = create_student(
        actor=None,
        student_number="G" + "1" * 18,
        name="孙小四",
        gender="M",
        birth_date=datetime.date(2013, 4, 4),
        school_class=world.class_a1,
        id_number=id_number,
    )
    rows = principal_for(world.psych).students()
    assert [s.pk for s in rows.pick(id_number[-4:])] == [stu.pk]
    assert [s.pk for s in rows.pick(id_number[-4:].lower())] == [stu.pk]
    assert rows.pick(id_number[-5:]) == []  # only the last four of an ID number are searchable


def test_pick_stays_inside_the_scope(world):
    school_a = principal_for(world.psych).students()
    assert _names(school_a.pick("七(1)")) == {"王小明"}
    assert school_a.pick("zxg") == []
    assert school_a.pick(world.stu_b1.student_number[-6:]) == []


def test_pick_returns_at_most_a_page(world):
    Student.objects.bulk_create([_bulk(world, i, f"张同学{i:03d}") for i in range(PICK_LIMIT * 2)])
    found = principal_for(world.psych).students().pick("张同学", limit=PICK_LIMIT)
    assert len(found) == PICK_LIMIT


def _bulk(world, i: int, name: str) -> Student:
    stu = Student(
        student_number=f"G{9000000 + i:018d}",
        name=name,
        gender="F",
        birth_date=datetime.date(2013, 1, 1),
        school=world.school_a,
        school_class=world.class_a2,
    )
    stu.fill_search_keys()
    return stu


def _get(client, source, q, field="student", **extra):
    return client.get(f"/pick/{source}/", {"field": field, f"{field}__q": q, **extra})


def test_endpoint_returns_radios_with_codes(world, client_for):
    r = _get(client_for(world.psych), "test-students", "wxm")
    html = r.content.decode()
    assert r.status_code == 200
    assert f'type="radio" name="student" value="{world.stu_a1.code}"' in html
    assert "王小明" in html
    assert "七(1)班" in html
    assert f'value="{world.stu_a1.pk}"' not in html  # codes, never sequential ids


def test_endpoint_keeps_the_chosen_one_and_checkboxes_for_multiple(world, client_for):
    r = _get(
        client_for(world.psych),
        "test-students",
        "lxh",
        student=str(world.stu_a1.code),
        multiple="1",
    )
    html = r.content.decode()
    assert f'type="checkbox" name="student" value="{world.stu_a1.code}" checked' in html
    assert f'value="{world.stu_a2.code}"' in html


def test_endpoint_never_shows_another_schools_student(world, client_for):
    client = client_for(world.psych_b)
    for q in ["王小", "wxm", "七(1)", world.stu_a1.student_number[-6:]]:
        html = _get(client, "test-students", q).content.decode()
        assert "王小明" not in html
    # a chosen code outside the scope is not echoed back either
    html = _get(client, "test-students", "", student=str(world.stu_a1.code)).content.decode()
    assert "王小明" not in html


def test_endpoint_refuses_the_wrong_role_and_unknown_sources(world, client_for):
    assert _get(client_for(world.auditor), "test-students", "王").status_code == 403
    assert _get(client_for(world.auditor), "concern-student", "王").status_code == 403
    assert _get(client_for(world.psych), "no-such-picker", "王").status_code == 404
    assert _get(client_for(world.psych), "test-students", "王", field="<b>").status_code == 404
    assert _get(client_for(world.psych), "test-students", "王", student="nope").status_code == 200
    anonymous = _get(client_for(world.psych).__class__(), "test-students", "王")
    assert anonymous.status_code == 302


def test_staff_and_unit_pickers(world, client_for):
    client = client_for(world.district_admin)
    html = _get(client, "test-staff", "甲校心理", field="teacher").content.decode()
    assert "甲校心理老师" in html
    assert "乙校心理老师" not in html
    html = _get(client, "test-schools", "中学", field="school").content.decode()
    assert world.school_a.name in html
    assert world.school_b.name not in html
    html = _get(client, "test-classes", "七(1)", field="cls").content.decode()
    assert str(world.class_a1.code) in html
    assert str(world.class_b1.code) not in html
    assert set(SOURCES) >= {"test-students", "concern-student"}


def test_role_assignment_picks_its_unit(world, client_for):
    client = client_for(world.sysadmin)
    html = _get(client, "role-unit", "甲区", field="org_unit").content.decode()
    assert f'value="{world.district_a.code}"' in html
    assert f'value="{world.class_a1.code}"' not in html  # classes are assigned elsewhere
    assert _get(client_for(world.psych), "role-unit", "甲区", field="org_unit").status_code == 403
    page = client.get(f"/accounts/manage/{world.psych.username}/").content.decode()
    assert 'hx-get="/pick/role-unit/"' in page
    assert "<option" not in page.split('id="id_org_unit"')[1].split("</form>")[0]


def test_import_picks_its_school(world, client_for):
    client = client_for(world.district_admin)
    html = _get(client, "import-school", "中学", field="school").content.decode()
    assert f'value="{world.school_a.code}"' in html
    assert f'value="{world.school_b.code}"' not in html  # another district
    assert _get(client_for(world.psych), "import-school", "中学", field="school").status_code == 403


def test_campaign_form_picks_the_units_it_covers(world, client_for):
    html = _get(client_for(world.psych), "campaign-unit", "七(1)", field="units").content.decode()
    assert f'value="{world.class_a1.code}"' in html
    assert f'value="{world.class_b1.code}"' not in html
    html = _get(
        client_for(world.city_admin), "campaign-unit", "乙区", field="units"
    ).content.decode()
    assert f'value="{world.district_b.code}"' in html
    assert f'value="{world.class_b1.code}"' not in html  # a city covers districts and schools
    refused = _get(client_for(world.head_teacher), "campaign-unit", "七", field="units")
    assert refused.status_code == 403
    page = client_for(world.city_admin).get(reverse("screening:campaign-create")).content.decode()
    assert 'hx-get="/pick/campaign-unit/"' in page
    assert 'name="units"' not in page  # nothing listed before a search
