"""The registry framework's fast paths: a job's row parser remembering what each repeated cell
text parsed to, and `insert_values` (new rows from plain values, one COPY on PostgreSQL)."""

from __future__ import annotations

import uuid

import pytest

from xinqiao.core.fields import Sealed
from xinqiao.people.models import Qualification, Staff
from xinqiao.people.registry import CellError, Column, Registry, insert_values
from xinqiao.people.registry import base as registry_base


class Counting:
    def __init__(self, result=None) -> None:
        self.calls = 0
        self.result = result

    def __call__(self, value: str):
        self.calls += 1
        if value == "bad":
            raise CellError(f"bad value {self.calls}")
        return self.result() if callable(self.result) else value.upper()


def parser_for(*columns: Column):
    class Probe(Registry):
        kind = "test-probe"
        label = "probe"
        cap = "edit_staff"

    Probe.columns = columns
    return Probe().row_parser({c.field: i for i, c in enumerate(columns)})


def test_a_repeated_text_is_parsed_once_and_its_error_repeated():
    level = Counting()
    parse = parser_for(Column("level", "level", ("级别",), level, required=True))
    results = [parse(n, [text]) for n, text in enumerate(["a", " a", "b", "a", "bad", "bad"], 2)]
    assert [row.values["level"] for row, errors in results[:4]] == ["A", "A", "B", "A"]
    assert level.calls == 3  # a, b, bad
    assert [errors for _row, errors in results[4:]] == [[("级别", "bad value 3")]] * 2
    _row, errors = parse(8, [""])
    assert errors == [("级别", "This cell is required.")]


def test_a_mutable_value_is_never_shared_between_rows():
    listing = Counting(result=list)
    parse = parser_for(Column("tags", "tags", ("标签",), listing))
    first, _e = parse(2, ["x"])
    second, _e = parse(3, ["x"])
    assert listing.calls == 2
    assert first.values["tags"] is not second.values["tags"]


def test_a_column_of_distinct_texts_stops_remembering(monkeypatch):
    monkeypatch.setattr(registry_base, "_MEMO_LIMIT", 4)
    number = Counting()
    parse = parser_for(Column("number", "number", ("编号",), number))
    texts = [f"n{i}" for i in range(10)]
    values = [parse(i, [t])[0].values["number"] for i, t in enumerate(texts)]
    assert values == [t.upper() for t in texts]
    assert parse(20, ["n9"])[0].values["number"] == "N9"
    assert number.calls == 11  # the memo gave up: n9 parsed again


@pytest.mark.django_db
def test_insert_values_seals_each_mobile_to_its_row_and_fills_defaults(world):
    ids = insert_values(
        Staff,
        ("name", "org_unit_id", "phone", "staff_number"),
        [
            ("甲", world.school_a.pk, "13800000001", "N1"),
            ("乙", world.school_a.pk, "", "N2"),
        ],
    )
    first, second = (Staff.objects.get(pk=pk) for pk in ids)
    assert (first.name, first.staff_number, first.phone) == ("甲", "N1", "13800000001")
    assert (second.phone, second.is_active, second.employment_status) == ("", True, "employed")
    assert isinstance(first.code, uuid.UUID)
    assert first.code != second.code
    # bound to its row: the stored token opens with this row's code and no other
    token = Staff.objects.filter(pk=first.pk).values_list("phone", flat=True).get()
    assert isinstance(token, Sealed)
    field = Staff._meta.get_field("phone")
    assert field.open_token(first.code, token.token) == "13800000001"
    with pytest.raises(Exception):  # noqa: B017,PT011  (TamperedValue / InvalidTag)
        field.open_token(second.code, token.token)
    (qid,) = insert_values(Qualification, ("staff_id", "kind", "number"), [(first.pk, "other", "")])
    qualification = Qualification.objects.get(pk=qid)
    assert qualification.created_at is not None
    assert qualification.code
    assert insert_values(Qualification, ("staff_id", "kind"), []) == []
