"""Publishing market data messages to a message bus (Kafka)."""
