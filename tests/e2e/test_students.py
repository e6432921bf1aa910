"""Find a student through the list search and open the profile — and see nothing of another school.

Personas from tests/conftest.py `world`: school A's head teacher of class A1 (王小明 is in A1,
李小红 in A2) and psychology teacher; school B's psychology teacher and head teacher, who must find
nothing of school A even by name or by a profile URL.

Selectors: data-testid="student-filters" (the search form; its text input is name=q),
"student-table" (rows carry data-student=<code>), "result-count", "basic-data" (profile),
"current-user" (navbar).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e]


def _search(page, text: str) -> None:
    page.goto(reverse("people:student-list"))
    box = page.get_by_test_id("student-filters").locator("input[name=q]")
    box.fill(text)
    # The form submits with htmx (swapping the results) or, without JS, as a plain GET.
    with page.expect_response(lambda r: "q=" in r.url and r.status == 200):
        box.press("Enter")
    page.wait_for_function(
        "text => new URLSearchParams(location.search).get('q') === text", arg=text
    )


def _rows(page):
    return page.get_by_test_id("student-table").locator("tr[data-student]")


def _open_profile(page, student) -> None:
    row = page.get_by_test_id("student-table").locator(f'tr[data-student="{student.code}"]')
    with page.expect_navigation():
        row.get_by_role("link", name=student.name).click()
    assert page.url.endswith(reverse("people:student-detail", kwargs={"code": student.code}))
    assert page.get_by_role("heading", level=1).inner_text().startswith(student.name)
    # (The student number contains the ID number, so the profile may show it masked.)
    assert student.birth_date.isoformat() in page.get_by_test_id("basic-data").inner_text()


def test_head_teacher_finds_own_student_and_opens_the_profile(page, login, world):
    login(world.head_teacher.username, PASSWORD)
    _search(page, world.stu_a1.name)
    assert _rows(page).count() == 1
    _open_profile(page, world.stu_a1)


def test_head_teacher_does_not_find_a_student_of_another_class(page, login, world):
    login(world.head_teacher.username, PASSWORD)
    _search(page, world.stu_a2.name)
    assert _rows(page).count() == 0


def test_psychology_teacher_finds_a_student_of_the_school_and_opens_the_profile(page, login, world):
    login(world.psych.username, PASSWORD)
    _search(page, world.stu_a2.name)
    assert _rows(page).count() == 1
    _open_profile(page, world.stu_a2)


def test_psychology_teacher_finds_by_student_number(page, login, world):
    login(world.psych.username, PASSWORD)
    _search(page, world.stu_a1.student_number)
    assert _rows(page).count() == 1
    _open_profile(page, world.stu_a1)


@pytest.mark.parametrize("persona", ["psych_b", "head_teacher_b"])
def test_user_of_another_school_gets_nothing(page, login, world, persona):
    login(getattr(world, persona).username, PASSWORD)
    for student in (world.stu_a1, world.stu_a2):
        _search(page, student.name)
        assert _rows(page).count() == 0
        _search(page, student.student_number)
        assert _rows(page).count() == 0
    # The list itself shows only school B's student.
    page.goto(reverse("people:student-list"))
    codes = {row.get_attribute("data-student") for row in _rows(page).all()}
    assert codes == {str(world.stu_b1.code)}
    # A profile URL of school A answers 404.
    response = page.goto(reverse("people:student-detail", kwargs={"code": world.stu_a1.code}))
    assert response.status == 404
    assert world.stu_a1.name not in page.content()
