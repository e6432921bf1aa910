"""`{% page_query number key %}`: the current query string with one page parameter changed."""

from __future__ import annotations

from django import template
from django.http import QueryDict
from django.template import Context

register = template.Library()


@register.simple_tag(takes_context=True)
def page_query(context: Context, number: int, key: str | None = None) -> str:
    """`?…` for page `number`, keeping every other parameter of the request (filters, the pages
    of a board's other sections) so that paging never drops what the user chose."""
    request = context.get("request")
    query = request.GET.copy() if request is not None else QueryDict(mutable=True)
    query[key or "page"] = str(number)
    return "?" + query.urlencode()
