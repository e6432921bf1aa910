"""Checking and converting one roster row, fast enough to stream a million rows.

A row becomes a `Staged` list (the values the merge writes) or a list of (column, reason) errors.
Everything a row needs is looked up in dictionaries built once per job: schools, grades, classes,
parsed dates, ID-number birth places. Reasons are English source strings through gettext; the
caller activates the importing user's language.
"""

from __future__ import annotations

import base64
import datetime
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import mul
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from phonenumbers import PhoneMetadata
from stdnum.cn import ric

from xinqiao.core import crypto
from xinqiao.core.exports import FORMULA_STARTS, has_control_characters
from xinqiao.orgs.models import Kind, OrgUnit

from .. import search as search_keys
from ..models import GuardianRelation, StudentStatus
from ..validators import STUDENT_NUMBER_RE, validate_mobile
from .columns import FLAG_FIELDS, ColumnMap

# Staged row layout (also the staging table's column order, see merge.py). NUMBER is the sealed
# student number; NUMBER_HASH its keyed hash, the key rows are matched by and the row key every
# encrypted field of the student is bound to. G_PHONE is the plaintext phone until merge.py
# seals it for the guardian row (G_CODE) it will land in.
ROW_NO, NUMBER, NAME, GENDER, BIRTH, ID_ENC, ID_HASH, STATUS, SCHOOL, CLASS = range(10)
FLAGS_AT = 10  # six flags
G_NAME, G_RELATION, G_PHONE = 16, 17, 18
NAME_INITIALS, NUMBER_TAIL, ID_TAIL = 19, 20, 21  # search keys (people/search.py)
NUMBER_HASH, G_CODE = 22, 23
STAGED_WIDTH = 24

Staged = list[Any]
Errors = list[tuple[str, str]]

_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_SEPARATORS_RE = re.compile(r"[\s\-()（）]+")
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")
_DATE_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DIGITS_RE = re.compile(r"\d+")
_EXCEL_EPOCH = datetime.date(1899, 12, 30)
_CN_METADATA: Any = PhoneMetadata.metadata_for_region("CN")
_CN_MOBILE = re.compile(str(_CN_METADATA.mobile.national_number_pattern))
_SIMPLE_MOBILE = re.compile(r"^1[0-9]{10}$")

GENDERS = {
    "男": "M",
    "女": "F",
    "男性": "M",
    "女性": "F",
    "m": "M",
    "f": "F",
    "male": "M",
    "female": "F",
    "1": "M",
    "2": "F",
}
STATUSES = {
    "": StudentStatus.ENROLLED,
    "在籍": StudentStatus.ENROLLED,
    "在校": StudentStatus.ENROLLED,
    "在读": StudentStatus.ENROLLED,
    "正常": StudentStatus.ENROLLED,
    "enrolled": StudentStatus.ENROLLED,
    "休学": StudentStatus.SUSPENDED,
    "suspended": StudentStatus.SUSPENDED,
    "转出": StudentStatus.TRANSFERRED_OUT,
    "已转出": StudentStatus.TRANSFERRED_OUT,
    "转学": StudentStatus.TRANSFERRED_OUT,
    "transferred_out": StudentStatus.TRANSFERRED_OUT,
    "毕业": StudentStatus.GRADUATED,
    "已毕业": StudentStatus.GRADUATED,
    "graduated": StudentStatus.GRADUATED,
}
FLAG_VALUES = {
    "": False,
    "否": False,
    "无": False,
    "不是": False,
    "n": False,
    "no": False,
    "0": False,
    "false": False,
    "×": False,
    "x": False,
    "是": True,
    "有": True,
    "y": True,
    "yes": True,
    "1": True,
    "true": True,
    "√": True,
    "✓": True,
    "✔": True,
}
_CN_DIGITS = "零一二三四五六七八九十"


_RELATIONS: dict[str, str | None] = {}


def _relation(text: str) -> str | None:
    try:
        return _RELATIONS[text]
    except KeyError:
        pass
    found = _relation_of(text)
    if len(_RELATIONS) < 10_000:
        _RELATIONS[text] = found
    return found


def _relation_of(text: str) -> str | None:
    t = text.lower()
    if not t:
        return None
    if any(k in t for k in ("祖", "爷", "奶", "外公", "外婆", "姥", "grand")):
        return GuardianRelation.GRANDPARENT
    if any(k in t for k in ("父", "爸", "father", "dad")):
        return GuardianRelation.FATHER
    if any(k in t for k in ("母", "妈", "mother", "mum", "mom")):
        return GuardianRelation.MOTHER
    if any(
        k in t
        for k in (
            "兄",
            "姐",
            "哥",
            "弟",
            "妹",
            "叔",
            "伯",
            "姑",
            "舅",
            "姨",
            "亲",
            "relative",
            "uncle",
            "aunt",
            "sibling",
        )
    ):
        return GuardianRelation.OTHER_RELATIVE
    if any(k in t for k in ("其他", "其它", "监护", "other", "guardian")):
        return GuardianRelation.OTHER
    return None


def text(value: Any) -> str:
    """A cell as stripped text (spreadsheet numbers without a trailing .0)."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = value.strip()
        # An error report neutralises formula-like cells with an apostrophe: fixed and imported
        # again, the cell reads as typed.
        if value[:1] == "'" and value[1:2] in FORMULA_STARTS:
            return value[1:]
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    return str(value).strip()


def norm(value: str) -> str:
    return unicodedata.normalize("NFKC", value).replace(" ", "").lower()


def cn_number(n: int) -> str:
    if n <= 10:
        return _CN_DIGITS[n]
    if n < 20:
        return "十" + _CN_DIGITS[n - 10]
    return _CN_DIGITS[n // 10] + "十" + (_CN_DIGITS[n % 10] if n % 10 else "")


def grade_keys(unit: OrgUnit) -> set[str]:
    keys = {norm(unit.name)}
    level = unit.grade_level
    if level:
        keys |= {str(level), f"{level}年级", f"{cn_number(level)}年级"}
        if level <= 6:
            keys |= {f"小学{cn_number(level)}年级"}
        elif level <= 9:
            n = cn_number(level - 6)
            keys |= {f"初{n}", f"初中{n}年级", f"初中{n}", f"{cn_number(level)}"}
        else:
            n = cn_number(level - 9)
            keys |= {f"高{n}", f"高中{n}年级", f"高中{n}"}
    if unit.entry_year:
        keys |= {f"{unit.entry_year}级", str(unit.entry_year)}
    return keys


def class_number(name: str) -> int | None:
    found = _DIGITS_RE.findall(unicodedata.normalize("NFKC", name))
    return int(found[-1]) if found else None


@dataclass
class NewClass:
    """A class the file names that does not exist yet under a known grade; created at merge."""

    grade_id: int
    name: str
    id: int | None = None


@dataclass
class SchoolIndex:
    school: OrgUnit
    grades: dict[str, OrgUnit] = field(default_factory=dict)
    classes: dict[tuple[int, str], int] = field(default_factory=dict)
    class_numbers: dict[tuple[int, int], int] = field(default_factory=dict)
    new_classes: dict[tuple[int, str], NewClass] = field(default_factory=dict)


class FastIdNumber:
    """GB 11643 checks with the same outcome as validators.validate_id_number, ~20× faster."""

    def __init__(self) -> None:
        self._places: dict[str, bool] = {}
        self._dates: dict[str, bool] = {}

    def valid(self, number: str) -> bool:
        if not _ID_RE.match(number):
            return False
        total = sum(map(mul, map(int, number[:17]), _ID_WEIGHTS))
        if _ID_CHECK[total % 11] != number[17]:
            return False
        day = number[6:14]
        ok = self._dates.get(day)
        if ok is None:
            try:
                datetime.date(int(day[:4]), int(day[4:6]), int(day[6:8]))
                ok = True
            except ValueError:
                ok = False
            self._dates[day] = ok
        if not ok:
            return False
        place = number[:10]  # region + birth year: counties change over time
        ok = self._places.get(place)
        if ok is None:
            try:
                ric.get_birth_place(number)
                ok = True
            except Exception:
                ok = False
            self._places[place] = ok
        return ok


class Encryptor:
    """crypto.encrypt / keyed_hash for the student's encrypted columns, the key and suite looked
    up once."""

    def __init__(self) -> None:
        from .. import models

        self._sealer = crypto.current()
        meta = models.Student._meta
        self._id = meta.get_field("id_number")
        self._number = meta.get_field("student_number")
        self._phone = models.Guardian._meta.get_field("phone")

    def _seal(self, aad: bytes, value: str) -> str:
        blob = self._sealer.seal(value.encode(), aad)
        return self._sealer.prefix + base64.b64encode(blob).decode()

    def encrypt(self, value: str, row_key: str) -> str:
        """The ID number sealed for the student row keyed by `row_key` (the number's hash)."""
        return self._seal(self._id.aad_for(row_key), value)  # type: ignore[attr-defined]

    def encrypt_number(self, number: str, row_key: str) -> str:
        return self._seal(self._number.aad_for(row_key), number)  # type: ignore[attr-defined]

    def encrypt_phone(self, phone: str, guardian_code: object) -> str:
        return self._seal(self._phone.aad_for(guardian_code), phone)  # type: ignore[attr-defined]

    def hash(self, value: str) -> str:
        return crypto.keyed_hash(value)


class RowChecker:
    """Turns (row number, cells) into a staged row or errors. One instance per job."""

    def __init__(
        self,
        columns: ColumnMap,
        *,
        schools: SchoolResolver,
        today: datetime.date | None = None,
    ) -> None:
        self.columns = columns
        self.schools = schools
        self.today = today or timezone.localdate()
        self.ids = FastIdNumber()
        self.crypto = Encryptor()
        self.seen: dict[str, int] = {}
        self._dates: dict[str, datetime.date | None] = {}
        self._grades: dict[tuple[int, str], OrgUnit | None] = {}
        self._classes: dict[tuple[int, str], int | NewClass] = {}
        ix = columns.index
        self.i_number, self.i_name = ix["student_number"], ix["name"]
        self.i_gender, self.i_birth = ix["gender"], ix["birth_date"]
        self.i_grade, self.i_class = ix["grade"], ix["class"]
        self.i_id = ix.get("id_number")
        self.i_school_code, self.i_school_name = ix.get("school_code"), ix.get("school_name")
        self.i_status = ix.get("status")
        self.i_flags = [(FLAGS_AT + k, ix.get(f)) for k, f in enumerate(FLAG_FIELDS)]
        self.i_gname, self.i_grel = ix.get("guardian_name"), ix.get("guardian_relation")
        self.i_gphone = ix.get("guardian_phone")
        self.width = len(columns.headers)
        self.h = columns.header_of

    # --- single values ----------------------------------------------------------------------
    def parse_date(self, value: Any) -> datetime.date | None:
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            if 1 <= value < 2958466:
                return _EXCEL_EPOCH + datetime.timedelta(days=int(value))
            return None
        raw = text(value)
        if raw in self._dates:
            return self._dates[raw]
        result: datetime.date | None = None
        m = _DATE_RE.match(raw) or _DATE_COMPACT_RE.match(raw)
        try:
            if m:
                result = datetime.date(int(m[1]), int(m[2]), int(m[3]))
            elif raw.isdigit() and 1 <= int(raw) < 80000:
                result = _EXCEL_EPOCH + datetime.timedelta(days=int(raw))
        except ValueError:
            result = None
        if len(self._dates) < 200_000:
            self._dates[raw] = result
        return result

    def mobile(self, raw: str) -> str | None:
        number = _SEPARATORS_RE.sub("", raw)
        if number.startswith("+86"):
            number = number[3:]
        elif number.startswith("0086"):
            number = number[4:]
        elif number.startswith("86") and len(number) == 13:
            number = number[2:]
        if _SIMPLE_MOBILE.match(number):
            return number if _CN_MOBILE.fullmatch(number) else None
        try:
            validate_mobile(raw)
        except ValidationError:
            return None
        return number

    # --- a row ------------------------------------------------------------------------------
    def check(self, row_no: int, cells: list[Any]) -> tuple[Staged | None, Errors]:
        if len(cells) < self.width:
            cells = [*cells, *([""] * (self.width - len(cells)))]
        errors: Errors = []
        h = self.h
        out: Staged = [None] * STAGED_WIDTH
        out[ROW_NO] = row_no

        number = text(cells[self.i_number]).upper().replace(" ", "")
        if not number:
            errors.append((h("student_number"), _("The national student number is missing.")))
        elif not STUDENT_NUMBER_RE.match(number):
            errors.append(
                (
                    h("student_number"),
                    _("“%(value)s” is not a valid national student number (G + 18 characters).")
                    % {"value": number},
                )
            )
        else:
            first = self.seen.get(number)
            if first is not None:
                errors.append(
                    (
                        h("student_number"),
                        _("The national student number %(value)s already appears in row %(row)d.")
                        % {"value": number, "row": first},
                    )
                )
        if not errors:
            row_key = self.crypto.hash(search_keys.number_hash_text(number))
            out[NUMBER_HASH] = row_key
            out[NUMBER] = self.crypto.encrypt_number(number, row_key)
            out[NUMBER_TAIL] = self.crypto.hash(search_keys.number_tail_text(number))[
                : search_keys.ID_TAIL_HASH_LENGTH
            ]

        name = text(cells[self.i_name])
        if not name:
            errors.append((h("name"), _("The name is missing.")))
        elif len(name) > 60 or "\ufffd" in name or has_control_characters(name):
            errors.append((h("name"), _("The name is too long or contains unreadable characters.")))
        out[NAME] = name
        out[NAME_INITIALS] = search_keys.name_initials(name)

        gender = GENDERS.get(text(cells[self.i_gender]).lower())
        if gender is None:
            errors.append((h("gender"), _("The gender must be 男 or 女 (M or F).")))
        out[GENDER] = gender

        birth = self.parse_date(cells[self.i_birth])
        if birth is None:
            errors.append(
                (h("birth_date"), _("The birth date is not a date (for example 2013-01-01)."))
            )
        elif not (1900 <= birth.year and birth <= self.today):
            errors.append((h("birth_date"), _("The birth date is not plausible.")))
        out[BIRTH] = birth

        out[ID_ENC] = out[ID_HASH] = out[ID_TAIL] = ""
        if self.i_id is not None:
            id_number = text(cells[self.i_id]).upper().replace(" ", "")
            if id_number:
                if self.ids.valid(id_number):
                    out[ID_ENC] = self.crypto.encrypt(id_number, out[NUMBER_HASH] or "")
                    out[ID_HASH] = self.crypto.hash(id_number)
                    out[ID_TAIL] = self.crypto.hash(search_keys.id_tail_text(id_number))[
                        : search_keys.ID_TAIL_HASH_LENGTH
                    ]
                else:
                    errors.append(
                        (
                            h("id_number"),
                            _(
                                "The resident ID number is invalid (wrong length, birth date or "
                                "check digit)."
                            ),
                        )
                    )

        out[STATUS] = StudentStatus.ENROLLED
        if self.i_status is not None:
            status = STATUSES.get(text(cells[self.i_status]).lower())
            if status is None:
                errors.append(
                    (h("status"), _("Unknown student status; use 在籍, 休学, 转出 or 毕业."))
                )
            out[STATUS] = status

        for pos, col in self.i_flags:
            if col is None:
                out[pos] = False
                continue
            flag = FLAG_VALUES.get(text(cells[col]).lower())
            if flag is None:
                errors.append((self.columns.headers[col], _("Use 是 or 否 (yes or no).")))
            out[pos] = bool(flag)

        # Guardian: all or nothing (a name without a phone cannot be reached).
        out[G_NAME] = out[G_RELATION] = out[G_PHONE] = None
        gname = text(cells[self.i_gname]) if self.i_gname is not None else ""
        grel = text(cells[self.i_grel]) if self.i_grel is not None else ""
        gphone = text(cells[self.i_gphone]) if self.i_gphone is not None else ""
        if gname or gphone or grel:
            ok = True
            if not gname:
                errors.append((h("guardian_name"), _("The guardian's name is missing.")))
                ok = False
            elif len(gname) > 60:
                errors.append((h("guardian_name"), _("The guardian's name is too long.")))
                ok = False
            elif has_control_characters(gname):
                errors.append(
                    (h("guardian_name"), _("The guardian's name contains unreadable characters."))
                )
                ok = False
            relation = _relation(grel) if grel else GuardianRelation.OTHER
            if relation is None:
                errors.append(
                    (
                        h("guardian_relation"),
                        _("Unknown relation “%(value)s”; use 父亲, 母亲, 祖父母, 其他亲属 or 其他.")
                        % {"value": grel},
                    )
                )
                ok = False
            phone = self.mobile(gphone) if gphone else None
            if phone is None:
                errors.append(
                    (
                        h("guardian_phone"),
                        _("“%(value)s” is not a valid mainland mobile number.") % {"value": gphone},
                    )
                )
                ok = False
            if ok:
                out[G_NAME], out[G_RELATION], out[G_PHONE] = gname, relation, phone

        # School, grade, class.
        school, problem = self.schools.resolve(
            text(cells[self.i_school_code]) if self.i_school_code is not None else "",
            text(cells[self.i_school_name]) if self.i_school_name is not None else "",
        )
        if school is None:
            column = h("school_code") if self.i_school_code is not None else h("school_name")
            errors.append((column, problem))
        else:
            out[SCHOOL] = school.school.pk
            grade_text = text(cells[self.i_grade])
            grade = self.grade(school, grade_text)
            if grade is None:
                errors.append(
                    (
                        h("grade"),
                        _("The grade “%(value)s” does not exist at %(school)s.")
                        % {"value": grade_text, "school": school.school.name},
                    )
                )
            else:
                class_text = text(cells[self.i_class])
                if not class_text:
                    errors.append((h("class"), _("The class is missing.")))
                else:
                    out[CLASS] = self.school_class(school, grade, class_text)

        if errors:
            return None, errors
        self.seen[number] = row_no
        return out, errors

    # --- org lookups ------------------------------------------------------------------------
    def grade(self, school: SchoolIndex, raw: str) -> OrgUnit | None:
        key = (school.school.pk, raw)
        if key not in self._grades:
            self._grades[key] = school.grades.get(norm(raw)) if raw else None
        return self._grades[key]

    def school_class(self, school: SchoolIndex, grade: OrgUnit, raw: str) -> int | NewClass:
        key = (grade.pk, raw)
        found = self._classes.get(key)
        if found is not None:
            return found
        n = norm(raw)
        hit: int | NewClass | None = school.classes.get((grade.pk, n))
        number = class_number(raw)
        if hit is None and number is not None:
            level = grade.grade_level or 0
            if number >= 100 and number // 100 in (level, level - 6, level - 9):
                number %= 100  # 班号 such as 701 = grade 7, class 1
            hit = school.class_numbers.get((grade.pk, number))
        if hit is None:
            if number is not None and re.fullmatch(r"[(（]?\d+[)）]?班?", raw):
                prefix = grade.name.removesuffix("年级")
                name = f"{prefix}({number})班"
            else:
                name = raw.strip()
            hit = school.new_classes.setdefault((grade.pk, norm(name)), NewClass(grade.pk, name))
        self._classes[key] = hit
        return hit

    def forget_new_classes(self) -> None:
        """After a dry-run chunk is rolled back, created classes are gone again."""
        for value in self._classes.values():
            if isinstance(value, NewClass):
                value.id = None

    def adopt_new_classes(self) -> None:
        """After a committed chunk, created classes are ordinary classes."""
        for key, value in list(self._classes.items()):
            if isinstance(value, NewClass) and value.id is not None:
                self._classes[key] = value.id
        for school in self.schools.indexes.values():
            for ckey, new in list(school.new_classes.items()):
                if new.id is not None:
                    school.classes[ckey] = new.id
                    del school.new_classes[ckey]


class SchoolResolver:
    """School by 学校标识码 or exact name, bounded by the acting user's scope and --school."""

    def __init__(
        self,
        *,
        allowed: Callable[[OrgUnit], bool],
        only: OrgUnit | None = None,
    ) -> None:
        self.allowed = allowed
        self.only = only
        self.indexes: dict[int, SchoolIndex] = {}
        self._by_code: dict[str, OrgUnit] = {}
        self._by_name: dict[str, list[OrgUnit]] = {}
        for unit in OrgUnit.objects.filter(kind=Kind.SCHOOL).only(
            "id", "name", "path", "school_code", "kind", "parent_id"
        ):
            if unit.school_code:
                self._by_code[unit.school_code.strip().upper()] = unit
            self._by_name.setdefault(norm(unit.name), []).append(unit)
        self._cache: dict[tuple[str, str], tuple[SchoolIndex | None, str]] = {}

    def resolve(self, code: str, name: str) -> tuple[SchoolIndex | None, str]:
        key = (code, name)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._resolve(code, name)
            self._cache[key] = hit
        return hit

    def _resolve(self, code: str, name: str) -> tuple[SchoolIndex | None, str]:
        unit: OrgUnit | None = None
        if code:
            unit = self._by_code.get(code.upper())
            if unit is None:
                return None, _("No school has the identification code “%(value)s”.") % {
                    "value": code
                }
        elif name:
            candidates = self._by_name.get(norm(name), [])
            if len(candidates) > 1:
                return None, _(
                    "Several schools are called “%(value)s”; give the school identification code."
                ) % {"value": name}
            if not candidates:
                return None, _("No school is called “%(value)s”.") % {"value": name}
            unit = candidates[0]
        elif self.only is not None:
            unit = self.only
        else:
            return None, _("The school is missing.")
        if self.only is not None and unit.pk != self.only.pk:
            return None, _("This import is limited to %(school)s.") % {"school": self.only.name}
        if not self.allowed(unit):
            return None, _("You may not import students for %(school)s.") % {"school": unit.name}
        return self.index(unit), ""

    def index(self, school: OrgUnit) -> SchoolIndex:
        found = self.indexes.get(school.pk)
        if found is not None:
            return found
        index = SchoolIndex(school=school)
        units = OrgUnit.objects.filter(
            path__gte=school.path, path__lt=school.path + "~", kind__in=[Kind.GRADE, Kind.CLASS]
        ).order_by("path")
        grades: dict[int, OrgUnit] = {}
        classes: list[OrgUnit] = []
        for unit in units:
            (classes.append(unit) if unit.kind == Kind.CLASS else grades.__setitem__(unit.pk, unit))
        for grade in grades.values():
            for key in grade_keys(grade):
                index.grades.setdefault(key, grade)
        for unit in classes:
            if unit.parent_id not in grades:
                continue
            index.classes[(unit.parent_id, norm(unit.name))] = unit.pk
            number = class_number(unit.name)
            if number is not None:
                index.class_numbers.setdefault((unit.parent_id, number), unit.pk)
        self.indexes[school.pk] = index
        return index
