"""The inbox: at its old address, shown once, one's own messages only; the navigation entry."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse

from xinqiao.notifications import services as notifications
from xinqiao.notifications.models import InboxMessage
from xinqiao.notifications.services import dispatch_outbox


def _message_for(user, subject="你有一条新消息") -> InboxMessage:
    with transaction.atomic():
        notifications.notify(recipients=[user], kind="t", subject=subject, url="/cases/")
    dispatch_outbox()
    return InboxMessage.objects.get(recipient=user, subject=subject)


def test_the_inbox_keeps_its_address_and_its_navigation_entry(staff, client_for):
    assert reverse("notifications:inbox") == "/alerts/inbox/"
    home = client_for(staff.mentor).get("/").content.decode()
    assert 'data-nav="notifications:inbox"' in home


def test_the_inbox_shows_a_message_new_once(staff, client_for):
    message = _message_for(staff.mentor)
    client = client_for(staff.mentor)
    first = client.get("/alerts/inbox/").content.decode()
    assert message.subject in first
    assert "fw-bold" in first
    second = client.get("/alerts/inbox/").content.decode()
    assert message.subject in second
    assert "fw-bold" not in second


def test_nobody_reads_or_marks_another_users_message(staff, client_for):
    message = _message_for(staff.mentor)
    other = client_for(staff.head_teacher)
    assert message.subject not in other.get("/alerts/inbox/").content.decode()
    url = reverse("notifications:mark-read", kwargs={"code": message.code})
    assert other.post(url).status_code == 404
    message.refresh_from_db()
    assert message.read_at is None
    assert client_for(staff.mentor).get(url).status_code == 405
    assert client_for(staff.mentor).post(url).status_code == 302
    message.refresh_from_db()
    assert message.read_at is not None


def test_signed_out_visitors_are_sent_to_sign_in(staff, client):
    message = _message_for(staff.mentor)
    url = reverse("notifications:mark-read", kwargs={"code": message.code})
    for response in (client.get("/alerts/inbox/"), client.post(url)):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
