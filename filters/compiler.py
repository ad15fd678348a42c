"""Pipeline model -> Flink SQL, in two dialects (Confluent Cloud and open-source Flink).

Pure: the same model and options always give byte-identical text. Templates live in
flink-jobs/templates; conditions are turned into SQL here (recursion reads badly in jinja2), and every
identifier and literal goes through filters.sqltext so no filter value can change a statement's meaning.

The result is structured (`CompiledJob`) because the rollout submits the DDL statements and the
statement set one at a time through the SQL Gateway; `script` is the same statements as one file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import jinja2

from filters.flink_semantics import NAN_TOKEN
from filters.jsonpath import render_json_path
from filters.model import (
    CDC_COLUMNS,
    FLAT_COLUMNS,
    OPERATIONS,
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    Filter,
    Not,
    Pipeline,
    iter_comparisons,
)
from filters.sqltext import boolean_literal, double_literal, quote_identifier, quote_string
from pipeline.business_events import CDC_FIELDS, COLUMNS, NUMBER_FIELDS, RAW_FIELD_TYPES
from pipeline.errors import ConfigError

Dialect = Literal["confluent", "local"]

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "flink-jobs" / "templates"

#: the file names the seed fixes, plus the local (open-source Flink) variant
CONFLUENT_FILE = "business-events-routing-confluent-cloud.sql"
CONFLUENT_NO_OP_FILE = "business-events-routing-confluent-cloud-no-op.sql"
LOCAL_FILE = "business-events-routing-local.sql"

#: what the no-op variant writes into __table (the seed's source table)
SOURCE_TABLE_NAME = "business_events"

#: the dead-letter topic of a source topic: records routing cannot use (not JSON, fields of the wrong type),
#: each with the reason and its source coordinates in headers (`dlq.*`, the names the consumers use too)
DEAD_LETTER_SUFFIX = ".dlq"
#: the local dialect's second table on the raw topic (its bytes) and its view of the well-typed records
UNPARSED_SUFFIX = "-unparsed"
CHECKED_SUFFIX = "-checked"
#: what the local job names itself in a dead letter's `dlq.job` header
DEAD_LETTER_JOB = "business-events-routing"


def dead_letter_topic(source_topic: str) -> str:
    return source_topic + DEAD_LETTER_SUFFIX

EVENT_COLUMNS = COLUMNS
_SQL_TYPES = {"string": "STRING", "number": "BIGINT"}
_CDC_SOURCE_COLUMNS = tuple((c, _SQL_TYPES[RAW_FIELD_TYPES[c]]) for c in CDC_FIELDS)


@dataclass(frozen=True)
class LocalOptions:
    """Settings of the open-source Flink dialect (the local stack)."""

    bootstrap_servers: str = "localhost:9092"
    #: consumer group of the routing job; with group-offsets a redeploy continues where it stopped
    group_id: str = "flink-business-events-routing"
    delivery_guarantee: Literal["at-least-once", "exactly-once", "none"] = "at-least-once"
    #: only used with exactly-once; each sink gets "<prefix>-<filter id>"
    transactional_id_prefix: str = "business-events-routing"
    #: how the job reads the raw topic: read_committed skips what a crashed Connect task wrote in a transaction
    #: it never committed (exactly-once capture); read_uncommitted sees records a little earlier (low-latency)
    source_isolation_level: Literal["read_committed", "read_uncommitted"] = "read_committed"
    #: the sinks' Kafka producer settings (`properties.*`): bigger, compressed batches cut the broker's CPU per
    #: event (measured: docs/figures.md, "End to end")
    producer_properties: tuple[tuple[str, str], ...] = (("linger.ms", "10"), ("batch.size", "262144"),
                                                        ("compression.type", "lz4"))
    #: exactly-once only: how the sinks name their Kafka transactions. POOLING reuses a small set of ids;
    #: INCREMENTING (the connector's historical default) makes a new id per checkpoint, each kept in broker
    #: memory for transactional.id.expiration.ms (7 days): 4 sinks at 1 s checkpoints = 2.4M ids a week.
    #: POOLING needs flink-connector-kafka >= 4 and Kafka >= 3.0 (here 5.0.0-2.2 and 4.3).
    transaction_naming_strategy: Literal["POOLING", "INCREMENTING", "DEFAULT"] = "POOLING"
    #: exactly-once only: must not exceed the broker's transaction.max.timeout.ms (Kafka's default is
    #: 15 min; Flink's own default of 1 h is refused by such a broker and the job crash-loops)
    transaction_timeout_ms: int = 600_000


@dataclass(frozen=True)
class ConfluentOptions:
    """Settings of the Confluent Cloud dialect."""

    #: partitions of a filtered topic the statement creates (Confluent's default is 6)
    buckets: int = 6


@dataclass(frozen=True)
class Route:
    """One enabled filter as it appears in the job."""

    filter_id: str
    name: str | None
    output_topic: str
    consumer_group: str | None
    #: the sink table's CREATE TABLE (no trailing semicolon)
    sink_ddl: str
    #: the INSERT statement (no trailing semicolon)
    insert: str
    #: the WHERE condition, or None when the filter routes every event
    where: str | None


@dataclass(frozen=True)
class CompiledJob:
    dialect: Dialect
    cdc_metadata: bool
    source_topic: str
    #: CREATE TABLE of the source (no trailing semicolon)
    source_ddl: str
    routes: tuple[Route, ...]
    #: EXECUTE STATEMENT SET BEGIN ... END holding every INSERT (no trailing semicolon)
    statement_set: str
    #: the whole file: comments, DDL and the statement set, each statement ending in ';'
    script: str
    notes: tuple[str, ...] = field(default=())
    #: where records routing cannot use go (the raw topic + DEAD_LETTER_SUFFIX)
    dead_letter_topic: str = ""
    #: what sends them there, submitted after the source: locally the raw topic as bytes, the view of the
    #: well-typed records and the dead-letter sink; on Confluent Cloud the source's error-handling settings
    dead_letter_ddl: tuple[str, ...] = ()

    @property
    def ddl(self) -> tuple[str, ...]:
        """Source first, then the dead-letter statements, then one sink per route: submit these before the
        statement set."""
        return (self.source_ddl,) + self.dead_letter_ddl + tuple(r.sink_ddl for r in self.routes)

    @property
    def output_topics(self) -> tuple[str, ...]:
        """The topics to create before the job starts: each route's, and locally the dead-letter topic
        (Confluent Cloud's Flink creates its own dead-letter table, with the schema it registers)."""
        topics = tuple(r.output_topic for r in self.routes)
        return topics + ((self.dead_letter_topic,) if self.dialect == "local" and self.dead_letter_topic else ())

    @property
    def statements(self) -> tuple[str, ...]:
        """Everything to submit, in order, one statement each."""
        return self.ddl + (self.statement_set,)


# --------------------------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.filters["ident"] = quote_identifier
    env.filters["lit"] = quote_string
    return env


_ENV = _environment()


def _render(template: str, **context: object) -> str:
    return _ENV.get_template(template).render(**context).strip("\n")


def compile_job(
    pipeline: Pipeline,
    dialect: Dialect,
    *,
    local: LocalOptions = LocalOptions(),
    confluent: ConfluentOptions = ConfluentOptions(),
    source_name: str = "filters/filters.yaml",
    notes: tuple[str, ...] = (),
) -> CompiledJob:
    """The routing job of `pipeline` in `dialect`; one INSERT per enabled filter in one statement set."""
    if dialect not in ("confluent", "local"):
        raise ConfigError(f"unknown Flink SQL dialect {dialect!r}; valid: confluent, local")
    _check_options(local, confluent)
    cdc = pipeline.source.cdc_metadata
    options: object = confluent if dialect == "confluent" else local
    source_table = pipeline.source.topic
    dlq_topic = dead_letter_topic(pipeline.source.topic)
    if dialect == "local":
        # every field read as text and typed by the checked view, so a field of the wrong type is a dead
        # letter rather than a NULL routed on (what the JSON format's ignore-parse-errors would make of it)
        source_columns = [(c, "STRING") for c in EVENT_COLUMNS] + ([(c, "STRING") for c in CDC_FIELDS] if cdc else [])
        source_columns += [("__partition", "INT METADATA FROM 'partition' VIRTUAL"),
                           ("__offset", "BIGINT METADATA FROM 'offset' VIRTUAL")]
    else:
        source_columns = [(c, "STRING") for c in EVENT_COLUMNS] + (list(_CDC_SOURCE_COLUMNS) if cdc else [])
    sink_columns = [(c, "STRING") for c in EVENT_COLUMNS] + [("__op", "STRING"), ("__table", "STRING")]
    if cdc:
        sink_columns += [("__ts_ms", "BIGINT"), ("__deleted", "STRING"), ("__lsn", "BIGINT")]
    select: list[object] = list(EVENT_COLUMNS)
    if cdc:
        select += ["__op", "__table", "__ts_ms", "__deleted", "__lsn"]
    else:
        # The connector without ExtractNewRecordState reports no metadata; every event is an insert.
        select += [(quote_string("c"), "__op"), (quote_string(SOURCE_TABLE_NAME), "__table")]

    source_ddl = _render(
        "source_table.sql.j2", dialect=dialect, table=source_table, topic=pipeline.source.topic,
        columns=source_columns, options=options,
    )
    dead_letter_ddl, dead_letter_inserts, routed_from = _dead_letters(
        dialect, options, source_table, pipeline.source.topic, dlq_topic, cdc)
    routes = []
    for f in pipeline.enabled_filters:
        terms = where_terms(f, cdc)
        sink_ddl = _render(
            "sink_table.sql.j2", dialect=dialect, table=f.output_topic, topic=f.output_topic,
            columns=sink_columns, options=options, route_id=f.id, **_ROUTE_SINK,
        )
        insert = _render("insert.sql.j2", table=f.output_topic, select=select, source=routed_from, where=terms)
        routes.append(Route(
            filter_id=f.id,
            name=f.name,
            output_topic=f.output_topic,
            consumer_group=f.consumer_group,
            sink_ddl=sink_ddl,
            insert=insert,
            where=" AND ".join(terms) if terms else None,
        ))
    statement_set = _render("statement_set.sql.j2", inserts=[r.insert for r in routes] + dead_letter_inserts)
    script = _render(
        "script.sql.j2",
        source_name=_one_line(source_name),
        dialect_title=_dialect_title(dialect, cdc),
        notes=notes,
        routes=routes,
        source_ddl=source_ddl,
        dead_letter_ddl=dead_letter_ddl,
        dead_letter_topic=dlq_topic,
        local=dialect == "local",
        cdc=cdc,
        sink_ddls=[r.sink_ddl for r in routes],
        statement_set=statement_set,
    ) + "\n"
    return CompiledJob(
        dialect=dialect,
        cdc_metadata=cdc,
        source_topic=pipeline.source.topic,
        source_ddl=source_ddl,
        routes=tuple(routes),
        statement_set=statement_set,
        script=script,
        notes=notes,
        dead_letter_topic=dlq_topic,
        dead_letter_ddl=dead_letter_ddl,
    )


#: a filtered topic: the raw shape as JSON, keyed by the event id
_ROUTE_SINK = {"key_field": "id", "value_format": "json", "fields_include": "ALL"}
#: the dead-letter topic: the record's key and value as bytes, the reason and source in headers
_DEAD_LETTER_SINK = {"key_field": "__key", "value_format": "raw", "fields_include": "EXCEPT_KEY"}
_DEAD_LETTER_COLUMNS = [("__key", "BYTES"), ("__value", "BYTES"), ("headers", "MAP<STRING, BYTES> METADATA")]


def type_problem_sql() -> str:
    """The reason a raw record's fields cannot be typed (NULL: they can). Locally every field is read as text;
    the number fields must cast to BIGINT as Flink casts text (TRY_CAST: a wrong value is NULL, never an error)."""
    whens = " ".join(f"WHEN {quote_identifier(c)} IS NOT NULL AND TRY_CAST({quote_identifier(c)} AS BIGINT) IS NULL "
                     f"THEN {quote_string(c + ' is not a whole number')}" for c in NUMBER_FIELDS)
    return f"CASE {whens} END"


def _dead_letters(dialect: Dialect, options: object, source_table: str, topic: str, dlq_topic: str,
                  cdc: bool) -> tuple[tuple[str, ...], list[str], str]:
    """(DDL, INSERTs, the table routes read from) that send what routing cannot use to the dead-letter topic.

    Confluent Cloud: the source's deserialization errors are logged to the dead-letter table by Flink itself
    ('error-handling.mode' = 'log'); the registry's schema already types every field. Locally: the raw topic
    is read a second time as bytes, and a value that is not a JSON object is sent on unchanged (the JSON
    source skips it: ignore-parse-errors); a JSON object whose number fields are not whole numbers is sent
    as the text fields it had, and routes read only the view of the well-typed records."""
    if dialect == "confluent":
        alter = (f"ALTER TABLE {quote_identifier(source_table)} SET (\n"
                 f"    'error-handling.mode' = 'log',\n"
                 f"    'error-handling.log.target' = {quote_string(dlq_topic)}\n)")
        return (alter,), [], source_table
    unparsed = source_table + UNPARSED_SUFFIX
    ddl = [
        _render("unparsed_source.sql.j2", table=unparsed, topic=topic, options=options),
        _render("sink_table.sql.j2", dialect=dialect, table=dlq_topic, topic=dlq_topic, columns=_DEAD_LETTER_COLUMNS,
                options=options, route_id="dlq", **_DEAD_LETTER_SINK),
    ]
    value = quote_identifier("__value")
    not_json = (f"CASE WHEN {value} IS NULL OR NOT (CAST({value} AS STRING) IS JSON OBJECT) "
                f"THEN 'not a JSON object' "
                # invalid UTF-8 decodes to U+FFFD and could still look like JSON; the JSON source rejects it
                f"WHEN CAST(CAST({value} AS STRING) AS BYTES) <> {value} THEN 'not UTF-8' END")
    inserts = [_render("dead_letter_insert.sql.j2", table=dlq_topic, key=quote_identifier("__key"), value=value,
                       reason=not_json, topic=topic, job=DEAD_LETTER_JOB, source=unparsed)]
    if not cdc:  # every column is text: nothing to type
        return tuple(ddl), inserts, source_table
    checked = source_table + CHECKED_SUFFIX
    problem = type_problem_sql()
    select: list[object] = list(EVENT_COLUMNS) + [
        (f"TRY_CAST({quote_identifier(c)} AS BIGINT)", c) if c in NUMBER_FIELDS else c for c in CDC_FIELDS]
    ddl.insert(1, _render("checked_view.sql.j2", view=checked, select=select, source=source_table, problem=problem))
    fields = ", ".join(f"KEY {quote_string(c)} VALUE {quote_identifier(c)}" for c in EVENT_COLUMNS + CDC_FIELDS)
    inserts.append(_render("dead_letter_insert.sql.j2", table=dlq_topic,
                           key=f"CAST({quote_identifier('id')} AS BYTES)",
                           value=f"CAST(JSON_OBJECT({fields}) AS BYTES)",
                           reason=problem, topic=topic, job=DEAD_LETTER_JOB, source=source_table))
    return tuple(ddl), inserts, checked


def _check_options(local: LocalOptions, confluent: ConfluentOptions) -> None:
    if local.delivery_guarantee not in ("at-least-once", "exactly-once", "none"):
        raise ConfigError(f"unknown delivery guarantee {local.delivery_guarantee!r}; valid: at-least-once, exactly-once, none")
    if local.source_isolation_level not in ("read_committed", "read_uncommitted"):
        raise ConfigError(f"unknown isolation level {local.source_isolation_level!r}; valid: read_committed, "
                          "read_uncommitted")
    if local.transaction_naming_strategy not in ("POOLING", "INCREMENTING", "DEFAULT"):
        raise ConfigError(f"unknown transaction naming strategy {local.transaction_naming_strategy!r}; "
                          "valid: POOLING, INCREMENTING, DEFAULT")
    for name, value in (("bootstrap_servers", local.bootstrap_servers), ("group_id", local.group_id),
                        ("transactional_id_prefix", local.transactional_id_prefix)):
        if not value or not value.strip():
            raise ConfigError(f"LocalOptions.{name} must not be empty")
    if isinstance(confluent.buckets, bool) or not isinstance(confluent.buckets, int) or confluent.buckets < 1:
        raise ConfigError(f"ConfluentOptions.buckets must be a positive whole number, got {confluent.buckets!r}")


def _one_line(text: str) -> str:
    # Goes into a -- comment: a line break there would turn the rest into SQL.
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _dialect_title(dialect: Dialect, cdc: bool) -> str:
    base = "Confluent Cloud for Apache Flink" if dialect == "confluent" else "open-source Apache Flink 2.x (Kafka connector)"
    if cdc:
        return base + ", with CDC metadata (__op, __table, __ts_ms, __deleted, __lsn) from the connector"
    return base + ", without CDC metadata (every event is taken as an insert)"


# --------------------------------------------------------------------------------------------------
# Conditions


def where_terms(f: Filter, cdc_metadata: bool) -> list[str]:
    """The filter's condition as top-level AND terms (empty: every event)."""
    terms: list[str] = []
    if f.operations is not None and cdc_metadata:
        ops = [op for op in OPERATIONS if op in f.operations]  # canonical order keeps the SQL stable
        terms.append(f"{quote_identifier('__op')} IN ({', '.join(quote_string(op) for op in ops)})")
    if f.conditions:
        if f.match == "all":
            terms.extend(condition_sql(c) for c in f.conditions)
        else:
            terms.append(_join(" OR ", f.conditions))
    return terms


def condition_sql(cond: Condition) -> str:
    """SQL for one condition; groups come back in parentheses, so they nest safely anywhere."""
    if isinstance(cond, Comparison):
        return comparison_sql(cond)
    if isinstance(cond, AllOf):
        return _join(" AND ", cond.all)
    if isinstance(cond, AnyOf):
        return _join(" OR ", cond.any)
    if isinstance(cond, Not):
        inner = condition_sql(cond.not_)
        return "NOT " + (inner if isinstance(cond.not_, (AllOf, AnyOf)) and len(_members(cond.not_)) > 1 else f"({inner})")
    raise TypeError(f"not a condition: {cond!r}")


def _members(group: AllOf | AnyOf) -> tuple[Condition, ...]:
    return group.all if isinstance(group, AllOf) else group.any


def _join(op: str, items: tuple[Condition, ...]) -> str:
    # Comparisons and NOT bind tighter than AND/OR; nested groups bring their own parentheses.
    parts = [condition_sql(c) for c in items]
    return parts[0] if len(parts) == 1 else "(" + op.join(parts) + ")"


def value_sql(c: Comparison) -> str:
    """The typed value a comparison looks at. None of these forms can throw at run time."""
    path = c.json_path
    if path is None:
        column = quote_identifier(c.field)
        if FLAT_COLUMNS[c.field] == "number":
            return f"CAST({column} AS DOUBLE)"
        if c.type == "number":
            return _to_number(column)
        return column
    text = f"JSON_VALUE({quote_identifier('event_data')}, {quote_string(render_json_path(path))})"
    if c.type == "number":
        # Never JSON_VALUE(... RETURNING DOUBLE): it throws on integers and text in Flink 2.x.
        return _to_number(text)
    if c.type == "boolean":
        # Only JSON true/false (or the text 'true'/'false') are booleans; anything else is NULL.
        return f"(CASE {text} WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE END)"
    return text


def _to_number(text_sql: str) -> str:
    # NaN must never exist: Flink rewrites NOT(x > 1) as x <= 1, wrong for NaN. Only a text containing
    # 'NaN' can parse as NaN, and such a text is never another number, so it is made NULL; every other
    # text is cast as it is (removing 'NaN' instead would read '1NaN2' as 12).
    return (f"CASE WHEN POSITION({quote_string(NAN_TOKEN)} IN {text_sql}) > 0 THEN CAST(NULL AS DOUBLE) "
            f"ELSE TRY_CAST({text_sql} AS DOUBLE) END")


def literal_sql(c: Comparison, value: object) -> str:
    if c.type == "number":
        return double_literal(float(value))  # type: ignore[arg-type]
    if c.type == "boolean":
        return boolean_literal(bool(value))
    return quote_string(str(value))


_COMPARE = {
    "equals": "=",
    "notEquals": "<>",
    "greaterThan": ">",
    "lessThan": "<",
    "greaterThanOrEqual": ">=",
    "lessThanOrEqual": "<=",
}


def comparison_sql(c: Comparison) -> str:
    x = value_sql(c)
    op = c.operator
    if op in _COMPARE:
        return f"{x} {_COMPARE[op]} {literal_sql(c, c.value)}"
    if op in ("in", "notIn"):
        items = ", ".join(literal_sql(c, v) for v in c.values or ())
        return f"{x} {'IN' if op == 'in' else 'NOT IN'} ({items})"
    if op == "between":
        low, high = c.values or ()
        return f"{x} BETWEEN {literal_sql(c, low)} AND {literal_sql(c, high)}"
    if op == "matches":
        return f"REGEXP({x}, {quote_string(str(c.value))})"
    if op == "isNull":
        return f"{x} IS NULL"
    if op == "isNotNull":
        return f"{x} IS NOT NULL"
    raise ValueError(f"unknown operator {op!r}")


# --------------------------------------------------------------------------------------------------
# The committed files


def derive_no_op(pipeline: Pipeline) -> tuple[Pipeline, tuple[str, ...]]:
    """The same routing for a connector without CDC metadata, where every event counts as an insert.

    Filters limited to operations that include 'c' lose that limit; filters limited to other
    operations can never match and are left out (noted); conditions on __op/__table/__ts_ms cannot be
    translated and raise ConfigError.
    """
    if not pipeline.source.cdc_metadata:
        return pipeline, ()
    notes: list[str] = []
    problems: list[str] = []
    filters = []
    for f in pipeline.filters:
        data = f.model_dump(by_alias=True, exclude_none=True)
        used = sorted({leaf.field for _, leaf in iter_comparisons(f.conditions)} & CDC_COLUMNS)
        if used:
            problems.append(f"filter {f.id!r} tests {', '.join(used)}, which a connector without CDC metadata does not send")
        if f.operations is not None:
            data.pop("operations")
            if "c" not in f.operations and f.enabled:
                data["enabled"] = False
                notes.append(f"filter {f.id} is left out: it routes only {','.join(f.operations)} operations, "
                             "and without CDC metadata every event counts as an insert")
        filters.append(data)
    if problems:
        raise ConfigError("cannot derive the no-op variant: " + "; ".join(problems),
                          fix="limit the no-op variant to filters on event columns and event_data")
    data = pipeline.model_dump(by_alias=True, exclude_none=True)
    data["source"]["cdcMetadata"] = False
    data["filters"] = filters
    if not any(f.get("enabled", True) for f in filters):
        raise ConfigError("cannot derive the no-op variant: no filter would remain enabled")
    return Pipeline.model_validate(data), tuple(notes)


def generate_files(
    pipeline: Pipeline,
    *,
    source_name: str = "filters/filters.yaml",
    local: LocalOptions = LocalOptions(),
    confluent: ConfluentOptions = ConfluentOptions(),
) -> dict[str, str]:
    """File name (under flink-jobs/) -> content, for every variant the pipeline supports."""
    files: dict[str, str] = {}
    if pipeline.source.cdc_metadata:
        files[CONFLUENT_FILE] = compile_job(pipeline, "confluent", confluent=confluent, source_name=source_name).script
    no_op, notes = derive_no_op(pipeline)
    derived = ("Derived from the filters by dropping their operations limits: this connector variant sends "
               "no __op, so every event is taken as an insert.",) if pipeline.source.cdc_metadata else ()
    files[CONFLUENT_NO_OP_FILE] = compile_job(
        no_op, "confluent", confluent=confluent, source_name=source_name, notes=derived + notes
    ).script
    files[LOCAL_FILE] = compile_job(pipeline, "local", local=local, source_name=source_name).script
    return files
