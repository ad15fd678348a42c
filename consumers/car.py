"""Car consumer: `CarCreated` events from filtered-car-created-events (group car-consumer-group).

Run: python -m consumers.car
"""

from __future__ import annotations

from consumers.config import ConsumerSpec
from consumers.events import BusinessEvent, EntityKind, summarize_entities

KIND = EntityKind(
    types=("Car", "Vehicle"),
    groups=("car", "vehicle"),
    fields=("make", "model", "year", "vin", "trim", "color", "mileage", "price", "currency", "ownerId",
            "dealerId"),
    essential=("make", "model", "year", "vin"),
)


def summarize(event: BusinessEvent) -> list[dict]:
    return summarize_entities(event, KIND)


SPEC = ConsumerSpec(name="car", module="consumers.car", topic="filtered-car-created-events",
                    group_id="car-consumer-group", event_types=("CarCreated",), handler=summarize)

if __name__ == "__main__":
    from consumers.runtime import main

    raise SystemExit(main(SPEC))
