"""The publisher of the configured Kafka client (``kafka.client``)."""
from __future__ import annotations

from domain.settings import KafkaSettings
from publishers.base import MessagePublisher


def make_publisher(settings: KafkaSettings, data_type: str) -> MessagePublisher:
    if settings.client == "confluent-kafka":
        # imported only when chosen: confluent-kafka is an optional extra
        from publishers.confluent_publisher import ConfluentPublisher

        return ConfluentPublisher(settings, data_type)
    if settings.client == "kafka-python":
        from publishers.kafka_publisher import KafkaPublisher

        return KafkaPublisher(settings, data_type)
    raise ValueError(f"kafka.client must be kafka-python or confluent-kafka, got {settings.client!r}")
