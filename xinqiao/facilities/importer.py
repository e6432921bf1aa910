"""The counselling rooms import (kind `rooms`, issue 14): the room list a district or school keeps,
through the registry import framework (xinqiao/people/registry/, docs/registries.md).

One row per unit (school, station, the city centre): location, total area, the functional rooms
("个体辅导室2间30㎡、团体辅导室1间、沙盘室"), equipment, opening hours. Natural key: the unit. A row
is written through `services.save_room` (one audit event per changed room); an unchanged room is
not written. The status and the evaluation date are not imported: an evaluation is a workflow.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinqiao.access.roles import Cap
from xinqiao.core.errors import DomainError
from xinqiao.people.registry import (
    CellError,
    Column,
    Counts,
    ImportContext,
    Registry,
    Row,
    parse_decimal,
    register,
    text,
)
from xinqiao.people.registry.units import UnitLookup, unit_columns

from . import services
from .models import CounsellingRoom, Function

FUNCTION_ALIASES: dict[str, str] = {
    "个体辅导室": Function.INDIVIDUAL,
    "个体咨询室": Function.INDIVIDUAL,
    "个别辅导室": Function.INDIVIDUAL,
    "个体心理辅导室": Function.INDIVIDUAL,
    "团体辅导室": Function.GROUP,
    "团体活动室": Function.GROUP,
    "团辅室": Function.GROUP,
    "团体心理辅导室": Function.GROUP,
    "团体辅导/活动室": Function.GROUP,
    "办公接待区": Function.RECEPTION,
    "办公接待室": Function.RECEPTION,
    "接待室": Function.RECEPTION,
    "接待区": Function.RECEPTION,
    "办公室": Function.RECEPTION,
    "测评室": Function.ASSESSMENT,
    "心理测评室": Function.ASSESSMENT,
    "放松室": Function.RELAXATION,
    "宣泄室": Function.RELAXATION,
    "放松宣泄室": Function.RELAXATION,
    "放松/宣泄室": Function.RELAXATION,
    "情绪宣泄室": Function.RELAXATION,
    "沙盘室": Function.SAND_TRAY,
    "沙盘游戏室": Function.SAND_TRAY,
    "箱庭室": Function.SAND_TRAY,
    "其他": Function.OTHER,
    "其他功能室": Function.OTHER,
}
_SPLIT_RE = re.compile(r"[、,，;；\n]+")
# "个体辅导室2间30㎡", "团体辅导室 x1 60平方米", "沙盘室(1间, 15m²)": name, then an optional count
# and an optional area.
_PART_RE = re.compile(
    r"^(?P<name>[^\d×xX*(（]+?)\s*[(（]?\s*(?:[×xX*]?\s*(?P<count>\d+)\s*(?:间|个)?)?\s*[,，]?\s*"
    r"(?:(?P<area>\d+(?:\.\d+)?)\s*(?:㎡|m²|m2|平方米|平米))?\s*[)）]?$"
)


def _function_table() -> dict[str, str]:
    from django.utils import translation

    table = {k: str(v) for k, v in FUNCTION_ALIASES.items()}
    for code, label in Function.choices:
        table[code] = code
        for language in ("en", "zh-hans"):
            with translation.override(language):
                table[str(label).lower()] = code
    return table


def parse_functions(value: str) -> dict[str, tuple[int, Decimal | None]]:
    """ "个体辅导室2间30㎡、团体辅导室、沙盘室1间" → {function: (count, area)}; 无 → {}."""
    if value.strip() in {"无", "-", "—", "/"}:
        return {}
    table = _function_table()
    found: dict[str, tuple[int, Decimal | None]] = {}
    for part in _SPLIT_RE.split(value.replace("（", "(").replace("）", ")")):
        part = part.strip()
        if not part:
            continue
        match = _PART_RE.match(part)
        function = table.get(match["name"].strip().lower()) if match else None
        if match is None or function is None:
            raise CellError(
                _(
                    "Unknown functional room “%(value)s”; write e.g. "
                    "个体辅导室2间30㎡、团体辅导室1间、办公接待区、测评室、放松室、沙盘室."
                )
                % {"value": part}
            )
        count = int(match["count"]) if match["count"] else 1
        if not 1 <= count <= 50:
            raise CellError(_("The number of rooms must be between 1 and 50."))
        area = Decimal(match["area"]).quantize(Decimal("0.1")) if match["area"] else None
        if function in found:
            raise CellError(_("“%(value)s” is listed twice.") % {"value": match["name"].strip()})
        found[function] = (count, area)
    return found


def parse_area(value: str) -> Decimal:
    for unit in ("平方米", "平米", "㎡", "m²", "m2"):
        value = value.removesuffix(unit)
    number = parse_decimal(value.strip())
    if number > 99_999:
        raise CellError(_("The area is at most 99999 m²."))
    return Decimal(str(number)).quantize(Decimal("0.1"))


def parse_lines(value: str) -> str:
    """Equipment: items separated by 、 ; or new lines → one item per line (as the form has it)."""
    return "\n".join(p.strip() for p in re.split(r"[、;；\n]+", value) if p.strip())


class RoomImport(Registry):
    kind = "rooms"
    label = gettext_lazy("Counselling rooms")
    cap = Cap.EDIT_FACILITIES
    back_url = "facilities:room-list"
    columns = (
        *unit_columns(),
        Column(
            "location",
            gettext_lazy("location"),
            ("位置", "辅导室位置", "所在位置", "地点", "location"),
            text(200),
            required=True,
        ),
        Column(
            "area_m2",
            gettext_lazy("total area (m²)"),
            ("面积", "总面积", "面积(m²)", "面积(平方米)", "使用面积", "area"),
            parse_area,
        ),
        Column(
            "functions",
            gettext_lazy("functional rooms"),
            ("功能室", "功能室配置", "功能分区", "功能区", "functional rooms"),
            parse_functions,
        ),
        Column(
            "equipment",
            gettext_lazy("equipment"),
            ("设备", "设施设备", "主要设备", "配备设备", "equipment"),
            parse_lines,
        ),
        Column(
            "opening_hours",
            gettext_lazy("opening hours"),
            ("开放时间", "开放时段", "opening hours"),
            text(200),
        ),
    )
    one_of = (("unit_code", "unit_name"),)
    key_fields = ("unit",)

    def prepare(self, ctx: ImportContext) -> None:
        ctx.cache["units"] = UnitLookup(ctx, services.ROOM_UNIT_KINDS)

    def check(self, row: Row, ctx: ImportContext) -> None:
        row.data["unit"] = ctx.cache["units"].resolve(row)

    def write(self, rows: list[Row], ctx: ImportContext) -> Counts:
        counts = Counts()
        rooms = {
            r.unit_id: r
            for r in CounsellingRoom.objects.filter(
                unit__in=[row.data["unit"] for row in rows]
            ).prefetch_related("areas")
        }
        for row in rows:
            unit = row.data["unit"]
            room = rooms.get(unit.pk)
            values = {
                "location": row.values["location"],
                "area_m2": row.values.get("area_m2"),
                "equipment": row.values.get("equipment") or "",
                "opening_hours": row.values.get("opening_hours") or "",
            }
            wanted = row.values.get("functions")
            areas: dict[str, tuple[int, Decimal | None]] | None = None
            if wanted is not None:  # the cell is the whole list: a function not named is removed
                held = {a.function: (a.count, a.area_m2) for a in room.areas.all()} if room else {}
                areas = dict(wanted)
                for function in held:
                    areas.setdefault(function, (0, None))
                if room is not None and held == wanted:
                    areas = None
            if (
                room is not None
                and areas is None
                and all(getattr(room, k) == v for k, v in values.items())
            ):
                counts.unchanged += 1
                continue
            try:
                services.save_room(actor=ctx.actor, unit=unit, areas=areas, **values)
            except DomainError as exc:
                counts.errors.append((row, exc.field or "", str(exc.message)))
                continue
            if room is None:
                counts.created += 1
            else:
                counts.updated += 1
        return counts


register(RoomImport())
