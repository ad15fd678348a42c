"""Loan payment consumer: `LoanPaymentSubmitted` events from filtered-loan-payment-submitted-events
(group loan-payment-consumer-group).

Run: python -m consumers.loan_payment
"""

from __future__ import annotations

from consumers.config import ConsumerSpec
from consumers.events import BusinessEvent, EntityKind, summarize_entities

KIND = EntityKind(
    types=("LoanPayment", "Payment"),
    groups=("loanPayment", "payment"),
    fields=("amount", "paymentDate", "loanId", "paymentId", "paymentMethod", "status", "currency",
            "principalAmount", "interestAmount", "remainingBalance"),
    essential=("amount", "paymentDate", "loanId"),
)


def summarize(event: BusinessEvent) -> list[dict]:
    return summarize_entities(event, KIND)


SPEC = ConsumerSpec(name="loan-payment", module="consumers.loan_payment",
                    topic="filtered-loan-payment-submitted-events", group_id="loan-payment-consumer-group",
                    event_types=("LoanPaymentSubmitted",), handler=summarize)

if __name__ == "__main__":
    from consumers.runtime import main

    raise SystemExit(main(SPEC))
