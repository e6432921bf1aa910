"""Writes: importing custom definitions, approving them, importing licensed item texts."""

from __future__ import annotations

import copy
import csv
import io
from pathlib import Path
from typing import IO, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access.roles import Cap
from xinqiao.access.scope import principal_for
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor

from .definition import Definition, UnknownInstrumentError, definition_from_document, parse_text
from .models import InstrumentVersion, Source, Status
from .selectors import catalogue, definition_for

MAX_UPLOAD_BYTES = 2 * 1024 * 1024

FileLike = str | Path | IO[bytes] | IO[str] | Any


def _read(file: FileLike) -> tuple[str, str]:
    """(text, name) from a path, an uploaded file or any binary/text stream."""
    if isinstance(file, str | Path):
        path = Path(file)
        data: bytes | str = path.read_bytes()
        name = str(path)
    else:
        data = file.read(MAX_UPLOAD_BYTES + 1)
        name = getattr(file, "name", "") or "<upload>"
    if len(data) > MAX_UPLOAD_BYTES:
        raise DomainError(_("The file is larger than 2 MB."))
    if isinstance(data, str):
        return data, name
    try:
        return data.decode("utf-8-sig"), name
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()  # GBK / GB18030 exports from Excel are common
        if best is None:
            raise DomainError(_("The file is not text in a known encoding.")) from None
        return str(best), name


def _require(actor: Actor, cap: str) -> None:
    if actor is not None:  # None: a deployer at the command line
        principal_for(actor).require(cap)


@transaction.atomic
def import_instrument(*, actor: Actor, file: FileLike) -> InstrumentVersion:
    """Validate and store a custom definition as a new version waiting for approval.

    Effects: refuses a broken definition (DefinitionError naming file, field, problem) or a code and
    version that already exist; stores the version as pending; audits
    `instruments.instrument.imported`.
    """
    _require(actor, Cap.UPLOAD_INSTRUMENT)
    text, name = _read(file)
    defn = parse_text(text, name)
    if any(
        e.code == defn.code and e.version == defn.version for e in catalogue(include_pending=True)
    ):
        raise DomainError(
            _("%(code)s version %(version)s already exists; give the new definition a new version.")
            % {"code": defn.code, "version": defn.version}
        )
    row = InstrumentVersion.objects.create(
        code=defn.code,
        version=defn.version,
        definition=dict(defn.document),
        source=Source.CUSTOM,
        status=Status.PENDING,
        uploaded_by=actor,
    )
    record_event(
        actor=actor,
        action="instruments.instrument.imported",
        obj=row,
        fields={"code": row.code, "version": row.version, "items": len(defn.items)},
    )
    return row


@transaction.atomic
def approve_instrument(*, actor: Actor, code: str, version: str) -> InstrumentVersion:
    """Make a pending custom version usable in campaigns.

    Effects: status approved, approver and time set; audits `instruments.instrument.approved`.
    """
    _require(actor, Cap.APPROVE_INSTRUMENT)
    row = InstrumentVersion.objects.select_for_update().filter(code=code, version=version).first()
    if row is None:
        raise UnknownInstrumentError(code, version)
    if row.status != Status.PENDING:
        raise DomainError(_("Only an instrument waiting for approval can be approved."))
    row.status = Status.APPROVED
    row.approved_by = actor
    row.approved_at = timezone.now()
    row.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
    record_event(
        actor=actor,
        action="instruments.instrument.approved",
        obj=row,
        fields={"code": row.code, "version": row.version},
    )
    return row


@transaction.atomic
def import_instrument_texts(
    *, actor: Actor, code: str, file: FileLike, version: str | None = None
) -> InstrumentVersion:
    """Store licensed item texts (CSV `item_id,text[,text_en]`) so it can be taken online.

    All or nothing: every row is checked (unknown or repeated item ids, empty texts, items left
    without a text) and nothing is stored unless all rows are good. Effects: a stored copy of the
    definition with the texts and `text_shipped: true`; audits
    `instruments.instrument_texts.imported` (with counts, never the licensed texts).
    """
    _require(actor, Cap.APPROVE_INSTRUMENT)
    defn: Definition = definition_for(code, version)
    if defn.licence["status"] != "licensed_scoring_only":
        raise DomainError(
            _(
                "%(code)s ships its own item texts; only licensed-scoring-only instruments "
                "take imported texts."
            )
            % {"code": defn.code}
        )
    text, name = _read(file)
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    if "item_id" not in header or "text" not in header:
        raise DomainError(
            _("%(file)s: the header must be item_id,text (optionally text_en).") % {"file": name}
        )
    known = set(defn.item_ids)
    texts: dict[str, dict[str, str]] = {}
    errors: list[str] = []
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        item_id = row.get("item_id", "")
        if item_id not in known:
            errors.append(_("row %(row)d: unknown item id “%(id)s”") % {"row": line, "id": item_id})
        elif item_id in texts:
            errors.append(
                _("row %(row)d: item %(id)s appears twice") % {"row": line, "id": item_id}
            )
        elif not row.get("text"):
            errors.append(_("row %(row)d: item %(id)s has no text") % {"row": line, "id": item_id})
        else:
            texts[item_id] = {"zh-Hans": row["text"]} | (
                {"en": row["text_en"]} if row.get("text_en") else {}
            )
    absent = [i for i in defn.item_ids if i not in texts]
    if absent and not errors:
        errors.append(_("no text for items: %(ids)s") % {"ids": ", ".join(absent)})
    if errors:
        raise DomainError(f"{name}: " + "; ".join(errors))

    doc = copy.deepcopy(dict(defn.document))
    for item in doc["items"]:
        item["text"] = texts[item["id"]]
    doc["text_shipped"] = True
    definition_from_document(doc, name)  # the stored copy must still be a valid definition
    row_obj, created = InstrumentVersion.objects.update_or_create(
        code=defn.code,
        version=defn.version,
        defaults={"definition": doc},
        create_defaults={
            "definition": doc,
            "source": Source.LIBRARY,
            "status": Status.APPROVED,
            "uploaded_by": actor,
            "approved_by": actor,
            "approved_at": timezone.now(),
        },
    )
    record_event(
        actor=actor,
        action="instruments.instrument_texts.imported",
        obj=row_obj,
        fields={
            "code": defn.code,
            "version": defn.version,
            "items": len(texts),
            "created": created,
        },
    )
    return row_obj
