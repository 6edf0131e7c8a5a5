"""The publisher of the configured Kafka client (``kafka.client``)."""
from __future__ import annotations

from domain.settings import KafkaSettings
from publishers.base import MessagePublisher
from publishers.delivery import DeliveryObserver


def preload_client(client: str) -> None:
    """Imports the publisher of ``client`` and its Kafka library now, in the process that forks the
    actors: the producers then share one copy of the library's pages instead of each importing its
    own (about 17 MiB for kafka-python). An unknown client is left for ``make_publisher`` to refuse."""
    if client == "confluent-kafka":
        from publishers import confluent_publisher

        confluent_publisher.load_client()
    elif client == "kafka-python":
        from publishers import kafka_publisher

        kafka_publisher.load_client()


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
