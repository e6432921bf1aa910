"""Roles, capabilities and sensitivity tiers: the one table of who may do and see what.

docs/permissions.md is the human-readable form of this table, and the permission-matrix test walks
every URL as every role against it.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CITY_ADMIN = "city_admin", _("City administrator")
    DISTRICT_ADMIN = "district_admin", _("District administrator")
    STATION_COUNSELLOR = "station_counsellor", _("Station counsellor")
    SCHOOL_ADMIN = "school_admin", _("School administrator")
    PSYCHOLOGY_TEACHER = "psychology_teacher", _("Psychology teacher")
    HEAD_TEACHER = "head_teacher", _("Head teacher")
    MENTOR = "mentor", _("Subject teacher / mentor")
    COMMITTEE_MEMBER = "committee_member", _("Class psychology committee member")
    PARENT = "parent", _("Parent")
    PSYCHIATRIST = "psychiatrist", _("Psychiatrist")
    AUDITOR = "auditor", _("Auditor")
    SYSTEM_ADMIN = "system_admin", _("System administrator")
    # Issue 14 (docs/partners.md): a partner department's officer (卫健, 妇联, 团委, 民政, 网信,
    # 公安) sees aggregates of their area only; an expert sees the one case they are invited to.
    DEPARTMENT_OFFICER = "department_officer", _("Department officer")
    EXPERT = "expert", _("Expert")


class Tier(models.IntegerChoices):
    """Sensitivity tiers of student data (architecture.md)."""

    NONE = -1, _("No access")
    T0 = 0, _("Aggregates only")
    T1 = 1, _("Roster data")
    T2 = 2, _("Risk levels and tasks")
    T3 = 3, _("Clinical data")


class Cap(models.TextChoices):
    """What a role may *do*. Which rows it may *see* is the scope's business (scope.py)."""

    VIEW_STUDENTS = "view_students", _("View students in scope")
    VIEW_FULL_ID_NUMBER = "view_full_id_number", _("See full resident ID numbers")
    EDIT_STUDENTS = "edit_students", _("Edit student records")
    IMPORT_ROSTER = "import_roster", _("Import the student roster")
    VIEW_ORG_TREE = "view_org_tree", _("Browse the org tree")
    EDIT_ORG_TREE = "edit_org_tree", _("Edit the org tree")
    MANAGE_TERMS = "manage_terms", _("Create terms and set the current term")
    VIEW_GUARDIAN_CONTACT = "view_guardian_contact", _("See guardians' full phone numbers")
    VIEW_STAFF = "view_staff", _("View staff")
    EDIT_STAFF = "edit_staff", _("Edit staff and role assignments")
    VIEW_AGGREGATES = "view_aggregates", _("View aggregate figures")
    VIEW_AUDIT_LOG = "view_audit_log", _("Search and export the audit log")
    MANAGE_ACCOUNTS = "manage_accounts", _("Manage user accounts and settings")
    FILE_CONCERN = "file_concern", _("File a concern about a student")
    VIEW_INSTRUMENTS = "view_instruments", _("View the instrument library")
    UPLOAD_INSTRUMENT = "upload_instrument", _("Upload a custom instrument")
    APPROVE_INSTRUMENT = "approve_instrument", _("Approve a custom instrument")
    MANAGE_CAMPAIGNS = "manage_campaigns", _("Create, open and close screening campaigns")
    VIEW_SCREENING_PROGRESS = "view_screening_progress", _("Follow screening progress")
    VIEW_CLASS_PROGRESS = "view_class_progress", _("See who in a class has not been screened")
    VIEW_SCREENING_RESULTS = "view_screening_results", _("See individual screening results")
    MANAGE_ASSIGNMENTS = (
        "manage_assignments",
        _("Mark students absent, assign re-sits and void hand-ins"),
    )
    RUN_SITTINGS = "run_sittings", _("Open a class screening sitting")
    PRINT_SIGN_IN_SLIPS = (
        "print_sign_in_slips",
        _("Print a class's sign-in slips and reissue personal codes"),
    )
    RECORD_CONSENT = "record_consent", _("Record guardian consent for screening")
    VIEW_ALERTS = "view_alerts", _("See alerts of students in scope")
    HANDLE_ALERTS = "handle_alerts", _("Acknowledge and verify alerts")
    EDIT_RULESETS = "edit_rulesets", _("Edit the alert rule sets")
    VIEW_CASES = "view_cases", _("See high-care cases of students in scope")
    HANDLE_CASES = (
        "handle_cases",
        _("Run high-care cases: follow-ups, guardian contacts, referrals"),
    )
    APPROVE_LEVEL_CHANGES = "approve_level_changes", _("Approve level step-downs and closures")
    VIEW_CLASS_ATTENTION = (
        "view_class_attention",
        _("See which students in my class need attention"),
    )
    VIEW_CASE_TASKS = "view_case_tasks", _("See the case tasks assigned to me")
    VIEW_RED_BOARD = "view_red_board", _("See the red-case board")
    GIVE_REFERRAL_FEEDBACK = "give_referral_feedback", _("Receive referrals and give feedback")
    FORWARD_TRANSFERS = "forward_transfers", _("Forward case transfers between schools")
    VIEW_OWN_CHILDREN = "view_own_children", _("See my own children's family pages")
    GIVE_CONSENT = (
        "give_consent",
        _("Give or refuse screening consent for my own children"),
    )
    # Facilities, crisis teams, emergency plans and the helpline directory (issue 14).
    VIEW_FACILITIES = "view_facilities", _("See counselling rooms and their standard")
    EDIT_FACILITIES = "edit_facilities", _("Record a counselling room and its checklist")
    EVALUATE_FACILITIES = (
        "evaluate_facilities",
        _("Record a counselling room's evaluated status"),
    )
    VIEW_EMERGENCY = "view_emergency", _("See crisis teams, emergency plans and drills")
    EDIT_EMERGENCY = "edit_emergency", _("Keep crisis teams, emergency plans and drills")
    EDIT_HOTLINES = "edit_hotlines", _("Edit the helpline directory")
    MANAGE_COMMITTEE = (
        "manage_committee",
        _("Appoint and replace class psychology committee members"),
    )
    MANAGE_SCHOOL_GROUPS = "manage_school_groups", _("Set the members of the three school groups")
    MANAGE_FAMILIES = (
        "manage_families",
        _("Record guardians and family circumstances and invite parents"),
    )
    VIEW_DEPARTMENT_FIGURES = (
        "view_department_figures",
        _("See a department's aggregate figures of its area"),
    )
    VIEW_GRANTED_CASES = "view_granted_cases", _("See the cases I am invited to as an expert")
    FILE_MONITORING_TIP = (
        "file_monitoring_tip",
        _("File an online-monitoring tip about a student of the area (without seeing students)"),
    )
    INVITE_EXPERTS = "invite_experts", _("Invite an expert to a case for a limited time")
    MANAGE_DEPARTMENT_ACCOUNTS = (
        "manage_department_accounts",
        _("Create and end partner-department accounts"),
    )
    MANAGE_HOSPITAL_AREAS = (
        "manage_hospital_areas",
        _("Assign partner hospitals and psychiatrists to areas"),
    )
    VIEW_HOSPITAL_AREAS = "view_hospital_areas", _("See which schools each hospital serves")
    VIEW_REFERRAL_SUMMARY = (
        "view_referral_summary",
        _("See the de-identified referral summary of an area"),
    )
    CONTRIBUTE_TO_PLAN = (
        "contribute_to_plan",
        _("Add a psychiatrist's advice to a referred student's support plan"),
    )
    # Workforce (issue 14).
    VIEW_WORKFORCE = (
        "view_workforce",
        _("See training hours, research activities, workforce registries and the expert pool"),
    )
    EDIT_TRAINING = "edit_training", _("Record and import staff training")
    EDIT_WORKFORCE = (
        "edit_workforce",
        _("Record research activities, expert teams, competitions and studios"),
    )
    MANAGE_EXPERTS = "manage_experts", _("Keep the expert pool and the expert committee")
    # Counselling service (issue 15).
    VIEW_COUNSELLING = (
        "view_counselling",
        _("See duty rosters, who is on duty, and the appointments one may see"),
    )
    MANAGE_DUTY_ROSTER = "manage_duty_roster", _("Keep a unit's duty roster and bookable rooms")
    COUNSEL = (
        "counsel",
        _("Publish availability, keep appointments and a calendar as a counsellor"),
    )
    BOOK_COUNSELLING = (
        "book_counselling",
        _("Book a counselling appointment on a student's behalf"),
    )
    # Counselling sessions and supervision (issue 15, docs/counselling.md).
    SUPERVISE_COUNSELLING = (
        "supervise_counselling",
        _("Supervise counsellors: read the process notes of the sessions one is asked about"),
    )
    VIEW_WORKLOAD = (
        "view_workload",
        _("See counselling workload and room usage of the staff and units of one's area"),
    )
    # Counselling: students' help requests, parents' bookings (issue 15, h-help).
    RESPOND_TO_HELP = (
        "respond_to_help",
        _("Answer students' requests for help (the counsellors; a school leader once escalated)"),
    )
    BOOK_FOR_OWN_CHILD = (
        "book_for_own_child",
        _("Book a counselling appointment for one's own child"),
    )
    # Mentor system (issue 15, R19; docs/mentoring.md).
    MENTOR_STUDENTS = (
        "mentor_students",
        _("Mentor students: see my current mentees and keep talk logs with them"),
    )
    MANAGE_MENTORS = (
        "manage_mentors",
        _("Assign mentors and follow mentor coverage (that talks happened, not their notes)"),
    )
    READ_TALK_NOTES = "read_talk_notes", _("Read the notes of mentors' talk logs")


C = Cap
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.CITY_ADMIN: frozenset(
        {
            C.VIEW_STUDENTS,
            C.EDIT_STUDENTS,
            C.IMPORT_ROSTER,
            C.VIEW_ORG_TREE,
            C.EDIT_ORG_TREE,
            C.VIEW_STAFF,
            C.EDIT_STAFF,
            C.VIEW_AGGREGATES,
            C.VIEW_INSTRUMENTS,
            C.UPLOAD_INSTRUMENT,
            C.APPROVE_INSTRUMENT,
            C.VIEW_FULL_ID_NUMBER,
            C.MANAGE_TERMS,
        }
    ),
    Role.DISTRICT_ADMIN: frozenset(
        {
            C.VIEW_STUDENTS,
            C.EDIT_STUDENTS,
            C.IMPORT_ROSTER,
            C.VIEW_ORG_TREE,
            C.EDIT_ORG_TREE,
            C.VIEW_STAFF,
            C.EDIT_STAFF,
            C.VIEW_AGGREGATES,
            C.VIEW_INSTRUMENTS,
            C.VIEW_FULL_ID_NUMBER,
        }
    ),
    Role.STATION_COUNSELLOR: frozenset(
        {
            C.VIEW_STUDENTS,
            C.VIEW_ORG_TREE,
            C.VIEW_STAFF,
            C.VIEW_AGGREGATES,
            C.VIEW_INSTRUMENTS,
            C.UPLOAD_INSTRUMENT,
            C.FILE_CONCERN,
            C.VIEW_GUARDIAN_CONTACT,
        }
    ),
    Role.SCHOOL_ADMIN: frozenset(
        {
            C.VIEW_STUDENTS,
            C.EDIT_STUDENTS,
            C.IMPORT_ROSTER,
            C.VIEW_ORG_TREE,
            C.EDIT_ORG_TREE,
            C.VIEW_STAFF,
            C.EDIT_STAFF,
            C.VIEW_AGGREGATES,
            C.VIEW_INSTRUMENTS,
            C.VIEW_FULL_ID_NUMBER,
            C.FILE_CONCERN,
            C.VIEW_GUARDIAN_CONTACT,
        }
    ),
    Role.PSYCHOLOGY_TEACHER: frozenset(
        {
            C.VIEW_STUDENTS,
            C.VIEW_ORG_TREE,
            C.VIEW_STAFF,
            C.VIEW_AGGREGATES,
            C.VIEW_INSTRUMENTS,
            C.FILE_CONCERN,
            C.VIEW_GUARDIAN_CONTACT,
        }
    ),
    Role.HEAD_TEACHER: frozenset(
        {C.VIEW_STUDENTS, C.VIEW_ORG_TREE, C.FILE_CONCERN, C.VIEW_GUARDIAN_CONTACT}
    ),
    Role.MENTOR: frozenset({C.VIEW_STUDENTS, C.VIEW_ORG_TREE, C.FILE_CONCERN}),
    Role.COMMITTEE_MEMBER: frozenset({C.FILE_CONCERN}),
    # A parent never gets the staff student search: their own pages (family app) read their
    # children through VIEW_OWN_CHILDREN (the guardian link, scope.py).
    Role.PARENT: frozenset({C.VIEW_OWN_CHILDREN, C.GIVE_CONSENT, C.FILE_CONCERN}),
    Role.PSYCHIATRIST: frozenset({C.VIEW_STUDENTS}),
    Role.AUDITOR: frozenset({C.VIEW_AUDIT_LOG}),
    Role.SYSTEM_ADMIN: frozenset({C.MANAGE_ACCOUNTS, C.VIEW_ORG_TREE}),
    # A department officer files an online-monitoring tip only as the cyberspace office (网信):
    # partners.services.file_online_tip checks the officer's current post.
    Role.DEPARTMENT_OFFICER: frozenset({C.VIEW_DEPARTMENT_FIGURES, C.FILE_MONITORING_TIP}),
    Role.EXPERT: frozenset({C.VIEW_GRANTED_CASES}),
}

# Highest tier of individual student data a role may see for a student in its scope.
# Screening (issue 4).
_SCREENING_CAPS: dict[str, frozenset[str]] = {
    Role.CITY_ADMIN: frozenset({C.MANAGE_CAMPAIGNS, C.VIEW_SCREENING_PROGRESS}),
    Role.DISTRICT_ADMIN: frozenset({C.MANAGE_CAMPAIGNS, C.VIEW_SCREENING_PROGRESS}),
    Role.STATION_COUNSELLOR: frozenset({C.VIEW_SCREENING_PROGRESS}),
    Role.SCHOOL_ADMIN: frozenset(
        {
            C.VIEW_SCREENING_PROGRESS,
            C.VIEW_CLASS_PROGRESS,
            C.RECORD_CONSENT,
            C.PRINT_SIGN_IN_SLIPS,
        }
    ),
    Role.PSYCHOLOGY_TEACHER: frozenset(
        {
            C.MANAGE_CAMPAIGNS,
            C.VIEW_SCREENING_PROGRESS,
            C.VIEW_SCREENING_RESULTS,
            C.VIEW_CLASS_PROGRESS,
            C.MANAGE_ASSIGNMENTS,
            C.RUN_SITTINGS,
            C.RECORD_CONSENT,
            C.PRINT_SIGN_IN_SLIPS,
        }
    ),
    Role.HEAD_TEACHER: frozenset(
        {C.VIEW_CLASS_PROGRESS, C.RUN_SITTINGS, C.RECORD_CONSENT, C.PRINT_SIGN_IN_SLIPS}
    ),
}
for _role, _caps in _SCREENING_CAPS.items():
    ROLE_CAPABILITIES[_role] = ROLE_CAPABILITIES[_role] | _caps

# Alerts (issue 5).
_ALERT_CAPS: dict[str, frozenset[str]] = {
    Role.CITY_ADMIN: frozenset({C.EDIT_RULESETS}),
    Role.DISTRICT_ADMIN: frozenset({C.EDIT_RULESETS}),
    Role.STATION_COUNSELLOR: frozenset({C.VIEW_ALERTS}),
    Role.SCHOOL_ADMIN: frozenset({C.VIEW_ALERTS}),
    Role.PSYCHOLOGY_TEACHER: frozenset({C.VIEW_ALERTS, C.HANDLE_ALERTS}),
}
for _role, _caps in _ALERT_CAPS.items():
    ROLE_CAPABILITIES[_role] = ROLE_CAPABILITIES[_role] | _caps

# High-care cases (issue 5).
_CASE_CAPS: dict[str, frozenset[str]] = {
    Role.CITY_ADMIN: frozenset({C.VIEW_RED_BOARD}),
    Role.STATION_COUNSELLOR: frozenset({C.VIEW_CASES, C.VIEW_RED_BOARD, C.FORWARD_TRANSFERS}),
    Role.SCHOOL_ADMIN: frozenset({C.VIEW_CASES, C.APPROVE_LEVEL_CHANGES}),
    Role.PSYCHOLOGY_TEACHER: frozenset({C.VIEW_CASES, C.HANDLE_CASES}),
    Role.HEAD_TEACHER: frozenset({C.VIEW_CLASS_ATTENTION, C.VIEW_CASE_TASKS}),
    Role.MENTOR: frozenset({C.VIEW_CASE_TASKS}),
    Role.COMMITTEE_MEMBER: frozenset({C.VIEW_CASE_TASKS}),
    Role.PSYCHIATRIST: frozenset({C.GIVE_REFERRAL_FEEDBACK}),
}
for _role, _caps in _CASE_CAPS.items():
    ROLE_CAPABILITIES[_role] = ROLE_CAPABILITIES[_role] | _caps

# Facilities, crisis teams, emergency plans and the helpline directory (issue 14): a school keeps
# its own room and plans, a district its station's room, team, plans and helpline, the city its own;
# districts and the city evaluate rooms.
_FACILITY_EMERGENCY_CAPS: dict[str, frozenset[str]] = {
    Role.CITY_ADMIN: frozenset(
        {
            C.VIEW_FACILITIES,
            C.EDIT_FACILITIES,
            C.EVALUATE_FACILITIES,
            C.VIEW_EMERGENCY,
            C.EDIT_EMERGENCY,
            C.EDIT_HOTLINES,
        }
    ),
    Role.DISTRICT_ADMIN: frozenset(
        {
            C.VIEW_FACILITIES,
            C.EDIT_FACILITIES,
            C.EVALUATE_FACILITIES,
            C.VIEW_EMERGENCY,
            C.EDIT_EMERGENCY,
            C.EDIT_HOTLINES,
        }
    ),
    Role.STATION_COUNSELLOR: frozenset({C.VIEW_FACILITIES, C.VIEW_EMERGENCY}),
    Role.SCHOOL_ADMIN: frozenset(
        {C.VIEW_FACILITIES, C.EDIT_FACILITIES, C.VIEW_EMERGENCY, C.EDIT_EMERGENCY}
    ),
    Role.PSYCHOLOGY_TEACHER: frozenset({C.VIEW_FACILITIES, C.VIEW_EMERGENCY}),
}
for _role, _caps in _FACILITY_EMERGENCY_CAPS.items():
    ROLE_CAPABILITIES[_role] = ROLE_CAPABILITIES[_role] | _caps

# School organisation and families (issue 14): a school edits its own; the head teacher their
# class (the grant's area is the class).
_SCHOOL_CAPS: dict[str, frozenset[str]] = {
    Role.SCHOOL_ADMIN: frozenset({C.MANAGE_COMMITTEE, C.MANAGE_SCHOOL_GROUPS, C.MANAGE_FAMILIES}),
    Role.PSYCHOLOGY_TEACHER: frozenset({C.MANAGE_COMMITTEE, C.MANAGE_FAMILIES}),
    Role.HEAD_TEACHER: frozenset({C.MANAGE_COMMITTEE, C.MANAGE_FAMILIES}),
}
for _role, _caps in _SCHOOL_CAPS.items():
    ROLE_CAPABILITIES[_role] = ROLE_CAPABILITIES[_role] | _caps

# Partners (issue 14, docs/partners.md): department accounts, expert grants, hospital areas, the
# psychiatrist's plan advice, the de-identified referral summary, hospital concerns.
_PARTNER_CAPS: dict[str, frozenset[str]] = {
    Role.CITY_ADMIN: frozenset(
        {
            C.MANAGE_DEPARTMENT_ACCOUNTS,
            C.MANAGE_HOSPITAL_AREAS,
            C.VIEW_HOSPITAL_AREAS,
            C.VIEW_REFERRAL_SUMMARY,
        }
    ),
    Role.DISTRICT_ADMIN: frozenset(
        {C.MANAGE_HOSPITAL_AREAS, C.VIEW_HOSPITAL_AREAS, C.VIEW_REFERRAL_SUMMARY}
    ),
    Role.STATION_COUNSELLOR: frozenset(
        {C.VIEW_HOSPITAL_AREAS, C.VIEW_REFERRAL_SUMMARY, C.INVITE_EXPERTS}
    ),
    Role.PSYCHOLOGY_TEACHER: frozenset({C.INVITE_EXPERTS}),
    Role.PSYCHIATRIST: frozenset({C.CONTRIBUTE_TO_PLAN, C.FILE_CONCERN}),
}
for _role, _caps in _PARTNER_CAPS.items():
    ROLE_CAPABILITIES[_role] = ROLE_CAPABILITIES[_role] | _caps

# Workforce (issue 14): a school records its staff's training, a district its schools' and its
# research activities and registries, the city all of it.
_WORKFORCE_CAPS: dict[str, frozenset[str]] = {
    Role.CITY_ADMIN: frozenset(
        {C.VIEW_WORKFORCE, C.EDIT_TRAINING, C.EDIT_WORKFORCE, C.MANAGE_EXPERTS}
    ),
    Role.DISTRICT_ADMIN: frozenset(
        {C.VIEW_WORKFORCE, C.EDIT_TRAINING, C.EDIT_WORKFORCE, C.MANAGE_EXPERTS}
    ),
    Role.STATION_COUNSELLOR: frozenset({C.VIEW_WORKFORCE}),
    Role.SCHOOL_ADMIN: frozenset({C.VIEW_WORKFORCE, C.EDIT_TRAINING}),
    Role.PSYCHOLOGY_TEACHER: frozenset({C.VIEW_WORKFORCE}),
}
for _role, _caps in _WORKFORCE_CAPS.items():
    ROLE_CAPABILITIES[_role] = ROLE_CAPABILITIES[_role] | _caps

# Counselling service (issue 15, docs/counselling.md): a school's psychology teachers and a
# station's counsellors keep their unit's roster and counsel; the school leader keeps the roster;
# a head teacher books for their class's students and sees only the appointments they booked.
_COUNSELLING_CAPS: dict[str, frozenset[str]] = {
    Role.CITY_ADMIN: frozenset({C.VIEW_COUNSELLING}),
    Role.DISTRICT_ADMIN: frozenset({C.VIEW_COUNSELLING}),
    Role.STATION_COUNSELLOR: frozenset(
        {C.VIEW_COUNSELLING, C.MANAGE_DUTY_ROSTER, C.COUNSEL, C.BOOK_COUNSELLING}
    ),
    Role.SCHOOL_ADMIN: frozenset({C.VIEW_COUNSELLING, C.MANAGE_DUTY_ROSTER}),
    Role.PSYCHOLOGY_TEACHER: frozenset(
        {C.VIEW_COUNSELLING, C.MANAGE_DUTY_ROSTER, C.COUNSEL, C.BOOK_COUNSELLING}
    ),
    Role.HEAD_TEACHER: frozenset({C.VIEW_COUNSELLING, C.BOOK_COUNSELLING}),
}
for _role, _caps in _COUNSELLING_CAPS.items():
    ROLE_CAPABILITIES[_role] = ROLE_CAPABILITIES[_role] | _caps

# Counselling sessions and supervision (issue 15, docs/counselling.md "Supervision"): a station's
# counsellors and the psychology teachers of a station or the city centre supervise (a school's
# psychology teacher holds the capability too, but is only ever offered as a supervisor when they
# counsel at a station or the centre: selectors_sessions.supervisors_for). Recording a session is
# COUNSEL.
_SESSION_CAPS: dict[str, frozenset[str]] = {
    Role.STATION_COUNSELLOR: frozenset({C.SUPERVISE_COUNSELLING}),
    Role.PSYCHOLOGY_TEACHER: frozenset({C.SUPERVISE_COUNSELLING}),
}
for _role, _caps in _SESSION_CAPS.items():
    ROLE_CAPABILITIES[_role] = ROLE_CAPABILITIES[_role] | _caps
# Counselling workload and room usage (issue 15, R21/R28; docs/counselling.md): the school leader
# sees the school's per-staff workload; district and city administrators their area's totals.
_WORKLOAD_CAPS: dict[str, frozenset[str]] = {
    Role.CITY_ADMIN: frozenset({C.VIEW_WORKLOAD}),
    Role.DISTRICT_ADMIN: frozenset({C.VIEW_WORKLOAD}),
    Role.SCHOOL_ADMIN: frozenset({C.VIEW_WORKLOAD}),
}
for _role, _caps in _WORKLOAD_CAPS.items():
    ROLE_CAPABILITIES[_role] = ROLE_CAPABILITIES[_role] | _caps
# Students' help requests and bookings by parents and mentors (docs/counselling.md, "Students ask
# for help"): the counsellors answer help requests (a school leader sees one once it escalated to
# them); a mentor books for the students in their scope like a head teacher; a parent books for
# their own child only.
_HELP_CAPS: dict[str, frozenset[str]] = {
    Role.STATION_COUNSELLOR: frozenset({C.RESPOND_TO_HELP}),
    Role.PSYCHOLOGY_TEACHER: frozenset({C.RESPOND_TO_HELP}),
    Role.SCHOOL_ADMIN: frozenset({C.RESPOND_TO_HELP}),
    Role.MENTOR: frozenset({C.VIEW_COUNSELLING, C.BOOK_COUNSELLING}),
    Role.PARENT: frozenset({C.BOOK_FOR_OWN_CHILD}),
}
for _role, _caps in _HELP_CAPS.items():
    ROLE_CAPABILITIES[_role] = ROLE_CAPABILITIES[_role] | _caps
# Mentor system (issue 15, R19, docs/mentoring.md): every teacher mentors (a subject teacher, a
# head teacher, a psychology teacher) and sees exactly their current mentees (the mentoring app
# registers the capability's scope); the school leader assigns for the school, a head teacher for
# their class; the school's psychology teachers read the talk notes.
_MENTOR_CAPS: dict[str, frozenset[str]] = {
    Role.SCHOOL_ADMIN: frozenset({C.MANAGE_MENTORS}),
    Role.PSYCHOLOGY_TEACHER: frozenset({C.MENTOR_STUDENTS, C.READ_TALK_NOTES}),
    Role.HEAD_TEACHER: frozenset({C.MENTOR_STUDENTS, C.MANAGE_MENTORS}),
    Role.MENTOR: frozenset({C.MENTOR_STUDENTS}),
}
for _role, _caps in _MENTOR_CAPS.items():
    ROLE_CAPABILITIES[_role] = ROLE_CAPABILITIES[_role] | _caps

ROLE_TIER: dict[str, Tier] = {
    Role.CITY_ADMIN: Tier.T1,
    Role.DISTRICT_ADMIN: Tier.T1,
    Role.STATION_COUNSELLOR: Tier.T2,
    Role.SCHOOL_ADMIN: Tier.T2,
    Role.PSYCHOLOGY_TEACHER: Tier.T3,
    Role.HEAD_TEACHER: Tier.T2,
    Role.MENTOR: Tier.T1,
    Role.COMMITTEE_MEMBER: Tier.NONE,
    Role.PARENT: Tier.T1,
    Role.PSYCHIATRIST: Tier.T3,  # only for students referred to them
    Role.AUDITOR: Tier.NONE,
    Role.SYSTEM_ADMIN: Tier.NONE,
    Role.DEPARTMENT_OFFICER: Tier.T0,  # aggregates of their area, never a named child
    Role.EXPERT: Tier.T3,  # only the case of an unexpired, unrevoked invitation
}

# The org-unit kinds a role may be assigned at.
ROLE_UNIT_KINDS: dict[str, frozenset[str]] = {
    Role.CITY_ADMIN: frozenset({"city"}),
    Role.DISTRICT_ADMIN: frozenset({"district"}),
    Role.STATION_COUNSELLOR: frozenset({"station", "centre"}),
    Role.SCHOOL_ADMIN: frozenset({"school"}),
    Role.PSYCHOLOGY_TEACHER: frozenset({"school", "station", "centre"}),
    Role.HEAD_TEACHER: frozenset({"class"}),
    Role.MENTOR: frozenset({"class", "grade", "school"}),
    Role.COMMITTEE_MEMBER: frozenset({"class"}),
    Role.PARENT: frozenset({"school"}),
    Role.PSYCHIATRIST: frozenset({"hospital"}),
    Role.AUDITOR: frozenset({"city", "district"}),
    Role.SYSTEM_ADMIN: frozenset({"city"}),
    Role.DEPARTMENT_OFFICER: frozenset({"city", "district"}),
    Role.EXPERT: frozenset({"city", "district", "centre", "station", "hospital"}),
}


def role_has(role: str, cap: str) -> bool:
    return cap in ROLE_CAPABILITIES.get(role, frozenset())
