"""The connector variants: committed files, the seed's matrix, managed-connector rules, secrets, compatibility."""

import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

import connectors.__main__ as cli
from connectors.config import (
    CLOUD_PLACEHOLDERS,
    EXTRACT_NEW_RECORD_STATE,
    REGEX_ROUTER,
    TOPIC_REGEX_ROUTER,
    ConnectorTarget,
    build_config,
    cloud_config,
    fields_added,
    generate_files,
    local_config,
    local_debezium_config,
    local_target,
    placeholders,
    render_placeholders,
    rule_problems,
    transform_aliases,
)
from connectors.variants import (
    CDC_SOURCE_BASIC,
    CDC_SOURCE_FIXED,
    DEBEZIUM,
    LOCAL_DEFAULT,
    LOCAL_VARIANTS,
    SEED_VARIANTS,
    V2_DEBEZIUM,
    VARIANTS,
    check_compatibility,
    get_variant,
    local_variant_for,
)
from filters.compiler import CONFLUENT_FILE, CONFLUENT_NO_OP_FILE, LOCAL_FILE
from pipeline.errors import ConfigError
from pipeline.replication import HEARTBEAT_QUERY, HEARTBEAT_TABLE

REPO = Path(__file__).resolve().parents[2]
CONNECTORS = REPO / "connectors"


def _committed() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(CONNECTORS.glob("*.json"))}


def _settings():
    """Shaped like the project's settings (the wrapper reads only these attributes)."""
    db = SimpleNamespace(host="127.0.0.1", port=25432, dbname="cdc", user="cdc", slot_name="business_events_cdc_slot",
                         publication="business_events_publication")
    return SimpleNamespace(database=db, raw_topic="raw-business-events")


def _local_target():
    return local_target(_settings(), "/state/secrets/connect.properties")


# --- committed files -------------------------------------------------------------------------------


def test_committed_connector_files_are_not_stale():
    files = generate_files()
    assert set(files) == {v.seed_file for v in SEED_VARIANTS}
    for name, text in files.items():
        path = CONNECTORS / name
        assert path.exists(), f"{name} missing: run python -m connectors generate"
        assert path.read_text(encoding="utf-8") == text, f"{name} is stale: run python -m connectors generate"
    assert {p.name for p in CONNECTORS.glob("*.json")} == set(files), "a connectors/*.json nobody generates"


def test_files_are_stable_json_with_a_trailing_newline():
    a, b = generate_files(), generate_files()
    assert a == b
    for text in a.values():
        assert text.endswith("}\n") and not text.endswith("\n\n")
        config = json.loads(text)
        assert json.dumps(config, indent=2) + "\n" == text  # plain 2-space JSON, key order kept on a round trip
        assert all(isinstance(v, str) for v in config.values())


# --- the seed's variants and matrix ----------------------------------------------------------------


def test_variant_table_is_the_seeds():
    assert [(v.name, v.seed_file, v.connector_class, v.managed, v.adds_cdc_metadata, v.cdc_fields, v.sql_file)
            for v in SEED_VARIANTS] == [
        ("v2-debezium", "postgres-cdc-source-v2-debezium-business-events-confluent-cloud.json",
         "PostgresCdcSourceV2", True, True, ("__op", "__table", "__ts_ms", "__deleted", "__lsn"),
         "business-events-routing-confluent-cloud.sql"),
        ("debezium", "postgres-debezium-business-events-confluent-cloud.json",
         "io.debezium.connector.postgresql.PostgresConnector", False, True, ("__op", "__table", "__ts_ms", "__lsn"),
         "business-events-routing-confluent-cloud.sql"),
        ("cdc-source-fixed", "postgres-cdc-source-business-events-confluent-cloud-fixed.json",
         "PostgresCdcSource", True, True, ("__op", "__table", "__ts_ms", "__lsn"),
         "business-events-routing-confluent-cloud.sql"),
        ("cdc-source-basic", "postgres-cdc-source-business-events-confluent-cloud.json",
         "PostgresCdcSource", True, False, (), "business-events-routing-confluent-cloud-no-op.sql"),
    ]
    assert [v.recommendation for v in SEED_VARIANTS] == ["Most Recommended", "Currently Used", "Recommended",
                                                         "NOT RECOMMENDED"]
    assert [v.deprecated for v in SEED_VARIANTS] == [False, False, True, True]
    assert "end of life" in CDC_SOURCE_FIXED.note and "deprecated" in CDC_SOURCE_BASIC.note


def test_sql_file_names_are_the_filter_compilers():
    assert {V2_DEBEZIUM.sql_file, CDC_SOURCE_BASIC.sql_file, LOCAL_DEFAULT.sql_file} == {
        CONFLUENT_FILE, CONFLUENT_NO_OP_FILE, LOCAL_FILE}
    assert CDC_SOURCE_BASIC.sql_file == CONFLUENT_NO_OP_FILE and LOCAL_DEFAULT.sql_file == LOCAL_FILE


def test_get_variant_and_local_alias():
    assert get_variant("local") is LOCAL_DEFAULT and LOCAL_DEFAULT.name == "local-v2-debezium"
    assert get_variant("cdc-source-basic") is CDC_SOURCE_BASIC
    with pytest.raises(ConfigError) as exc:
        get_variant("cdc-source-basik")
    line = str(exc.value)
    assert "\n" not in line and "'cdc-source-basik'" in line and "v2-debezium" in line and "local" in line
    assert [local_variant_for(v).reproduces for v in SEED_VARIANTS] == [v.name for v in SEED_VARIANTS]


# --- each variant's rules ----------------------------------------------------------------------------


@pytest.mark.parametrize("variant", [v for v in SEED_VARIANTS if v.managed], ids=lambda v: v.name)
def test_managed_files_use_topic_regex_router_and_no_unwrap_alias(variant):
    config = _committed()[variant.seed_file]
    types = [config[f"transforms.{a}.type"] for a in transform_aliases(config)]
    assert TOPIC_REGEX_ROUTER in types and REGEX_ROUTER not in types
    assert "RegexRouter\"" not in json.dumps(config).replace("TopicRegexRouter\"", "")
    assert "unwrap" not in transform_aliases(config)
    assert not any(k.startswith("transforms.unwrap") for k in config)
    for key in ("name", "connector.class", "kafka.api.key", "kafka.api.secret"):
        assert key in config
    assert config["name"] == variant.seed_file.removesuffix(".json")
    assert config["kafka.auth.mode"] == "KAFKA_API_KEY"
    assert "key.converter" not in config and config["output.data.format"] == "JSON"


def test_self_managed_debezium_file_uses_regex_router_and_no_kafka_keys():
    config = _committed()[DEBEZIUM.seed_file]
    assert config["connector.class"] == "io.debezium.connector.postgresql.PostgresConnector"
    assert config["transforms.route.type"] == REGEX_ROUTER
    assert not any(k.startswith("kafka.") for k in config)
    assert config["value.converter.schemas.enable"] == "false"


def test_v1_names_topics_by_server_name_v2_and_debezium_by_prefix():
    files = _committed()
    for v in (CDC_SOURCE_FIXED, CDC_SOURCE_BASIC):
        assert "database.server.name" in files[v.seed_file] and "topic.prefix" not in files[v.seed_file]
    for v in (V2_DEBEZIUM, DEBEZIUM):
        assert "topic.prefix" in files[v.seed_file] and "database.server.name" not in files[v.seed_file]


def test_extract_new_record_state_only_where_the_seed_has_it():
    files = _committed()
    for v in SEED_VARIANTS:
        config = files[v.seed_file]
        has_extract = EXTRACT_NEW_RECORD_STATE in config.values()
        assert has_extract == v.adds_cdc_metadata, v.name
        if v.managed:  # our extract must see the envelope; the basic one flattens with after.state.only
            assert config["after.state.only"] == ("false" if has_extract else "true")


@pytest.mark.parametrize("variant", list(VARIANTS.values()), ids=lambda v: v.name)
def test_declared_fields_are_what_the_config_adds(variant):
    config = cloud_config(variant) if not variant.local else local_config(_local_target(), variant)
    assert fields_added(config) == variant.cdc_fields
    assert variant.adds_cdc_metadata == ({"__op", "__table", "__ts_ms"} <= set(fields_added(config)))
    assert rule_problems(variant, config) == []


@pytest.mark.parametrize("variant", list(VARIANTS.values()), ids=lambda v: v.name)
def test_route_regex_takes_the_table_topic_and_leaves_heartbeats(variant):
    config = cloud_config(variant) if not variant.local else local_config(_local_target(), variant)
    prefix = config.get("topic.prefix") or config["database.server.name"]
    regex = re.compile(config["transforms.route.regex"])
    assert regex.search(f"{prefix}.public.business_events")
    assert not regex.search(f"__debezium-heartbeat.{prefix}")
    assert not regex.search(f"{prefix}.public.business_events_archive")
    assert config["transforms.route.replacement"] == "raw-business-events"


def test_local_deletes_follow_the_declaration():
    for v in LOCAL_VARIANTS:
        mode = local_config(_local_target(), v)["transforms.unwrap.delete.tombstone.handling.mode"]
        assert mode == {"rewritten": "rewrite", "dropped": "drop"}[v.deletes], v.name


def test_rule_checker_catches_broken_configs():
    good = cloud_config(V2_DEBEZIUM)
    regex_router = {**good, "transforms.route.type": REGEX_ROUTER}
    assert any("RegexRouter is not available" in p for p in rule_problems(V2_DEBEZIUM, regex_router))
    unwrap = {k.replace("transforms.extract", "transforms.unwrap"): v for k, v in good.items()}
    unwrap["transforms"] = "unwrap,route"
    assert any("'unwrap' is reserved" in p for p in rule_problems(V2_DEBEZIUM, unwrap))
    no_key = {k: v for k, v in good.items() if k != "kafka.api.secret"}
    assert "managed connectors need kafka.api.secret" in rule_problems(V2_DEBEZIUM, no_key)
    literal = {**good, "database.password": "hunter2-real"}
    problems = rule_problems(V2_DEBEZIUM, literal)
    assert any("database.password holds a literal value" in p for p in problems)
    assert not any("hunter2-real" in p for p in problems)
    no_deleted = {**good, "transforms.extract.delete.tombstone.handling.mode": "drop"}
    assert any("declares" in p for p in rule_problems(V2_DEBEZIUM, no_deleted))
    wrong_class = {**good, "connector.class": "PostgresCdcSource"}
    assert any("connector.class" in p for p in rule_problems(V2_DEBEZIUM, wrong_class))
    local = local_config(_local_target(), LOCAL_DEFAULT)
    assert any("TopicRegexRouter exists only" in p
               for p in rule_problems(LOCAL_DEFAULT, {**local, "transforms.route.type": TOPIC_REGEX_ROUTER}))


# --- secrets -----------------------------------------------------------------------------------------

_SECRET_KEY = re.compile(r"password|secret|api\.key|sasl|credential", re.I)
_PLACEHOLDER = re.compile(r"^\$\{env:CDC_[A-Z0-9_]+\}$")
# shapes of real credentials: Confluent API key ids (16 upper-case alphanumerics), API secrets and other
# base64-ish tokens (>= 32 chars), AWS access key ids, PEM blocks, passwords inside URLs
_SECRET_SHAPES = [
    re.compile(r"\b[A-Z0-9]{16}\b"),
    re.compile(r"[A-Za-z0-9+/=_-]{32,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"-----BEGIN"),
    re.compile(r"://[^/\s:]+:[^@\s]+@"),
]
_DOTTED_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_$]*)+$")  # Java classes, Kafka property names


def secret_findings(name: str, text: str) -> list[str]:
    """What in a connector file looks like a secret value: literal values of secret keys, secret-shaped strings."""
    found = []
    for key, value in json.loads(text).items():
        if _SECRET_KEY.search(key) and not _PLACEHOLDER.match(value):
            found.append(f"{name}: {key} is not a ${{env:CDC_...}} placeholder")
        if _PLACEHOLDER.match(value) or _DOTTED_IDENTIFIER.match(value) or (key == "name" and value == Path(name).stem):
            continue  # placeholders, class names, the connector's own name (= the file's)
        for shape in _SECRET_SHAPES:
            if shape.search(value):
                found.append(f"{name}: {key} looks like a credential ({shape.pattern})")
    return found


def test_committed_files_hold_no_secret_values():
    for path in sorted(CONNECTORS.glob("*.json")):
        assert secret_findings(path.name, path.read_text(encoding="utf-8")) == []
    for v in SEED_VARIANTS:
        needed = set(placeholders(cloud_config(v)))
        assert needed <= set(CLOUD_PLACEHOLDERS)
        assert "CDC_DB_PASSWORD" in needed and ("CDC_KAFKA_API_SECRET" in needed) == v.managed


def test_secret_scan_would_catch_a_planted_secret():
    base = json.loads(generate_files()[V2_DEBEZIUM.seed_file])
    for key, value in [("database.password", "Tr0ub4dor&3"),
                       ("kafka.api.key", "ABCDEFGH12345678"),
                       ("kafka.api.secret", "${env:SOMETHING_ELSE}"),
                       ("some.note", "aVeryLongBase64LikeTokenThatIsASecret0123456789+/"),
                       ("database.hostname", "postgres://cdc:hunter2@db.example.com")]:
        assert secret_findings("x.json", json.dumps({**base, key: value})), key


def test_target_refuses_literal_credentials_without_echoing_them():
    with pytest.raises(ConfigError) as exc:
        ConnectorTarget(name="n", db_host="h", db_port=5432, db_name="d", db_user="u",
                        db_password="p@ssw0rd-literal", topic_prefix="cdc")
    assert "p@ssw0rd-literal" not in str(exc.value) and "db_password" in str(exc.value)
    with pytest.raises(ConfigError):
        ConnectorTarget(name="n", db_host="h", db_port="5432", db_name="d", db_user="u",
                        db_password="${env:CDC_DB_PASSWORD}", topic_prefix="cdc", kafka_api_secret="abc")
    with pytest.raises(ConfigError, match="topic prefix"):
        ConnectorTarget(name="n", db_host="h", db_port="5432", db_name="d", db_user="u",
                        db_password="${env:CDC_DB_PASSWORD}", topic_prefix="cdc prefix")


def test_cloud_overrides_replace_fields_but_not_the_rules():
    config = cloud_config(V2_DEBEZIUM, db_port=6543, db_sslmode="verify-full")
    assert config["database.port"] == "6543" and config["database.sslmode"] == "verify-full"
    assert {k: v for k, v in config.items() if k not in ("database.port", "database.sslmode")} == {
        k: v for k, v in cloud_config(V2_DEBEZIUM).items() if k not in ("database.port", "database.sslmode")}
    with pytest.raises(ConfigError):
        cloud_config(V2_DEBEZIUM, db_password="plain-text")


def test_render_fills_placeholders_and_names_every_missing_variable():
    config = cloud_config(V2_DEBEZIUM)
    values = {"CDC_DB_HOST": "aurora.example", "CDC_DB_NAME": "cdc", "CDC_DB_USER": "cdc_repl",
              "CDC_DB_PASSWORD": "pw-value", "CDC_KAFKA_API_KEY": "key", "CDC_KAFKA_API_SECRET": "secret-value"}
    rendered = render_placeholders(config, values)
    assert rendered["database.hostname"] == "aurora.example" and rendered["database.password"] == "pw-value"
    assert rendered["slot.name"] == config["slot.name"] and list(rendered) == list(config)
    assert placeholders(rendered) == []
    with pytest.raises(ConfigError) as exc:
        render_placeholders(config, {"CDC_DB_HOST": "aurora.example", "CDC_DB_PASSWORD": "pw-value"})
    line = str(exc.value)
    assert "CDC_DB_NAME, CDC_DB_USER, CDC_KAFKA_API_KEY, CDC_KAFKA_API_SECRET" in line
    assert "pw-value" not in line and "\n" not in line
    local = local_config(_local_target())
    assert render_placeholders(local, {}) == local  # ${file:...} stays for Connect's FileConfigProvider


# --- compatibility (the seed's matrix) -----------------------------------------------------------------


def test_basic_variant_refuses_cdc_metadata_filters_with_one_line():
    with pytest.raises(ConfigError) as exc:
        check_compatibility(CDC_SOURCE_BASIC, cdc_metadata=True)
    line = str(exc.value)
    assert line == ("filters/filters.yaml sets cdcMetadata: true but connector variant cdc-source-basic adds no "
                    "__op/__table/__ts_ms — fix: use business-events-routing-confluent-cloud-no-op.sql "
                    "(cdcMetadata: false) or migrate to v2-debezium")


def test_local_basic_refuses_cdc_metadata_naming_the_local_fix():
    with pytest.raises(ConfigError) as exc:
        check_compatibility(get_variant("local-cdc-source-basic"), cdc_metadata=True, source="my/filters.yaml")
    line = str(exc.value)
    assert line.startswith("my/filters.yaml sets cdcMetadata: true but connector variant local-cdc-source-basic")
    assert "local-v2-debezium" in line and "business-events-routing-local.sql" in line and "\n" not in line


@pytest.mark.parametrize("variant", list(VARIANTS.values()), ids=lambda v: v.name)
def test_each_variant_accepts_exactly_its_matrix_pairing(variant):
    check_compatibility(variant, cdc_metadata=variant.adds_cdc_metadata)
    with pytest.raises(ConfigError) as exc:
        check_compatibility(variant, cdc_metadata=not variant.adds_cdc_metadata)
    line = str(exc.value)
    assert "\n" not in line and variant.name in line and "— fix:" in line
    if variant.adds_cdc_metadata:  # the other direction names the SQL file the variant pairs with
        assert variant.sql_file in line


# --- local variants and the register wrapper -----------------------------------------------------------


def test_local_wrapper_is_the_default_local_variant():
    wrapped = local_debezium_config(_settings(), "/state/secrets/connect.properties")
    assert wrapped == build_config(LOCAL_DEFAULT, _local_target())
    assert list(wrapped) == list(local_config(_local_target()))


def test_local_default_is_exactly_the_established_local_shape():
    """The register step, the integration tests and the raw-topic shape in README.md rely on this exact config."""
    config = local_debezium_config(_settings(), "/s/c.properties")
    assert list(config.items()) == [
        ("connector.class", "io.debezium.connector.postgresql.PostgresConnector"),
        ("tasks.max", "1"),
        ("database.hostname", "127.0.0.1"),
        ("database.port", "25432"),
        ("database.user", "cdc"),
        ("database.password", "${file:/s/c.properties:database.password}"),
        ("database.dbname", "cdc"),
        ("topic.prefix", "cdc-local"),
        ("plugin.name", "pgoutput"),
        ("slot.name", "business_events_cdc_slot"),
        ("publication.name", "business_events_publication"),
        ("publication.autocreate.mode", "disabled"),
        ("table.include.list", "public.business_events"),
        ("snapshot.mode", "initial"),
        ("tombstones.on.delete", "false"),
        ("heartbeat.interval.ms", "10000"),
        # keeps the slot moving while business_events is idle (pipeline/replication.py)
        ("heartbeat.action.query", "INSERT INTO public.cdc_heartbeat (id, beat_at) VALUES (1, now()) "
                                   "ON CONFLICT (id) DO UPDATE SET beat_at = EXCLUDED.beat_at"),
        ("key.converter", "org.apache.kafka.connect.json.JsonConverter"),
        ("key.converter.schemas.enable", "false"),
        ("value.converter", "org.apache.kafka.connect.json.JsonConverter"),
        ("value.converter.schemas.enable", "false"),
        # measured: docs/figures.md, "End to end"
        ("poll.interval.ms", "50"),
        ("producer.override.linger.ms", "10"),
        ("producer.override.batch.size", "262144"),
        ("producer.override.compression.type", "lz4"),
        # exactly-once capture (KIP-618)
        ("exactly.once.support", "required"),
        ("transaction.boundary", "poll"),
        ("transforms", "unwrap,route"),
        ("transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState"),
        ("transforms.unwrap.add.fields", "op,table,ts_ms,lsn"),
        ("transforms.unwrap.delete.tombstone.handling.mode", "rewrite"),
        ("transforms.route.type", "org.apache.kafka.connect.transforms.RegexRouter"),
        ("transforms.route.regex", r"^cdc-local\.public\.business_events$"),
        ("transforms.route.replacement", "raw-business-events"),
    ]
    assert local_debezium_config(_settings(), "/s/c.properties", get_variant("local")) == config


def test_switching_local_variants_changes_only_the_unwrap_options():
    configs = {v.name: local_config(_local_target(), v) for v in LOCAL_VARIANTS}
    stable = {k: v for k, v in configs["local-v2-debezium"].items() if not k.startswith("transforms.unwrap.")}
    for name, config in configs.items():
        assert {k: v for k, v in config.items() if not k.startswith("transforms.unwrap.")} == stable, name
        assert config["transforms.unwrap.type"] == EXTRACT_NEW_RECORD_STATE
    basic = configs["local-cdc-source-basic"]
    assert "transforms.unwrap.add.fields" not in basic
    assert configs["local-debezium"] == configs["local-cdc-source-fixed"]


def test_local_builder_refuses_cloud_variants():
    with pytest.raises(ConfigError, match="not a local variant"):
        local_config(_local_target(), V2_DEBEZIUM)


# --- the CLI -----------------------------------------------------------------------------------------


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    return cli.main(list(argv), out, err), out.getvalue(), err.getvalue()


def test_cli_generate_then_check_then_stale(tmp_path):
    code, out, _ = _run("generate", "--out-dir", str(tmp_path))
    assert code == 0 and "4 of 4" in out
    assert _run("check", "--out-dir", str(tmp_path))[0] == 0
    assert "0 of 4" in _run("generate", "--out-dir", str(tmp_path))[1]
    target = tmp_path / CDC_SOURCE_BASIC.seed_file
    target.write_text(target.read_text().replace('"true"', '"false"'))
    (tmp_path / "stray.json").write_text("{}\n")
    (tmp_path / V2_DEBEZIUM.seed_file).unlink()
    code, _, err = _run("check", "--out-dir", str(tmp_path))
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 3
    assert any(CDC_SOURCE_BASIC.seed_file in line and "stale" in line for line in lines)
    assert any(V2_DEBEZIUM.seed_file in line and "missing" in line for line in lines)
    assert any("stray.json" in line for line in lines)
    assert all("fix: python -m connectors generate" in line for line in lines)


def test_cli_variants_table_and_usage_errors():
    code, out, _ = _run("variants")
    assert code == 0 and out.count("\n| ") == len(VARIANTS)
    assert "| cdc-source-basic | `PostgresCdcSource` |" in out
    assert _run("nonsense")[0] == 1


@pytest.mark.parametrize("variant", SEED_VARIANTS, ids=lambda v: v.name)
def test_every_variant_runs_the_heartbeat_query_on_a_table_it_does_not_capture(variant):
    """The heartbeat row is published (so the slot advances) but never captured (so Kafka gets nothing)."""
    config = _committed()[variant.seed_file]
    assert config["heartbeat.action.query"] == HEARTBEAT_QUERY
    assert f"public.{HEARTBEAT_TABLE}" in HEARTBEAT_QUERY
    assert HEARTBEAT_TABLE not in config["table.include.list"]


def test_a_target_without_a_heartbeat_query_has_no_such_key():
    target = _local_target().model_copy(update={"heartbeat_action_query": None})
    assert "heartbeat.action.query" not in local_config(target)
