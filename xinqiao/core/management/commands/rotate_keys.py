"""Re-encrypt every sealed value and file under today's suite and key; recompute keyed hashes when
their key or suite changed. Resumable: run it again after an interruption.

Rotating the field key: put the new key in FIELD_ENCRYPTION_KEY, the old one in
FIELD_ENCRYPTION_OLD_KEYS, run this, then remove the old key (docs/security.md).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from xinqiao.core import crypto, rotation
from xinqiao.core.models import CryptoState


class Command(BaseCommand):
    help = "Re-encrypt sensitive fields and files under the current key and cipher suite."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=rotation.BATCH_SIZE)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        for model in rotation.encrypted_models():
            progress = rotation.reseal_model(model, batch_size=batch_size)
            self.stdout.write(
                f"{progress.table}: {progress.rows_seen} rows, "
                f"{progress.values_resealed} values re-encrypted"
            )
        self.stdout.write(f"files re-encrypted: {rotation.reseal_files()}")
        self.stdout.write(f"other secrets re-encrypted: {rotation.reseal_others()}")
        fingerprint = crypto.hash_fingerprint()
        state = CryptoState.objects.first()
        if state is None or state.hash_fingerprint != fingerprint:
            self.stdout.write(f"keyed hashes recomputed: {rotation.rehash_all(batch_size)}")
        with transaction.atomic():
            CryptoState.objects.all().delete()
            CryptoState.objects.create(hash_fingerprint=fingerprint)
        self.stdout.write(self.style.SUCCESS(f"current: {crypto.current().prefix}"))
