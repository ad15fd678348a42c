"""How a task gets its adapters: settings (plain data, safe as a Prefect parameter) in, ports out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from environments.factory import build
from environments.settings import ENVIRONMENTS, CloudSettings, LocalSettings, load_settings
from pipeline.ports import Environment

Settings = LocalSettings | CloudSettings
__all__ = ["ENVIRONMENTS", "Settings", "environment", "settings_for"]


def settings_for(environment: str) -> Settings:
    """The environment's settings; a missing value is one line naming every missing variable."""
    return load_settings(environment)


@contextmanager
def environment(cfg: Settings) -> Iterator[Environment]:
    env = build(cfg)
    try:
        yield env
    finally:
        env.close()
