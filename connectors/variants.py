"""The connector variants: the seed's four connector files, the local variants, and their compatibility.

Pure data and pure checks, no I/O. Each variant declares what its raw-business-events records look like
(the CDC fields it adds, what happens to deletes) and which Flink SQL file it pairs with, after the seed's
"Connector-Flink SQL Compatibility Matrix" (seed/cdc-streaming-architecture.md, lines ~880-920):

| connector file                                  | ExtractNewRecordState | CDC fields                            | Flink SQL file                                      |
|-------------------------------------------------|-----------------------|---------------------------------------|-----------------------------------------------------|
| postgres-cdc-source-v2-debezium-*.json          | yes                   | __op, __table, __ts_ms, __deleted     | business-events-routing-confluent-cloud.sql         |
| postgres-debezium-*.json                        | yes                   | __op, __table, __ts_ms                | business-events-routing-confluent-cloud.sql         |
| postgres-cdc-source-*-fixed.json                | yes                   | __op, __table, __ts_ms                | business-events-routing-confluent-cloud.sql         |
| postgres-cdc-source-*.json (basic)              | no                    | none                                  | business-events-routing-confluent-cloud-no-op.sql   |

Every variant with ExtractNewRecordState also adds `__lsn` (the change's WAL position, `add.fields=...,lsn`),
which the seed does not: the low-latency delivery mode drops duplicates by id + `__lsn` (pipeline/delivery.py).
The basic variant cannot add it, so low-latency is refused behind it.

The local variants run the open-source Debezium connector on the local Kafka Connect and reproduce each
seed variant's record shape; `local` (= `local-v2-debezium`) is the default and the shape the local
pipeline has always produced. All local variants share the connector name, slot, publication and topic
prefix, so switching between them is a config change that keeps the replication slot and the offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.errors import ConfigError

# --- names the seed fixes (../shared/DESIGN.md, "Names the seed fixes"); tests check they equal filters.compiler's
CONFLUENT_SQL = "business-events-routing-confluent-cloud.sql"
CONFLUENT_NO_OP_SQL = "business-events-routing-confluent-cloud-no-op.sql"
LOCAL_SQL = "business-events-routing-local.sql"

# --- connector classes
PG_CDC_SOURCE_V2 = "PostgresCdcSourceV2"  # Confluent Cloud managed V2 (plugin name per docs.confluent.io)
PG_CDC_SOURCE = "PostgresCdcSource"  # Confluent Cloud managed V1 (end of life 2026-03-31 per docs.confluent.io)
DEBEZIUM_PG = "io.debezium.connector.postgresql.PostgresConnector"  # open-source Debezium

CdcField = Literal["__op", "__table", "__ts_ms", "__deleted", "__lsn"]
#: the fields whose presence the filters' `cdcMetadata: true` relies on (`__deleted` is extra)
METADATA_FIELDS: tuple[CdcField, ...] = ("__op", "__table", "__ts_ms")

#: what a DELETE becomes on raw-business-events:
#: "rewritten" = the whole old row with `__op: "d"` and `__deleted: "true"`;
#: "dropped"   = nothing at all (no row, no tombstone)
Deletes = Literal["rewritten", "dropped"]


@dataclass(frozen=True)
class Variant:
    name: str
    #: file under connectors/ (the seed's name); None for the local variants, built from settings at register time
    seed_file: str | None
    connector_class: str
    #: a Confluent Cloud fully managed connector (TopicRegexRouter, no `unwrap` alias, Kafka API key in the config)
    managed: bool
    cdc_fields: tuple[CdcField, ...]
    deletes: Deletes
    #: the Flink SQL file this variant pairs with (the seed's matrix; the local dialect for the local variants)
    sql_file: str
    #: the seed's recommendation, word for word from its matrix
    recommendation: str
    deprecated: bool
    #: why deprecated / what to migrate to; empty when not deprecated
    note: str = ""
    #: for local variants: the seed variant whose record shape this one reproduces
    reproduces: str | None = None

    @property
    def adds_cdc_metadata(self) -> bool:
        """True when the connector itself adds `__op`, `__table`, `__ts_ms` (filters may use `cdcMetadata: true`)."""
        return all(f in self.cdc_fields for f in METADATA_FIELDS)

    @property
    def carries_lsn(self) -> bool:
        """True when every record carries `__lsn` (the low-latency delivery mode's duplicate key needs it)."""
        return "__lsn" in self.cdc_fields

    @property
    def local(self) -> bool:
        return self.seed_file is None


_V1_EOL = ("Confluent Cloud's PostgresCdcSource (V1) reached end of life on 2026-03-31 "
           "(docs.confluent.io, cc-postgresql-cdc-source-debezium); migrate to v2-debezium")

V2_DEBEZIUM = Variant(
    name="v2-debezium",
    seed_file="postgres-cdc-source-v2-debezium-business-events-confluent-cloud.json",
    connector_class=PG_CDC_SOURCE_V2,
    managed=True,
    cdc_fields=("__op", "__table", "__ts_ms", "__deleted", "__lsn"),
    deletes="rewritten",
    sql_file=CONFLUENT_SQL,
    recommendation="Most Recommended",
    deprecated=False,
)
DEBEZIUM = Variant(
    name="debezium",
    seed_file="postgres-debezium-business-events-confluent-cloud.json",
    connector_class=DEBEZIUM_PG,
    # the open-source class runs on a self-managed Kafka Connect worker connected to Confluent Cloud Kafka
    # (the worker's own properties hold the Kafka credentials); the seed: "Open-source Debezium connector"
    managed=False,
    cdc_fields=("__op", "__table", "__ts_ms", "__lsn"),
    deletes="dropped",
    sql_file=CONFLUENT_SQL,
    recommendation="Currently Used",
    deprecated=False,
)
CDC_SOURCE_FIXED = Variant(
    name="cdc-source-fixed",
    seed_file="postgres-cdc-source-business-events-confluent-cloud-fixed.json",
    connector_class=PG_CDC_SOURCE,
    managed=True,
    cdc_fields=("__op", "__table", "__ts_ms", "__lsn"),
    deletes="dropped",
    sql_file=CONFLUENT_SQL,
    recommendation="Recommended",
    deprecated=True,
    note=_V1_EOL,
)
CDC_SOURCE_BASIC = Variant(
    name="cdc-source-basic",
    seed_file="postgres-cdc-source-business-events-confluent-cloud.json",
    connector_class=PG_CDC_SOURCE,
    managed=True,
    cdc_fields=(),
    deletes="dropped",
    sql_file=CONFLUENT_NO_OP_SQL,
    recommendation="NOT RECOMMENDED",
    deprecated=True,
    note=("the seed: 'This configuration is deprecated. Use the -fixed.json version instead.' (no "
          "ExtractNewRecordState, so no __op/__table/__ts_ms; the -no-op.sql file takes every event as an insert); "
          + _V1_EOL),
)

#: the seed's four variants, in the seed's order
SEED_VARIANTS: tuple[Variant, ...] = (V2_DEBEZIUM, DEBEZIUM, CDC_SOURCE_FIXED, CDC_SOURCE_BASIC)


def _local(seed: Variant) -> Variant:
    return Variant(
        name=f"local-{seed.name}",
        seed_file=None,
        connector_class=DEBEZIUM_PG,
        managed=False,
        cdc_fields=seed.cdc_fields,
        deletes=seed.deletes,
        sql_file=LOCAL_SQL,
        recommendation=seed.recommendation,
        deprecated=seed.deprecated,
        note=(f"local reproduction of {seed.name}'s record shape" + (f"; {seed.note}" if seed.note else "")),
        reproduces=seed.name,
    )


#: open-source Debezium reproductions of each seed variant's record shape, same order as SEED_VARIANTS
LOCAL_VARIANTS: tuple[Variant, ...] = tuple(_local(v) for v in SEED_VARIANTS)
#: the local default: the shape the local pipeline produces (v2-debezium's)
LOCAL_DEFAULT = LOCAL_VARIANTS[0]
LOCAL_ALIAS = "local"

VARIANTS: dict[str, Variant] = {v.name: v for v in SEED_VARIANTS + LOCAL_VARIANTS}


def get_variant(name: str) -> Variant:
    """A variant by name (`local` is the local default); one line naming the known ones otherwise."""
    if name == LOCAL_ALIAS:
        return LOCAL_DEFAULT
    try:
        return VARIANTS[name]
    except KeyError:
        known = ", ".join([*VARIANTS, LOCAL_ALIAS])
        raise ConfigError(f"unknown connector variant {name!r}", fix=f"use one of {known}") from None


def local_variant_for(variant: Variant) -> Variant:
    """The local variant reproducing `variant`'s shape (itself when already local)."""
    if variant.local:
        return variant
    return VARIANTS[f"local-{variant.name}"]


def check_compatibility(variant: Variant, cdc_metadata: bool, *, source: str = "filters/filters.yaml") -> None:
    """Enforce the seed's connector ↔ Flink SQL matrix; one line naming the SQL file and variant to use.

    `cdcMetadata: true` filters (the routing SQL reads `__op`/`__table`/`__ts_ms` from the records) behind a
    variant that adds none would route nothing; `cdcMetadata: false` (the -no-op SQL, every event taken as
    an insert) behind a variant that does add them routes updates and deletes as creates, against the matrix.
    """
    if cdc_metadata and not variant.adds_cdc_metadata:
        if variant.local:
            use, migrate = f"cdcMetadata: false ({LOCAL_SQL} compiled without CDC metadata)", LOCAL_DEFAULT.name
        else:
            use, migrate = f"{CONFLUENT_NO_OP_SQL} (cdcMetadata: false)", V2_DEBEZIUM.name
        raise ConfigError(
            f"{source} sets cdcMetadata: true but connector variant {variant.name} adds no "
            f"{'/'.join(METADATA_FIELDS)}",
            fix=f"use {use} or migrate to {migrate}",
        )
    if not cdc_metadata and variant.adds_cdc_metadata:
        sql = LOCAL_SQL if variant.local else CONFLUENT_SQL
        basic = LOCAL_VARIANTS[-1].name if variant.local else CDC_SOURCE_BASIC.name
        raise ConfigError(
            f"{source} sets cdcMetadata: false but connector variant {variant.name} adds "
            f"{'/'.join(variant.cdc_fields)} (updates and deletes would be routed as creates)",
            fix=f"set cdcMetadata: true and use {sql} with {variant.name} (cdcMetadata: false pairs only with {basic})",
        )
