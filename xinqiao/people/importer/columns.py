"""Which column of a roster file holds which field.

Student-status (学籍) system exports name their columns in Chinese and not always the same way; the
built-in aliases below cover the common spellings, and the setting XINQIAO_ROSTER_COLUMN_ALIASES
(`{"field": ["alias", ...]}`) adds more. Headers are compared after NFKC normalisation (full-width
brackets become ASCII), without spaces, `*` required-markers or a trailing hint in brackets
(`出生日期(YYYY-MM-DD)` reads as `出生日期`), case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinqiao.core.tabular.headers import HINT_RE, normalise_header

FLAG_FIELDS = (
    "left_behind",
    "single_parent",
    "orphan_or_unsupported",
    "disability",
    "low_income",
    "migrant",
)

# Field → built-in aliases, the most specific spelling first (it wins when two columns match).
BUILTIN_ALIASES: dict[str, tuple[str, ...]] = {
    "student_number": (
        "全国学籍号",
        "全国学籍号码",
        "学籍号",
        "学籍编号",
        "学生学籍号",
        "学籍辅号",
    ),
    "name": ("姓名", "学生姓名", "名字"),
    "gender": ("性别", "学生性别"),
    "birth_date": ("出生日期", "出生年月日", "出生年月", "生日"),
    "id_number": (
        "身份证件号",
        "身份证件号码",
        "身份证号",
        "身份证号码",
        "公民身份号码",
        "证件号码",
        "证件号",
    ),
    "school_code": ("学校标识码", "学校代码", "学校编码", "学校识别码"),
    "school_name": ("学校名称", "学校", "所在学校", "就读学校"),
    "grade": ("年级", "年级名称", "当前年级", "所在年级"),
    "class": ("班级", "班级名称", "所在班级", "班号", "班"),
    "guardian_name": ("监护人姓名", "监护人", "家长姓名", "监护人1姓名", "家庭成员姓名"),
    "guardian_relation": (
        "监护人关系",
        "与学生关系",
        "监护人1关系",
        "家长关系",
        "关系",
        "家庭成员关系",
    ),
    "guardian_phone": (
        "监护人电话",
        "监护人手机",
        "监护人联系电话",
        "监护人1电话",
        "家长电话",
        "家长手机",
        "家长联系电话",
        "联系电话",
        "手机号码",
    ),
    "status": ("学籍状态", "在校状态", "学生状态", "状态"),
    "left_behind": ("留守儿童", "是否留守儿童", "留守"),
    "single_parent": ("单亲家庭", "是否单亲家庭", "单亲"),
    "orphan_or_unsupported": (
        "孤儿/事实无人抚养",
        "孤儿或事实无人抚养",
        "孤儿/事实无人抚养儿童",
        "孤儿",
        "事实无人抚养",
        "是否孤儿",
    ),
    "disability": ("残疾", "是否残疾", "残疾儿童", "残疾学生"),
    "low_income": ("低保/低收入", "低保/低收入家庭", "低保", "低收入", "低保家庭", "是否低保"),
    "migrant": ("随迁子女", "是否随迁子女", "进城务工人员随迁子女", "随迁"),
}

FIELDS = tuple(BUILTIN_ALIASES)

# Shown in messages and the guide: the canonical Chinese header of each field.
CANONICAL_HEADER = {field: aliases[0] for field, aliases in BUILTIN_ALIASES.items()}

REQUIRED_FIELDS = ("student_number", "name", "gender", "birth_date", "grade", "class")

FIELD_LABELS = {
    "student_number": gettext_lazy("national student number"),
    "name": gettext_lazy("name"),
    "gender": gettext_lazy("gender"),
    "birth_date": gettext_lazy("birth date"),
    "id_number": gettext_lazy("resident ID number"),
    "school_code": gettext_lazy("school identification code"),
    "school_name": gettext_lazy("school name"),
    "grade": gettext_lazy("grade"),
    "class": gettext_lazy("class"),
    "guardian_name": gettext_lazy("guardian name"),
    "guardian_relation": gettext_lazy("guardian relation"),
    "guardian_phone": gettext_lazy("guardian mobile"),
    "status": gettext_lazy("student status"),
    "left_behind": gettext_lazy("left-behind child"),
    "single_parent": gettext_lazy("single-parent family"),
    "orphan_or_unsupported": gettext_lazy("orphan or de-facto unsupported"),
    "disability": gettext_lazy("disability"),
    "low_income": gettext_lazy("low-income family"),
    "migrant": gettext_lazy("migrant child"),
}

_HINT_RE = HINT_RE


def aliases() -> dict[str, list[str]]:
    """Built-in aliases with the configured ones appended (configured names never replace ours)."""
    merged = {field: list(names) for field, names in BUILTIN_ALIASES.items()}
    merged_extra = getattr(settings, "XINQIAO_ROSTER_COLUMN_ALIASES", {}) or {}
    for field, names in merged_extra.items():
        if field not in merged:
            raise ValueError(f"XINQIAO_ROSTER_COLUMN_ALIASES names an unknown field: {field!r}")
        if isinstance(names, str):
            names = [names]
        merged[field].extend(n for n in names if n not in merged[field])
    for field in merged:
        merged[field].append(field)  # the English field name always works too
    return merged


@dataclass(frozen=True)
class ColumnMap:
    """Where each known field sits in a row, and the original header texts."""

    headers: tuple[str, ...]
    index: dict[str, int]

    def header_of(self, field: str) -> str:
        if field in self.index:
            return self.headers[self.index[field]]
        return CANONICAL_HEADER.get(field, field)

    def has(self, field: str) -> bool:
        return field in self.index


class MissingColumnsError(Exception):
    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        names = "、".join(CANONICAL_HEADER[f] for f in missing)
        super().__init__(_("Required columns are missing: %(columns)s") % {"columns": names})


def map_columns(headers: list[object], *, school_given: bool) -> ColumnMap:
    """Match headers to fields. Raises MissingColumnsError when a required column is absent."""
    lookup: dict[str, tuple[str, int]] = {}
    for field, names in aliases().items():
        for rank, name in enumerate(names):
            key = normalise_header(name)
            if key not in lookup or lookup[key][1] > rank:
                lookup[key] = (field, rank)
    best: dict[str, tuple[int, int]] = {}  # field → (rank, column)
    for col, header in enumerate(headers):
        key = normalise_header(header)
        hit = lookup.get(key) or lookup.get(_HINT_RE.sub("", key))
        if hit is None:
            continue
        field, rank = hit
        if field not in best or best[field][0] > rank:
            best[field] = (rank, col)
    index = {field: col for field, (_rank, col) in best.items()}
    missing = [f for f in REQUIRED_FIELDS if f not in index]
    if not school_given and "school_code" not in index and "school_name" not in index:
        missing.append("school_code")
    if missing:
        raise MissingColumnsError(missing)
    return ColumnMap(headers=tuple("" if h is None else str(h) for h in headers), index=index)
