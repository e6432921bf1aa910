"""The roster import reads files through the shared reader (xinqiao/core/tabular/reader.py)."""

from xinqiao.core.tabular.reader import BadFileError, Table, detect_encoding, open_table, read_head

__all__ = ["BadFileError", "Table", "detect_encoding", "open_table", "read_head"]
