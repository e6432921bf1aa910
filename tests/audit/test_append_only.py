import pytest

from xinqiao.audit.models import AppendOnlyError, AuditEvent


def test_bulk_update_and_delete_are_refused(logged):
    events = AuditEvent.objects.all()
    assert events.exists()
    with pytest.raises(AppendOnlyError):
        events.update(action="tampered")
    with pytest.raises(AppendOnlyError):
        events.delete()
    assert not AuditEvent.objects.filter(action="tampered").exists()


def test_existing_event_cannot_be_saved(logged):
    event = AuditEvent.objects.order_by("seq").first()
    event.action = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
