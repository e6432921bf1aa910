"""Class sign-in slips: who may print them, what they show, the audit trail, reissuing codes;
the projector page's QR code."""

from __future__ import annotations

import pytest
from django.urls import reverse

from xinqiao.audit.models import AuditEvent
from xinqiao.people.personal_codes import format_personal_code

pytestmark = pytest.mark.django_db


def slips_url(world, school_class=None) -> str:
    return reverse(
        "screening:class-slips", kwargs={"class_code": (school_class or world.class_a1).code}
    )


@pytest.mark.parametrize("who", ["head_teacher", "psych", "school_admin"])
def test_staff_of_the_class_print_slips(world, client_for, who):
    client = client_for(getattr(world, who))
    page = client.get(slips_url(world), HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    assert page.status_code == 200
    world.stu_a1.refresh_from_db()
    code = world.stu_a1.personal_code
    assert code  # issued by the first print
    assert world.stu_a1.name in html
    assert format_personal_code(code) in html
    assert html.count('data-testid="slip"') == 1  # class A1 has one enrolled student
    assert world.stu_a2.name not in html  # class A2
    assert "<svg" in html
    assert "签到条" in html
    assert '扫描二维码或打开 <span translate="no">http://testserver/take/</span>' in html
    assert "打印" in html
    assert page["Cache-Control"].startswith("max-age=0")
    event = AuditEvent.objects.get(action="people.sign_in_slips.printed")
    assert event.actor_id == getattr(world, who).pk
    assert event.object_id == str(world.class_a1.pk)
    assert event.fields == {"read": ["name", "personal_code"], "students": 1, "issued": 1}
    assert code not in str(event.fields)


def test_printing_again_shows_the_same_code(world, client_for):
    client = client_for(world.head_teacher)
    client.get(slips_url(world))
    world.stu_a1.refresh_from_db()
    first = world.stu_a1.personal_code
    html = client.get(slips_url(world)).content.decode()
    assert format_personal_code(first) in html
    assert AuditEvent.objects.filter(action="people.sign_in_slips.printed").count() == 2
    assert AuditEvent.objects.filter(action="people.personal_codes.issued").count() == 1


@pytest.mark.parametrize("who", ["psych_b", "head_teacher_b"])
def test_staff_of_another_school_get_404(world, client_for, who):
    assert client_for(getattr(world, who)).get(slips_url(world)).status_code == 404
    world.stu_a1.refresh_from_db()
    assert world.stu_a1.personal_code_hash == ""


def test_head_teacher_of_another_class_gets_404(world, client_for):
    response = client_for(world.head_teacher).get(slips_url(world, world.class_a2))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "who", ["committee", "parent", "mentor", "psychiatrist", "city_admin", "auditor", "sysadmin"]
)
def test_wrong_roles_are_refused(world, client_for, who):
    assert client_for(getattr(world, who)).get(slips_url(world)).status_code == 403
    assert not AuditEvent.objects.filter(action="people.sign_in_slips.printed").exists()


def test_a_student_code_is_not_a_class(world, client_for):
    url = reverse("screening:class-slips", kwargs={"class_code": world.school_a.code})
    assert client_for(world.psych).get(url).status_code == 404


def test_reissue_one_student(world, client_for):
    client = client_for(world.head_teacher)
    client.get(slips_url(world))
    world.stu_a1.refresh_from_db()
    old = world.stu_a1.personal_code
    url = reverse(
        "screening:student-code-reissue",
        kwargs={"class_code": world.class_a1.code, "student": world.stu_a1.code},
    )
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"] == slips_url(world)
    world.stu_a1.refresh_from_db()
    assert world.stu_a1.personal_code != old
    assert AuditEvent.objects.filter(action="people.personal_code.reissued").count() == 1


def test_reissue_a_student_of_another_school_is_404(world, client_for):
    url = reverse(
        "screening:student-code-reissue",
        kwargs={"class_code": world.class_a1.code, "student": world.stu_b1.code},
    )
    assert client_for(world.psych).post(url).status_code == 404


def test_reissue_the_class(world, client_for):
    client = client_for(world.psych)
    client.get(slips_url(world))
    world.stu_a1.refresh_from_db()
    old = world.stu_a1.personal_code
    url = reverse("screening:class-slips-reissue", kwargs={"class_code": world.class_a1.code})
    assert client.post(url).status_code == 302
    world.stu_a1.refresh_from_db()
    assert world.stu_a1.personal_code != old
    assert AuditEvent.objects.filter(action="people.personal_codes.reissued").count() == 1
    assert client_for(world.psych_b).post(url).status_code == 404
    assert client_for(world.mentor).post(url).status_code == 403


def test_class_pages_link_to_the_slips(world, client_for):
    progress = reverse(
        "screening:class-progress",
        kwargs={"code": world.campaign.code, "class_code": world.class_a1.code},
    )
    html = client_for(world.head_teacher).get(progress).content.decode()
    assert slips_url(world) in html
    mine = client_for(world.head_teacher).get(reverse("screening:my-classes")).content.decode()
    assert slips_url(world) in mine


def test_projector_page_shows_a_qr_of_the_sitting_link(world, client_for):
    url = reverse("screening:sitting-screen", kwargs={"key": world.sitting.key})
    html = client_for(world.psych).get(url).content.decode()
    assert 'data-testid="sitting-qr"' in html
    assert f'data-url="http://testserver/take/?code={world.sitting.code}"' in html
    assert "<svg" in html.split('data-testid="sitting-qr"', 1)[1]
