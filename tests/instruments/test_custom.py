"""Custom instruments: upload (UI and command), approval, versions, licensed texts, permissions."""

from __future__ import annotations

from io import StringIO

import pytest
import yaml
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.instruments.definition import UnknownInstrumentError, get_definition
from xinqiao.instruments.models import InstrumentVersion, Source, Status
from xinqiao.instruments.selectors import definition_for
from xinqiao.instruments.services import (
    approve_instrument,
    import_instrument,
    import_instrument_texts,
)

from ..factories import two_schools, with_personas
from .test_engine_helpers import base_doc

LIST = reverse("instruments:instrument-list")
UPLOAD = reverse("instruments:instrument-upload")


def upload_file(**overrides) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "custom.yaml", yaml.safe_dump(base_doc(**overrides), allow_unicode=True).encode()
    )


def detail(version: str = "1.0") -> str:
    return reverse("instruments:instrument-detail", args=["TEST", version])


def approve_url(version: str = "1.0") -> str:
    return reverse("instruments:instrument-approve", args=["TEST", version])


def actions() -> list[str]:
    """The instrument events in order (sign-ins between them are audited too)."""
    events = AuditEvent.objects.exclude(action__startswith="access.session.").order_by("seq")
    return list(events.values_list("action", flat=True))


@pytest.fixture
def schools(db):
    """Two schools; the reviewers (city admin) and uploaders (甲区's station counsellor) of custom
    instruments, and the roles that may only read the catalogue or not see it at all."""
    return with_personas(
        two_schools(),
        "city_admin",
        "district_admin",
        "station_counsellor",
        "psych",
        "head_teacher",
        "auditor",
        "psych_b",
        "committee",
        "parent",
    )


# --- the happy path ----------------------------------------------------------------------------


def test_upload_then_approve_makes_it_usable(schools, client_for):
    counsellor = client_for(schools.station_counsellor)
    response = counsellor.post(UPLOAD, {"file": upload_file()})
    assert response.status_code == 302
    row = InstrumentVersion.objects.get(code="TEST", version="1.0")
    assert (row.source, row.status, row.uploaded_by) == (
        Source.CUSTOM,
        Status.PENDING,
        schools.station_counsellor,
    )
    with pytest.raises(UnknownInstrumentError):
        definition_for("TEST")  # not usable before approval

    admin = client_for(schools.city_admin)
    assert admin.post(approve_url()).status_code == 302
    row.refresh_from_db()
    assert (row.status, row.approved_by) == (Status.APPROVED, schools.city_admin)
    assert definition_for("TEST").item_ids == ("1", "2", "3", "4", "5")
    assert actions()[-2:] == ["instruments.instrument.imported", "instruments.instrument.approved"]


def test_list_shows_licence_notices(schools, client_for):
    gad7 = get_definition("GAD-7")
    client = client_for(schools.psych)
    response = client.get(LIST)
    assert response.status_code == 200
    assert escape(gad7.licence["notice"]["en"]) in response.content.decode()
    chinese = client.get(LIST, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert escape(gad7.licence["notice"]["zh-Hans"]) in chinese


def test_old_versions_stay(schools):
    import_instrument(actor=schools.city_admin, file=upload_file())
    approve_instrument(actor=schools.city_admin, code="TEST", version="1.0")
    import_instrument(actor=schools.city_admin, file=upload_file(version="1.1"))
    approve_instrument(actor=schools.city_admin, code="TEST", version="1.1")
    assert definition_for("TEST").version == "1.1"
    assert definition_for("TEST", "1.0").version == "1.0"
    assert InstrumentVersion.objects.filter(code="TEST").count() == 2


def test_same_version_twice_refused(schools):
    import_instrument(actor=schools.city_admin, file=upload_file())
    with pytest.raises(DomainError, match=r"TEST version 1\.0 already exists"):
        import_instrument(actor=schools.city_admin, file=upload_file())


def test_library_code_and_version_refused(schools):
    with pytest.raises(DomainError, match=r"GAD-7 version 1\.0 already exists"):
        import_instrument(actor=schools.city_admin, file=upload_file(code="GAD-7"))


def test_broken_definition_error_names_field_and_problem(schools, client_for):
    doc_items = base_doc()["items"]
    doc_items[1]["options"] = "yesno"
    response = client_for(schools.city_admin).post(UPLOAD, {"file": upload_file(items=doc_items)})
    assert response.status_code == 200
    assert "custom.yaml: $.items[1].options: option set &#x27;yesno&#x27; is not defined" in (
        response.content.decode()
    )
    assert not InstrumentVersion.objects.exists()


def test_command_import_and_approve(db, tmp_path):
    path = tmp_path / "test-1.0.yaml"
    path.write_text(yaml.safe_dump(base_doc()))
    out = StringIO()
    call_command("import_instrument", str(path), "--approve", stdout=out)
    assert "TEST 1.0" in out.getvalue()
    assert InstrumentVersion.objects.get(code="TEST").status == Status.APPROVED


def test_command_import_broken_file_exits_2(db, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(base_doc(version=2)))
    with pytest.raises(CommandError) as info:
        call_command("import_instrument", str(path))
    assert info.value.returncode == 2
    assert f"{path}: $.version: 2 is not of type 'string'" in str(info.value)


# --- permissions -------------------------------------------------------------------------------


def test_wrong_role_cannot_upload_or_approve(schools, client_for):
    assert client_for(schools.psych).post(UPLOAD, {"file": upload_file()}).status_code == 403
    assert client_for(schools.head_teacher).get(UPLOAD).status_code == 403
    assert not InstrumentVersion.objects.exists()
    import_instrument(actor=schools.station_counsellor, file=upload_file())
    assert client_for(schools.station_counsellor).post(approve_url()).status_code == 403
    assert InstrumentVersion.objects.get().status == Status.PENDING
    with pytest.raises(PermissionDenied):
        approve_instrument(actor=schools.district_admin, code="TEST", version="1.0")


def test_roles_without_the_catalogue_get_403(schools, client_for):
    for user in (schools.head_teacher, schools.committee, schools.parent, schools.auditor):
        assert client_for(user).get(LIST).status_code == 403


def test_pending_instrument_hidden_from_those_who_cannot_review_it(schools, client_for):
    import_instrument(actor=schools.station_counsellor, file=upload_file())
    psych = client_for(schools.psych_b)
    assert psych.get(detail()).status_code == 404
    assert 'data-instrument="TEST-1.0"' not in psych.get(LIST).content.decode()
    assert psych.post(approve_url()).status_code == 404
    assert client_for(schools.city_admin).get(detail()).status_code == 200


def test_anonymous_redirected_to_sign_in(client):
    assert client.get(LIST).status_code == 302


# --- licensed texts ----------------------------------------------------------------------------


def csv_for(code: str, *, skip: int = 0) -> SimpleUploadedFile:
    ids = get_definition(code).item_ids
    rows = "".join(f'{i},"第{i}题",Item {i}\n' for i in ids[skip:])
    return SimpleUploadedFile("texts.csv", ("item_id,text,text_en\n" + rows).encode())


def test_import_texts_makes_scoring_only_instrument_administrable(db):
    code = next(c for c in ("SCARED", "CES-DC", "RCADS-25") if not get_definition(c).text_shipped)
    assert not definition_for(code).text_shipped
    row = import_instrument_texts(actor=None, code=code, file=csv_for(code))
    assert (row.source, row.status) == (Source.LIBRARY, Status.APPROVED)
    stored = definition_for(code)
    assert stored.text_shipped
    assert stored.items[0].text == {
        "zh-Hans": f"第{stored.items[0].id}题",
        "en": f"Item {stored.items[0].id}",
    }
    assert actions()[-1] == "instruments.instrument_texts.imported"
    assert "第" not in str(AuditEvent.objects.last().fields)  # licensed texts stay out of the log


def test_import_texts_refuses_unknown_ids_with_row_numbers_and_stores_nothing(db):
    code = "SCARED"
    ids = get_definition(code).item_ids
    body = "item_id,text\n" + "".join(f"{i},t\n" for i in ids) + "999,t\nX,t\n"
    with pytest.raises(DomainError) as info:
        import_instrument_texts(
            actor=None, code=code, file=SimpleUploadedFile("t.csv", body.encode())
        )
    rows = len(ids) + 2
    assert f"row {rows}: unknown item id “999”" in info.value.message
    assert f"row {rows + 1}: unknown item id “X”" in info.value.message
    assert not InstrumentVersion.objects.exists()


def test_import_texts_needs_every_item(db):
    with pytest.raises(DomainError, match="no text for items: 1"):
        import_instrument_texts(actor=None, code="SCARED", file=csv_for("SCARED", skip=1))


def test_import_texts_gbk_file(db):
    ids = get_definition("SCARED").item_ids
    body = "item_id,text\n" + "".join(f"{i},我感到紧张不安的时候会头痛\n" for i in ids)
    row = import_instrument_texts(
        actor=None, code="SCARED", file=SimpleUploadedFile("t.csv", body.encode("gb18030"))
    )
    assert row.definition["items"][0]["text"] == {"zh-Hans": "我感到紧张不安的时候会头痛"}


def test_import_texts_refused_for_instrument_that_ships_texts(db):
    with pytest.raises(DomainError, match="GAD-7 ships its own item texts"):
        import_instrument_texts(actor=None, code="GAD-7", file=csv_for("GAD-7"))


def test_import_texts_command(db, tmp_path):
    ids = get_definition("SCARED").item_ids
    path = tmp_path / "scared.csv"
    path.write_text("item_id,text\n" + "".join(f"{i},t{i}\n" for i in ids), encoding="utf-8")
    out = StringIO()
    call_command("import_instrument_texts", "SCARED", str(path), stdout=out)
    assert "SCARED 1.0: item texts imported" in out.getvalue()
    bad = tmp_path / "bad.csv"
    bad.write_text("item_id,text\nnope,t\n", encoding="utf-8")
    with pytest.raises(CommandError) as info:
        call_command("import_instrument_texts", "SCARED", str(bad))
    assert (info.value.returncode, "row 2: unknown item id “nope”" in str(info.value)) == (2, True)


def test_list_query_count_does_not_grow_with_instruments(schools, client_for):
    client = client_for(schools.city_admin)
    import_instrument(actor=schools.city_admin, file=upload_file())
    client.get(LIST)  # warm caches (session, principal)
    with CaptureQueriesContext(connection) as one:
        assert client.get(LIST).status_code == 200
    for v in ("1.1", "1.2", "1.3"):
        import_instrument(actor=schools.city_admin, file=upload_file(version=v))
    with CaptureQueriesContext(connection) as four:
        response = client.get(LIST)
    assert 'data-instrument="TEST-1.3"' in response.content.decode()
    assert len(four) == len(one)
