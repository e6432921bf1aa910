"""Benchmark: no double booking under concurrency (issue 15). Clients race through the real booking
service (`counselling.services.book_appointment`, a head teacher booking on a student's behalf
inside the counsellors' published time), each thread with its own database connection:

1. **slots**: CLIENTS clients race for SLOTS slots (SLOTS counsellors at one start time, by
   phone): exactly SLOTS must win, every other client must get "that time is taken";
2. **room**: CLIENTS clients race for overlapping times of one room (start times ten minutes
   apart, fifty minutes long, spread over the counsellors): the room and each counsellor must end
   with no two holding appointments overlapping.

At most CONNECTIONS clients hold a connection at once (the server's max_connections is shared);
they all start together on one signal. Afterwards the database is asked: `double_bookings` =
pairs of holding appointments of one counsellor or one room whose times overlap (must be 0);
`lost_requests` = clients that got neither a booking nor a clean refusal (a server error), plus
any difference between the bookings clients were told of and the rows in the database (must
be 0).

value = booking requests answered per second (won or refused) over both races; floor = the same
requests' rows written by raw SQL INSERTs, one autocommit statement each, from one connection, into
a table with the appointment table's columns and no constraints; ratio = value / floor.

    python bench/booking.py            # 200 clients, 10 slots
    python bench/booking.py --quick    # 50 clients, 5 slots

The database is its own scratch database (BENCH_DATABASE_URL's server, database
xinqiao_bench_booking), dropped, re-created and migrated by the script.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import result_line, use_scratch_database

DATABASE = "xinqiao_bench_booking"
CONNECTIONS = 40


def build(clients: int, slots: int) -> dict[str, Any]:
    from django.utils import timezone

    from xinqiao.access.roles import Role
    from xinqiao.access.services import create_staff
    from xinqiao.counselling import services
    from xinqiao.counselling.models import AvailabilityKind, RoomKind
    from xinqiao.orgs.services import create_unit
    from xinqiao.people.services import create_student

    city = create_unit(actor=None, parent=None, kind="city", name="示例市")
    district = create_unit(actor=None, parent=city, kind="district", name="基准区")
    school = create_unit(
        actor=None,
        parent=district,
        kind="school",
        name="基准中学",
        school_code="3602900001",
        stage="junior",
    )
    grade = create_unit(actor=None, parent=school, kind="grade", name="七年级", grade_level=7)
    klass = create_unit(actor=None, parent=grade, kind="class", name="七(1)班")
    head = create_staff(
        actor=None,
        username="bench_head",
        name="班主任",
        org_unit=school,
        roles=[(Role.HEAD_TEACHER, klass)],
    ).user
    day = timezone.localdate() + datetime.timedelta(days=7)
    counsellors = []
    for n in range(slots):
        user = create_staff(
            actor=None,
            username=f"bench_psych_{n}",
            name=f"心理老师{n}",
            org_unit=school,
            roles=[(Role.PSYCHOLOGY_TEACHER, school)],
        ).user
        assert user is not None
        services.publish_availability(
            actor=user,
            unit=school,
            kind=AvailabilityKind.ONCE,
            date=day,
            starts=datetime.time(8, 0),
            ends=datetime.time(20, 0),
        )
        counsellors.append(user)
    room = services.save_room(actor=None, unit=school, name="团体辅导室", kind=RoomKind.GROUP)
    students = [
        create_student(
            actor=None,
            student_number=f"G3601022013{n:08d}",
            name=f"学生{n}",
            gender="F" if n % 2 else "M",
            birth_date=datetime.date(2013, 1, 1),
            school_class=klass,
        )
        for n in range(clients)
    ]
    return {
        "school": school,
        "head": head,
        "day": day,
        "counsellors": counsellors,
        "room": room,
        "students": students,
    }


def race(requests: list[dict[str, Any]]) -> tuple[Counter[str], int, float]:
    """Run each request in its own thread (own connection), all released at once; the outcomes
    (won / taken / error), the bookings clients were told of, and the seconds taken."""
    from django.db import connection

    from xinqiao.core.errors import DomainError
    from xinqiao.counselling import services

    start = threading.Event()
    gate = threading.Semaphore(CONNECTIONS)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def client(request: dict[str, Any]) -> None:
        start.wait()
        with gate:
            try:
                services.book_appointment(**request)
                outcome = "won"
            except DomainError:
                outcome = "taken"
            except Exception as exc:  # a lost request: what the benchmark is here to catch
                outcome = "error"
                print(f"  error: {exc!r}", file=sys.stderr)
            finally:
                connection.close()
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=client, args=(r,)) for r in requests]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    start.set()
    for thread in threads:
        thread.join()
    return outcomes, outcomes["won"], time.perf_counter() - started


def requests_for(world: dict[str, Any], clients: int, slots: int) -> tuple[list[Any], list[Any]]:
    from django.utils import timezone

    from xinqiao.counselling.models import BookedAs, Channel

    def at(hour: int, minute: int) -> datetime.datetime:
        midnight = datetime.datetime.combine(world["day"], datetime.time(0))
        return timezone.make_aware(midnight) + datetime.timedelta(hours=hour, minutes=minute)

    base = {
        "actor": world["head"],
        "booked_as": BookedAs.HEAD_TEACHER,
        "unit": world["school"],
    }
    counsellors, students = world["counsellors"], world["students"]
    slot_race = [
        {
            **base,
            "student": students[k],
            "counsellor": counsellors[k % slots],
            "starts_at": at(9, 0),
            "ends_at": at(9, 50),
            "channel": Channel.PHONE,
        }
        for k in range(clients)
    ]
    room_race = [
        {
            **base,
            "student": students[k],
            "counsellor": counsellors[k % slots],
            "room": world["room"],
            "starts_at": at(14, 10 * (k % 24)),
            "ends_at": at(14, 10 * (k % 24) + 50),
            "channel": Channel.GROUP,
        }
        for k in range(clients)
    ]
    return slot_race, room_race


DOUBLE_BOOKINGS = """
SELECT count(*) FROM counselling_appointment a JOIN counselling_appointment b
  ON a.id < b.id
 AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
 AND (a.counsellor_id = b.counsellor_id OR a.room_id = b.room_id)
WHERE a.status IN ('requested', 'confirmed') AND b.status IN ('requested', 'confirmed')
"""


def holding_rows() -> int:
    from xinqiao.counselling.models import Appointment

    return Appointment.objects.holding().count()


def floor_rate(requests: list[dict[str, Any]]) -> float:
    """Requests/s of raw SQL INSERTs of the same rows, one autocommit statement each."""
    import uuid

    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor")
        cursor.execute("CREATE TABLE bench_floor (LIKE counselling_appointment INCLUDING DEFAULTS)")
        sql = (
            "INSERT INTO bench_floor (id, code, unit_id, school_id, student_id, counsellor_id,"
            " room_id, starts_at, ends_at, channel, meeting_link, status, booked_by_id,"
            " booked_as, booked_at, cancel_reason, cancel_note)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '', 'confirmed', %s, %s, %s, '', '')"
        )
        started = time.perf_counter()
        for n, r in enumerate(requests, start=1):
            room = r.get("room")
            cursor.execute(
                sql,
                [
                    n,
                    uuid.uuid4(),
                    r["unit"].pk,
                    r["student"].school_id,
                    r["student"].pk,
                    r["counsellor"].pk,
                    room.pk if room else None,
                    r["starts_at"],
                    r["ends_at"],
                    r["channel"],
                    r["actor"].pk,
                    r["booked_as"],
                    now,
                ],
            )
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_floor")
    return len(requests) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 clients, 5 slots")
    args = parser.parse_args()
    clients, slots = (50, 5) if args.quick else (200, 10)

    use_scratch_database(DATABASE)
    from django.db import connection

    world = build(clients, slots)
    slot_race, room_race = requests_for(world, clients, slots)
    connection.close()  # the clients open their own

    told = 0
    seconds = 0.0
    outcomes: Counter[str] = Counter()
    for name, requests in (("slots", slot_race), ("room", room_race)):
        result, won, elapsed = race(requests)
        if name == "slots" and won != slots:
            print(f"  {won} clients won {slots} slots", file=sys.stderr)
        told, seconds = told + won, seconds + elapsed
        outcomes += result
        print(
            f"{name}: {len(requests)} clients in {elapsed:.2f} s — won {result['won']}, "
            f"taken {result['taken']}, errors {result['error']}"
        )
    with connection.cursor() as cursor:
        cursor.execute(DOUBLE_BOOKINGS)
        double_bookings = cursor.fetchone()[0]
    rows = holding_rows()
    lost = outcomes["error"] + abs(told - rows)
    print(f"holding appointments in the database: {rows} (clients told of {told})")
    value = (len(slot_race) + len(room_race)) / seconds
    floor = floor_rate(slot_race + room_race)
    print(f"floor: {len(slot_race) + len(room_race)} raw INSERTs, {floor:,.0f} rows/s")
    line = result_line("booking", value, "bookings/s", floor)
    head, rss = line.rsplit(" peak_rss_mb=", 1)
    print(f"{head} double_bookings={double_bookings} lost_requests={lost} peak_rss_mb={rss}")


if __name__ == "__main__":
    main()
