import json

import pytest

from consumers import car, loan, loan_payment, service
from consumers.events import MalformedEvent, jsonable, parse_value
from tests.unit.consumers.samples import (TS_MS, as_bytes, car_created, car_service_done, loan_created,
                                          loan_payment_submitted, record)


def test_flat_fields_and_cdc_metadata():
    event = parse_value(as_bytes(loan_created("evt-1")))
    assert (event.id, event.event_name, event.event_type) == ("evt-1", "LoanCreated", "LoanCreated")
    assert event.created_date == "2025-11-20T09:15:00Z" and event.saved_date == "2025-11-20T09:15:02.123456Z"
    assert (event.op, event.table, event.ts_ms, event.deleted) == ("c", "business_events", TS_MS, False)
    assert event.header["uuid"] == "evt-1" and len(event.entities) == 1


def test_loan_summary():
    event = parse_value(as_bytes(loan_created()))
    assert loan.summarize(event) == [{
        "type": "Loan", "id": "loan-20251120-0042", "loanAmount": 48500.0, "balance": 48500.0, "status": "active",
        "interestRate": 6.49, "termMonths": 60, "borrowerId": "customer-88213", "vehicleVin": "5YJ3E1EA7KF317000",
        "originationDate": "2025-11-20"}]


def test_loan_payment_summary():
    event = parse_value(as_bytes(loan_payment_submitted()))
    [item] = loan_payment.summarize(event)
    assert item["type"] == "LoanPayment" and item["id"] == "payment-7731"
    assert (item["amount"], item["paymentDate"], item["loanId"]) == (912.37, "2025-12-01", "loan-20251120-0042")
    assert "missing" not in item


def test_loan_payment_with_the_short_group_name():
    value = record("p-2", "LoanPaymentSubmitted", [{"entityType": "LoanPayment", "entityId": "x",
                                                      "updatedAttributes": {"payment": {"amount": 10}}}])
    [item] = loan_payment.summarize(parse_value(as_bytes(value)))
    assert item["amount"] == 10 and item["missing"] == ["paymentDate", "loanId"]


def test_car_summary():
    [item] = car.summarize(parse_value(as_bytes(car_created())))
    assert {k: item[k] for k in ("make", "model", "year", "vin", "mileage")} == {
        "make": "Tesla", "model": "Model 3", "year": 2019, "vin": "5YJ3E1EA7KF317000", "mileage": 41230}


def test_service_summary_keeps_nested_dealer_and_lists_other_entities():
    event = parse_value(as_bytes(car_service_done()))
    assert event.event_type == "ServiceEvent"
    svc, other = service.summarize(event)
    assert svc["serviceType"] == "Brake pad replacement" and svc["cost"] == 685.4 and svc["mileage"] == 41290
    assert svc["dealer"] == {"dealerId": "dealer-14", "name": "Bay Motors"}
    assert other == {"type": "Car", "id": "car-5YJ3E1EA7KF317000"}


def test_missing_optional_attributes_are_tolerated():
    value = record("evt-2", "LoanCreated", [{"entityType": "loan", "entityId": "l-1"}], ts_ms=None)
    del value["__op"], value["__table"], value["__deleted"], value["event_type"]
    event = parse_value(as_bytes(value))
    assert (event.op, event.table, event.ts_ms, event.deleted, event.event_type) == (None, None, None, None, None)
    assert loan.summarize(event) == [{"type": "loan", "id": "l-1", "missing": ["loanAmount", "balance", "status"]}]


def test_attributes_without_a_group_are_read_flat():
    value = record("evt-3", "CarCreated", [{"entityType": "Car", "updatedAttributes": {"make": "BMW", "year": 2020}}])
    [item] = car.summarize(parse_value(as_bytes(value)))
    assert item["make"] == "BMW" and item["missing"] == ["model", "vin"] and item["id"] is None


@pytest.mark.parametrize("event_data", [
    "{}", '{"eventHeader": 5}', '{"eventBody": {"entities": "nope"}}', '{"eventBody": {"entities": [1, null, "x"]}}',
])
def test_odd_but_valid_event_data_is_processed_with_no_entities(event_data):
    value = {"id": "e", "event_name": "CarCreated", "event_data": event_data}
    event = parse_value(json.dumps(value))
    assert event.entities == () and car.summarize(event) == []


def test_deleted_and_string_timestamps():
    event = parse_value(as_bytes(loan_created(op="d", deleted="true", ts_ms=None, __ts_ms="1763630102001")))
    assert (event.op, event.deleted, event.ts_ms) == ("d", True, 1763630102001)


def test_numeric_id_is_accepted_as_text():
    value = loan_created()
    value["id"] = 42
    assert parse_value(as_bytes(value)).id == "42"


def test_overflowing_numbers_stay_json_safe():
    value = record("e", "LoanCreated", [])
    value["event_data"] = ('{"eventBody":{"entities":[{"entityType":"Loan","updatedAttributes":'
                           '{"loan":{"loanAmount":1e400,"balance":12345678901234567890,"status":"x"}}}]}}')
    [item] = loan.summarize(parse_value(as_bytes(value)))
    assert json.loads(json.dumps(item, allow_nan=False))["loanAmount"] == "inf"
    assert item["balance"] == 12345678901234567890
    assert jsonable({"a": [float("nan")]}) == {"a": ["nan"]}


def _with(**changes):
    value = loan_created()
    for key, val in changes.items():
        if val is ...:
            value.pop(key)
        else:
            value[key] = val
    return as_bytes(value)


@pytest.mark.parametrize(("raw", "reason"), [
    (None, "record has no value (tombstone)"),
    (b"\xff\xfe", "value is not UTF-8 text"),
    (b"not json at all", "value is not JSON (Expecting value: line 1 column 1 (char 0))"),
    (b"", "value is not JSON (Expecting value: line 1 column 1 (char 0))"),
    (b'{"id": "x", ', "value is not JSON ("),
    (b"NaN", "value is not JSON (NaN is not valid JSON)"),
    (b"[1, 2]", "value is a JSON array, not an object"),
    (b'"text"', "value is a JSON string, not an object"),
    (b"null", "value is a JSON null, not an object"),
    (_with(id=...), "missing required field 'id'"),
    (_with(id=None), "missing required field 'id'"),
    (_with(id=""), "missing required field 'id'"),
    (_with(id={"a": 1}), "field 'id' is a JSON object, not a string"),
    (_with(id=True), "field 'id' is a JSON boolean, not a string"),
    (_with(event_name=...), "missing required field 'event_name'"),
    (_with(event_name=None), "missing required field 'event_name'"),
    (_with(event_data=...), "missing required field 'event_data'"),
    (_with(event_data=None), "missing required field 'event_data'"),
    (_with(event_data={"eventHeader": {}}), "event_data is a JSON object, not a JSON string"),
    (_with(event_data=7), "event_data is a JSON number, not a JSON string"),
    (_with(event_data="{not json"), "event_data is not valid JSON (Expecting property name enclosed in double quotes"),
    (_with(event_data=""), "event_data is not valid JSON ("),
    (_with(event_data='{"a": NaN}'), "event_data is not valid JSON (NaN is not valid JSON)"),
    (_with(event_data="[1]"), "event_data is a JSON array, not an object"),
    (_with(event_data='"nested"'), "event_data is a JSON string, not an object"),
])
def test_malformed_records_are_classified(raw, reason):
    with pytest.raises(MalformedEvent) as info:
        parse_value(raw)
    assert info.value.reason.startswith(reason)
    assert "\n" not in info.value.reason


def test_schema_registry_framed_json_is_read_like_plain_json():
    """Confluent Flink's json-registry sink writes magic byte 0 + a 4-byte schema id before the JSON."""
    plain = as_bytes(loan_created("sr-1"))
    framed = b"\x00" + (100001).to_bytes(4, "big") + plain
    assert parse_value(framed) == parse_value(plain)
    with pytest.raises(MalformedEvent, match="no schema id"):
        parse_value(b"\x00\x01")
