"""Adapters: one package per target (local engines, Confluent Cloud, AWS), each implementing `pipeline.ports`."""
