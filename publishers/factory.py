"""The publisher of the configured Kafka client (``kafka.client``)."""
from __future__ import annotations

from domain.settings import KafkaSettings
from publishers.base import MessagePublisher
from publishers.delivery import DeliveryObserver


def make_publisher(settings: KafkaSettings, data_type: str,
                   observer: DeliveryObserver | None = None) -> MessagePublisher:
    """``observer`` is told of every record's fate (the events publisher's per-exchange counts)."""
    if settings.client == "confluent-kafka":
        # imported only when chosen: confluent-kafka is an optional extra
        from publishers.confluent_publisher import ConfluentPublisher

        return ConfluentPublisher(settings, data_type, observer=observer)
    if settings.client == "kafka-python":
        from publishers.kafka_publisher import KafkaPublisher

        return KafkaPublisher(settings, data_type, observer=observer)
    raise ValueError(f"kafka.client must be kafka-python or confluent-kafka, got {settings.client!r}")
