"""No double booking on PostgreSQL: a holding appointment's [starts_at, ends_at) may not overlap
another holding one of the same counsellor, nor of the same room (btree_gist for the equality
part). SQLite keeps the unique (counsellor, start) / (room, start) rows of 0001 and serialises
writers (IMMEDIATE transactions), and the booking service checks overlaps in its transaction."""

from django.db import migrations

HOLDING = "status IN ('requested', 'confirmed')"
CREATE = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    "ALTER TABLE counselling_appointment ADD CONSTRAINT counselling_appt_counsellor_overlap "
    "EXCLUDE USING gist (counsellor_id WITH =, tstzrange(starts_at, ends_at) WITH &&) "
    f"WHERE ({HOLDING})",
    "ALTER TABLE counselling_appointment ADD CONSTRAINT counselling_appt_room_overlap "
    "EXCLUDE USING gist (room_id WITH =, tstzrange(starts_at, ends_at) WITH &&) "
    f"WHERE ({HOLDING} AND room_id IS NOT NULL)",
]
DROP = [
    "ALTER TABLE counselling_appointment DROP CONSTRAINT IF EXISTS counselling_appt_room_overlap",
    "ALTER TABLE counselling_appointment "
    "DROP CONSTRAINT IF EXISTS counselling_appt_counsellor_overlap",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in CREATE:
            schema_editor.execute(sql)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in DROP:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("counselling", "0001_roster_and_appointments")]

    operations = [migrations.RunPython(forwards, backwards)]
