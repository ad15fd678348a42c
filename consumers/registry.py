"""The four consumers by name, for orchestrators:

    from consumers.registry import CONSUMERS, get_consumer
    spec = get_consumer("loan-payment")
    argv = spec.command()                         # [python, "-m", "consumers.loan_payment"]
    env = {**os.environ, **spec.environment(bootstrap_servers=..., processed_output=path)}
    subprocess.Popen(argv, env=env, cwd=<project root>)
    ...
    from consumers.output import read_processed   # which ids each consumer processed, and latency
"""

from __future__ import annotations

from consumers import car, loan, loan_payment, service
from consumers.config import ConsumerSpec
from pipeline.errors import ConfigError

CONSUMERS: dict[str, ConsumerSpec] = {spec.name: spec for spec in (loan.SPEC, loan_payment.SPEC, service.SPEC, car.SPEC)}


def get_consumer(name: str) -> ConsumerSpec:
    try:
        return CONSUMERS[name]
    except KeyError:
        raise ConfigError(f"unknown consumer {name!r}", fix=f"use one of {', '.join(CONSUMERS)}") from None
