import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Exchange(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXCHANGE_UNSPECIFIED: _ClassVar[Exchange]
    UPBIT: _ClassVar[Exchange]
    BITHUMB: _ClassVar[Exchange]

class Side(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIDE_UNSPECIFIED: _ClassVar[Side]
    ASK: _ClassVar[Side]
    BID: _ClassVar[Side]

class Change(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANGE_UNSPECIFIED: _ClassVar[Change]
    RISE: _ClassVar[Change]
    EVEN: _ClassVar[Change]
    FALL: _ClassVar[Change]

class StreamType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STREAM_TYPE_UNSPECIFIED: _ClassVar[StreamType]
    SNAPSHOT: _ClassVar[StreamType]
    REALTIME: _ClassVar[StreamType]
EXCHANGE_UNSPECIFIED: Exchange
UPBIT: Exchange
BITHUMB: Exchange
SIDE_UNSPECIFIED: Side
ASK: Side
BID: Side
CHANGE_UNSPECIFIED: Change
RISE: Change
EVEN: Change
FALL: Change
STREAM_TYPE_UNSPECIFIED: StreamType
SNAPSHOT: StreamType
REALTIME: StreamType

class Trade(_message.Message):
    __slots__ = ("exchange", "code", "price", "volume", "side", "trade_time", "event_time", "received_time", "sequential_id", "stream_type", "prev_closing_price", "change", "change_price", "best_ask_price", "best_ask_size", "best_bid_price", "best_bid_size")
    EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    TRADE_TIME_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_TIME_FIELD_NUMBER: _ClassVar[int]
    SEQUENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_TYPE_FIELD_NUMBER: _ClassVar[int]
    PREV_CLOSING_PRICE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_PRICE_FIELD_NUMBER: _ClassVar[int]
    BEST_ASK_PRICE_FIELD_NUMBER: _ClassVar[int]
    BEST_ASK_SIZE_FIELD_NUMBER: _ClassVar[int]
    BEST_BID_PRICE_FIELD_NUMBER: _ClassVar[int]
    BEST_BID_SIZE_FIELD_NUMBER: _ClassVar[int]
    exchange: Exchange
    code: str
    price: str
    volume: str
    side: Side
    trade_time: _timestamp_pb2.Timestamp
    event_time: _timestamp_pb2.Timestamp
    received_time: _timestamp_pb2.Timestamp
    sequential_id: int
    stream_type: StreamType
    prev_closing_price: str
    change: Change
    change_price: str
    best_ask_price: str
    best_ask_size: str
    best_bid_price: str
    best_bid_size: str
    def __init__(self, exchange: _Optional[_Union[Exchange, str]] = ..., code: _Optional[str] = ..., price: _Optional[str] = ..., volume: _Optional[str] = ..., side: _Optional[_Union[Side, str]] = ..., trade_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., received_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sequential_id: _Optional[int] = ..., stream_type: _Optional[_Union[StreamType, str]] = ..., prev_closing_price: _Optional[str] = ..., change: _Optional[_Union[Change, str]] = ..., change_price: _Optional[str] = ..., best_ask_price: _Optional[str] = ..., best_ask_size: _Optional[str] = ..., best_bid_price: _Optional[str] = ..., best_bid_size: _Optional[str] = ...) -> None: ...

class PriceLevel(_message.Message):
    __slots__ = ("price", "size")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    price: str
    size: str
    def __init__(self, price: _Optional[str] = ..., size: _Optional[str] = ...) -> None: ...

class Orderbook(_message.Message):
    __slots__ = ("exchange", "code", "asks", "bids", "total_ask_size", "total_bid_size", "event_time", "received_time", "stream_type", "level")
    EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    ASKS_FIELD_NUMBER: _ClassVar[int]
    BIDS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ASK_SIZE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BID_SIZE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_TIME_FIELD_NUMBER: _ClassVar[int]
    STREAM_TYPE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    exchange: Exchange
    code: str
    asks: _containers.RepeatedCompositeFieldContainer[PriceLevel]
    bids: _containers.RepeatedCompositeFieldContainer[PriceLevel]
    total_ask_size: str
    total_bid_size: str
    event_time: _timestamp_pb2.Timestamp
    received_time: _timestamp_pb2.Timestamp
    stream_type: StreamType
    level: str
    def __init__(self, exchange: _Optional[_Union[Exchange, str]] = ..., code: _Optional[str] = ..., asks: _Optional[_Iterable[_Union[PriceLevel, _Mapping]]] = ..., bids: _Optional[_Iterable[_Union[PriceLevel, _Mapping]]] = ..., total_ask_size: _Optional[str] = ..., total_bid_size: _Optional[str] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., received_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stream_type: _Optional[_Union[StreamType, str]] = ..., level: _Optional[str] = ...) -> None: ...

class ConnectionEvent(_message.Message):
    __slots__ = ("exchange", "connection_id", "codes", "kind", "from_time", "to_time", "trades_recovered", "gap_closed", "reason", "event_time", "added_codes", "removed_codes")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[ConnectionEvent.Kind]
        CONNECTED: _ClassVar[ConnectionEvent.Kind]
        DISCONNECTED: _ClassVar[ConnectionEvent.Kind]
        RESUBSCRIBED: _ClassVar[ConnectionEvent.Kind]
        BACKFILLED: _ClassVar[ConnectionEvent.Kind]
        GAP: _ClassVar[ConnectionEvent.Kind]
        MARKETS_CHANGED: _ClassVar[ConnectionEvent.Kind]
    KIND_UNSPECIFIED: ConnectionEvent.Kind
    CONNECTED: ConnectionEvent.Kind
    DISCONNECTED: ConnectionEvent.Kind
    RESUBSCRIBED: ConnectionEvent.Kind
    BACKFILLED: ConnectionEvent.Kind
    GAP: ConnectionEvent.Kind
    MARKETS_CHANGED: ConnectionEvent.Kind
    EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CODES_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FROM_TIME_FIELD_NUMBER: _ClassVar[int]
    TO_TIME_FIELD_NUMBER: _ClassVar[int]
    TRADES_RECOVERED_FIELD_NUMBER: _ClassVar[int]
    GAP_CLOSED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    ADDED_CODES_FIELD_NUMBER: _ClassVar[int]
    REMOVED_CODES_FIELD_NUMBER: _ClassVar[int]
    exchange: Exchange
    connection_id: str
    codes: _containers.RepeatedScalarFieldContainer[str]
    kind: ConnectionEvent.Kind
    from_time: _timestamp_pb2.Timestamp
    to_time: _timestamp_pb2.Timestamp
    trades_recovered: int
    gap_closed: bool
    reason: str
    event_time: _timestamp_pb2.Timestamp
    added_codes: _containers.RepeatedScalarFieldContainer[str]
    removed_codes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, exchange: _Optional[_Union[Exchange, str]] = ..., connection_id: _Optional[str] = ..., codes: _Optional[_Iterable[str]] = ..., kind: _Optional[_Union[ConnectionEvent.Kind, str]] = ..., from_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., to_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., trades_recovered: _Optional[int] = ..., gap_closed: _Optional[bool] = ..., reason: _Optional[str] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., added_codes: _Optional[_Iterable[str]] = ..., removed_codes: _Optional[_Iterable[str]] = ...) -> None: ...
