"""Confluent Cloud adapters: managed Connect (connect/v1), Flink statements (sql/v1), Schema Registry.

Every request goes through `environments.http.RestClient`. The API shapes come from
../shared/reference/confluent-cloud-api.md; the contract tests in tests/contract/ serve them.
"""
