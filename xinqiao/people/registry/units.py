"""Finding the unit a row names (by its code or its name) among the units the uploader may import
into: the look-up most registries share. `unit_columns()` gives the two columns, `UnitLookup` is
loaded once per job in `prepare` and answers per row in `check`:

    def prepare(self, ctx):
        ctx.cache["units"] = UnitLookup(ctx, kinds=(Kind.SCHOOL, Kind.STATION))

    def check(self, row, ctx):
        unit = ctx.cache["units"].resolve(row)   # raises RowError naming the column

A unit outside the uploader's scope is "not in your scope", as a unit that does not exist: the
import does not reveal the units of another school or district."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinqiao.orgs.models import OrgUnit

from .base import Column, ImportContext, Row, RowError, text

CODE_ALIASES = ("单位代码", "学校标识码", "学校代码", "单位编码", "unit code")
NAME_ALIASES = ("单位名称", "学校名称", "所在单位", "工作单位", "学校", "单位", "unit")


def unit_columns(
    prefix: str = "unit",
    *,
    code_aliases: tuple[str, ...] = CODE_ALIASES,
    name_aliases: tuple[str, ...] = NAME_ALIASES,
    labels: tuple[str | Promise, str | Promise] | None = None,
) -> tuple[Column, Column]:
    """The unit code and unit name columns (fields `<prefix>_code`, `<prefix>_name`); `labels`
    (code, name) say what the unit is on the upload page (default "unit code", "unit name")."""
    code_label, name_label = labels or (gettext_lazy("unit code"), gettext_lazy("unit name"))
    return (
        Column(f"{prefix}_code", code_label, code_aliases, text(32)),
        Column(f"{prefix}_name", name_label, name_aliases, text(100)),
    )


class UnitLookup:
    """The units of `kinds` in the uploader's scope, by code and by name."""

    def __init__(self, ctx: ImportContext, kinds: Iterable[str] | None = None) -> None:
        self.by_code: dict[str, OrgUnit] = {}
        self.by_name: dict[str, list[OrgUnit]] = defaultdict(list)
        for unit in ctx.units(kinds):
            if unit.school_code:
                self.by_code[unit.school_code] = unit
            self.by_name[unit.name].append(unit)

    def resolve(self, row: Row, prefix: str = "unit") -> OrgUnit:
        """The unit of the row's `<prefix>_code` (deciding) or `<prefix>_name`; RowError if
        neither names exactly one unit in scope."""
        code: Any = row.values.get(f"{prefix}_code")
        name: Any = row.values.get(f"{prefix}_name")
        if code:
            unit = self.by_code.get(code)
            if unit is None:
                raise RowError(
                    _("No unit with code %(code)s in your scope.") % {"code": code},
                    f"{prefix}_code",
                )
            return unit
        if not name:
            raise RowError(_("Give the unit code or the unit name."), f"{prefix}_name")
        found = self.by_name.get(name, [])
        if not found:
            raise RowError(
                _("No unit named %(name)s in your scope.") % {"name": name}, f"{prefix}_name"
            )
        if len(found) > 1:
            raise RowError(
                _("Several units are named %(name)s: give the unit code.") % {"name": name},
                f"{prefix}_name",
            )
        return found[0]
