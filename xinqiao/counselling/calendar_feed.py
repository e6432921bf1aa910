"""A counsellor's appointments as an iCalendar feed (RFC 5545, the `icalendar` library).

A feed leaves the system (a phone's calendar app, a cloud calendar): each event carries the
time, the channel, the unit and the room, and never a student's name or code — the summary is
"Counselling appointment"."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from .models import Appointment


def render(user: Any, appointments: Iterable[Appointment]) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Xinqiao//Counselling//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", _("Counselling appointments"))
    now = timezone.now()
    for appointment in appointments:
        event = Event()
        event.add("uid", f"{appointment.code}@xinqiao")
        event.add("dtstamp", now)
        event.add("dtstart", appointment.starts_at)
        event.add("dtend", appointment.ends_at)
        event.add("summary", _("Counselling appointment"))
        place = [appointment.unit.name, appointment.room.name if appointment.room else ""]
        event.add("location", " · ".join(p for p in place if p))
        event.add("description", str(appointment.get_channel_display()))
        event.add("status", "CONFIRMED" if appointment.status == "confirmed" else "TENTATIVE")
        cal.add_component(event)
    return cal.to_ical()
