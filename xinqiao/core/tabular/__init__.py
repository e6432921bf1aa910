"""Tabular files shared by every import: `open_table` (CSV in UTF-8/BOM or GB18030/GBK, XLSX, XLS,
ODS, streamed) and header normalisation. The registry import framework
(xinqiao/people/registry/) and the roster import (xinqiao/people/importer/) read through it."""

from .headers import normalise_header
from .reader import BadFileError, Table, detect_encoding, open_table

__all__ = ["BadFileError", "Table", "detect_encoding", "normalise_header", "open_table"]
