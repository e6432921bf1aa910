"""Pickers: choose one student, staff member, class or school out of a scope of any size.

A picker is a text box: one types a name, its pinyin initials, a class name or the last digits
of a number, and at most a page of matches (PICK_LIMIT) appears as radio buttons (check boxes for
a multiple picker) that post the chosen object's opaque code. The scope is the form's: a
`PickerSource` names the kind of object, the capability of the form and how the principal's
scope for it is built (through this layer, never filtered by hand in a view), and the search
endpoint `/pick/<source>/` answers with the same scope, refusing (403) a user without the
capability.

With JavaScript, htmx asks the endpoint as one types (300 ms after the last key) and swaps the
results in. Without it, the text box's Search button submits the form; the picker field then
refuses the submission ("pick one of the results") and the form comes back with the results.

Sources register themselves where the form is defined (`register_source`), at import: every
app's forms are imported by its views, which the URLconf imports before the first request.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.people.models import PICK_LIMIT, Staff, Student

from .roles import Tier

if TYPE_CHECKING:
    from .scope import Principal

STUDENT, STAFF, UNIT = "student", "staff", "unit"
FIELD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_LATIN = re.compile(r"[A-Za-z ]+")

Scope = Callable[["Principal"], QuerySet[Any]]


@dataclass(frozen=True)
class PickerSource:
    name: str  # the endpoint's URL segment
    kind: str  # STUDENT | STAFF | UNIT
    cap: str  # the form's capability: the endpoint refuses a user without it
    scope: Scope = field(compare=False)
    placeholder: Any = ""

    def rows(self, principal: Principal) -> QuerySet[Any]:
        return self.scope(principal)

    def search(self, rows: QuerySet[Any], text: str) -> tuple[list[Any], bool]:
        """One page of matches in `rows` and whether there were more."""
        if self.kind == STUDENT:
            found: list[Any] = rows.pick(text, limit=PICK_LIMIT + 1)  # type: ignore[attr-defined]
        elif self.kind == STAFF:
            found = pick_staff(rows, text, limit=PICK_LIMIT + 1)
        else:
            found = pick_units(rows, text, limit=PICK_LIMIT + 1)
        return found[:PICK_LIMIT], len(found) > PICK_LIMIT

    def selected(self, rows: QuerySet[Any], codes: Iterable[Any]) -> list[Any]:
        """The chosen objects still in scope (bad or foreign codes are left out)."""
        valid = [c for c in (_uuid(c) for c in codes) if c is not None][:PICK_LIMIT]
        if not valid:
            return []
        return list(_with_related(self.kind, rows.order_by()).filter(code__in=valid))

    def label(self, obj: Any) -> str:
        return str(obj.name)

    def detail(self, obj: Any) -> str:
        if self.kind == STUDENT:
            parts = [obj.school.name if obj.school_id else "", _class_name(obj.school_class)]
        elif self.kind == STAFF:
            parts = [obj.org_unit.name]
        else:
            parts = [str(obj.get_kind_display())]
            if obj.parent_id:
                parts.append(
                    f"{obj.parent.parent.name} {obj.parent.name}"
                    if obj.kind == Kind.CLASS and obj.parent.parent_id
                    else obj.parent.name
                )
        return " · ".join(p for p in parts if p)


SOURCES: dict[str, PickerSource] = {}


def register_source(source: PickerSource) -> PickerSource:
    existing = SOURCES.get(source.name)
    if existing is not None and existing != source:
        raise ValueError(f"picker source {source.name!r} is registered twice")
    SOURCES[source.name] = source
    return source


def student_source(
    name: str, *, cap: str, tier: int = Tier.T1, scope: Scope | None = None
) -> PickerSource:
    def default(principal: Principal) -> QuerySet[Any]:
        return principal.students(tier=tier, cap=cap)

    return register_source(
        PickerSource(
            name,
            STUDENT,
            cap,
            scope or default,
            _("Name, pinyin initials (zsm), class or last digits of the number"),
        )
    )


def staff_source(name: str, *, cap: str, scope: Scope | None = None) -> PickerSource:
    def default(principal: Principal) -> QuerySet[Any]:
        return principal.staff(cap).filter(is_active=True)

    return register_source(
        PickerSource(name, STAFF, cap, scope or default, _("Name or pinyin initials"))
    )


def unit_source(
    name: str, *, cap: str, kinds: Iterable[str] = (), scope: Scope | None = None
) -> PickerSource:
    wanted = tuple(kinds)

    def default(principal: Principal) -> QuerySet[Any]:
        units = principal.units(cap)
        return units.filter(kind__in=wanted) if wanted else units

    return register_source(
        PickerSource(name, UNIT, cap, scope or default, pgettext_lazy("of a thing", "Name"))
    )


# --- searches -----------------------------------------------------------------------------------
def pick_staff(rows: QuerySet[Staff], text: str, *, limit: int) -> list[Staff]:
    text = " ".join(text.split())
    if not text:
        return []
    rows = rows.order_by().select_related("org_unit")
    if _LATIN.fullmatch(text):
        q = Q(name_initials__startswith=text.replace(" ", "").lower())
    else:
        q = Q(name__startswith=text)
    found = list(rows.filter(q)[:limit])
    found.sort(key=lambda s: s.name)
    return found


def pick_units(rows: QuerySet[OrgUnit], text: str, *, limit: int) -> list[OrgUnit]:
    """Units whose name contains the text (a city has tens of thousands of units, not millions:
    a scan of the scope's path range is fast enough), or, for a class, whose grade and class
    names together start with it ("初二 3班")."""
    text = " ".join(text.split())
    if not text:
        return []
    rows = rows.order_by("path").select_related("parent", "parent__parent")
    q = Q(name__contains=text)
    first, _sep, rest = text.partition(" ")
    if rest:
        q |= Q(parent__name__contains=first, name__contains=rest)
    return list(rows.filter(q)[:limit])


def _with_related(kind: str, rows: QuerySet[Any]) -> QuerySet[Any]:
    if kind == STUDENT:
        return rows.select_related("school", "school_class__parent").defer("id_number")
    if kind == STAFF:
        return rows.select_related("org_unit")
    return rows.select_related("parent", "parent__parent")


def _class_name(unit: OrgUnit | None) -> str:
    if unit is None:
        return ""
    return f"{unit.parent.name} {unit.name}" if unit.parent_id and unit.parent else unit.name


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


# --- the widget and fields ----------------------------------------------------------------------
class PickerWidget(forms.Widget):
    """A search box, a Search button (the no-JavaScript route) and the result list."""

    template = "includes/picker.html"
    multiple = False

    def __init__(self, source: PickerSource, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.source = source
        self.rows: QuerySet[Any] | None = None  # the scope, set when the form is bound to a user
        self.query = ""
        self.searching = False

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        self.query = str(data.get(f"{name}__q", ""))[:100]
        self.searching = f"{name}__search" in data
        if self.multiple:
            return data.getlist(name) if hasattr(data, "getlist") else data.get(name)
        return data.get(name)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data and f"{name}__q" not in data

    def format_value(self, value: Any) -> list[str]:
        if value is None or value == "":
            return []
        values = value if isinstance(value, list | tuple) else [value]
        return [str(v) for v in values if v not in (None, "")]

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        input_id = final.get("id") or f"id_{name}"
        rows = self.rows
        selected = self.source.selected(rows, self.format_value(value)) if rows is not None else []
        results: list[Any] = []
        more = False
        if rows is not None and self.query:
            results, more = self.source.search(rows, self.query)
        return mark_safe(  # noqa: S308  (a template's output, escaped by it)
            render_to_string(
                self.template,
                {
                    "name": name,
                    "input_id": input_id,
                    "css_class": final.get("class", "form-control"),
                    "query": self.query,
                    "url": reverse("pick", args=[self.source.name]),
                    "placeholder": self.source.placeholder,
                    **results_context(
                        self.source,
                        name,
                        input_id,
                        selected,
                        results,
                        more,
                        self.query,
                        multiple=self.multiple,
                    ),
                },
            )
        )


class PickerMultipleWidget(PickerWidget):
    multiple = True


def results_context(
    source: PickerSource,
    name: str,
    input_id: str,
    selected: list[Any],
    results: list[Any],
    more: bool,
    query: str,
    *,
    multiple: bool,
) -> dict[str, Any]:
    chosen = {obj.pk for obj in selected}
    rows = [(obj, True) for obj in selected] + [
        (obj, False) for obj in results if obj.pk not in chosen
    ]
    return {
        "name": name,
        "input_id": input_id,
        "input_type": "checkbox" if multiple else "radio",
        "rows": [
            {
                "code": str(obj.code),
                "label": source.label(obj),
                "detail": source.detail(obj),
                "checked": checked,
            }
            for obj, checked in rows
        ],
        "more": more,
        "query": query,
        "no_match": bool(query) and not results,
    }


if TYPE_CHECKING:  # the stubs make form fields generic; Django's classes are not at run time
    _One = forms.ModelChoiceField[Any]
    _Many = forms.ModelMultipleChoiceField[Any]
else:
    _One = forms.ModelChoiceField
    _Many = forms.ModelMultipleChoiceField


def _refuse_search(widget: Any) -> None:
    if getattr(widget, "searching", False):  # a picker whose widget a form replaced: no search
        raise ValidationError(_("Choose one of the results, then send the form."), code="searching")


class PickerField(_One):
    """One object of `source`, posted as its code."""

    def __init__(self, source: PickerSource, **kwargs: Any) -> None:
        self.source = source
        super().__init__(
            queryset=_model(source).objects.none(),
            to_field_name="code",
            widget=PickerWidget(source),
            **kwargs,
        )

    def bind(self, principal: Principal) -> None:
        """Restrict the choices to the principal's scope for this source (the form's __init__
        calls it): a code outside the scope is refused as an invalid choice."""
        self.queryset = self.widget.rows = self.source.rows(principal)

    def clean(self, value: Any) -> Any:
        _refuse_search(self.widget)
        return super().clean(value)


class PickerMultipleField(_Many):
    """Several objects of `source` (check boxes that stay checked while one searches on)."""

    def __init__(self, source: PickerSource, **kwargs: Any) -> None:
        self.source = source
        super().__init__(
            queryset=_model(source).objects.none(),
            to_field_name="code",
            widget=PickerMultipleWidget(source),
            **kwargs,
        )

    def bind(self, principal: Principal) -> None:
        self.queryset = self.widget.rows = self.source.rows(principal)

    def clean(self, value: Any) -> Any:
        _refuse_search(self.widget)
        return super().clean(value)


def _model(source: PickerSource) -> Any:
    return {STUDENT: Student, STAFF: Staff, UNIT: OrgUnit}[source.kind]


def bind_pickers(form: forms.BaseForm, principal: Principal) -> None:
    """Bind every picker field of `form` to the principal's scope."""
    for f in form.fields.values():
        if isinstance(f, PickerField | PickerMultipleField):
            f.bind(principal)
