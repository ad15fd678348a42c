"""Shared core of the CDC pipeline: settings, errors and the strict base model."""
