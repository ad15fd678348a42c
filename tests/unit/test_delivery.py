"""Delivery modes: what each one sets, and the one-line refusals."""

import pytest

from connectors.variants import get_variant
from environments.settings import load_cloud_settings, load_local_settings
from pipeline.delivery import EXACTLY_ONCE, LOW_LATENCY, check_mode_fits, delivery_mode
from pipeline.errors import ConfigError


def test_modes():
    assert delivery_mode(None) is EXACTLY_ONCE and delivery_mode("  ") is EXACTLY_ONCE
    assert delivery_mode("low-latency") is LOW_LATENCY
    assert (EXACTLY_ONCE.sink_guarantee, EXACTLY_ONCE.isolation_level, EXACTLY_ONCE.deduplicates) == (
        "exactly-once", "read_committed", False)
    assert (LOW_LATENCY.sink_guarantee, LOW_LATENCY.isolation_level, LOW_LATENCY.deduplicates) == (
        "at-least-once", "read_uncommitted", True)
    with pytest.raises(ConfigError) as err:
        delivery_mode("at-most-once")
    assert str(err.value) == ("CDC_DELIVERY_MODE='at-most-once' is not a delivery mode — fix: use one of "
                              "exactly-once, low-latency")


def test_low_latency_needs_a_variant_that_adds_lsn():
    for name in ("local", "v2-debezium", "debezium", "cdc-source-fixed", "local-debezium"):
        variant = get_variant(name)
        assert variant.carries_lsn, name
        check_mode_fits(LOW_LATENCY, variant.name, variant.carries_lsn)
    basic = get_variant("cdc-source-basic")
    check_mode_fits(EXACTLY_ONCE, basic.name, basic.carries_lsn)
    with pytest.raises(ConfigError) as err:
        check_mode_fits(LOW_LATENCY, basic.name, basic.carries_lsn)
    assert str(err.value).startswith("CDC_DELIVERY_MODE=low-latency needs __lsn in every raw record, but "
                                     "connector variant cdc-source-basic adds none")


def test_settings_read_the_mode(monkeypatch):
    monkeypatch.delenv("CDC_DELIVERY_MODE", raising=False)
    assert load_local_settings({}).delivery is EXACTLY_ONCE
    assert load_local_settings({"CDC_DELIVERY_MODE": "low-latency"}).delivery is LOW_LATENCY
    with pytest.raises(ConfigError, match="CDC_DELIVERY_MODE='eventually' is not a delivery mode"):
        load_local_settings({"CDC_DELIVERY_MODE": "eventually"})


def test_cloud_settings_read_the_mode():
    from tests.unit.test_settings_and_errors import CLOUD_ENV  # a complete cloud environment
    assert load_cloud_settings("dev", dict(CLOUD_ENV)).delivery is EXACTLY_ONCE
    assert load_cloud_settings("dev", {**CLOUD_ENV, "CDC_DELIVERY_MODE": "low-latency"}).delivery is LOW_LATENCY
    with pytest.raises(ConfigError, match="CDC_DELIVERY_MODE='x' is not a delivery mode"):
        load_cloud_settings("dev", {**CLOUD_ENV, "CDC_DELIVERY_MODE": "x"})
