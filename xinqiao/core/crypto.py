"""Field encryption and keyed hashes, under a configurable cipher suite.

Suites (`CRYPTO_SUITE`):
- `aes` (default): AES-256-GCM, keys and hashes with HMAC-SHA256;
- `sm`: SM4-GCM (128-bit key, GB/T 32907) with HMAC-SM3 (GB/T 32905), for 商用密码应用安全性评估.

A ciphertext token names its suite and key: `v2:<suite>:<key id>:<base64(nonce ‖ sealed)>`, so a
value written under an old key or suite stays readable while `rotate_keys` re-encrypts it
(FIELD_ENCRYPTION_OLD_KEYS lists the keys it may still meet). Associated data binds a field's
ciphertext to its table, column and row (`field_aad`): a value moved to another row or column no
longer decrypts.

Keyed hashes (exact lookup of encrypted values) use their own key, FIELD_HASH_KEY, so rotating the
encryption key does not change a single hash; the suite's HMAC makes them. Each key is derived
from its master with HKDF and a purpose, so no derived key equals another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

SUITES = ("aes", "sm")
_VERSION = "v2"
_NONCE = 12
_TAG = 16


class TamperedValue(ValueError):
    """A ciphertext that does not open: altered, moved to another row or column, or under an
    unknown key."""


def _master_bytes(master: str) -> bytes:
    try:
        return base64.b64decode(master, validate=True)
    except ValueError:
        return master.encode()


def _hash_algorithm(suite: str) -> hashes.HashAlgorithm:
    return hashes.SM3() if suite == "sm" else hashes.SHA256()


@lru_cache(maxsize=16)
def _derive(master: str, purpose: bytes, suite: str = "aes", length: int = 32) -> bytes:
    return HKDF(algorithm=_hash_algorithm(suite), length=length, salt=None, info=purpose).derive(
        _master_bytes(master)
    )


def suite() -> str:
    chosen = getattr(settings, "CRYPTO_SUITE", "aes")
    if chosen not in SUITES:
        raise ValueError(f"CRYPTO_SUITE must be one of {SUITES}, not {chosen!r}")
    return str(chosen)


@lru_cache(maxsize=16)
def key_id(master: str) -> str:
    """A short public name of a key (not a secret): which key sealed a token."""
    return hashlib.sha256(b"xinqiao key id\x00" + _master_bytes(master)).hexdigest()[:8]


class _Sealer:
    """One (suite, key): seal and open with associated data."""

    def __init__(self, suite_name: str, master: str) -> None:
        self.suite = suite_name
        self.key_id = key_id(master)
        self.prefix = f"{_VERSION}:{suite_name}:{self.key_id}:"
        if suite_name == "aes":
            self._aes: AESGCM | None = AESGCM(_derive(master, b"xinqiao field encryption"))
        else:
            self._aes = None
            self._sm4_key = _derive(master, b"xinqiao field encryption sm4", "sm", 16)

    def seal(self, data: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        if self._aes is not None:
            return nonce + self._aes.encrypt(nonce, data, aad or None)
        encryptor = Cipher(algorithms.SM4(self._sm4_key), modes.GCM(nonce)).encryptor()
        if aad:
            encryptor.authenticate_additional_data(aad)
        return nonce + encryptor.update(data) + encryptor.finalize() + encryptor.tag

    def open(self, blob: bytes, aad: bytes) -> bytes:
        nonce, sealed = blob[:_NONCE], blob[_NONCE:]
        try:
            if self._aes is not None:
                return self._aes.decrypt(nonce, sealed, aad or None)
            if len(sealed) < _TAG:
                raise InvalidTag
            decryptor = Cipher(
                algorithms.SM4(self._sm4_key), modes.GCM(nonce, sealed[-_TAG:])
            ).decryptor()
            if aad:
                decryptor.authenticate_additional_data(aad)
            return decryptor.update(sealed[:-_TAG]) + decryptor.finalize()
        except InvalidTag as error:
            raise TamperedValue("the value was altered or does not belong here") from error


@lru_cache(maxsize=16)
def _sealer(suite_name: str, master: str) -> _Sealer:
    return _Sealer(suite_name, master)


def current() -> _Sealer:
    """The suite and key every new ciphertext is made with."""
    return _sealer(suite(), settings.FIELD_ENCRYPTION_KEY)


def _known_keys() -> dict[str, str]:
    keys = [settings.FIELD_ENCRYPTION_KEY, *getattr(settings, "FIELD_ENCRYPTION_OLD_KEYS", [])]
    return {key_id(master): master for master in keys if master}


def _sealer_for(token: str) -> tuple[_Sealer, bytes]:
    parts = token.split(":", 3)
    if len(parts) != 4 or parts[0] != _VERSION or parts[1] not in SUITES:
        raise TamperedValue("not an encrypted value")
    master = _known_keys().get(parts[2])
    if master is None:
        raise TamperedValue(f"sealed with an unknown key ({parts[2]}): add it to the old keys")
    return _sealer(parts[1], master), base64.b64decode(parts[3])


def file_aad(relative_path: str) -> bytes:
    """The associated data of a stored file: its path under MEDIA_ROOT."""
    return b"file\x1f" + relative_path.encode()


def field_aad(table: str, column: str, row: object) -> bytes:
    """The associated data of one field value: its table, column and row key."""
    return f"{table}\x1f{column}\x1f{row}".encode()


def seal_token(data: bytes, *, aad: bytes = b"") -> str:
    sealer = current()
    return sealer.prefix + base64.b64encode(sealer.seal(data, aad)).decode()


def open_token(token: str, *, aad: bytes = b"") -> bytes:
    sealer, blob = _sealer_for(token)
    return sealer.open(blob, aad)


def encrypt(plaintext: str, *, aad: bytes = b"") -> str:
    return seal_token(plaintext.encode(), aad=aad)


def decrypt(token: str, *, aad: bytes = b"") -> str:
    return open_token(token, aad=aad).decode()


def _legacy() -> AESGCM:
    # Version 1 (before suites): AES-256-GCM under today's key, no associated data. The core
    # migration re-seals every v1 field value; files are re-sealed by `rotate_keys`.
    return AESGCM(_derive(settings.FIELD_ENCRYPTION_KEY, b"xinqiao field encryption"))


def decrypt_legacy(token: str) -> str:
    if not token.startswith("v1:"):
        raise TamperedValue("not a version-1 value")
    blob = base64.b64decode(token[3:])
    try:
        return _legacy().decrypt(blob[:_NONCE], blob[_NONCE:], None).decode()
    except InvalidTag as error:
        raise TamperedValue("the value was altered") from error


def is_current(token: str) -> bool:
    """Sealed with today's suite and key (rotate_keys skips it)."""
    return token.startswith(current().prefix)


# Files: a 4-byte magic naming the version, then a header line like a token's, then the blob.
_FILE_MAGIC = b"XQE2"


def encrypt_bytes(data: bytes, *, aad: bytes = b"") -> bytes:
    """Uploaded files: `XQE2<suite>:<key id>\\n` then nonce ‖ sealed data."""
    sealer = current()
    header = f"{sealer.suite}:{sealer.key_id}\n".encode()
    return _FILE_MAGIC + header + sealer.seal(data, aad)


def decrypt_bytes(blob: bytes, *, aad: bytes = b"") -> bytes:
    if not blob.startswith(_FILE_MAGIC):
        return _legacy().decrypt(blob[:_NONCE], blob[_NONCE:], None)
    header, _, body = blob[len(_FILE_MAGIC) :].partition(b"\n")
    suite_name, _, kid = header.decode(errors="replace").partition(":")
    master = _known_keys().get(kid)
    if suite_name not in SUITES or master is None:
        raise TamperedValue("an encrypted file under an unknown suite or key")
    return _sealer(suite_name, master).open(body, aad)


def is_sealed_file(blob: bytes) -> bool:
    """Made by encrypt_bytes (a plaintext file from before encryption is not)."""
    return blob.startswith(_FILE_MAGIC)


def file_is_current(blob: bytes) -> bool:
    sealer = current()
    return blob.startswith(_FILE_MAGIC + f"{sealer.suite}:{sealer.key_id}\n".encode())


def purpose_sealer(purpose: str, suite_name: str | None = None) -> _Sealer:
    """A sealer under a key derived from the field key for one purpose (e.g. backups): never the
    key of any field value. Its key id names it in public (a backup's manifest)."""
    derived = _derive(settings.FIELD_ENCRYPTION_KEY, b"xinqiao purpose\x00" + purpose.encode())
    return _sealer(suite_name or suite(), base64.b64encode(derived).decode())


def purpose_mac(purpose: str, data: bytes, suite_name: str | None = None) -> str:
    """HMAC (SHA-256, or SM3 under `sm`) of `data` under a key derived for `purpose`."""
    chosen = suite_name or suite()
    key = _derive(settings.FIELD_ENCRYPTION_KEY, b"xinqiao mac\x00" + purpose.encode(), chosen)
    mac = HMAC(key, _hash_algorithm(chosen))
    mac.update(data)
    return mac.finalize().hex()


def _hash_master() -> str:
    return getattr(settings, "FIELD_HASH_KEY", "") or settings.FIELD_ENCRYPTION_KEY


def hash_fingerprint() -> str:
    """Names the hash key and algorithm in use; rotate_keys recomputes the stored hashes when it
    changes (core.CryptoState)."""
    return f"{suite()}:{key_id(_hash_master())}"


def keyed_hash(value: str) -> str:
    """Deterministic keyed hash (HMAC-SHA256, or HMAC-SM3 under the `sm` suite) of a normalised
    value, for exact-match lookups."""
    chosen = suite()
    key = _derive(_hash_master(), b"xinqiao keyed hash", chosen)
    data = value.strip().upper().encode()
    if chosen == "aes":
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    mac = HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize().hex()
