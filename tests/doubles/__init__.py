"""Reusable in-process doubles of the cloud services (control planes only: they never route data)."""
