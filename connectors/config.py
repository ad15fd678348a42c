"""Pure builders for connector configurations: plain parameters in, Kafka Connect config dict out.

One builder per variant (connectors/variants.py). Every builder takes a `ConnectorTarget` — database,
slot, publication, topics and credential *references* — never the project's settings and never a secret
value: passwords and API keys are `${file:...}` (Kafka's FileConfigProvider, used locally) or
`${env:CDC_...}` placeholders (the committed cloud files; `render_placeholders` fills them at deploy time).

The local builder runs the open-source Debezium PostgreSQL connector and reproduces any seed variant's
record shape. Its default (`local-v2-debezium`) is the shape the local pipeline has always produced:
ExtractNewRecordState unwraps the envelope and adds `__op`, `__table`, `__ts_ms`, `__lsn`; deletes are rewritten
as the old row with `__deleted: "true"` (no tombstones); RegexRouter sends the table's topic to
raw-business-events; JSON without embedded schemas.

`python -m connectors generate` writes the seed's four files under connectors/ from `generate_files()`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from connectors.variants import (
    CDC_SOURCE_BASIC,
    CDC_SOURCE_FIXED,
    DEBEZIUM,
    LOCAL_DEFAULT,
    SEED_VARIANTS,
    V2_DEBEZIUM,
    Variant,
)
from pipeline.errors import ConfigError
from pipeline.replication import HEARTBEAT_QUERY

LOCAL_CONNECTOR_NAME = "postgres-debezium-business-events-local"
PASSWORD_KEY = "database.password"
TOPIC_PREFIX = "cdc-local"
#: topic prefix (V2, open-source Debezium) / database.server.name (V1) of the cloud connectors
CLOUD_TOPIC_PREFIX = "cdc"

JSON_CONVERTER = "org.apache.kafka.connect.json.JsonConverter"
EXTRACT_NEW_RECORD_STATE = "io.debezium.transforms.ExtractNewRecordState"
REGEX_ROUTER = "org.apache.kafka.connect.transforms.RegexRouter"
TOPIC_REGEX_ROUTER = "io.confluent.connect.cloud.transforms.TopicRegexRouter"
#: managed Debezium CDC connectors reserve the alias `unwrap` for after.state.only
#: (https://docs.confluent.io/cloud/current/connectors/transforms/extractnewrecordstate.html)
RESERVED_MANAGED_ALIAS = "unwrap"
MANAGED_EXTRACT_ALIAS = "extract"
LOCAL_EXTRACT_ALIAS = "unwrap"
ROUTE_ALIAS = "route"

#: keys every managed connector config must carry (Confluent's connect/v1 OpenAPI spec; see
#: ../shared/reference/confluent-cloud-api.md §1 "Config")
MANAGED_REQUIRED_KEYS = ("name", "connector.class", "kafka.api.key", "kafka.api.secret")

#: the placeholders of the committed cloud files: `${env:NAME}`, filled from these variables at deploy time
CLOUD_PLACEHOLDERS: dict[str, str] = {
    "CDC_DB_HOST": "database endpoint (Aurora cluster writer endpoint)",
    "CDC_DB_NAME": "database name",
    "CDC_DB_USER": "database user with the REPLICATION privilege",
    "CDC_DB_PASSWORD": "database password (secret)",
    "CDC_KAFKA_API_KEY": "Kafka API key the managed connector writes with (secret)",
    "CDC_KAFKA_API_SECRET": "Kafka API secret (secret)",
}

_REFERENCE = re.compile(r"^\$\{(?:file|env):[^}]+\}$")  # Kafka ConfigProvider syntax
_ENV_PLACEHOLDER = re.compile(r"^\$\{env:([A-Z][A-Z0-9_]*)\}$")
_SECRET_WORDS = ("password", "secret", "api.key", "sasl.jaas", "credentials")
_FIELD_ORDER = ("__op", "__table", "__ts_ms", "__deleted", "__lsn")


def env_placeholder(variable: str) -> str:
    return "${env:" + variable + "}"


def password_reference(secrets_file: str) -> str:
    """A Kafka FileConfigProvider reference: Connect resolves it, nobody else ever sees the value."""
    return "${file:" + secrets_file + ":" + PASSWORD_KEY + "}"


def is_secret_key(key: str) -> bool:
    return any(word in key.lower() for word in _SECRET_WORDS)


def is_reference(value: str) -> bool:
    """`${file:path:key}` or `${env:NAME}`: resolved by Connect or at deploy time, never a value."""
    return bool(_REFERENCE.match(value))


class ConnectorTarget(BaseModel):
    """Where a connector reads and writes. Credentials are references/placeholders only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the connector's name (the `name` key of the cloud configs)
    name: str
    db_host: str
    db_port: str
    db_name: str
    db_user: str
    #: `${file:...}` / `${env:...}`; a literal password is refused
    db_password: str
    #: `database.sslmode`; None leaves the connector's default (local loopback)
    db_sslmode: str | None = None
    slot_name: str = "business_events_cdc_slot"
    publication: str = "business_events_publication"
    table: str = "public.business_events"
    raw_topic: str = "raw-business-events"
    topic_prefix: str
    #: references, for managed connectors only
    kafka_api_key: str | None = None
    kafka_api_secret: str | None = None
    heartbeat_interval_ms: int = 10000
    #: run at every heartbeat so an idle table's slot still advances (pipeline/replication.py); None: none
    heartbeat_action_query: str | None = HEARTBEAT_QUERY

    @field_validator("db_port", mode="before")
    @classmethod
    def _port_as_string(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("db_password", "kafka_api_key", "kafka_api_secret")
    @classmethod
    def _references_only(cls, value: str | None, info) -> str | None:
        if value is not None and not is_reference(value):
            # the value itself is never repeated: it may be a real secret
            raise ConfigError(f"connector target {info.field_name} must be a ${{file:...}} or ${{env:...}} reference, "
                              "not a literal value", fix="pass a reference; the secret stays in a file or variable")
        return value

    @field_validator("topic_prefix")
    @classmethod
    def _prefix_chars(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
            raise ConfigError(f"topic prefix {value!r} may hold only letters, digits, '.', '_' and '-'")
        return value

    @field_validator("table")
    @classmethod
    def _schema_table(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*", value):
            raise ConfigError(f"table {value!r} must be schema.table in lower case")
        return value


# ------------------------------------------------------------------------------------------------
# shared pieces


def _topic_regex(prefix: str, table: str) -> str:
    """Only the table's topic (`<prefix>.<schema>.<table>`): heartbeats keep their own topic.

    Written in the subset that java.util.regex (RegexRouter) and RE2/J (TopicRegexRouter) read alike.
    """
    return "^" + f"{prefix}.{table}".replace(".", r"\.") + "$"


def _database(t: ConnectorTarget) -> dict[str, str]:
    out = {
        "database.hostname": t.db_host,
        "database.port": t.db_port,
        "database.user": t.db_user,
        PASSWORD_KEY: t.db_password,
        "database.dbname": t.db_name,
    }
    if t.db_sslmode:
        out["database.sslmode"] = t.db_sslmode
    return out


def _capture(t: ConnectorTarget, naming_key: str) -> dict[str, str]:
    heartbeat = {"heartbeat.action.query": t.heartbeat_action_query} if t.heartbeat_action_query else {}
    return {
        naming_key: t.topic_prefix,
        "plugin.name": "pgoutput",
        "slot.name": t.slot_name,
        "publication.name": t.publication,
        # replication-setup owns the publication and the slot; the connector must not invent others
        "publication.autocreate.mode": "disabled",
        "table.include.list": t.table,
        "snapshot.mode": "initial",
        "tombstones.on.delete": "false",
        "heartbeat.interval.ms": str(t.heartbeat_interval_ms),
        **heartbeat,
    }


def _managed_kafka(t: ConnectorTarget) -> dict[str, str]:
    if not (t.kafka_api_key and t.kafka_api_secret):
        raise ConfigError(f"managed connector {t.name!r} needs kafka_api_key and kafka_api_secret references")
    return {"kafka.auth.mode": "KAFKA_API_KEY", "kafka.api.key": t.kafka_api_key, "kafka.api.secret": t.kafka_api_secret}


def _json_converters() -> dict[str, str]:
    return {
        "key.converter": JSON_CONVERTER,
        "key.converter.schemas.enable": "false",
        "value.converter": JSON_CONVERTER,
        "value.converter.schemas.enable": "false",
    }


def _managed_json_output() -> dict[str, str]:
    # schemaless JSON, as the seed's raw topic; the Confluent Flink tables read it as json-registry once a JSON
    # Schema is registered under raw-business-events-value (../shared/reference/confluent-cloud-api.md §5)
    return {"output.data.format": "JSON", "output.key.format": "JSON"}


def _route(t: ConnectorTarget, router: str) -> dict[str, str]:
    return {
        f"transforms.{ROUTE_ALIAS}.type": router,
        f"transforms.{ROUTE_ALIAS}.regex": _topic_regex(t.topic_prefix, t.table),
        f"transforms.{ROUTE_ALIAS}.replacement": t.raw_topic,
    }


# ------------------------------------------------------------------------------------------------
# the seed's four variants


def v2_debezium_config(t: ConnectorTarget) -> dict[str, str]:
    """v2-debezium: managed PostgresCdcSourceV2 + ExtractNewRecordState (`__op,__table,__ts_ms,__deleted`).

    Sources: plugin name `PostgresCdcSourceV2`, topics `<topic.prefix>.<schema>.<table>` (V2 renamed
    `database.server.name` to `topic.prefix`), JSON output —
    https://docs.confluent.io/cloud/current/connectors/cc-postgresql-cdc-source-v2-debezium/cc-postgresql-cdc-source-v2-debezium.html ;
    `kafka.auth.mode`/`kafka.api.key`/`kafka.api.secret` —
    https://github.com/confluentinc/terraform-provider-confluent/blob/master/examples/configurations/connectors/postgre-sql-cdc-debezium-source-connector/main.tf
    and the connect/v1 OpenAPI spec; TopicRegexRouter instead of RegexRouter —
    https://docs.confluent.io/cloud/current/connectors/transforms/topicregexrouter.html ; ExtractNewRecordState
    allowed but not under the alias `unwrap` —
    https://docs.confluent.io/cloud/current/connectors/transforms/extractnewrecordstate.html .
    `after.state.only=false` so that our own ExtractNewRecordState sees the envelope (the connector's internal
    flattening is what `after.state.only` switches on; its default is unverified, so it is set explicitly).
    `lsn` in `add.fields` (→ `__lsn`, the source block's WAL position) is our addition for the low-latency
    delivery mode; that the managed connector accepts it is unverified (it is a plain Debezium source field).
    `delete.tombstone.handling.mode` is the Debezium 2.5+/3.x name: the V2 page links the Debezium 3.2
    reference, but the engine version is unverified. The field set and the SQL pairing rest on the seed only.
    """
    alias = MANAGED_EXTRACT_ALIAS
    return {
        "name": t.name,
        "connector.class": V2_DEBEZIUM.connector_class,
        "tasks.max": "1",
        **_managed_kafka(t),
        **_database(t),
        **_capture(t, "topic.prefix"),
        **_managed_json_output(),
        "after.state.only": "false",
        "transforms": f"{alias},{ROUTE_ALIAS}",
        f"transforms.{alias}.type": EXTRACT_NEW_RECORD_STATE,
        f"transforms.{alias}.add.fields": "op,table,ts_ms,lsn",
        f"transforms.{alias}.delete.tombstone.handling.mode": "rewrite",
        **_route(t, TOPIC_REGEX_ROUTER),
    }


def debezium_config(t: ConnectorTarget) -> dict[str, str]:
    """debezium: the open-source `io.debezium.connector.postgresql.PostgresConnector` (`__op,__table,__ts_ms`).

    Rests on the seed ("Open-source Debezium connector", "Full ExtractNewRecordState transform support",
    "RegexRouter") and on Debezium's own configuration (the version the local stack pins, 3.6.1): it runs on
    a self-managed Kafka Connect worker whose worker properties hold the Confluent Cloud Kafka credentials,
    so this file carries none; RegexRouter is the Apache Kafka SMT every self-managed worker has
    (TopicRegexRouter exists only on managed connectors). Deletes are dropped (`drop`): the seed lists no
    `__deleted` for this variant, and without `rewrite` a delete can only become a tombstone or nothing —
    we keep tombstones off the raw topic.
    """
    alias = MANAGED_EXTRACT_ALIAS  # same alias as the managed files, so a switch between them is a small diff
    return {
        "name": t.name,
        "connector.class": DEBEZIUM.connector_class,
        "tasks.max": "1",
        **_database(t),
        **_capture(t, "topic.prefix"),
        **_json_converters(),
        "transforms": f"{alias},{ROUTE_ALIAS}",
        f"transforms.{alias}.type": EXTRACT_NEW_RECORD_STATE,
        f"transforms.{alias}.add.fields": "op,table,ts_ms,lsn",
        f"transforms.{alias}.delete.tombstone.handling.mode": "drop",
        **_route(t, REGEX_ROUTER),
    }


def cdc_source_fixed_config(t: ConnectorTarget) -> dict[str, str]:
    """cdc-source-fixed: managed PostgresCdcSource (V1) + ExtractNewRecordState (`__op,__table,__ts_ms`).

    Sources: class `PostgresCdcSource`, `database.server.name` naming topics
    `<database.server.name>.<schema>.<table>`, `plugin.name=pgoutput`, `output.data.format=JSON`,
    `tasks.max=1`, `kafka.auth.mode` —
    https://github.com/confluentinc/terraform-provider-confluent/blob/master/examples/configurations/connectors/postgre-sql-cdc-debezium-source-connector/main.tf
    and https://docs.confluent.io/cloud/current/connectors/cc-postgresql-cdc-source-debezium.html (which also
    says V1 reached end of life on 2026-03-31); TopicRegexRouter and the reserved `unwrap` alias — the two
    transforms pages cited on `v2_debezium_config`. `after.state.only=false`: "a V1 user note says it must be
    set to false to keep `before`" (reference §2), needed so our ExtractNewRecordState sees the envelope.
    `delete.handling.mode` / `drop.tombstones` are the Debezium 1.x names: V1 still takes
    `database.server.name`, removed in Debezium 2.0 — an inference, unverified. The field set (no `__deleted`)
    and the pairing with business-events-routing-confluent-cloud.sql rest on the seed only.
    """
    alias = MANAGED_EXTRACT_ALIAS
    return {
        "name": t.name,
        "connector.class": CDC_SOURCE_FIXED.connector_class,
        "tasks.max": "1",
        **_managed_kafka(t),
        **_database(t),
        **_capture(t, "database.server.name"),
        **_managed_json_output(),
        "after.state.only": "false",
        "transforms": f"{alias},{ROUTE_ALIAS}",
        f"transforms.{alias}.type": EXTRACT_NEW_RECORD_STATE,
        f"transforms.{alias}.add.fields": "op,table,ts_ms,lsn",
        f"transforms.{alias}.delete.handling.mode": "drop",
        f"transforms.{alias}.drop.tombstones": "true",
        **_route(t, TOPIC_REGEX_ROUTER),
    }


def cdc_source_basic_config(t: ConnectorTarget) -> dict[str, str]:
    """cdc-source-basic: managed PostgresCdcSource (V1), no ExtractNewRecordState — flat rows, no CDC fields.

    Sources: as `cdc_source_fixed_config`. The flat after-state comes from `after.state.only=true`, which
    "appears to apply an internal ExtractNewRecordState that produces a flat row" (reference §2): that it
    adds no `__*` fields, that it is the default, and what it does with deletes are unverified, so it is set
    explicitly here and deletes are declared dropped (Debezium 1.x's ExtractNewRecordState default). The
    seed only says this variant lacks ExtractNewRecordState and "Does not add __op, __table, __ts_ms".
    """
    return {
        "name": t.name,
        "connector.class": CDC_SOURCE_BASIC.connector_class,
        "tasks.max": "1",
        **_managed_kafka(t),
        **_database(t),
        **_capture(t, "database.server.name"),
        **_managed_json_output(),
        "after.state.only": "true",
        "transforms": ROUTE_ALIAS,
        **_route(t, TOPIC_REGEX_ROUTER),
    }


# ------------------------------------------------------------------------------------------------
# the local variants: open-source Debezium reproducing each seed variant's record shape

#: ExtractNewRecordState options per reproduced seed variant (Debezium 3.6.1, the local stack's version)
_LOCAL_EXTRACT: dict[str, dict[str, str]] = {
    V2_DEBEZIUM.name: {"add.fields": "op,table,ts_ms,lsn", "delete.tombstone.handling.mode": "rewrite"},
    DEBEZIUM.name: {"add.fields": "op,table,ts_ms,lsn", "delete.tombstone.handling.mode": "drop"},
    CDC_SOURCE_FIXED.name: {"add.fields": "op,table,ts_ms,lsn", "delete.tombstone.handling.mode": "drop"},
    # flat after-state, no fields: what after.state.only produces on the managed basic connector
    CDC_SOURCE_BASIC.name: {"delete.tombstone.handling.mode": "drop"},
}


#: the local connector's latency/throughput settings, each measured with ./run bench e2e (docs/figures.md,
#: "End to end"). poll.interval.ms (default 500) is both the idle stream's sleep and the longest a Connect
#: poll waits for a batch to fill, so at low rates every change waited up to it.
LOCAL_TUNING = {"poll.interval.ms": "50", "producer.override.linger.ms": "10",
                "producer.override.batch.size": "262144", "producer.override.compression.type": "lz4"}


#: Kafka Connect exactly-once source support (KIP-618; Debezium PostgreSQL since 2.3, streaming phase only):
#: records and offsets are committed in one transaction per poll, so a Connect crash duplicates nothing for
#: read_committed readers. `required` makes Connect refuse the connector rather than run it without. The
#: worker must run with exactly.once.source.support=enabled (stack/kafka.py). Debezium notes that the
#: correctness of this path is not proven (../shared/reference/latency-and-throughput.md, section 3).
LOCAL_EXACTLY_ONCE = {"exactly.once.support": "required", "transaction.boundary": "poll"}


def local_config(t: ConnectorTarget, variant: Variant = LOCAL_DEFAULT) -> dict[str, str]:
    """The local open-source Debezium connector in the record shape of `variant` (a local variant).

    Only the `transforms.unwrap.*` keys differ between local variants: connection, slot, publication, topic
    prefix and routing stay, so switching variants keeps the replication slot and the connector's offsets.
    """
    if not variant.local or variant.reproduces not in _LOCAL_EXTRACT:
        raise ConfigError(f"connector variant {variant.name} is not a local variant",
                          fix=f"use one of {', '.join('local-' + k for k in _LOCAL_EXTRACT)}")
    alias = LOCAL_EXTRACT_ALIAS
    extract = {f"transforms.{alias}.{k}": v for k, v in _LOCAL_EXTRACT[variant.reproduces].items()}
    return {
        "connector.class": variant.connector_class,
        "tasks.max": "1",
        **_database(t),
        **_capture(t, "topic.prefix"),
        **_json_converters(),
        **LOCAL_TUNING,
        **LOCAL_EXACTLY_ONCE,
        "transforms": f"{alias},{ROUTE_ALIAS}",
        f"transforms.{alias}.type": EXTRACT_NEW_RECORD_STATE,
        **extract,
        **_route(t, REGEX_ROUTER),
    }


def local_target(cfg: Any, secrets_file: str, name: str = LOCAL_CONNECTOR_NAME) -> ConnectorTarget:
    """The local target from the project's settings object (duck-typed: `.database.*`, `.raw_topic`)."""
    db = cfg.database
    return ConnectorTarget(
        name=name,
        db_host=db.host,
        db_port=str(db.port),
        db_name=db.dbname,
        db_user=db.user,
        db_password=password_reference(secrets_file),
        slot_name=db.slot_name,
        publication=db.publication,
        raw_topic=cfg.raw_topic,
        topic_prefix=TOPIC_PREFIX,
    )


def local_debezium_config(cfg: Any, secrets_file: str, variant: Variant = LOCAL_DEFAULT) -> dict[str, str]:
    """Thin wrapper kept for the register step: settings + secrets file in, the local connector config out."""
    return build_config(variant, local_target(cfg, secrets_file))


# ------------------------------------------------------------------------------------------------
# dispatch, rules, files

_CLOUD_BUILDERS: dict[str, Callable[[ConnectorTarget], dict[str, str]]] = {
    V2_DEBEZIUM.name: v2_debezium_config,
    DEBEZIUM.name: debezium_config,
    CDC_SOURCE_FIXED.name: cdc_source_fixed_config,
    CDC_SOURCE_BASIC.name: cdc_source_basic_config,
}


def build_config(variant: Variant, target: ConnectorTarget) -> dict[str, str]:
    """The config of `variant` for `target`; refuses (one line) a config breaking the variant's rules."""
    config = local_config(target, variant) if variant.local else _CLOUD_BUILDERS[variant.name](target)
    problems = rule_problems(variant, config)
    if problems:  # a bug in a builder, never user input: say all of it
        raise ConfigError(f"connector variant {variant.name}: " + "; ".join(problems))
    return config


def cloud_target(variant: Variant, **overrides: Any) -> ConnectorTarget:
    """The target of a committed cloud file: fixed names from the seed, `${env:CDC_*}` for the rest.

    `overrides` replace any field (e.g. `db_port` from the settings); credentials stay references.
    """
    if variant.local:
        raise ConfigError(f"connector variant {variant.name} is local: it has no committed file")
    fields: dict[str, Any] = dict(
        name=variant.seed_file.removesuffix(".json"),
        db_host=env_placeholder("CDC_DB_HOST"),
        db_port="5432",
        db_name=env_placeholder("CDC_DB_NAME"),
        db_user=env_placeholder("CDC_DB_USER"),
        db_password=env_placeholder("CDC_DB_PASSWORD"),
        db_sslmode="require",  # Aurora over the internet: TLS required
        topic_prefix=CLOUD_TOPIC_PREFIX,
        kafka_api_key=env_placeholder("CDC_KAFKA_API_KEY") if variant.managed else None,
        kafka_api_secret=env_placeholder("CDC_KAFKA_API_SECRET") if variant.managed else None,
    )
    return ConnectorTarget(**{**fields, **overrides})


def cloud_config(variant: Variant, **overrides: Any) -> dict[str, str]:
    """The committed file's config (placeholders unfilled); with `overrides`, see `cloud_target`.

    To deploy: `render_placeholders(cloud_config(variant, db_port=...), values)`.
    """
    return build_config(variant, cloud_target(variant, **overrides))


def file_text(config: Mapping[str, str]) -> str:
    """How a config is written to disk: the builder's key order, 2-space indent, trailing newline."""
    return json.dumps(dict(config), indent=2, ensure_ascii=False) + "\n"


def generate_files() -> dict[str, str]:
    """File name (under connectors/) -> content, for the seed's four variants."""
    return {v.seed_file: file_text(cloud_config(v)) for v in SEED_VARIANTS}


def transform_aliases(config: Mapping[str, str]) -> list[str]:
    return [a.strip() for a in config.get("transforms", "").split(",") if a.strip()]


def fields_added(config: Mapping[str, str]) -> tuple[str, ...]:
    """The `__*` fields a config's ExtractNewRecordState adds to every record, in a canonical order.

    `add.fields` entries become `<prefix><field with . as _>` (Debezium's rule); a delete `rewrite` adds
    `__deleted`. `after.state.only` is taken to add none (unverified, see cdc_source_basic_config).
    """
    found: list[str] = []
    for alias in transform_aliases(config):
        base = f"transforms.{alias}."
        if config.get(base + "type") != EXTRACT_NEW_RECORD_STATE:
            continue
        prefix = config.get(base + "add.fields.prefix", "__")
        for item in config.get(base + "add.fields", "").split(","):
            item = item.strip()
            if item:
                found.append(item.split(":", 1)[1] if ":" in item else prefix + item.replace(".", "_"))
        mode = config.get(base + "delete.tombstone.handling.mode") or config.get(base + "delete.handling.mode")
        if mode in ("rewrite", "rewrite-with-tombstone"):
            found.append("__deleted")
    known = [f for f in _FIELD_ORDER if f in found]
    return tuple(known + sorted(set(found) - set(known)))


def rule_problems(variant: Variant, config: Mapping[str, str]) -> list[str]:
    """Every way `config` breaks the rules of its variant (empty when none)."""
    problems: list[str] = []
    for key, value in config.items():
        if not isinstance(value, str):
            problems.append(f"{key} is not a string")
        elif is_secret_key(key) and not is_reference(value):
            problems.append(f"{key} holds a literal value instead of a ${{file:...}}/${{env:...}} reference")
    if config.get("connector.class") != variant.connector_class:
        problems.append(f"connector.class is {config.get('connector.class')!r}, not {variant.connector_class!r}")
    aliases = transform_aliases(config)
    for alias in aliases:
        if f"transforms.{alias}.type" not in config:
            problems.append(f"transform {alias!r} has no type")
    types = {config.get(f"transforms.{a}.type") for a in aliases}
    if variant.managed:
        problems += [f"managed connectors need {k}" for k in MANAGED_REQUIRED_KEYS if k not in config]
        if REGEX_ROUTER in types:
            problems.append("RegexRouter is not available on managed connectors: use TopicRegexRouter")
        if TOPIC_REGEX_ROUTER not in types:
            problems.append("no TopicRegexRouter routes the table's topic to the raw topic")
        if RESERVED_MANAGED_ALIAS in aliases or any(k.startswith(f"transforms.{RESERVED_MANAGED_ALIAS}.") for k in config):
            problems.append("the transform alias 'unwrap' is reserved for after.state.only on managed CDC connectors")
    else:
        if TOPIC_REGEX_ROUTER in types:
            problems.append("TopicRegexRouter exists only on managed connectors: use RegexRouter")
        if REGEX_ROUTER not in types:
            problems.append("no RegexRouter routes the table's topic to the raw topic")
    if fields_added(config) != variant.cdc_fields:
        problems.append(f"the config adds {list(fields_added(config))} but variant {variant.name} declares "
                        f"{list(variant.cdc_fields)}")
    return problems


def placeholders(config: Mapping[str, str]) -> list[str]:
    """The `${env:NAME}` variables a config needs, sorted."""
    return sorted({m.group(1) for v in config.values() if (m := _ENV_PLACEHOLDER.match(v))})


def render_placeholders(config: Mapping[str, str], values: Mapping[str, str]) -> dict[str, str]:
    """Fill every `${env:NAME}` value from `values`; one line naming every missing variable otherwise.

    `${file:...}` references are left for Kafka Connect's FileConfigProvider.
    """
    missing = [name for name in placeholders(config) if not values.get(name)]
    if missing:
        raise ConfigError(f"the connector config needs {', '.join(missing)}",
                          fix="set them as environment variables or Prefect Secret blocks")
    out = {}
    for key, value in config.items():
        m = _ENV_PLACEHOLDER.match(value)
        out[key] = values[m.group(1)] if m else value
    return out


def redacted(config: Mapping[str, str]) -> dict[str, str]:
    """A copy safe to log or publish: any password-like value that is not a provider reference is masked."""
    out = {}
    for key, value in config.items():
        secretish = any(word in key.lower() for word in ("password", "secret", "api.key", "sasl.jaas"))
        out[key] = "********" if secretish and not str(value).startswith("${") else value
    return out
