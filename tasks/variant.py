"""The connector variant an environment runs, checked against the filters it must feed (the seed's matrix)."""

from __future__ import annotations

from pathlib import Path

from connectors.variants import Variant, check_compatibility, get_variant
from filters.loader import load_pipeline
from pipeline.paths import FILTERS_FILE, display


def checked_variant(variant_name: str, filters_file: Path = FILTERS_FILE) -> Variant:
    """The variant; refused in one line when the filters' cdcMetadata does not match what it captures."""
    variant = get_variant(variant_name)
    check_compatibility(variant, load_pipeline(filters_file).source.cdc_metadata, source=display(filters_file))
    return variant
