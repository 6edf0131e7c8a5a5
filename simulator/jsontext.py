"""JSON text for REST and control answers; Decimals are written as JSON numbers, never through float."""
from __future__ import annotations

import json
import re
from decimal import Decimal

from simulator.number_format import plain

_MARK = "\x00"  # wraps a number's text so it can be unquoted after encoding
_MARKED = re.compile(r'"\\u0000([-0-9.E]+)\\u0000"')


def _convert(value: object) -> object:
    if isinstance(value, Decimal):
        return f"{_MARK}{plain(value)}{_MARK}"
    if isinstance(value, dict):
        return {k: _convert(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_convert(v) for v in value]
    return value


def dumps(value: object) -> str:
    text = json.dumps(_convert(value), ensure_ascii=False, separators=(",", ":"))
    return _MARKED.sub(r"\1", text)
