"""Delivery modes: how the filtered topics reach the consumers, a trade-off chosen per environment.

`exactly-once` (the default): the routing job's sinks are transactional and commit on each checkpoint;
consumers read `read_committed`, so a record becomes visible only when its checkpoint commits (latency
about half the checkpoint interval plus the checkpoint itself), and a routing-job restart duplicates
nothing.

`low-latency`: consumers read `read_uncommitted` and see a record as soon as the sink writes it. The local
routing job's sinks become at-least-once (no transactions at all); on Confluent Cloud the statements stay
exactly-once and only the readers change (Confluent's own advice for latency below 100 ms). Either way a
restart of the job can show a record twice, so the consumers drop duplicates by a key unique per row
change: the event id plus the change's LSN (`__lsn`, added by the connector), remembered in a store that
survives a consumer restart. That the LSN is unique per row change is Debezium's reading of the WAL and
not verified here beyond the tests (../shared/reference/latency-and-throughput.md, section 2).

Pure: plain data and checks, no I/O. Set with CDC_DELIVERY_MODE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.errors import ConfigError

VARIABLE = "CDC_DELIVERY_MODE"
ModeName = Literal["exactly-once", "low-latency"]


@dataclass(frozen=True)
class DeliveryMode:
    name: ModeName
    #: the guarantee of the sinks the project configures itself (the local Flink job's Kafka sinks)
    sink_guarantee: Literal["exactly-once", "at-least-once"]
    #: how every reader of the filtered topics reads (the consumers, the smoke test, the benchmark)
    isolation_level: Literal["read_committed", "read_uncommitted"]
    #: consumers drop a record whose (id, __lsn) they have already processed
    deduplicates: bool
    #: one line for docs, artifacts and the benchmark's labels
    summary: str


EXACTLY_ONCE = DeliveryMode(
    name="exactly-once", sink_guarantee="exactly-once", isolation_level="read_committed", deduplicates=False,
    summary="transactional sinks, read_committed readers: nothing twice, visible at each checkpoint")
LOW_LATENCY = DeliveryMode(
    name="low-latency", sink_guarantee="at-least-once", isolation_level="read_uncommitted", deduplicates=True,
    summary="at-least-once sinks, read_uncommitted readers, consumers drop duplicates by id + __lsn")

MODES: dict[str, DeliveryMode] = {m.name: m for m in (EXACTLY_ONCE, LOW_LATENCY)}
DEFAULT = EXACTLY_ONCE


def delivery_mode(name: str | None, *, where: str = VARIABLE) -> DeliveryMode:
    """The mode called `name` (None or blank: the default); one line naming the valid ones otherwise."""
    if name is None or not str(name).strip():
        return DEFAULT
    try:
        return MODES[str(name).strip()]
    except KeyError:
        raise ConfigError(f"{where}={name!r} is not a delivery mode",
                          fix=f"use one of {', '.join(MODES)}") from None


def check_mode_fits(mode: DeliveryMode, variant_name: str, carries_lsn: bool) -> None:
    """Refuse a low-latency mode behind a connector variant whose records carry no `__lsn`: the consumers
    would have no key to drop duplicates by, and a job restart would deliver events twice."""
    if mode.deduplicates and not carries_lsn:
        raise ConfigError(f"{VARIABLE}={mode.name} needs __lsn in every raw record, but connector variant "
                          f"{variant_name} adds none",
                          fix=f"use {VARIABLE}=exactly-once, or migrate to a variant with ExtractNewRecordState "
                              "(e.g. v2-debezium / local)")
