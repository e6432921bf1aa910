from datetime import date
from uuid import UUID

from ninja import Schema


class RoleOut(Schema):
    role: str
    role_label: str
    unit_code: UUID
    unit_name: str


class MeOut(Schema):
    username: str
    name: str
    roles: list[RoleOut]


class UnitOut(Schema):
    code: UUID
    kind: str
    name: str
    stage: str
    school_code: str
    is_active: bool


class StudentOut(Schema):
    code: UUID
    student_number: str  # masked: the 学籍号 embeds the resident ID number
    name: str
    gender: str
    status: str
    school: str
    school_class: str | None


class EnrolmentOut(Schema):
    term: str
    school: str
    school_class: str


class StudentDetailOut(StudentOut):
    birth_date: date
    family_flags: list[str]
    enrolments: list[EnrolmentOut]


class StudentPage(Schema):
    count: int
    page: int
    pages: int
    results: list[StudentOut]
