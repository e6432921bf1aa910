"""Message templates: what each kind of notification says, in zh-hans and en, per channel.

Why a Python data file (not YAML, not a model seeded by a migration): the templates change with
the code that sends their kind, so they are reviewed and released together; mypy checks their
shape; nothing parses a file or reads the database to render one. Deployers do not edit them at
run time — when they must, the same table can be loaded into a model without changing callers.

A kind's template is found by its exact name, else by its longest dotted prefix (`case.` covers
every case notification), else DEFAULT. Texts take %-style named parameters. The inbox subject
comes from `subject` when the caller passes none (screening's reminder); callers that build their
subject with gettext (alerts, cases) keep doing so. Email carries no student data: `email_subject`
and `email_body` say only that something waits in Xinqiao, except where a kind's subject carries
none (a class and a campaign name) and may be repeated (`%(subject)s`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import translation

Texts = dict[str, str]  # language code → text


@dataclass(frozen=True)
class MessageTemplate:
    email_subject: Texts
    email_body: Texts
    subject: Texts = field(default_factory=dict)


DEFAULT = MessageTemplate(
    email_subject={
        "en": "Xinqiao: an alert needs your attention",
        "zh-hans": "心桥：有一条预警需要您处理",
    },
    email_body={
        "en": "Please sign in to Xinqiao and open your inbox.",
        "zh-hans": "请登录心桥并查看消息。",
    },
)

TEMPLATES: dict[str, MessageTemplate] = {
    "alert.": DEFAULT,
    "case.": DEFAULT,
    "screening.behind_schedule": MessageTemplate(
        subject={
            "en": "%(class)s is behind schedule in “%(campaign)s”: please arrange a sitting.",
            "zh-hans": "%(class)s在“%(campaign)s”中进度滞后，请安排施测。",
        },
        email_subject={"en": "Screening reminder", "zh-hans": "筛查提醒"},
        email_body={"en": "%(subject)s", "zh-hans": "%(subject)s"},
    ),
    # Counselling appointments (issue 15): the inbox subject names the time, never the student;
    # the email says only that an appointment changed.
    "counselling.": MessageTemplate(
        email_subject={
            "en": "Xinqiao: a counselling appointment was booked or changed",
            "zh-hans": "心桥：有一项心理辅导预约新建或变更",
        },
        email_body={
            "en": "Please sign in to Xinqiao and open your inbox.",
            "zh-hans": "请登录心桥并查看消息。",
        },
    ),
    # Supervision and confidentiality breaks (issue 15): no student, no content in the email.
    "counselling.supervision.": MessageTemplate(
        email_subject={
            "en": "Xinqiao: a supervision request was asked or answered",
            "zh-hans": "心桥：有一项督导申请或督导意见",
        },
        email_body={
            "en": "Please sign in to Xinqiao and open your inbox.",
            "zh-hans": "请登录心桥并查看消息。",
        },
    ),
    # The reminder a day before and the waitlist's offer: the time only, never the student.
    "counselling.appointment.reminder": MessageTemplate(
        email_subject={
            "en": "Xinqiao: a reminder of a counselling appointment",
            "zh-hans": "心桥：心理辅导预约提醒",
        },
        email_body={
            "en": "Please sign in to Xinqiao and open your inbox.",
            "zh-hans": "请登录心桥并查看消息。",
        },
    ),
    "counselling.confidentiality.": MessageTemplate(
        email_subject={
            "en": "Xinqiao: a decision to break confidentiality was recorded",
            "zh-hans": "心桥：有一项保密例外决定已记录",
        },
        email_body={
            "en": "Please sign in to Xinqiao and open your inbox.",
            "zh-hans": "请登录心桥并查看消息。",
        },
    ),
    "counselling.waitlist.": MessageTemplate(
        email_subject={
            "en": "Xinqiao: a counselling time is free for you",
            "zh-hans": "心桥：有一个心理辅导时段为您空出",
        },
        email_body={
            "en": "Please sign in to Xinqiao and open your inbox.",
            "zh-hans": "请登录心桥并查看消息。",
        },
    ),
}


def template_for(kind: str) -> MessageTemplate:
    if kind in TEMPLATES:
        return TEMPLATES[kind]
    parts = kind.split(".")
    for end in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:end]) + "."
        if prefix in TEMPLATES:
            return TEMPLATES[prefix]
    return DEFAULT


def pick(texts: Texts, language: str | None = None) -> str:
    """The text in `language` (default: the active one), else the site's language, else English."""
    language = (language or translation.get_language() or settings.LANGUAGE_CODE).lower()
    for code in (language, language.split("-")[0], settings.LANGUAGE_CODE.lower(), "en"):
        if code in texts:
            return texts[code]
    return next(iter(texts.values()), "")


def render(
    kind: str, part: str, params: Mapping[str, object] | None = None, language: str | None = None
) -> str:
    """Template `part` ("subject", "email_subject", "email_body") of `kind`, filled in."""
    text = pick(getattr(template_for(kind), part), language)
    return text % params if params else text
