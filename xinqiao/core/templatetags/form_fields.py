"""`{{ field|bootstrap }}`: a form field's widget with Bootstrap 5's class for its kind (and
is-invalid when it has errors), so forms need not set classes field by field."""

from __future__ import annotations

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

register = template.Library()

CLASSES = {
    "select": "form-select",
    "selectmultiple": "form-select",
    "nullbooleanselect": "form-select",
    "checkbox": "form-check-input",
    "radioselect": "form-check-input",
    "checkboxselectmultiple": "form-check-input",
}


def widget_class(field: BoundField) -> str:
    return CLASSES.get(field.widget_type, "form-control")


@register.filter
def bootstrap(field: BoundField) -> SafeString:
    classes = field.field.widget.attrs.get("class", "").split()
    for wanted in (widget_class(field), "is-invalid" if field.errors else ""):
        if wanted and wanted not in classes:
            classes.append(wanted)
    return field.as_widget(attrs={"class": " ".join(classes)})
