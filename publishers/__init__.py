"""Publishing encoded records to a message bus (Kafka)."""
