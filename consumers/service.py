"""Service consumer: `CarServiceDone` events from filtered-service-events (group service-consumer-group).

The route matches on event_name, so the entity may be called Service, CarService or ServiceRecord.
Run: python -m consumers.service
"""

from __future__ import annotations

from consumers.config import ConsumerSpec
from consumers.events import BusinessEvent, EntityKind, summarize_entities

KIND = EntityKind(
    types=("Service", "CarService", "ServiceRecord"),
    groups=("service", "carService", "serviceRecord"),
    fields=("serviceType", "description", "cost", "currency", "mileage", "serviceDate", "dealer", "dealerId",
            "dealerName", "technician", "carId", "vin"),
    essential=("serviceType", "cost"),
)


def summarize(event: BusinessEvent) -> list[dict]:
    return summarize_entities(event, KIND)


SPEC = ConsumerSpec(name="service", module="consumers.service", topic="filtered-service-events",
                    group_id="service-consumer-group", event_types=("CarServiceDone",), handler=summarize)

if __name__ == "__main__":
    from consumers.runtime import main

    raise SystemExit(main(SPEC))
