"""Prefect flows: orchestration only. Each module is one flow, runnable as `python -m flows.<module>`."""
