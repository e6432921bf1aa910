"""Case policy in one place: follow-up intervals and the minimum stays before a step down.

Defaults are the issue's (issue 5); each can be overridden in settings (`CASES_FOLLOW_UP_DAYS`,
`CASES_MIN_STAY_DAYS`) without a code change.
"""

from __future__ import annotations

import datetime

from django.conf import settings

from xinqiao.alerts.models import Level

# Days between follow-ups by level. Red is daily until the referral is done (feedback given),
# then weekly.
FOLLOW_UP_DAYS: dict[str, int] = {
    "red": 1,
    "red_after_referral": 7,
    "orange": 7,
    "yellow": 30,
    **getattr(settings, "CASES_FOLLOW_UP_DAYS", {}),
}

# A child whose family circumstances raise attention (R26: left-behind, orphaned, …; the
# Student flags named here) is followed more often: at most this many days at each level.
ATTENTION_FLAGS: tuple[str, ...] = tuple(
    getattr(
        settings,
        "CASES_ATTENTION_FLAGS",
        (
            "left_behind",
            "single_parent",
            "orphan_or_unsupported",
            "disability",
            "low_income",
            "migrant",
        ),
    )
)
FLAGGED_FOLLOW_UP_DAYS: dict[str, int] = {
    "orange": 5,
    "yellow": 14,
    **getattr(settings, "CASES_FLAGGED_FOLLOW_UP_DAYS", {}),
}

# Minimum days at a level before it may step down one step (yellow: before the case may close).
MIN_STAY_DAYS: dict[str, int] = {
    Level.RED: 14,
    Level.ORANGE: 28,
    Level.YELLOW: 56,
    **getattr(settings, "CASES_MIN_STAY_DAYS", {}),
}

# Orange → yellow needs this many follow-ups marked improving while at orange.
IMPROVING_FOLLOW_UPS_FOR_ORANGE = 2

# One step down at a time; yellow steps down to closed ("").
STEP_DOWN: dict[str, str] = {Level.RED: Level.ORANGE, Level.ORANGE: Level.YELLOW, Level.YELLOW: ""}


def follow_up_interval(
    level: str, *, referral_done: bool, family_flagged: bool = False
) -> datetime.timedelta:
    key = "red_after_referral" if level == Level.RED and referral_done else str(level)
    days = FOLLOW_UP_DAYS[key]
    if family_flagged:
        days = min(days, FLAGGED_FOLLOW_UP_DAYS.get(key, days))
    return datetime.timedelta(days=days)


def family_flagged(student: object) -> bool:
    """Whether the child's family circumstances shorten the follow-up interval."""
    return any(getattr(student, flag, False) for flag in ATTENTION_FLAGS)
