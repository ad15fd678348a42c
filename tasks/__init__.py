"""Prefect tasks: one step each, each a thin wrapper over a plain function that tests call directly."""
