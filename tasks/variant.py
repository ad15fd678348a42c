"""The connector variant an environment runs, checked against the filters it must feed (the seed's matrix)
and against what actually runs (after a migrate-connector, the recorded variant wins over the settings)."""

from __future__ import annotations

from pathlib import Path

from connectors.migration import VARIANT_KEY
from connectors.variants import Variant, check_compatibility, get_variant, local_variant_for
from filters.loader import load_pipeline
from pipeline.delivery import DeliveryMode, check_mode_fits
from pipeline.errors import ConfigError
from pipeline.paths import FILTERS_FILE, display
from pipeline.ports import Environment



def checked_variant(variant_name: str, filters_file: Path = FILTERS_FILE, mode: DeliveryMode | None = None) -> Variant:
    """The variant; refused in one line when the filters' cdcMetadata does not match what it captures, or when
    the delivery mode needs a field (`__lsn`) it does not add."""
    variant = get_variant(variant_name)
    check_compatibility(variant, load_pipeline(filters_file).source.cdc_metadata, source=display(filters_file))
    if mode is not None:
        check_mode_fits(mode, variant.name, variant.carries_lsn)
    return variant


def as_run_by(env: Environment, name: str) -> Variant:
    """A variant as this environment runs it: locally every seed variant is its local reproduction."""
    variant = get_variant(name)
    return local_variant_for(variant) if env.kind == "local" else variant


def recorded_variant(env: Environment) -> str | None:
    record = env.rollout_store.load(VARIANT_KEY)
    return record.get("variant") if record else None


def record_variant(env: Environment, variant: Variant) -> None:
    env.rollout_store.save(VARIANT_KEY, {"variant": variant.name})


def matching_variant(env: Environment, variant_name: str) -> Variant:
    """The settings' variant, refused when a migration left another one running: re-registering or re-routing
    for the settings' variant would switch shapes without draining (events lost or duplicated)."""
    wanted = as_run_by(env, variant_name)
    running = recorded_variant(env)
    if running and running != wanted.name:
        raise ConfigError(f"the connector runs variant {running} but CDC_CONNECTOR_VARIANT asks for {wanted.name}",
                          fix=f"set CDC_CONNECTOR_VARIANT={running.removeprefix('local-')}, or switch safely with "
                              f"migrate-connector (target {variant_name})")
    return wanted
