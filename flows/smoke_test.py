"""smoke-test: sample events through the whole pipeline; exactly the predicted ids in every topic and consumer."""

from __future__ import annotations

from prefect import flow

from flows.common import main, settings_for
from tasks.smoke import smoke_test_task


@flow(name="smoke-test", log_prints=True)
def smoke_test(environment: str = "local") -> dict:
    result = smoke_test_task(settings_for(environment))
    print(f"smoke test {result['run']}, delivery mode {result['delivery_mode']}:")
    for r in result["routes"]:
        print(f"  {r['route']:24s} expected {r['expected']} in-topic {r['in_topic']} processed {r['processed']} "
              f"latency p50 {r['latency_p50_ms']} ms, p95 {r['latency_p95_ms']} ms, max {r['latency_max_ms']} ms")
    return result


if __name__ == "__main__":
    main(smoke_test)
