"""The importer's building blocks: fast checks agree with the validators, encodings, headers,
and (PostgreSQL) the pipelined merge with worker threads used for large files."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from xinqiao.audit.models import AuditEvent
from xinqiao.audit.services import verify_chain
from xinqiao.core import crypto
from xinqiao.people.importer.columns import MissingColumnsError, map_columns, normalise_header
from xinqiao.people.importer.reader import BadFileError, detect_encoding
from xinqiao.people.importer.rows import Encryptor, FastIdNumber, RowChecker, _relation
from xinqiao.people.models import GuardianRelation, ImportJob, Student
from xinqiao.people.validators import validate_id_number

from ..factories import two_schools, with_personas
from .roster_files import HEADERS, id_number, student_row, write_csv

FAST = FastIdNumber()


@pytest.fixture
def schools(db):
    """The schools the roster files name (甲区第一中学's 七年级 and 七(1)班), the term, and the
    school admin a large import runs as."""
    return with_personas(two_schools(), "school_admin")


def _slow_valid(value: str) -> bool:
    try:
        validate_id_number(value)
    except ValidationError:
        return False
    return True


@hsettings(max_examples=300, deadline=None)
@given(
    region=st.sampled_from(["360102", "110101", "440305", "990000", "000000", "360199"]),
    birth=st.dates(datetime.date(1950, 1, 1), datetime.date(2025, 12, 31)),
    seq=st.integers(0, 999),
    tamper=st.sampled_from([None, "check", "date", "length"]),
)
def test_fast_id_check_agrees_with_the_validator(region, birth, seq, tamper):
    value = id_number(birth, seq, region=region)
    if tamper == "check":
        value = value[:-1] + ("0" if value[-1] != "0" else "1")
    elif tamper == "date":
        value = value[:10] + "1332" + value[14:]
    elif tamper == "length":
        value = value[:-1]
    assert FAST.valid(value) == _slow_valid(value)


def test_encryptor_is_compatible_with_the_field_encryption():
    enc = Encryptor()
    token = enc.encrypt("36010220130101001X", "G36010220130101001X")
    field = Student._meta.get_field("id_number")
    assert field.open_token("G36010220130101001X", token) == "36010220130101001X"
    with pytest.raises(crypto.TamperedValue):  # bound to its row
        field.open_token("G36010220130101002X", token)
    assert enc.hash("36010220130101001x") == crypto.keyed_hash("36010220130101001X")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2013-01-01", datetime.date(2013, 1, 1)),
        ("2013/1/1", datetime.date(2013, 1, 1)),
        ("20130101", datetime.date(2013, 1, 1)),
        ("41275", datetime.date(2013, 1, 1)),
        (41275.0, datetime.date(2013, 1, 1)),
        ("2013.1.1", datetime.date(2013, 1, 1)),
        ("2013年1月1日", datetime.date(2013, 1, 1)),
        ("2013-01-01 00:00:00", datetime.date(2013, 1, 1)),
        (datetime.datetime(2013, 1, 1, tzinfo=datetime.UTC), datetime.date(2013, 1, 1)),
        ("2013-02-30", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_date_formats(db, raw, expected):
    columns = map_columns(HEADERS, school_given=False)
    checker = RowChecker(columns, schools=None)  # type: ignore[arg-type]
    assert checker.parse_date(raw) == expected


@pytest.mark.parametrize(
    ("text", "relation"),
    [
        ("父亲", GuardianRelation.FATHER),
        ("父子", GuardianRelation.FATHER),
        ("妈妈", GuardianRelation.MOTHER),
        ("祖母", GuardianRelation.GRANDPARENT),
        ("外公", GuardianRelation.GRANDPARENT),
        ("舅舅", GuardianRelation.OTHER_RELATIVE),
        ("其他", GuardianRelation.OTHER),
        ("朋友", None),
    ],
)
def test_relations(text, relation):
    assert _relation(text) == relation


GBK_SAMPLE = ("全国学籍号,姓名,性别,出生日期\nG1,王小明,男,2013-01-01\n" * 20).encode("gbk")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("身份证件号".encode(), "utf-8"),
        ("\ufeff姓名".encode(), "utf-8-sig"),
        (GBK_SAMPLE, "gb18030"),
    ],
)
def test_detect_encoding(raw, expected):
    assert detect_encoding(raw) == expected


def test_gb18030_only_characters_survive(schools, tmp_path, settings):
    """GB18030 encodes characters GBK cannot (e.g. 䶮 U+4DAE in a name)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    rows = [student_row(i) for i in range(1, 30)]
    rows[0]["姓名"] = "李䶮"
    out = StringIO()
    call_command(
        "import_roster",
        str(write_csv(tmp_path / "r.csv", rows, encoding="gb18030")),
        stdout=out,
        stderr=StringIO(),
    )
    assert out.getvalue().strip().endswith("rejected=0")
    assert Student.objects.filter(name="李䶮").exists()


def test_header_normalisation():
    assert normalise_header(" 出生日期（YYYY-MM-DD） ") == "出生日期(yyyy-mm-dd)"
    columns = map_columns(
        ["*全国学籍号", "姓名", "性别", "出生日期(YYYY-MM-DD)", "学校名称", "年级", "班级"],
        school_given=False,
    )
    assert columns.index["birth_date"] == 3
    assert columns.index["student_number"] == 0


def test_more_specific_alias_wins():
    columns = map_columns([*HEADERS, "联系电话"], school_given=False)
    assert columns.headers[columns.index["guardian_phone"]] == "监护人电话"


def test_missing_school_column_is_required_without_school_option():
    headers = [h for h in HEADERS if h not in ("学校标识码", "学校名称")]
    with pytest.raises(MissingColumnsError, match="学校标识码"):
        map_columns(headers, school_given=False)
    assert map_columns(headers, school_given=True)


def test_unknown_alias_field_in_settings_is_an_error(settings):
    settings.XINQIAO_ROSTER_COLUMN_ALIASES = {"nickname": ["昵称"]}
    with pytest.raises(ValueError, match="nickname"):
        map_columns(HEADERS, school_given=False)


def test_binary_is_a_bad_file(tmp_path):
    from xinqiao.people.importer.reader import open_table

    path = tmp_path / "x.csv"
    path.write_bytes(b"\x00\x01\x02" * 1000)
    with pytest.raises(BadFileError):
        open_table(path)


@pytest.mark.django_db(transaction=True)
def test_pipelined_merge_with_worker_threads_on_postgresql(schools, tmp_path, settings):
    """Large imports on PostgreSQL merge chunks in worker threads with their own connections."""
    if connection.vendor != "postgresql":
        pytest.skip("worker threads are used on PostgreSQL only")
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.XINQIAO_ROSTER_CHUNK_ROWS = 7
    settings.XINQIAO_ROSTER_WORKERS = 2
    rows = [student_row(i) for i in range(1, 51)]
    rows[10]["性别"] = "?"
    rows[20]["班级"] = "8"  # a class that does not exist yet
    path = write_csv(tmp_path / "r.csv", rows)

    out = StringIO()
    call_command(
        "import_roster", str(path), "--as", "school_admin_a", stdout=out, stderr=StringIO()
    )
    again = StringIO()
    call_command("import_roster", str(path), stdout=again, stderr=StringIO())

    assert out.getvalue().strip().splitlines()[-1] == "created=49 updated=0 unchanged=0 rejected=1"
    assert again.getvalue().strip().splitlines()[-1] == (
        "created=0 updated=0 unchanged=49 rejected=1"
    )
    assert AuditEvent.objects.filter(action="people.roster.imported").count() == 7
    assert verify_chain()[0] is True
    job = ImportJob.objects.filter(original_name="r.csv").earliest("id")
    assert (job.created, job.rows_processed) == (49, 50)
