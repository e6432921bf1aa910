"""The parents' guidance page: plain, general and safe advice, one section per question a parent
asks. Written for this project after the national sources (docs/family.md lists them):
教育部《家庭教育指导手册》, 全国妇联、教育部等《全国家庭教育指导大纲（修订）》(2019),
《中华人民共和国家庭教育促进法》(2022), 教育部等十七部门《全面加强和改进新时代学生心理健康工作
专项行动计划（2023—2025年）》, and 国家卫生健康委 12356 心理援助热线 (2025). It gives no diagnosis
and no treatment advice: it tells a parent what to notice, how to listen, and whom to call.

Issue 16 (family education) can add sections here (age-specific articles from the resource
library, parent-school lectures) without touching the view or the template.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Section:
    key: str
    title: str | Promise
    intro: str | Promise
    points: tuple[str | Promise, ...]
    crisis: bool = False  # drawn as a warning, with the hotlines under it


SECTIONS: tuple[Section, ...] = (
    Section(
        "signs",
        _("Signs that your child may be struggling"),
        _(
            "Every child has bad days. Pay attention when changes like these last two weeks "
            "or more, or come together:"
        ),
        (
            _("Often sad, irritable or tearful; loses interest in things they used to enjoy."),
            _("Sleeps or eats much more or much less than usual; often tired."),
            _("Withdraws from family and friends; stays alone in their room."),
            _("Grades drop suddenly; does not want to go to school."),
            _("Complains often of headaches or stomach aches with no clear cause."),
            _("Spends much more time on the phone or games and cannot stop."),
            _("Says things like “nothing matters” or “it would be better without me”."),
        ),
    ),
    Section(
        "listen",
        _("How to talk and listen"),
        _("What a child needs most is to feel heard and safe at home."),
        (
            _("Set aside a calm moment every day, without phones, to ask how the day went."),
            _("Listen first. Do not interrupt, lecture or compare with other children."),
            _("Name the feeling you hear (“you sound worried”) and accept it."),
            _(
                "Ask directly and calmly if you are worried: asking does not put ideas in a "
                "child's head."
            ),
            _("Praise effort, not only results; keep expectations realistic."),
            _("Keep regular hours for sleep, meals, exercise and screen time as a family."),
            _("Look after yourself too: a calm parent helps a child stay calm."),
        ),
    ),
    Section(
        "crisis",
        _("What to do in a crisis"),
        _(
            "If your child talks about wanting to die, has hurt themselves, or you fear they "
            "are in danger now:"
        ),
        (
            _("Stay with your child. Do not leave them alone."),
            _(
                "Remove knives, medicines, ropes and other dangerous things; keep windows and "
                "balconies safe."
            ),
            _("In immediate danger, call 110 or 120 at once."),
            _("Call a helpline below for advice, at any hour."),
            _("Tell the head teacher or the school's psychology teacher as soon as you can."),
        ),
        crisis=True,
    ),
    Section(
        "help",
        _("Where to get help"),
        _("You do not have to face this alone."),
        (
            _(
                "The school's psychology teacher and head teacher: they can talk with your child "
                "and with you, and keep what you tell them to those who need to know."
            ),
            _("Your district's mental health counselling station for students."),
            _(
                "A hospital's child and adolescent mental health clinic, when the school or a "
                "doctor suggests it."
            ),
            _("The helplines below, free and confidential."),
        ),
    ),
)
