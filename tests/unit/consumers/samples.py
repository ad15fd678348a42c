"""Realistic records of the four filtered topics, as Flink writes them (flat JSON, event_data as text)."""

from __future__ import annotations

import json
from typing import Any

TS_MS = 1763630102000  # __ts_ms: the source commit time


def record(event_id: str, event_name: str, entities: list[dict], *, event_type: str | None = None,
           op: str = "c", ts_ms: int | None = TS_MS, deleted: str = "false", **extra: Any) -> dict:
    event_type = event_name if event_type is None else event_type
    event_data = {
        "eventHeader": {"uuid": event_id, "eventName": event_name, "eventType": event_type,
                        "createdDate": "2025-11-20T09:15:00Z", "savedDate": "2025-11-20T09:15:02Z"},
        "eventBody": {"entities": entities},
    }
    value = {"id": event_id, "event_name": event_name, "event_type": event_type,
             "created_date": "2025-11-20T09:15:00Z", "saved_date": "2025-11-20T09:15:02.123456Z",
             "event_data": json.dumps(event_data), "__op": op, "__table": "business_events",
             "__ts_ms": ts_ms, "__deleted": deleted}
    value.update(extra)
    return value


def loan_created(event_id: str = "evt-loan-0001", **kw: Any) -> dict:
    return record(event_id, "LoanCreated", [{
        "entityType": "Loan", "entityId": "loan-20251120-0042",
        "updatedAttributes": {"loan": {
            "loanAmount": 48500.0, "balance": 48500.0, "interestRate": 6.49, "termMonths": 60,
            "status": "active", "borrowerId": "customer-88213", "vehicleVin": "5YJ3E1EA7KF317000",
            "originationDate": "2025-11-20"}}}], **kw)


def loan_payment_submitted(event_id: str = "evt-pay-0001", **kw: Any) -> dict:
    return record(event_id, "LoanPaymentSubmitted", [{
        "entityType": "LoanPayment", "entityId": "payment-7731",
        "updatedAttributes": {"loanPayment": {
            "amount": 912.37, "paymentDate": "2025-12-01", "loanId": "loan-20251120-0042",
            "paymentMethod": "ACH", "currency": "USD", "principalAmount": 650.11, "interestAmount": 262.26}}}],
        **kw)


def car_created(event_id: str = "evt-car-0001", **kw: Any) -> dict:
    return record(event_id, "CarCreated", [{
        "entityType": "Car", "entityId": "car-5YJ3E1EA7KF317000",
        "updatedAttributes": {"car": {
            "make": "Tesla", "model": "Model 3", "year": 2019, "vin": "5YJ3E1EA7KF317000", "color": "Midnight Silver",
            "mileage": 41230, "price": 28900.0, "trim": "Long Range", "ownerId": "customer-88213"}}}], **kw)


def car_service_done(event_id: str = "evt-svc-0001", **kw: Any) -> dict:
    return record(event_id, "CarServiceDone", [{
        "entityType": "Service", "entityId": "service-2025-11-77",
        "updatedAttributes": {"service": {
            "serviceType": "Brake pad replacement", "description": "Front pads and rotors", "cost": 685.4,
            "mileage": 41290, "serviceDate": "2025-11-22", "dealer": {"dealerId": "dealer-14", "name": "Bay Motors"},
            "vin": "5YJ3E1EA7KF317000"}}},
        {"entityType": "Car", "entityId": "car-5YJ3E1EA7KF317000", "updatedAttributes": {}}],
        event_type="ServiceEvent", **kw)


def as_bytes(value: dict) -> bytes:
    return json.dumps(value).encode()
