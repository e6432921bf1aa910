"""Screening writes, one module per concern: campaigns (lifecycle), assignments (set-based, kept
in step with the roster), consent, absences (and re-sits), voiding (a suspicious hand-in set
aside, a re-sit given), sittings and reminders; common holds the default battery and who may
manage a campaign. The student side (sign-in, autosave,
hand-in) is `screening.taking.services`.

Every write is keyword-only, takes `actor=`, runs in one transaction and records its audit event
in that transaction. Authorisation: the services check that the actor may act on the campaign's
owner unit (views have already checked the capability). The public functions are re-exported
here: `from xinqiao.screening import services; services.open_campaign(...)`."""

from .absences import assign_resit, mark_absent
from .assignments import students_changed, sync_open_campaigns
from .campaigns import (
    archive_campaign,
    close_campaign,
    create_campaign,
    open_campaign,
    set_battery,
)
from .common import DEFAULT_BATTERY, can_manage
from .consent import answer_consent_as_guardian, record_consents
from .personal_codes import issue_personal_codes, reissue_personal_codes
from .reminders import behind_schedule, send_progress_reminders
from .sittings import can_run_sitting, close_sitting, open_sitting
from .voiding import void_hand_in

__all__ = [
    "DEFAULT_BATTERY",
    "answer_consent_as_guardian",
    "archive_campaign",
    "assign_resit",
    "behind_schedule",
    "can_manage",
    "can_run_sitting",
    "close_campaign",
    "close_sitting",
    "create_campaign",
    "issue_personal_codes",
    "mark_absent",
    "open_campaign",
    "open_sitting",
    "record_consents",
    "reissue_personal_codes",
    "send_progress_reminders",
    "set_battery",
    "students_changed",
    "sync_open_campaigns",
    "void_hand_in",
]
