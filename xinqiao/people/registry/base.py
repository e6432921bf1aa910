"""What a registry declares: its columns (header aliases, a parser per cell), a natural key and a
row handler. See the package docstring (__init__.py) for the whole picture."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from xinqiao.core.tabular.headers import HINT_RE, normalise_header
from xinqiao.orgs.models import OrgUnit


class CellError(ValueError):
    """A cell's value is not acceptable; the message is shown to the user (already translated)."""


class RowError(Exception):
    """A whole row is rejected by the registry's check/handler: `column` names the field (or "")."""

    def __init__(self, message: str, column: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.column = column


class MissingColumnsError(Exception):
    def __init__(self, names: list[str]) -> None:
        self.names = names
        super().__init__(
            _("Required columns are missing: %(columns)s") % {"columns": "、".join(names)}
        )


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # spreadsheets store numbers (phones, codes) as floats
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


# --- cell parsers: str → value, raising CellError ------------------------------------------------
def text(max_length: int = 200) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > max_length:
            raise CellError(_("At most %(n)d characters.") % {"n": max_length})
        return value

    return parse


_DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def parse_date(value: str) -> date:
    """2024-09-01, 2024/9/1, 2024.9.1, 2024年9月1日, 20240901."""
    value = value.split(" ")[0].split("T")[0]
    match = _DATE_RE.match(value)
    try:
        if match:
            return date(int(match[1]), int(match[2]), int(match[3]))
        if len(value) == 8 and value.isdigit():
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        pass
    raise CellError(_("Not a date (write it as 2024-09-01)."))


def parse_decimal(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise CellError(_("Not a number.")) from None
    if number < 0:
        raise CellError(_("The number must not be negative."))
    return number


_TRUE = {"是", "有", "y", "yes", "true", "1", "√", "✓"}
_FALSE = {"否", "无", "n", "no", "false", "0", "×"}


def parse_bool(value: str) -> bool:
    v = value.lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise CellError(_("Write 是 or 否."))


def choice(
    choices: type[models.TextChoices], extra: Mapping[str, str] | None = None
) -> Callable[[str], str]:
    """A choice by its code, its label in either language, or an extra alias (`{"专职": code}`)."""
    from django.utils import translation

    def table() -> dict[str, str]:
        known: dict[str, str] = {}
        for code, label in choices.choices:
            known[normalise_header(code)] = code
            known[normalise_header(label)] = code
            with translation.override("zh-hans"):
                known[normalise_header(str(label))] = code
            with translation.override("en"):
                known[normalise_header(str(label))] = code
        for alias, code in (extra or {}).items():
            known[normalise_header(alias)] = code
        return known

    cache: dict[str, dict[str, str]] = {}

    def parse(value: str) -> str:
        if "t" not in cache:
            cache["t"] = table()
        code = cache["t"].get(normalise_header(value))
        if code is None:
            raise CellError(_("Unknown value “%(value)s”.") % {"value": value})
        return code

    return parse


@dataclass(frozen=True)
class Column:
    """One field of the registry. `aliases`: header spellings, Chinese first (the first one is the
    canonical header shown in messages and templates); the field name itself always matches too.
    `parse` turns the cell's text into a value or raises CellError. An empty cell is None (or an
    error "required" when `required`)."""

    field: str
    label: str | Promise
    aliases: tuple[str, ...]
    parse: Callable[[str], Any] = dataclasses.field(default=text())
    required: bool = False  # the column must exist and every cell be filled

    @property
    def header(self) -> str:
        return self.aliases[0] if self.aliases else self.field


@dataclass(slots=True)
class Row:
    """A checked row: `number` as the user sees it in the file, parsed `values` by field, the
    raw `cells` (for the error report). A handler may put anything into `data`."""

    number: int
    values: dict[str, Any]
    cells: list[Any]
    data: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name)
        return default if value is None else value


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[Row, str, str]] = field(default_factory=list)  # row, column, reason
    # Rows written all the same, with a reason the user should see (e.g. a class committee
    # without its boy-and-girl pair): listed in the report as "Warning: …", not rejected.
    warnings: list[tuple[Row, str, str]] = field(default_factory=list)


@dataclass
class ImportContext:
    """What a registry's `prepare`, `check` and `write` see: the job, the acting user (None for
    the system), the units they may import into (`areas`; None: everywhere) and a scratch
    `cache` for look-ups loaded once per job."""

    job: Any
    actor: Any
    areas: list[OrgUnit] | None
    today: date
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def dry_run(self) -> bool:
        return bool(self.job.dry_run)

    def allows(self, unit: OrgUnit) -> bool:
        return self.areas is None or any(a.contains(unit) for a in self.areas)

    def units(self, kinds: Iterable[str] | None = None) -> list[OrgUnit]:
        """Units the actor may import into (every unit for the system), optionally of `kinds`."""
        from xinqiao.orgs.models import subtree_q

        qs = OrgUnit.objects.all()
        if self.areas is not None:
            qs = qs.filter(subtree_q(*self.areas))
        if kinds is not None:
            qs = qs.filter(kind__in=list(kinds))
        return list(qs)


class Registry:
    """Subclass, fill the class attributes, implement `write` (and optionally `prepare`, `check`),
    then `register(MyRegistry())` in a module your AppConfig.ready imports."""

    kind: ClassVar[str]  # URL slug and ImportJob.kind, e.g. "staff"
    label: ClassVar[str | Promise]  # "Staff", shown as the page title
    cap: ClassVar[str]  # the capability that allows importing (its grants bound the scope)
    columns: ClassVar[Sequence[Column]]
    # Fields of which at least one column must be present, e.g. (("unit_code", "unit_name"),).
    one_of: ClassVar[Sequence[tuple[str, ...]]] = ()
    # Fields forming the natural key: two rows of one file with the same key are an error.
    key_fields: ClassVar[Sequence[str]] = ()
    # An optional template included on the upload page (a guide to the columns).
    guide_template: ClassVar[str] = ""
    back_url: ClassVar[str] = ""  # a URL name the pages link back to (the registry's list)

    def prepare(self, ctx: ImportContext) -> None:
        """Once per job before the rows: load look-ups into ctx.cache."""

    def check(self, row: Row, ctx: ImportContext) -> None:
        """Per row after the cells parsed: cross-field checks, resolving units; raise RowError."""

    def key(self, row: Row) -> tuple[Any, ...] | None:
        """The row's natural key (default: `key_fields` of its values); None: no duplicate check."""
        if not self.key_fields:
            return None
        data, values = row.data, row.values
        return tuple([data[f] if f in data else values.get(f) for f in self.key_fields])

    def write(self, rows: list[Row], ctx: ImportContext) -> Counts:  # pragma: no cover
        """Write one chunk (inside a transaction the framework opens and, in a dry run, rolls
        back): batched (bulk_create / bulk_update, see `upsert`) and idempotent."""
        raise NotImplementedError

    # --- used by the framework ----------------------------------------------------------------
    def map_columns(self, headers: Sequence[Any]) -> dict[str, int]:
        lookup: dict[str, tuple[str, int]] = {}
        for column in self.columns:
            for rank, name in enumerate((*column.aliases, column.field)):
                key = normalise_header(name)
                if key not in lookup or lookup[key][1] > rank:
                    lookup[key] = (column.field, rank)
        best: dict[str, tuple[int, int]] = {}
        for col, header in enumerate(headers):
            key = normalise_header(header)
            hit = lookup.get(key) or lookup.get(HINT_RE.sub("", key))
            if hit is None:
                continue
            name, rank = hit
            if name not in best or best[name][0] > rank:
                best[name] = (rank, col)
        index = {name: col for name, (_rank, col) in best.items()}
        by_field = {c.field: c for c in self.columns}
        missing = [c.header for c in self.columns if c.required and c.field not in index]
        for group in self.one_of:
            if not any(f in index for f in group):
                missing.append(by_field[group[0]].header)
        if missing:
            raise MissingColumnsError(missing)
        return index

    def parse_row(
        self, number: int, cells: list[Any], index: dict[str, int]
    ) -> tuple[Row, list[tuple[str, str]]]:
        """One row's cells parsed by their columns (a one-off; a job uses `row_parser`)."""
        return self.row_parser(index)(number, cells)

    def row_parser(self, index: dict[str, int]) -> RowParser:
        """The parser of a job's rows: `parser(number, cells)` → (Row, errors)."""
        return RowParser(self.columns, index)

    def header_of(self, name: str) -> str:
        for column in self.columns:
            if column.field == name:
                return column.header
        return name


# Values a parser may return that are safe to hand to several rows (immutable; a choice's code
# may be its TextChoices member, a str).
_SHAREABLE = (str, int, float, date, Decimal, type(None))
_MEMO_LIMIT = 4096  # distinct texts remembered per column before judging the memo's worth


class RowParser:
    """Parses the rows of one job. A file repeats most cells (units, posts, dates, levels…):
    each column remembers what each distinct text parsed to — the value, or the error message —
    so a repeated text is parsed once per job. A column whose texts are nearly all distinct (names,
    numbers) stops remembering after _MEMO_LIMIT texts. Only immutable values are remembered
    (a parser returning a list is called every time); a parser must depend on its text alone."""

    __slots__ = ("_absent", "_plan", "_rows")

    def __init__(self, columns: Sequence[Column], index: dict[str, int]) -> None:
        # columns missing from the file are None in every row (a required one fails the file)
        self._absent = {c.field: None for c in columns if c.field not in index}
        self._plan: list[_Step] = [
            (c.field, index[c.field], c.parse, c.required, c.header, {}, {})
            for c in columns
            if c.field in index
        ]
        self._rows = 0

    def __call__(self, number: int, cells: list[Any]) -> tuple[Row, list[tuple[str, str]]]:
        values: dict[str, Any] = dict(self._absent) if self._absent else {}
        errors: list[tuple[str, str]] = []
        size = len(cells)
        self._rows += 1
        for step in self._plan:
            name, col, parse, required, header, memo, failed = step
            if col < size:
                cell = cells[col]
                raw = cell.strip() if type(cell) is str else _cell_text(cell)
            else:
                raw = ""
            if not raw:
                if required:
                    errors.append((header, _("This cell is required.")))
                values[name] = None
                continue
            if memo is not None:
                value = memo.get(raw, _UNKNOWN)
                if value is not _UNKNOWN:
                    values[name] = value
                    continue
                message = failed.get(raw)
                if message is not None:
                    errors.append((header, message))
                    continue
            if "\ufffd" in raw:
                errors.append((header, _("The text could not be read (encoding).")))
                continue
            try:
                value = parse(raw)
            except CellError as exc:
                message = str(exc)
                errors.append((header, message))
                if memo is not None:
                    self._remember(step, failed, raw, message)
                continue
            values[name] = value
            if memo is not None and _shareable(value):
                self._remember(step, memo, raw, value)
        return Row(number, values, cells), errors

    def _remember(self, step: _Step, into: dict[str, Any], raw: str, value: Any) -> None:
        memo, failed = step[5], step[6]
        if memo is not None and failed is not None and len(memo) + len(failed) >= _MEMO_LIMIT:
            at = self._plan.index(step)
            if self._rows < 2 * _MEMO_LIMIT:
                # mostly distinct texts: remembering costs more than it saves
                self._plan[at] = (*step[:5], None, None)
                return
            memo.clear()
            failed.clear()
        into[raw] = value


_UNKNOWN = object()
# name, cell index, parse, required, header, memo of values, memo of error messages
_Step = tuple[str, int, Callable[[str], Any], bool, str, "dict[str, Any] | None", Any]


def _shareable(value: Any) -> bool:
    if isinstance(value, _SHAREABLE):
        return True
    return type(value) is tuple and all(isinstance(v, _SHAREABLE) for v in value)


_REGISTRIES: dict[str, Registry] = {}


def register(registry: Registry) -> Registry:
    _REGISTRIES[registry.kind] = registry
    return registry


def get_registry(kind: str) -> Registry | None:
    return _REGISTRIES.get(kind)


def registries() -> list[Registry]:
    return list(_REGISTRIES.values())


# --- batched, idempotent writes ---------------------------------------------------------------
@dataclass
class Upserted:
    created: list[Any]
    updated: list[Any]
    unchanged: list[Any]


def upsert(
    model: type[Any],
    items: Sequence[tuple[Any, dict[str, Any]]],
    *,
    existing: dict[Any, Any],
    fields: Sequence[str],
    batch_size: int = 2000,
) -> Upserted:
    """Create or update rows by natural key: `items` are (key, field values); `existing` maps a
    key to the stored object (the caller loaded them with one query per chunk). New objects go in
    with one bulk_create, changed ones with one bulk_update of `fields`; objects whose values are
    all equal are left alone. Returns the objects in each group (created ones carry their pk on
    PostgreSQL and SQLite)."""
    to_create: list[Any] = []
    to_update: list[Any] = []
    unchanged: list[Any] = []
    for key, values in items:
        obj = existing.get(key)
        if obj is None:
            obj = model(**values)
            to_create.append(obj)
            existing[key] = obj
            continue
        changed = False
        for name in fields:
            if name in values and getattr(obj, name) != values[name]:
                setattr(obj, name, values[name])
                changed = True
        (to_update if changed else unchanged).append(obj)
    if to_create:
        for obj in to_create:
            prepare = getattr(obj, "fill_search_keys", None)
            if prepare is not None:
                prepare()
        insert_new(model, to_create, batch_size=batch_size)
    if to_update:
        extra = ["name_initials"] if "name" in fields and hasattr(model, "fill_search_keys") else []
        if extra:
            for obj in to_update:
                obj.fill_search_keys()  # type: ignore[attr-defined]
        plain = _seal_for_bulk_update(model, to_update, fields)
        model.objects.bulk_update(to_update, [*fields, *extra], batch_size=batch_size)
        for obj, attname, value in plain:
            obj.__dict__[attname] = value
    return Upserted(to_create, to_update, unchanged)


def insert_new(model: type[Any], objs: Sequence[Any], *, batch_size: int = 2000) -> None:
    """Insert new model objects like `bulk_create` (each gets its pk), faster on PostgreSQL:
    the ids are drawn from the table's sequence in one query and the rows go in with one `COPY`.
    Every value is what `bulk_create` would write: each field's `pre_save` (so an encrypted field
    is sealed bound to its row, `auto_now_add` is filled) then its database form. SQLite, and a
    model with a value the database must compute (an expression), use `bulk_create`."""
    from django.db import DEFAULT_DB_ALIAS, connections

    if not objs:
        return
    connection = connections[DEFAULT_DB_ALIAS]  # the object itself: the proxy costs per access
    meta = model._meta
    pk = meta.pk
    fields = [f for f in meta.concrete_fields if f is not pk]
    usable = connection.vendor == "postgresql" and isinstance(pk, models.AutoField)
    rows: list[list[Any]] = []
    if usable:
        steps = [(f.pre_save, f.get_db_prep_save) for f in fields]
        for obj in objs:
            row = []
            for pre_save, prep in steps:
                value = pre_save(obj, True)
                if hasattr(value, "resolve_expression"):
                    usable = False
                    break
                row.append(prep(value, connection))
            if not usable:
                break
            rows.append(row)
    if not usable:
        model.objects.bulk_create(objs, batch_size=batch_size)
        return
    table = meta.db_table
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, pk.column, len(objs)],
        )
        ids = [r[0] for r in cursor.fetchall()]
        columns = ", ".join(qn(c) for c in [pk.column, *(f.column for f in fields)])
        with cursor.copy(f"COPY {qn(table)} ({columns}) FROM STDIN") as copy:
            for pk_value, row in zip(ids, rows, strict=True):
                copy.write_row([pk_value, *row])
    for pk_value, obj in zip(ids, objs, strict=True):
        obj.pk = pk_value
        obj._state.adding = False
        obj._state.db = connection.alias


def insert_values(
    model: type[Any],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    batch_size: int = 2000,
) -> list[Any]:
    """Insert new rows of `model` given as tuples of values for `fields` (attribute names, e.g.
    "org_unit_id"); returns their ids, in order. Every other field takes its default as a save
    would: a callable default (a UUID code) called per row, `auto_now`/`auto_now_add` the time of
    the call, a database default left to the database.

    PostgreSQL: no model object is built; the ids come from the table's sequence in one query and
    the rows go in with one `COPY`. An encrypted field is sealed bound to its row exactly as its
    `pre_save` seals it (its row key must be among `fields` or a default). The values must be of
    the field's Python type (text, numbers, dates, UUIDs, booleans: what psycopg adapts itself).
    Elsewhere (SQLite) the rows become model objects saved by `bulk_create`."""
    from django.db import DEFAULT_DB_ALIAS, connections

    from xinqiao.core.fields import EncryptedTextField, composite_row

    if not rows:
        return []
    connection = connections[DEFAULT_DB_ALIAS]
    meta = model._meta
    pk = meta.pk
    if connection.vendor != "postgresql" or not isinstance(pk, models.AutoField):
        objs = [model(**dict(zip(fields, row, strict=True))) for row in rows]
        model.objects.bulk_create(objs, batch_size=batch_size)
        return [obj.pk for obj in objs]
    given = list(fields)
    by_attname = {f.attname: f for f in meta.concrete_fields}
    generated: list[Any] = []  # fields with a callable default: called per row
    constant: list[tuple[Any, Any]] = []  # (field, database value) the same for every row
    stamp = model()  # the defaults of a fresh object (auto_now_add: its pre_save on insert)
    for f in meta.concrete_fields:
        if f is pk or f.attname in given:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = f.pre_save(stamp, True)
        elif f.has_default() and callable(f.default):
            generated.append(f)
            continue
        else:
            value = f.get_default()
        if hasattr(value, "resolve_expression"):
            continue  # a database default: the column's DEFAULT fills it
        if isinstance(f, EncryptedTextField) and value not in (None, ""):
            raise ValueError(f"{model.__name__}.{f.name}: give its value (it is sealed per row)")
        constant.append((f, f.get_db_prep_save(value, connection)))
    names = [*given, *(f.attname for f in generated)]
    sealed = []
    for f in meta.concrete_fields:
        if isinstance(f, EncryptedTextField) and f.attname in names:
            missing = [k for k in f.row_key_names if k not in names]
            if missing:
                raise ValueError(f"{model.__name__}.{f.name} needs its row key {missing}")
            sealed.append((names.index(f.attname), f, [names.index(k) for k in f.row_key_names]))
    makers = [f.default for f in generated]
    tail = [value for _f, value in constant]
    table = meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, pk.column, len(rows)],
        )
        ids = [r[0] for r in cursor.fetchall()]
        qn = connection.ops.quote_name
        columns = [pk, *(by_attname[n] for n in names), *(f for f, _v in constant)]
        column_list = ", ".join(qn(f.column) for f in columns)
        with cursor.copy(f"COPY {qn(table)} ({column_list}) FROM STDIN") as copy:
            for pk_value, row in zip(ids, rows, strict=True):
                values = [pk_value, *row, *(make() for make in makers)]
                for at, f, keys in sealed:  # as EncryptedTextField.pre_save seals it
                    value = values[at + 1]
                    if value is not None:
                        parts = [values[k + 1] for k in keys]
                        if any(part is None or part == "" for part in parts):
                            raise ValueError(f"{model.__name__}: the row key must be set")
                        key = parts[0] if len(parts) == 1 else composite_row(*parts)
                        values[at + 1] = f.seal(key, value)
                values.extend(tail)
                copy.write_row(values)
    return ids


def _seal_for_bulk_update(
    model: type[Any], objs: Sequence[Any], fields: Sequence[str]
) -> list[tuple[Any, str, Any]]:
    """bulk_update cannot bind an encrypted value to its row: seal it here as a save would and
    hand bulk_update the ciphertext as a plain text value. Returns what to put back after."""
    from django.db.models import TextField, Value

    from xinqiao.core.fields import EncryptedTextField, Sealed

    sealed = [f for f in model._meta.concrete_fields if f.name in fields]
    sealed = [f for f in sealed if isinstance(f, EncryptedTextField)]
    plain: list[tuple[Any, str, Any]] = []
    for obj in objs:
        for f in sealed:
            value = obj.__dict__.get(f.attname)
            if value is None or value == "":
                continue
            # a value never opened is written back as stored
            token = value.token if isinstance(value, Sealed) else f.seal(f._row(obj), value)
            obj.__dict__[f.attname] = Value(token, output_field=TextField())
            plain.append((obj, f.attname, value))
    return plain
