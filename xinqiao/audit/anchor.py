"""The external anchor: the verified head of the chain, appended to a file the database's user
cannot rewrite (settings.AUDIT_ANCHOR_PATH; optionally also syslog).

One JSON line per anchor: `{"at": …, "seq": …, "hash": …, "mac": …}`, the MAC an HMAC of the
other three under a key derived from AUDIT_CHAIN_KEY (keys.anchor_key). Deleting the newest events
leaves a shorter chain that is valid in itself; the last anchor still names a later event, so the
truncation is reported with its sequence number. A chain rewritten with the key (or restored from
an older backup) no longer holds the anchored hash at the anchored sequence number.
"""

from __future__ import annotations

import fcntl
import hmac
import json
import logging
import logging.handlers
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from . import keys
from .services import ChainCheck, check_chain

log = logging.getLogger("xinqiao.audit.anchor")
TAIL_BYTES = 4096  # an anchor line is about 200 bytes: the last one is in the file's last 4 KB


class AnchorError(Exception):
    """The anchor file cannot be read or its last line is not a sound anchor."""


@dataclass(frozen=True)
class Anchor:
    at: str
    seq: int
    hash: str


def anchor_path() -> Path:
    return Path(settings.AUDIT_ANCHOR_PATH)


def _body(at: str, seq: int, hash_: str) -> str:
    return json.dumps({"at": at, "hash": hash_, "seq": seq}, sort_keys=True, separators=(",", ":"))


def anchor_line(anchor: Anchor) -> str:
    mac = keys.mac(keys.anchor_key(), _body(anchor.at, anchor.seq, anchor.hash))
    record = {"at": anchor.at, "seq": anchor.seq, "hash": anchor.hash, "mac": mac}
    return json.dumps(record, separators=(",", ":")) + "\n"


def parse_line(line: str) -> Anchor:
    try:
        record = json.loads(line)
        anchor = Anchor(at=str(record["at"]), seq=int(record["seq"]), hash=str(record["hash"]))
        mac = str(record["mac"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AnchorError(f"the last anchor line is not readable: {line.strip()[:120]!r}") from exc
    expected = keys.mac(keys.anchor_key(), _body(anchor.at, anchor.seq, anchor.hash))
    if not hmac.compare_digest(mac, expected):
        raise AnchorError(
            f"the last anchor line (#{anchor.seq} at {anchor.at}) does not carry a valid MAC: "
            f"it was forged or altered, or AUDIT_CHAIN_KEY changed"
        )
    return anchor


def last_anchor(path: Path | None = None) -> Anchor | None:
    """The file's last anchor, None when there is no file or no line yet."""
    path = path or anchor_path()
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_BYTES))
            tail = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AnchorError(f"the anchor file {path} cannot be read: {exc}") from exc
    lines = [line for line in tail.splitlines() if line.strip()]
    if not lines:
        return None
    return parse_line(lines[-1])


def append_anchor(seq: int, hash_: str, path: Path | None = None) -> Anchor:
    """Append one anchor line (O_APPEND, under an exclusive lock, flushed to disk)."""
    path = path or anchor_path()
    anchor = Anchor(at=timezone.now().isoformat(timespec="seconds"), seq=seq, hash=hash_)
    line = anchor_line(anchor)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    _to_syslog(line.strip())
    return anchor


def _to_syslog(line: str) -> None:
    address: Any = getattr(settings, "AUDIT_ANCHOR_SYSLOG", "")
    if not address:
        return
    if ":" in address and not address.startswith("/"):
        host, port = address.rsplit(":", 1)
        address = (host, int(port))
    try:
        handler = logging.handlers.SysLogHandler(
            address=address, facility=logging.handlers.SysLogHandler.LOG_AUTHPRIV
        )
        try:
            handler.emit(logging.makeLogRecord({"msg": f"xinqiao-audit-anchor {line}"}))
        finally:
            handler.close()
    except OSError:
        log.exception("audit anchor: syslog %s unreachable", address)


@dataclass(frozen=True)
class AuditCheck:
    ok: bool
    message: str
    anchor: Anchor | None = None  # the anchor written, if any


def verify_and_anchor(*, write: bool = True, full: bool = True) -> AuditCheck:
    """Check the chain, then that it still holds the last anchor, then append its head.

    `full=False` walks only the events from the last anchor on (the periodic check; the command
    walks everything by default). Nothing is appended unless every check passed.
    """
    try:
        previous = last_anchor()
    except AnchorError as exc:
        return AuditCheck(False, f"anchor check failed: {exc}")
    after = (previous.seq, previous.hash) if previous and not full else None
    if after is not None and previous is not None:
        from .selectors import last_seq

        head = last_seq()
        if head < previous.seq:
            return AuditCheck(
                False, f"audit anchor mismatch: {_against(previous, ChainCheck(True, '', head))}"
            )
    chain: ChainCheck = check_chain(after=after)
    if not chain.ok:
        return AuditCheck(False, f"audit chain broken: {chain.message}")
    messages = [chain.message if after is None else _since(chain, previous)]
    if previous is not None:
        problem = _against(previous, chain)
        if problem:
            return AuditCheck(False, f"audit anchor mismatch: {problem}")
        messages.append(f"holds the last anchor (#{previous.seq}, {previous.at})")
    written = None
    if write and chain.head_seq > 0:
        try:
            written = append_anchor(chain.head_seq, chain.head_hash)
        except OSError as exc:
            return AuditCheck(False, f"the anchor could not be written to {anchor_path()}: {exc}")
        messages.append(f"anchored #{written.seq}")
    return AuditCheck(True, "; ".join(messages), written)


def _since(chain: ChainCheck, previous: Anchor | None) -> str:
    seq = previous.seq if previous else 0
    return f"audit chain intact from anchored event #{seq} to #{chain.head_seq}"


def _against(anchor: Anchor, chain: ChainCheck) -> str:
    from .models import AuditEvent

    if chain.head_seq < anchor.seq:
        return (
            f"the chain ends at event #{chain.head_seq} but the anchor of {anchor.at} recorded "
            f"event #{anchor.seq}: events #{chain.head_seq + 1}..#{anchor.seq} were deleted"
        )
    held = AuditEvent.objects.filter(seq=anchor.seq).values_list("hash", flat=True).first()
    if held != anchor.hash:
        return (
            f"event #{anchor.seq} differs from the anchor of {anchor.at}: the chain was rewritten "
            f"from there or before"
        )
    return ""
