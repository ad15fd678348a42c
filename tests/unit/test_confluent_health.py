"""The Confluent Cloud health probe reads the routing statements' phases (shapes as the statements API lists
them: tests/contract/fixtures) and restarts nothing it does not run."""

from __future__ import annotations

import pytest

from environments.confluent.health import ConfluentHealthProbe
from pipeline.errors import ConfigError, TransientError


class FakeStatements:
    prefix = "business-events-routing-"

    def __init__(self, statements, exceptions=None):
        self.statements, self.exceptions_of = statements, exceptions or {}

    def list_statements(self):
        return self.statements

    def exceptions(self, name):
        value = self.exceptions_of.get(name)
        if isinstance(value, Exception):
            raise value
        return value


def _stmt(name, phase, created="2026-12-01T00:00:00Z", detail=""):
    return {"name": name, "metadata": {"created_at": created}, "status": {"phase": phase, "detail": detail}}


def test_live_statements_are_read_and_others_ignored():
    probe = ConfluentHealthProbe(FakeStatements([
        _stmt("business-events-routing-a", "RUNNING"), _stmt("business-events-routing-old", "STOPPED"),
        _stmt("someone-elses", "FAILED")]), fleet=None)
    (reading,) = probe.routing()
    assert (reading.name, reading.state, reading.checkpoint_age_seconds, reading.error) == (
        "business-events-routing-a", "RUNNING", None, None)


def test_with_none_live_the_newest_failed_statement_is_reported_with_its_error():
    probe = ConfluentHealthProbe(FakeStatements(
        [_stmt("business-events-routing-a", "FAILED", "2026-12-01T00:00:00Z", "old failure"),
         _stmt("business-events-routing-b", "FAILED", "2026-12-02T00:00:00Z", "Cannot deserialize")],
        {"business-events-routing-b": "JsonParseException: Unexpected character"}), fleet=None)
    (reading,) = probe.routing()
    assert reading.name == "business-events-routing-b"
    assert reading.error == "Cannot deserialize; JsonParseException: Unexpected character"
    unreadable = ConfluentHealthProbe(FakeStatements([_stmt("business-events-routing-b", "FAILED", detail="x")],
                                                     {"business-events-routing-b": TransientError("429")}), fleet=None)
    assert unreadable.routing()[0].error == "x"


def test_nothing_is_restarted_or_restored_on_managed_services():
    probe = ConfluentHealthProbe(FakeStatements([]), fleet=None)
    assert probe.engines() == [] and probe.routing() == [] and probe.latest_checkpoint("x") is None
    assert not probe.RESTARTS_ENGINES and not probe.RESTORES_FROM_CHECKPOINTS
    with pytest.raises(ConfigError):
        probe.start_engine("kafka")
