"""Message templates (zh-hans and en, per channel) and the channel registry."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.db import transaction
from django.utils import translation

from xinqiao.notifications import backends, message_templates
from xinqiao.notifications import services as notifications
from xinqiao.notifications.models import InboxMessage, Notification
from xinqiao.notifications.services import dispatch_outbox


def test_a_kind_finds_its_template_by_name_then_by_prefix():
    reminder = message_templates.TEMPLATES["screening.behind_schedule"]
    assert message_templates.template_for("screening.behind_schedule") is reminder
    assert message_templates.template_for("alert.escalated.red_leader") is message_templates.DEFAULT
    assert message_templates.template_for("case.referral.sent") is message_templates.DEFAULT
    assert message_templates.template_for("unknown") is message_templates.DEFAULT


@pytest.mark.parametrize(
    ("language", "subject", "email_subject"),
    [
        (
            "en",
            "7(1) is behind schedule in “Autumn”: please arrange a sitting.",
            "Screening reminder",
        ),
        ("zh-hans", "7(1)在“Autumn”中进度滞后，请安排施测。", "筛查提醒"),
    ],
)
def test_the_reminder_renders_in_the_active_language(language, subject, email_subject):
    params = {"class": "7(1)", "campaign": "Autumn"}
    with translation.override(language):
        assert message_templates.render("screening.behind_schedule", "subject", params) == subject
        assert (
            message_templates.render("screening.behind_schedule", "email_subject") == email_subject
        )
        # its email repeats the subject (a class and a campaign: no student data)
        body = message_templates.render(
            "screening.behind_schedule", "email_body", {"subject": subject}
        )
        assert body == subject


@pytest.mark.parametrize(
    ("language", "email_subject", "email_body"),
    [
        (
            "en",
            "Xinqiao: an alert needs your attention",
            "Please sign in to Xinqiao and open your inbox.",
        ),
        ("zh-hans", "心桥：有一条预警需要您处理", "请登录心桥并查看消息。"),
    ],
)
def test_alert_and_case_emails_say_only_that_something_waits(language, email_subject, email_body):
    params = {"subject": "New red alert: 王小明"}
    for kind in ("alert.raised", "case.opened"):
        with translation.override(language):
            assert message_templates.render(kind, "email_subject", params) == email_subject
            assert message_templates.render(kind, "email_body", params) == email_body


def test_the_templates_match_the_catalogue():
    """The texts that were gettext strings before keep their translation word for word (while
    the catalogue still has them)."""
    compared = 0
    for template in {id(t): t for t in message_templates.TEMPLATES.values()}.values():
        for part in ("subject", "email_subject", "email_body"):
            texts = getattr(template, part)
            if not texts:
                continue
            assert set(texts) == {"en", "zh-hans"}
            with translation.override("zh-hans"):
                translated = translation.gettext(texts["en"])
            if translated != texts["en"]:
                assert translated == texts["zh-hans"]
                compared += 1
    assert compared >= 3  # today: the default email's subject and body, the reminder's subject


def test_an_unknown_language_falls_back_to_the_site_language(settings):
    settings.LANGUAGE_CODE = "zh-hans"
    texts = {"en": "hello", "zh-hans": "你好"}
    assert message_templates.pick(texts, "fr") == "你好"
    assert message_templates.pick(texts, "en-gb") == "hello"


def test_the_email_of_a_case_notification_carries_no_student_data(staff, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    staff.psych.email = "psych@example.cn"
    staff.psych.save()
    with transaction.atomic():
        notifications.notify(recipients=[staff.psych], kind="case.opened", subject="王小明")
    dispatch_outbox()
    [email] = mail.outbox
    assert "王小明" not in email.subject + email.body


class RecordingChannel(backends.Backend):
    """An SMS- or WeChat-like channel: one more class named in NOTIFICATION_BACKENDS."""

    name = "recording"
    sent: list[int] = []
    fail = False

    def wants(self, row: Notification) -> bool:
        return row.kind.startswith("t")

    def send(self, row: Notification) -> None:
        if RecordingChannel.fail:
            raise OSError("gateway down")
        RecordingChannel.sent.append(row.pk)

    def mark_sent(self, row: Notification, now: datetime.datetime) -> list[str]:
        return []


@pytest.fixture
def recording_channel(settings):
    settings.NOTIFICATION_BACKENDS = [
        "xinqiao.notifications.backends.EmailBackend",
        f"{__name__}.RecordingChannel",
    ]
    backends.channels.cache_clear()
    RecordingChannel.sent, RecordingChannel.fail = [], False
    yield RecordingChannel
    backends.channels.cache_clear()


def test_the_registry_lists_the_configured_channels(recording_channel):
    names = [channel.name for channel in backends.channels()]
    assert names == ["email", "recording"]


def test_a_new_channel_plugs_in_with_the_same_guarantees(staff, recording_channel):
    with transaction.atomic():
        notifications.notify(recipients=[staff.psych, staff.mentor], kind="t", subject="s")
    recording_channel.fail = True
    assert dispatch_outbox() == 0  # the inbox got them; the channel is retried
    assert InboxMessage.objects.filter(notification__kind="t").count() == 2
    recording_channel.fail = False
    assert dispatch_outbox() == 2
    rows = list(Notification.objects.filter(kind="t").order_by("id"))
    assert recording_channel.sent == [r.pk for r in rows]
    assert all(r.attempts == 2 and r.dispatched_at for r in rows)
    assert dispatch_outbox() == 0  # nothing twice


def test_the_default_channels_are_email_only(settings):
    backends.channels.cache_clear()
    assert [c.name for c in backends.channels()] == ["email"]
    assert backends.inbox.name == "inbox"
