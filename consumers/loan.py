"""Loan consumer: `LoanCreated` events from filtered-loan-created-events (group loan-consumer-group).

Run: python -m consumers.loan
"""

from __future__ import annotations

from consumers.config import ConsumerSpec
from consumers.events import BusinessEvent, EntityKind, summarize_entities

KIND = EntityKind(
    types=("Loan",),
    groups=("loan",),
    fields=("loanAmount", "balance", "status", "interestRate", "termMonths", "currency", "borrowerId",
            "customerId", "vehicleVin", "originationDate", "maturityDate"),
    essential=("loanAmount", "balance", "status"),
)


def summarize(event: BusinessEvent) -> list[dict]:
    return summarize_entities(event, KIND)


SPEC = ConsumerSpec(name="loan", module="consumers.loan", topic="filtered-loan-created-events",
                    group_id="loan-consumer-group", event_types=("LoanCreated",), handler=summarize)

if __name__ == "__main__":
    from consumers.runtime import main

    raise SystemExit(main(SPEC))
