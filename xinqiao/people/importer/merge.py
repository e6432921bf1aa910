"""Set-based merge of a chunk of checked rows into students, enrolments and guardians.

PostgreSQL: the chunk is `COPY`ed into a temporary staging table (no WAL, no indexes), then merged
with `INSERT … SELECT … ON CONFLICT … DO UPDATE … WHERE <something changed> RETURNING`. Unchanged
rows are not written at all (so re-importing a file changes nothing, not even `updated_at`).
SQLite: the same SQL, with the staging table filled by `executemany`.

Students are matched by the keyed hash of their number (`student_number_hash`, unique): the
number itself, the ID number and the guardians' phones arrive sealed (rows.py seals per row in
Python; the student's values are bound to the number's hash, so a staged ciphertext is valid for
the existing row as much as for a new one). A guardian's phone is bound to the guardian's `code`:
before staging, the chunk's existing guardians are read, their phones opened and compared, so an
unchanged phone is staged as the very ciphertext stored and the row is not written.

Columns a file does not have are left alone: without a 身份证件号 column the stored ID numbers
stay, without 学籍状态 the status stays, and so on (an empty ID cell also keeps the stored one).
"""

# ruff: noqa: S608  (table and column names are constants of this module; values are parameters)
from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from ..models import Guardian
from .columns import FLAG_FIELDS
from .rows import G_CODE, G_NAME, G_PHONE, G_RELATION, NUMBER_HASH, Encryptor

STAGE = "xinqiao_roster_stage_v2"
STAGE_COLUMNS = (
    "row_no",
    "student_number",
    "name",
    "gender",
    "birth_date",
    "id_number",
    "id_number_hash",
    "status",
    "school_id",
    "school_class_id",
    *FLAG_FIELDS,
    "g_name",
    "g_relation",
    "g_phone",
    "name_initials",
    "number_tail_hash",
    "id_tail_hash",
    "student_number_hash",
    "g_code",
)


@dataclass
class ChunkOutcome:
    created_ids: list[int] = field(default_factory=list)
    updated_ids: set[int] = field(default_factory=set)
    numbers: dict[int, str] = field(default_factory=dict)  # pk → student_number_hash
    out_of_scope: list[tuple[int, str]] = field(default_factory=list)  # (row_no, school name)


class Merger:
    def __init__(
        self,
        *,
        term_id: int,
        present: set[str],
        placement: bool,
        scope_paths: list[str] | None,
    ) -> None:
        self.vendor = connection.vendor
        self.pg = self.vendor == "postgresql"
        self.term_id = term_id
        self.present = present
        self.placement = placement
        self.scope_paths = scope_paths  # None: the system, every school
        self._student_sql = self._build_student_sql()
        self._crypto = Encryptor()
        self._guardian_code = Guardian._meta.get_field("code")
        self._guardian_phone = Guardian._meta.get_field("phone")

    # --- SQL ----------------------------------------------------------------------------------
    def _differs(self, column: str) -> str:
        op = "IS DISTINCT FROM" if self.pg else "IS NOT"
        return f"people_student.{column} {op} EXCLUDED.{column}"

    def _build_student_sql(self) -> str:
        insert_cols = [
            "code",
            "student_number",
            "name",
            "gender",
            "birth_date",
            "id_number",
            "id_number_hash",
            "status",
            "school_id",
            "school_class_id",
            *FLAG_FIELDS,
            "name_initials",
            "number_tail_hash",
            "id_tail_hash",
            "student_number_hash",
            "created_at",
            "updated_at",
        ]
        code = "gen_random_uuid()" if self.pg else "lower(hex(randomblob(16)))"
        select = [
            code,
            "s.student_number",
            "s.name",
            "s.gender",
            "s.birth_date",
            "s.id_number",
            "s.id_number_hash",
            "s.status",
            "s.school_id",
            "s.school_class_id",
            *(f"s.{f}" for f in FLAG_FIELDS),
            "s.name_initials",
            "s.number_tail_hash",
            "s.id_tail_hash",
            "s.student_number_hash",
            "%s",
            "%s",
        ]
        sets = ["name", "name_initials", "gender", "birth_date"]
        if "status" in self.present:
            sets.append("status")
        if self.placement:
            sets += ["school_id", "school_class_id"]
        sets += [f for f in FLAG_FIELDS if f in self.present]
        assignments = [f"{c} = EXCLUDED.{c}" for c in sets]
        changed = [self._differs(c) for c in sets]
        if "id_number" in self.present:
            assignments += [
                "id_number = CASE WHEN EXCLUDED.id_number_hash = '' OR EXCLUDED.id_number_hash = "
                "people_student.id_number_hash THEN people_student.id_number "
                "ELSE EXCLUDED.id_number END",
                "id_number_hash = CASE WHEN EXCLUDED.id_number_hash = '' "
                "THEN people_student.id_number_hash ELSE EXCLUDED.id_number_hash END",
                "id_tail_hash = CASE WHEN EXCLUDED.id_number_hash = '' "
                "THEN people_student.id_tail_hash ELSE EXCLUDED.id_tail_hash END",
            ]
            changed.append(
                "(EXCLUDED.id_number_hash <> '' AND "
                "EXCLUDED.id_number_hash <> people_student.id_number_hash)"
            )
        assignments.append("updated_at = EXCLUDED.updated_at")
        return (
            f"INSERT INTO people_student ({', '.join(insert_cols)}) "
            f"SELECT {', '.join(select)} FROM {STAGE} s WHERE true "
            f"ON CONFLICT (student_number_hash) DO UPDATE SET {', '.join(assignments)} "
            f"WHERE {' OR '.join(changed)} "
            "RETURNING id, student_number_hash, CASE WHEN created_at = updated_at THEN 1 ELSE 0 END"
        )

    # --- staging ------------------------------------------------------------------------------
    def _create_stage(self, cursor: Any) -> None:
        types = {
            "row_no": "integer",
            "student_number": "text",
            "name": "varchar(60)",
            "gender": "varchar(1)",
            "birth_date": "date",
            "id_number": "text",
            "id_number_hash": "varchar(64)",
            "status": "varchar(16)",
            "school_id": "bigint",
            "school_class_id": "bigint",
            "g_name": "varchar(60)",
            "g_relation": "varchar(16)",
            "g_phone": "text",
            "name_initials": "varchar(60)",
            "number_tail_hash": "varchar(16)",
            "id_tail_hash": "varchar(16)",
            "student_number_hash": "varchar(64)",
            "g_code": "uuid" if self.pg else "varchar(32)",
        }
        cols = ", ".join(f"{c} {types.get(c, 'boolean')}" for c in STAGE_COLUMNS)
        if self.pg:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ({cols}) ON COMMIT DELETE ROWS"
            )
            cursor.execute(f"TRUNCATE {STAGE}")
        else:
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ({cols})")
            cursor.execute(f"DELETE FROM {STAGE}")

    def _load(self, cursor: Any, rows: Iterable[list[Any]]) -> None:
        if self.pg:
            with cursor.copy(f"COPY {STAGE} ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(STAGE_COLUMNS))
            cursor.executemany(f"INSERT INTO {STAGE} VALUES ({marks})", list(rows))

    def _seal_phones(self, cursor: Any, rows: list[list[Any]]) -> None:
        """Give each staged guardian its row key and its sealed phone: an existing guardian
        (same student, name and relation) keeps its code, and its stored ciphertext when the
        phone is unchanged (so the upsert writes nothing); a new one gets a new code."""
        with_guardian = [r for r in rows if r[G_NAME] is not None]
        existing: dict[tuple[str, str, str], tuple[Any, str]] = {}
        hashes = list({r[NUMBER_HASH] for r in with_guardian})
        for start in range(0, len(hashes), 500):
            part = hashes[start : start + 500]
            cursor.execute(
                "SELECT p.student_number_hash, g.name, g.relation, g.code, g.phone "
                "FROM people_guardian g JOIN people_student p ON p.id = g.student_id "
                f"WHERE p.student_number_hash IN ({', '.join(['%s'] * len(part))})",
                part,
            )
            for number_hash, name, relation, code, phone in cursor.fetchall():
                existing[(number_hash, name, relation)] = (
                    self._guardian_code.to_python(code),
                    phone,
                )
        for row in with_guardian:
            found = existing.get((row[NUMBER_HASH], row[G_NAME], row[G_RELATION]))
            if found is None:
                code, token = uuid.uuid4(), ""
            else:
                code, token = found
                if self._guardian_phone.open_token(code, token) != row[G_PHONE]:  # type: ignore[attr-defined]
                    token = ""
            row[G_PHONE] = token or self._crypto.encrypt_phone(row[G_PHONE], code)
            row[G_CODE] = code if self.pg else code.hex

    def _reject_out_of_scope(self, cursor: Any, outcome: ChunkOutcome) -> None:
        """Existing students registered at a school outside the actor's scope stay untouched."""
        if self.scope_paths is None:
            return
        inside = " OR ".join(["(u.path >= %s AND u.path < %s)"] * len(self.scope_paths)) or "false"
        params: list[Any] = []
        for path in self.scope_paths:
            params += [path, path + "~"]
        cursor.execute(
            f"SELECT s.row_no, u.name FROM {STAGE} s "
            "JOIN people_student p ON p.student_number_hash = s.student_number_hash "
            "JOIN orgs_orgunit u ON u.id = p.school_id "
            f"WHERE NOT ({inside})",
            params,
        )
        outcome.out_of_scope = [(r[0], r[1]) for r in cursor.fetchall()]
        if outcome.out_of_scope:
            rows = [r[0] for r in outcome.out_of_scope]
            for start in range(0, len(rows), 500):
                part = rows[start : start + 500]
                cursor.execute(
                    f"DELETE FROM {STAGE} WHERE row_no IN ({', '.join(['%s'] * len(part))})", part
                )

    # --- the merge ----------------------------------------------------------------------------
    def merge(self, rows: list[list[Any]], *, now: datetime.datetime) -> ChunkOutcome:
        """Call inside the chunk's transaction."""
        outcome = ChunkOutcome()
        with connection.cursor() as cursor:
            if self.pg:
                # A crash may lose the last chunks' commits (never half a chunk); re-importing the
                # file is idempotent, and not waiting for the WAL flush per chunk halves the time.
                cursor.execute("SET LOCAL synchronous_commit = off")
                # Foreign keys are checked during the statements, not at commit: the audit
                # chain's lock (taken last in the chunk) is then held only for a moment.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            self._create_stage(cursor)
            if "guardian_name" in self.present:
                self._seal_phones(cursor, rows)
            self._load(cursor, rows)
            self._reject_out_of_scope(cursor, outcome)

            stamp = connection.ops.adapt_datetimefield_value(now)
            cursor.execute(self._student_sql, [stamp, stamp])
            for pk, number, created in cursor.fetchall():
                outcome.numbers[pk] = number
                if created:
                    outcome.created_ids.append(pk)
                else:
                    outcome.updated_ids.add(pk)

            op = "IS DISTINCT FROM" if self.pg else "IS NOT"
            cursor.execute(
                "INSERT INTO people_enrolment (student_id, term_id, school_id, school_class_id, "
                "created_at) "
                f"SELECT p.id, %s, s.school_id, s.school_class_id, %s FROM {STAGE} s "
                "JOIN people_student p ON p.student_number_hash = s.student_number_hash WHERE true "
                "ON CONFLICT (student_id, term_id) DO UPDATE SET school_id = EXCLUDED.school_id, "
                "school_class_id = EXCLUDED.school_class_id "
                f"WHERE people_enrolment.school_class_id {op} EXCLUDED.school_class_id "
                f"OR people_enrolment.school_id {op} EXCLUDED.school_id "
                "RETURNING student_id",
                [self.term_id, stamp],
            )
            touched = {r[0] for r in cursor.fetchall()}

            if "guardian_name" in self.present:
                cursor.execute(
                    "INSERT INTO people_guardian (code, student_id, school_id, relation, name, "
                    "phone, is_primary) "
                    "SELECT s.g_code, p.id, p.school_id, s.g_relation, s.g_name, s.g_phone, "
                    "NOT EXISTS "
                    "(SELECT 1 FROM people_guardian g WHERE g.student_id = p.id AND g.is_primary) "
                    f"FROM {STAGE} s "
                    "JOIN people_student p ON p.student_number_hash = s.student_number_hash "
                    "WHERE s.g_name IS NOT NULL "
                    # The code goes with the phone sealed for it (the same code, unless the
                    # guardian was added between the read in _seal_phones and here).
                    "ON CONFLICT (student_id, name, relation) DO UPDATE SET "
                    "code = EXCLUDED.code, phone = EXCLUDED.phone, school_id = EXCLUDED.school_id "
                    "WHERE people_guardian.phone <> EXCLUDED.phone "
                    "OR people_guardian.school_id <> EXCLUDED.school_id "
                    "RETURNING student_id",
                    [],
                )
                touched |= {r[0] for r in cursor.fetchall()}

            if self.placement and outcome.updated_ids:
                # Guardians follow a student who changed school (also those not in this file).
                cursor.execute(
                    "UPDATE people_guardian SET school_id = p.school_id "
                    f"FROM people_student p, {STAGE} s "
                    "WHERE people_guardian.student_id = p.id "
                    "AND p.student_number_hash = s.student_number_hash "
                    "AND people_guardian.school_id <> p.school_id",
                    [],
                )

            created = set(outcome.created_ids)
            extra = touched - created - outcome.updated_ids
            if extra:
                outcome.updated_ids |= extra
                ids = list(extra)
                for start in range(0, len(ids), 500):
                    part = ids[start : start + 500]
                    cursor.execute(
                        "SELECT id, student_number_hash FROM people_student WHERE id IN "
                        f"({', '.join(['%s'] * len(part))})",
                        part,
                    )
                    outcome.numbers.update(dict(cursor.fetchall()))
        return outcome
