"""Registry import framework: bulk import of a registry (staff, training records, guardians, …)
from the spreadsheet a school or district already keeps, with the roster import's rules.

A registry declares, in a module its AppConfig.ready() imports::

    from xinqiao.people.registry import Column, Counts, Registry, RowError, register, upsert
    from xinqiao.people.registry import choice, parse_date, text

    class TrainingRegistry(Registry):
        kind = "training"                      # URL slug and ImportJob.kind
        label = gettext_lazy("Training records")
        cap = Cap.EDIT_STAFF                   # who may import; its grants bound the scope
        back_url = "education:training-list"   # optional: where the pages link back to
        columns = (
            Column("name", gettext_lazy("name"), ("姓名", "教师姓名", "name"), text(60),
                   required=True),
            Column("start", gettext_lazy("start date"), ("开始日期", "start"), parse_date),
            ...
        )
        one_of = (("unit_code", "unit_name"),)  # at least one of these columns must exist
        key_fields = ("name", "course", "start")  # natural key: a duplicate in the file is an error

        def prepare(self, ctx): ...   # once per job: look-ups into ctx.cache (ctx.units(...))
        def check(self, row, ctx): ...  # per row: cross-field checks, raise RowError(msg, field)
        def write(self, rows, ctx) -> Counts: ...  # per chunk, batched; `upsert` helps

    register(TrainingRegistry())

The framework (runner.py) gives the rest:
- reading CSV (UTF-8 with/without BOM, GBK/GB18030) and XLSX/XLS/ODS as a stream
  (xinqiao/core/tabular/); headers matched by alias after normalisation (NFKC, no spaces, `*`,
  a trailing hint in brackets ignored), the field name itself always matching;
- a bad file (unreadable, empty, a required column missing) fails the job and changes nothing;
- each cell parsed by its column's parser (`text`, `parse_date`, `parse_decimal`, `parse_bool`,
  `choice(TextChoices, extra_aliases)`, or any callable raising `CellError` with a translated
  message); a row with errors goes to the error report (row number, column, reason, the original
  cells) while the good rows are written; the same natural key twice in a file is an error;
- good rows are written in chunks (XINQIAO_REGISTRY_CHUNK_ROWS, 10,000 on PostgreSQL), each in
  one transaction by `Registry.write`, audited as `people.registry.imported` (with the kind); a
  dry run rolls every chunk back (the counts show what would happen); the job ends with
  `people.import_job.finished`;
- the job record is `people.ImportJob` with `kind` = the registry's kind, run by the same Celery
  task as the roster import (a thread of the web process in the embedded default);
- generic pages (views.py, urls.py under /import/registry/<kind>/, namespace `registries`):
  upload + list of jobs, job page with polled progress, the error report download. Link to
  `{% url 'registries:upload' 'training' %}` from your list page; nothing else is needed.

Programmatic use (commands, benchmarks, tests): `store_upload` (importer.files), `create_job`,
`run_job`. docs/registries.md is the user's and developer's guide.
"""

from ..importer.files import store_upload
from .base import (
    CellError,
    Column,
    Counts,
    ImportContext,
    MissingColumnsError,
    Registry,
    Row,
    RowError,
    Upserted,
    choice,
    get_registry,
    insert_new,
    insert_values,
    parse_bool,
    parse_date,
    parse_decimal,
    register,
    registries,
    text,
    upsert,
)
from .runner import create_job, run_job

__all__ = [
    "CellError",
    "Column",
    "Counts",
    "ImportContext",
    "MissingColumnsError",
    "Registry",
    "Row",
    "RowError",
    "Upserted",
    "choice",
    "create_job",
    "get_registry",
    "insert_new",
    "insert_values",
    "parse_bool",
    "parse_date",
    "parse_decimal",
    "register",
    "registries",
    "run_job",
    "store_upload",
    "text",
    "upsert",
]
