"""Field builders whose error messages say what is allowed, so every SettingsError is actionable."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from marshmallow import ValidationError, fields, validate

from domain.capabilities import MARKETS_ALL


def _messages(allowed: str) -> dict[str, Any]:
    return {"required": f"required; {allowed}", "null": f"must not be empty; {allowed}", "invalid": allowed}


def text(allowed: str, *, required: bool = False, choices: tuple[str, ...] | None = None,
         upper: bool = False, min_length: int = 1, **kw: Any) -> fields.Field[Any]:
    validators: list[Any] = [validate.Length(min=min_length, error=allowed)]
    if choices:
        validators.append(validate.OneOf(choices, error=allowed))
    cls = UpperString if upper else fields.String
    return cls(required=required, validate=validators, error_messages=_messages(allowed), **kw)


def number(allowed: str, *, lo: float | None = None, hi: float | None = None, integer: bool = False,
           min_inclusive: bool = True, max_inclusive: bool = True, **kw: Any) -> fields.Field[Any]:
    rng = validate.Range(min=lo, max=hi, min_inclusive=min_inclusive, max_inclusive=max_inclusive, error=allowed)
    cls = fields.Integer if integer else fields.Float
    extra: dict[str, Any] = {"strict": True} if integer else {}
    return cls(validate=rng, error_messages=_messages(allowed), **extra, **kw)


def flag(allowed: str = "true or false", **kw: Any) -> fields.Field[Any]:
    return fields.Boolean(error_messages=_messages(allowed), **kw)


def url(schemes: tuple[str, ...], **kw: Any) -> fields.Field[Any]:
    allowed = "an absolute URL starting with " + " or ".join(f"{s}://" for s in schemes) + " and naming a host"

    def check(value: str) -> None:
        parsed = urlparse(value)
        if parsed.scheme not in schemes or not parsed.hostname:
            raise ValidationError(allowed)
        try:
            parsed.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise ValidationError(allowed + " (with a valid port)") from exc

    return fields.String(required=True, validate=check, error_messages=_messages(allowed), **kw)


class UpperString(fields.String):
    """Strips and upper-cases (market codes, log levels)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return str(super()._deserialize(value, attr, data, **kwargs)).strip().upper()


class Markets(fields.Field):  # type: ignore[type-arg]
    """``markets``: the word ``all`` (every listed market of the quote currencies) or a list of codes."""

    def __init__(self, max_codes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.codes = fields.List(UpperString(error_messages={"invalid": "a market code QUOTE-BASE such as KRW-BTC"}),
                                 validate=validate.Length(min=1, max=max_codes, error=(
                                     f"'all' or a non-empty list of at most {max_codes} market codes "
                                     "such as [KRW-BTC]")))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            if value.strip().lower() == MARKETS_ALL:
                return MARKETS_ALL
            raise ValidationError("'all' or a list of market codes such as [KRW-BTC, KRW-ETH]")
        if not isinstance(value, list | tuple):
            raise ValidationError("'all' or a list of market codes such as [KRW-BTC, KRW-ETH]")
        return self.codes.deserialize(list(value), attr, data, **kwargs)


class HostPort(fields.String):
    """``host:port`` with a port in 1..65535."""

    allowed = "host:port with a port in 1..65535, e.g. 127.0.0.1:9092"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        raw = str(super()._deserialize(value, attr, data, **kwargs)).strip()
        host, sep, port = raw.rpartition(":")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValidationError(self.allowed)
        return raw


class Scalar(fields.Field[str]):
    """A string or number kept as text (Kafka ``acks`` may be written all, 1, 0 or -1)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValidationError(self.error_messages.get("invalid", "a string or an integer"))
        return str(value).strip().lower()
