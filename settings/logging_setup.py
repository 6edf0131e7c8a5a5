"""Logging configuration: one line per event on stdout (text or JSON), an optional rotating file, and
every configured secret masked in every record.

``build_log_defs`` returns the dictConfig dict handed to Thespian as ``logDefs`` (applied in its
Logger process, which receives every actor's records). The main process gets the same layout from
``main_process_log_defs``, except that its file handler reopens the file after the Logger process
rotates it, so two processes never rotate the same file.
"""
from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Iterable
from typing import Any

from domain.settings import LogSettings

MASK = "****"


class SecretMaskFilter(logging.Filter):
    """Renders the message (and traceback) and replaces every secret value with ``****``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = self.mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


class QuietLibraries(logging.Filter):
    """Drops records below WARNING from chatty libraries. Thespian's Logger process hands forwarded
    actor records straight to the handlers, so logger levels alone do not apply to them."""

    def __init__(self, names: Iterable[str] = ("kafka",), floor: int = logging.WARNING) -> None:
        super().__init__()
        self.prefixes = tuple(names)
        self.floor = floor

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.floor or not (
            record.name in self.prefixes or record.name.startswith(tuple(p + "." for p in self.prefixes)))


def _utc_iso(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


def _actor(record: logging.LogRecord) -> str:
    address = record.__dict__.get("actorAddress")
    return str(address) if address is not None else ""


class LineFormatter(logging.Formatter):
    """``2026-01-01T00:00:00.000Z INFO name pid=1 message``; newlines escaped so one event is one line."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return f"{_utc_iso(record)} {record.levelname} {record.name} pid={record.process} " + \
            text.replace("\r", "").replace("\n", " \\n ")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging API
        return record.getMessage()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": _utc_iso(record), "level": record.levelname, "logger": record.name,
            "pid": record.process, "msg": record.getMessage(),
        }
        actor = _actor(record)
        if actor:
            out["actor"] = actor
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, ensure_ascii=False, default=str)


def build_log_defs(log: LogSettings, secrets: Iterable[str] = ()) -> dict[str, Any]:
    formatter = JsonFormatter if log.json else LineFormatter
    handlers: dict[str, Any] = {
        "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                   "formatter": "main", "filters": ["quiet", "mask"]},
    }
    if log.file:
        handlers["file"] = {"class": "logging.handlers.RotatingFileHandler", "filename": log.file,
                            "maxBytes": log.file_max_bytes, "backupCount": log.file_backups,
                            "encoding": "utf-8", "formatter": "main", "filters": ["quiet", "mask"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask": {"()": SecretMaskFilter, "secrets": tuple(secrets)},
                    "quiet": {"()": QuietLibraries}},
        "formatters": {"main": {"()": formatter}},
        "handlers": handlers,
        "root": {"level": log.level, "handlers": list(handlers)},
        # kafka-python logs each connection attempt at INFO; during an outage that would flood the log.
        "loggers": {"kafka": {"level": "WARNING"}},
    }


def main_process_log_defs(log_defs: dict[str, Any]) -> dict[str, Any]:
    defs = copy.deepcopy(log_defs)
    file_handler = defs["handlers"].get("file")
    if file_handler:
        file_handler["class"] = "logging.handlers.WatchedFileHandler"
        file_handler.pop("maxBytes", None)
        file_handler.pop("backupCount", None)
    return defs
