"""The committed flink-jobs/*.sql files are what `python -m filters generate` produces now."""

from pathlib import Path

import pytest

from filters.compiler import (
    CONFLUENT_FILE,
    CONFLUENT_NO_OP_FILE,
    LOCAL_FILE,
    LocalOptions,
    compile_job,
    derive_no_op,
    generate_files,
)
from filters.loader import load_pipeline, load_pipeline_text
from pipeline.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
SEED = REPO / "filters" / "filters.yaml"


def test_committed_sql_files_are_not_stale():
    files = generate_files(load_pipeline(SEED), source_name="filters/filters.yaml")
    assert set(files) == {CONFLUENT_FILE, CONFLUENT_NO_OP_FILE, LOCAL_FILE}
    for name, text in files.items():
        path = REPO / "flink-jobs" / name
        assert path.exists(), f"{name} missing: run python -m filters generate"
        assert path.read_text(encoding="utf-8") == text, f"{name} is stale: run python -m filters generate"


def test_seed_routes_and_one_statement_set():
    job = compile_job(load_pipeline(SEED), "confluent")
    assert [(r.filter_id, r.output_topic, r.consumer_group) for r in job.routes] == [
        ("loan-created", "filtered-loan-created-events", "loan-consumer-group"),
        ("loan-payment-submitted", "filtered-loan-payment-submitted-events", "loan-payment-consumer-group"),
        ("car-service-done", "filtered-service-events", "service-consumer-group"),
        ("car-created", "filtered-car-created-events", "car-consumer-group"),
    ]
    assert job.routes[2].where == "`__op` IN ('c') AND `event_name` = 'CarServiceDone'"
    assert job.statement_set.startswith("EXECUTE STATEMENT SET\nBEGIN\n") and job.statement_set.endswith("\nEND")
    assert job.statement_set.count("INSERT INTO") == 4
    assert job.statements == job.ddl + (job.statement_set,)
    assert len(job.ddl) == 6 and all(s.startswith("CREATE TABLE IF NOT EXISTS") for s in job.ddl[:1] + job.ddl[2:])
    # what Confluent's Flink cannot deserialize goes to the dead-letter table, set on the (existing) raw table
    assert job.ddl[1].startswith("ALTER TABLE `raw-business-events` SET (") and "'error-handling.mode' = 'log'" in job.ddl[1]
    assert "'error-handling.log.target' = 'raw-business-events.dlq'" in job.ddl[1]
    assert job.output_topics == tuple(r.output_topic for r in job.routes)  # Flink creates its dead-letter table
    assert not any(s.rstrip().endswith(";") for s in job.statements)
    assert "'connector' = 'confluent'" in job.source_ddl and "'value.format' = 'json-registry'" in job.source_ddl
    assert "`__deleted` STRING" in job.source_ddl


def test_no_op_variant_adds_metadata_in_select_and_drops_op_filter():
    text = generate_files(load_pipeline(SEED))[CONFLUENT_NO_OP_FILE]
    assert "'c' AS `__op`" in text and "'business_events' AS `__table`" in text
    assert "`__op` IN" not in text and "`__ts_ms`" not in text
    assert "WHERE `event_type` = 'LoanCreated'" in text


def test_local_dialect_options():
    job = compile_job(load_pipeline(SEED), "local", local=LocalOptions(bootstrap_servers="127.0.0.1:1", group_id="g1"))
    src = job.source_ddl
    for option in ("'connector' = 'kafka'", "'topic' = 'raw-business-events'", "'properties.bootstrap.servers' = '127.0.0.1:1'",
                   "'properties.group.id' = 'g1'", "'scan.startup.mode' = 'group-offsets'",
                   "'properties.auto.offset.reset' = 'earliest'", "'format' = 'json'"):
        assert option in src
    sink = job.routes[0].sink_ddl
    for option in ("'key.format' = 'raw'", "'key.fields' = 'id'", "'value.format' = 'json'",
                   "'value.fields-include' = 'ALL'", "'sink.delivery-guarantee' = 'at-least-once'"):
        assert option in sink
    assert "transactional-id-prefix" not in sink
    eo = compile_job(load_pipeline(SEED), "local", local=LocalOptions(delivery_guarantee="exactly-once", transactional_id_prefix="p"))
    prefixes = [r.sink_ddl.split("'sink.transactional-id-prefix' = ")[1].split("\n")[0] for r in eo.routes]
    assert prefixes == ["'p-loan-created',", "'p-loan-payment-submitted',", "'p-car-service-done',", "'p-car-created',"]
    # Flink's 1 h default is refused by a broker with Kafka's default transaction.max.timeout.ms
    assert all("'properties.transaction.timeout.ms' = '600000'" in r.sink_ddl for r in eo.routes)


def test_local_dead_letters_read_the_raw_topic_as_bytes_and_route_only_well_typed_records():
    job = compile_job(load_pipeline(SEED), "local", local=LocalOptions(delivery_guarantee="exactly-once",
                                                                       transactional_id_prefix="p", group_id="g1"))
    assert job.dead_letter_topic == "raw-business-events.dlq"
    assert job.output_topics[-1] == "raw-business-events.dlq" and len(job.output_topics) == len(job.routes) + 1
    unparsed, view, sink = job.dead_letter_ddl
    assert "'value.format' = 'raw'" in unparsed and "'properties.group.id' = 'g1-unparsed'" in unparsed
    assert "`__offset` BIGINT METADATA FROM 'offset' VIRTUAL" in unparsed
    assert view.startswith("CREATE TEMPORARY VIEW IF NOT EXISTS `raw-business-events-checked` AS")
    assert "TRY_CAST(`__ts_ms` AS BIGINT) AS `__ts_ms`" in view and "TRY_CAST(`__lsn` AS BIGINT) AS `__lsn`" in view
    assert "`headers` MAP<STRING, BYTES> METADATA" in sink and "'sink.transactional-id-prefix' = 'p-dlq'" in sink
    # the JSON source reads every field as text (typed by the view), with its partition and offset
    assert "`__ts_ms` STRING" in job.source_ddl and "`__partition` INT METADATA FROM 'partition'" in job.source_ddl
    assert all(f"FROM `raw-business-events-checked`" in r.insert for r in job.routes)
    assert job.statement_set.count("INSERT INTO `raw-business-events.dlq`") == 2
    for header in ("dlq.reason", "dlq.source.topic", "dlq.source.partition", "dlq.source.offset", "dlq.job"):
        assert job.statement_set.count(f"'{header}'") == 2
    assert "IS JSON OBJECT" in job.statement_set and "'__lsn is not a whole number'" in job.statement_set


def test_local_without_cdc_metadata_has_nothing_to_type():
    p = load_pipeline_text("version: 1\nsource: {topic: raw, cdcMetadata: false}\nfilters:\n  - {id: a, outputTopic: ta}\n")
    job = compile_job(p, "local")
    assert len(job.dead_letter_ddl) == 2 and "VIEW" not in job.script
    assert job.statement_set.count("INSERT INTO `raw.dlq`") == 1 and "FROM `raw`\n" in job.routes[0].insert + "\n"


def test_output_is_deterministic():
    a = generate_files(load_pipeline(SEED))
    b = generate_files(load_pipeline(SEED))
    assert a == b


def test_disabled_filters_are_left_out():
    p = load_pipeline_text(
        "version: 1\nsource: {topic: raw}\nfilters:\n"
        "  - {id: a, outputTopic: ta}\n  - {id: b, outputTopic: tb, enabled: false}\n"
    )
    job = compile_job(p, "local")
    assert [r.filter_id for r in job.routes] == ["a"]
    assert job.routes[0].where is None and "WHERE" not in job.routes[0].insert
    assert "`raw`" in job.source_ddl  # reserved word, quoted


def test_no_op_derivation_rules():
    base = "version: 1\nsource: {topic: raw}\nfilters:\n"
    p = load_pipeline_text(base + "  - {id: a, outputTopic: ta, operations: [c, u]}\n  - {id: b, outputTopic: tb, operations: [d]}\n")
    derived, notes = derive_no_op(p)
    assert not derived.source.cdc_metadata
    assert derived.filters[0].operations is None and not derived.filters[1].enabled
    assert notes and "filter b is left out" in notes[0]
    with pytest.raises(ConfigError, match="__op"):
        derive_no_op(load_pipeline_text(base + "  - {id: a, outputTopic: ta, conditions: [{field: __op, operator: equals, value: c}]}\n"))
    with pytest.raises(ConfigError, match="no filter would remain"):
        derive_no_op(load_pipeline_text(base + "  - {id: a, outputTopic: ta, operations: [u]}\n"))


def test_compiler_rejects_bad_options_and_keeps_comments_on_one_line():
    from filters.compiler import ConfluentOptions

    p = load_pipeline(SEED)
    with pytest.raises(ConfigError, match="delivery guarantee"):
        compile_job(p, "local", local=LocalOptions(delivery_guarantee="twice"))
    with pytest.raises(ConfigError, match="buckets"):
        compile_job(p, "confluent", confluent=ConfluentOptions(buckets=0))
    with pytest.raises(ConfigError, match="dialect"):
        compile_job(p, "spark")
    job = compile_job(p, "local", source_name="evil\nDROP TABLE x;")
    assert "\nDROP TABLE" not in job.script and "evil DROP TABLE x;" in job.script.splitlines()[0]
