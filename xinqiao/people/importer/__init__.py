"""Roster import (R5/R12 data entry): CSV/XLSX student-status exports into students, enrolments
and guardians. See docs/roster-import.md for the user's guide and service.py for the flow."""

from .files import store_upload
from .reader import BadFileError
from .service import ImportResult, create_job, run_job

__all__ = ["BadFileError", "ImportResult", "create_job", "run_job", "store_upload"]
