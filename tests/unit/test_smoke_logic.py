from collections import Counter

from filters.loader import load_pipeline
from pipeline.paths import FILTERS_FILE
from pipeline.smoke import SmokeResult, expected_routing, latency_summary, plan_changes


def test_samples_route_once_each_and_negatives_nowhere():
    changes = plan_changes("r1", copies=3)
    expected = expected_routing(load_pipeline(FILTERS_FILE), changes)
    assert expected == {
        "filtered-loan-created-events": Counter({f"r1-loan-created-{i}": 1 for i in range(3)}),
        "filtered-loan-payment-submitted-events": Counter({f"r1-loan-payment-submitted-{i}": 1 for i in range(3)}),
        "filtered-service-events": Counter({f"r1-car-service-done-{i}": 1 for i in range(3)}),
        "filtered-car-created-events": Counter({f"r1-car-created-{i}": 1 for i in range(3)}),
    }
    ops = [c.op for c in changes]
    assert ops.count("u") == 1 and ops.count("d") == 1 and "r1-loan-closed" in {c.id for c in changes}


def test_problems_name_what_is_missing_and_extra():
    topic = "filtered-loan-created-events"
    result = SmokeResult("r", expected={topic: Counter({"a": 1, "b": 1})},
                         delivered={topic: Counter({"a": 2, "b": 1})}, processed={topic: Counter({"a": 1})},
                         consumers={topic: "loan"})
    assert result.problems() == [
        "filtered-loan-created-events (topic): extra or duplicated ['a']",
        "filtered-loan-created-events (consumer loan): missing ['b']",
    ]


def test_low_latency_allows_a_second_copy_in_the_topic_but_never_in_a_consumer():
    topic = "filtered-loan-created-events"
    result = SmokeResult("r", expected={topic: Counter({"a": 1, "b": 1})},
                         delivered={topic: Counter({"a": 2, "b": 1, "z": 1})},
                         processed={topic: Counter({"a": 1, "b": 2})}, consumers={topic: "loan"}, mode="low-latency")
    assert result.problems() == [
        "filtered-loan-created-events (topic): extra or duplicated ['z']",
        "filtered-loan-created-events (consumer loan): extra or duplicated ['b']",
    ]


def test_latency_summary():
    assert latency_summary([]) == {"p50": None, "p95": None, "max": None}
    values = list(range(1, 101))
    assert latency_summary(values) == {"p50": 50, "p95": 95, "max": 100}
