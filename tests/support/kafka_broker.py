"""Kafka broker fixture (filled in)."""
