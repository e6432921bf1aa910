from django.urls import reverse

from xinqiao.audit.models import AuditEvent


def test_psychology_teacher_sees_screening_history_on_profile(world, client_for):
    url = reverse("people:student-detail", kwargs={"code": world.stu_a1.code})
    body = client_for(world.psych).get(url).content.decode()
    assert 'data-testid="screening-archive"' in body
    event = AuditEvent.objects.order_by("-seq").first()
    assert event.action == "people.student.viewed"
    assert "screening_responses" in event.fields["read"]


def test_head_teacher_profile_has_no_screening_history(world, client_for):
    url = reverse("people:student-detail", kwargs={"code": world.stu_a1.code})
    response = client_for(world.head_teacher).get(url)
    assert response.status_code == 200
    assert 'data-testid="screening-archive"' not in response.content.decode()
    event = AuditEvent.objects.order_by("-seq").first()
    assert "screening_responses" not in event.fields["read"]
