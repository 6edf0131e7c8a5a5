"""Seed S1.4-b and S1.6: exception hierarchy, context, JSON form, chaining."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from domain.exceptions import (
    ConnectionException,
    ConnectionFailedException,
    DataIngestionException,
    PublishException,
    SerializationException,
    ValidationException,
)
from domain.records import Exchange

pytestmark = pytest.mark.unit


def test_S1_4_b_connection_failed_derives_from_data_ingestion_exception() -> None:
    assert issubclass(ConnectionFailedException, ConnectionException)
    assert issubclass(ConnectionFailedException, DataIngestionException)


def test_S1_6_a_all_exceptions_share_one_root() -> None:
    for cls in (ConnectionException, ConnectionFailedException, ValidationException, PublishException,
                SerializationException):
        assert issubclass(cls, DataIngestionException)
    assert not issubclass(ValidationException, ConnectionException)


def test_S1_6_b_message_carries_context() -> None:
    err = ValidationException("price must be positive", exchange=Exchange.UPBIT, code="KRW-BTC",
                              data_type="trade", value=Decimal("-1"))
    text = str(err)
    for part in ("price must be positive", "exchange='upbit'", "code='KRW-BTC'", "data_type='trade'", "'-1'"):
        assert part in text
    long = ValidationException("bad frame", value="x" * 5000)
    assert len(str(long)) < 400 and "5002 chars" in str(long)


def test_S1_6_c_exceptions_are_json_serialisable() -> None:
    err = PublishException("send failed", exchange="bithumb", value=b"\xffraw", levels=(Decimal("1.5"),))
    document = json.loads(json.dumps(err.to_dict()))
    assert document["type"] == "PublishException"
    assert document["context"] == {"exchange": "bithumb", "value": "\ufffdraw", "levels": ["1.5"]}
    assert document["cause"] is None


def test_S1_6_d_original_error_is_chained_as_cause() -> None:
    with pytest.raises(ConnectionFailedException) as info:
        try:
            raise OSError("connection refused")
        except OSError as err:
            raise ConnectionFailedException("cannot connect", exchange="upbit") from err
    assert isinstance(info.value.__cause__, OSError)
    assert info.value.to_dict()["cause"] == "OSError: connection refused"
