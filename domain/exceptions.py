"""The ingestion layer's exceptions.

Every exception derives from ``DataIngestionException`` and carries keyword context (exchange, code,
data type, the offending value, ...). The context is rendered into the message so a log line alone
explains the failure, and ``to_dict()`` gives a JSON-serialisable form for structured logs and the
status endpoint. Raise with ``raise XxxException(...) from err`` so the original error stays
available as ``__cause__``.

    DataIngestionException
    +-- ConnectionException
    |   +-- ConnectionFailedException
    +-- ValidationException
    |   +-- SerializationException
    +-- PublishException
"""
from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Any

# Offending values can be whole frames; keep messages readable.
_MAX_VALUE_CHARS = 200


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):  # before str: str-based enums would otherwise print as members
        return _jsonable(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return str(value)


def _short(value: Any) -> str:
    text = repr(_jsonable(value))
    if len(text) > _MAX_VALUE_CHARS:
        return text[:_MAX_VALUE_CHARS] + f"...({len(text)} chars)"
    return text


class DataIngestionException(Exception):
    """Root of the ingestion layer's errors."""

    def __init__(self, message: str, **context: Any) -> None:
        self.message = message
        self.context: dict[str, Any] = {k: v for k, v in context.items() if v is not None}
        super().__init__(self._render())

    def _render(self) -> str:
        if not self.context:
            return self.message
        details = ", ".join(f"{key}={_short(value)}" for key, value in self.context.items())
        return f"{self.message} ({details})"

    def to_dict(self) -> dict[str, Any]:
        cause = self.__cause__
        return {
            "type": type(self).__name__,
            "message": self.message,
            "context": {key: _jsonable(value) for key, value in self.context.items()},
            "cause": None if cause is None else f"{type(cause).__name__}: {cause}",
        }


class ConnectionException(DataIngestionException):
    """A WebSocket connection problem (drop, handshake failure, error frame)."""


class ConnectionFailedException(ConnectionException):
    """Connecting failed for good: the reconnect budget is spent."""


class ValidationException(DataIngestionException):
    """Input that krwfeed refuses: malformed frames, missing fields, invalid values or settings."""


class SerializationException(ValidationException):
    """A record cannot be turned into the Protobuf contract (e.g. a required field is missing)."""


class PublishException(DataIngestionException):
    """Writing to Kafka failed."""
