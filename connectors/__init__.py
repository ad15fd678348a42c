"""Connector configurations (pure builders) and the Kafka Connect REST client."""
