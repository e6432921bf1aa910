"""Reads of the instrument catalogue: the shipped library plus stored versions."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404

from xinqiao.access.roles import Cap
from xinqiao.access.scope import principal_for
from xinqiao.core.types import Actor

from .definition import (
    Definition,
    UnknownInstrumentError,
    definition_from_document,
    library_versions,
    version_key,
)
from .models import InstrumentVersion, Source, Status


@dataclass(frozen=True)
class CatalogueEntry:
    code: str
    version: str
    definition: Definition
    source: str
    status: str
    stored: InstrumentVersion | None

    @property
    def administrable(self) -> bool:
        """Item texts are present, so the instrument can be taken online."""
        return self.definition.text_shipped


def _stored(row: InstrumentVersion) -> Definition:
    return definition_from_document(row.definition, f"<stored {row.code} {row.version}>")


def catalogue(*, include_pending: bool = False) -> list[CatalogueEntry]:
    """Every instrument version: library files, overridden by stored rows of the same version."""
    entries: dict[tuple[str, str], CatalogueEntry] = {}
    for code, versions in library_versions().items():
        for version, defn in versions.items():
            entries[code, version] = CatalogueEntry(
                code, version, defn, Source.LIBRARY, Status.APPROVED, None
            )
    rows = InstrumentVersion.objects.select_related("uploaded_by", "approved_by")
    for row in rows:
        if row.status == Status.PENDING and not include_pending:
            continue
        entries[row.code, row.version] = CatalogueEntry(
            row.code, row.version, _stored(row), row.source, row.status, row
        )
    return sorted(entries.values(), key=lambda e: (e.code, version_key(e.version)))


def definition_for(code: str, version: str | None = None) -> Definition:
    """The approved definition to score or administer (latest version when none is given)."""
    code = code.upper()
    usable = [
        e
        for e in catalogue()
        if e.code == code
        and e.status == Status.APPROVED
        and (version is None or e.version == version)
    ]
    if not usable:
        raise UnknownInstrumentError(code, version)
    return max(usable, key=lambda e: version_key(e.version)).definition


def list_instruments(*, actor: Actor) -> list[CatalogueEntry]:
    principal = principal_for(actor)
    principal.require(Cap.VIEW_INSTRUMENTS)
    pending = principal.can(Cap.UPLOAD_INSTRUMENT) or principal.can(Cap.APPROVE_INSTRUMENT)
    return catalogue(include_pending=pending)


def get_instrument(*, actor: Actor, code: str, version: str) -> CatalogueEntry:
    for entry in list_instruments(actor=actor):
        if entry.code == code and entry.version == version:
            return entry
    raise Http404
