"""The counselling-room checklist as data: one item per requirement, each citing its source.

Sources:
- NATIONAL: 教育部办公厅关于印发《中小学心理辅导室建设指南》的通知（教基一厅函〔2015〕36号）,
  2015 — the national guide for school counselling rooms (its sections on the room's setting,
  functional areas, equipment, staffing and rules of work).
- CITY: 《南昌市中小学心理辅导室建设标准和运行规范（试行）》（洪教健字〔2017〕1号）, which the
  city's plan (/work/shared/seed, §11–§12) requires schools to follow alongside the national guide,
  and the duties that plan itself lays on counselling rooms and stations (§11: duty, appointment,
  interview, referral and follow-up rules; records; the 24-hour helplines made known; §12: rooms
  in use).

The items paraphrase the requirements (the texts are not reproduced); docs/facilities.md tells how
to check them against the documents and how to add or change an item. An item's key is stored
with each answer and never reused for another requirement: retire an item by setting `retired`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    NATIONAL = "national", _("National guide (2015)")
    CITY = "city", _("City standard")


@dataclass(frozen=True)
class Item:
    key: str
    source: str
    section: str | Promise
    text: str | Promise
    retired: bool = False


SETTING = _("Setting")
AREAS = _("Functional areas")
EQUIPMENT = _("Equipment")
STAFF = _("Staff")
RULES = _("Rules of work")

ITEMS: list[Item] = [
    # --- the national guide (教基一厅函〔2015〕36号) ---
    Item(
        "n-location",
        Source.NATIONAL,
        SETTING,
        _("The room is in a quiet, relatively separate place that students reach easily."),
    ),
    Item(
        "n-environment",
        Source.NATIONAL,
        SETTING,
        _("The room is warm and welcoming, with a clear sign; privacy is protected."),
    ),
    Item(
        "n-individual",
        Source.NATIONAL,
        AREAS,
        _("An individual counselling room."),
    ),
    Item(
        "n-group",
        Source.NATIONAL,
        AREAS,
        _("A group counselling / activity room."),
    ),
    Item(
        "n-reception",
        Source.NATIONAL,
        AREAS,
        _("An office and reception area."),
    ),
    Item(
        "n-optional",
        Source.NATIONAL,
        AREAS,
        _(
            "Where conditions allow: an assessment room, a relaxation / catharsis room or a "
            "sand-tray room."
        ),
    ),
    Item(
        "n-equipment",
        Source.NATIONAL,
        EQUIPMENT,
        _(
            "Office equipment, a lockable records cabinet, assessment tools and materials for "
            "group activities."
        ),
    ),
    Item(
        "n-staff",
        Source.NATIONAL,
        STAFF,
        _("Run by a psychology teacher with the professional training the guide asks for."),
    ),
    Item(
        "n-hours",
        Source.NATIONAL,
        RULES,
        _("Fixed opening hours, made known to students."),
    ),
    Item(
        "n-records",
        Source.NATIONAL,
        RULES,
        _("Counselling records are kept, locked away and confidential."),
    ),
    Item(
        "n-ethics",
        Source.NATIONAL,
        RULES,
        _("Written rules of work and professional ethics are on display."),
    ),
    # --- the city standard and the city's plan (洪教健字〔2017〕1号; plan §11–§12) ---
    Item(
        "c-standard",
        Source.CITY,
        SETTING,
        _("Built and equipped to the city's room standard (洪教健字〔2017〕1号)."),
    ),
    Item(
        "c-procedures",
        Source.CITY,
        RULES,
        _("Duty, appointment, interview, referral and follow-up rules are in place."),
    ),
    Item(
        "c-hotlines",
        Source.CITY,
        RULES,
        _("The 24-hour helplines (12355, 966525, 0791-88330120) are displayed."),
    ),
    Item(
        "c-in-use",
        Source.CITY,
        RULES,
        _("The room is used regularly: sessions are recorded."),
    ),
]

BY_KEY: dict[str, Item] = {item.key: item for item in ITEMS}


def current_items() -> list[Item]:
    return [item for item in ITEMS if not item.retired]
