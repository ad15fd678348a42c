"""The cloud rollout store keeps records larger than a Prefect Variable holds (5,000 characters)."""

from __future__ import annotations

import json
import os

import pytest
from prefect.types import MAX_VARIABLE_VALUE_LENGTH
from prefect.variables import Variable

from environments.rollout_store import PrefectVariableRolloutStore
from filters.compiler import compile_job
from filters.loader import load_pipeline
from pipeline import rollout
from pipeline.errors import PipelineError
from pipeline.paths import FILTERS_FILE


@pytest.fixture
def variables(monkeypatch):
    """Prefect's Variable API as a dict, refusing what the server refuses (its length check)."""
    stored: dict[str, str] = {}

    def set_(name, value, overwrite=False):
        if len(json.dumps(value)) > MAX_VARIABLE_VALUE_LENGTH:
            raise ValueError(f"Variable value must be less than {MAX_VARIABLE_VALUE_LENGTH} characters")
        stored[name] = value

    monkeypatch.setattr(Variable, "set", staticmethod(set_))
    monkeypatch.setattr(Variable, "get", staticmethod(lambda name, default=None: stored.get(name, default)))
    return stored


def test_a_routing_jobs_record_outgrowing_one_variable_is_kept_in_parts(variables):
    seed = load_pipeline(FILTERS_FILE)  # the seed's four routes, and six more
    more = [f.model_copy(update={"id": f"{f.id}-{n}", "output_topic": f"{f.output_topic}-{n}"})
            for n in (2, 3) for f in seed.filters[:3]]
    job = compile_job(seed.model_copy(update={"filters": seed.filters + tuple(more)}), "confluent")
    fp = rollout.fingerprint(job)
    record = rollout.record_of(job, fp, "stmt-1")
    assert len(json.dumps(json.dumps(record))) > 2 * MAX_VARIABLE_VALUE_LENGTH
    store = PrefectVariableRolloutStore("dev")
    store.save(fp, record)
    assert store.load(fp) == record
    assert any(name.endswith("_part0") for name in variables)


def test_a_small_record_stays_one_readable_variable(variables):
    store = PrefectVariableRolloutStore("dev")
    store.save("routing-current", {"fingerprint": "abc", "job_id": "j"})
    assert json.loads(variables["cdc_dev_rollout_routing_current"]) == {"fingerprint": "abc", "job_id": "j"}
    assert store.load("routing-current") == {"fingerprint": "abc", "job_id": "j"}
    assert store.load("nothing") is None


def test_a_torn_record_is_refused_with_one_line(variables):
    store = PrefectVariableRolloutStore("dev")
    store.save("fp", {"statements": [os.urandom(8000).hex()]})  # incompressible: several parts
    variables["cdc_dev_rollout_fp_part1"] = variables["cdc_dev_rollout_fp_part1"][:-10]
    with pytest.raises(PipelineError, match="incomplete"):
        store.load("fp")
