"""Cross-app notice that the roster changed, so that apps above people (screening) can follow
without people importing them."""

from collections.abc import Sequence

from django.db import transaction
from django.dispatch import Signal

# Sent after the transaction commits; argument `school_ids`: the schools touched (None: any).
students_changed = Signal()


def notify_students_changed(school_ids: Sequence[int] | None) -> None:
    ids = sorted(set(school_ids)) if school_ids is not None else None
    transaction.on_commit(lambda: students_changed.send(sender=None, school_ids=ids))
