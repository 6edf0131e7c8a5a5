"""Log layout: one line per event, JSON option, rotating file, secrets masked (seed S4.1-d/e, S4.2-c)."""
from __future__ import annotations

import io
import json
import logging
import logging.config
import logging.handlers
from collections.abc import Iterator

import pytest

from domain.settings import LogSettings
from settings.logging_setup import SecretMaskFilter, build_log_defs, main_process_log_defs

pytestmark = pytest.mark.unit
SECRET = "Sup3r-Secret!"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    yield stream
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})


def configure(log: LogSettings, stream: io.StringIO) -> logging.Logger:
    defs = build_log_defs(log, [SECRET])
    defs["handlers"]["stdout"]["stream"] = stream
    logging.config.dictConfig(defs)
    return logging.getLogger("krwfeed.test")


def test_S4_1_e_S4_2_c_secret_masked_in_message_args_and_traceback(captured: io.StringIO) -> None:
    logger = configure(LogSettings(), captured)
    logger.info("connecting with password %s", SECRET)
    logger.warning(f"inline {SECRET}")
    try:
        raise RuntimeError(f"auth failed for {SECRET}")
    except RuntimeError:
        logger.exception("broker said no")
    out = captured.getvalue()
    assert SECRET not in out
    assert out.count("****") == 3


def test_S4_3_d_text_format_is_one_line_per_event_in_utc(captured: io.StringIO) -> None:
    logger = configure(LogSettings(), captured)
    try:
        raise ValueError("line one\nline two")
    except ValueError:
        logger.exception("multi\nline")
    lines = captured.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].split(" ")[0].endswith("Z") and " ERROR krwfeed.test " in lines[0]


def test_json_format_is_one_object_per_line(captured: io.StringIO) -> None:
    logger = configure(LogSettings(json=True), captured)
    logger.info("hello %s", SECRET)
    logger.error("second")
    records = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert [r["msg"] for r in records] == ["hello ****", "second"]
    assert records[0]["level"] == "INFO" and records[0]["logger"] == "krwfeed.test"


def test_S4_1_d_rotating_file_is_configured(tmp_path: object) -> None:
    defs = build_log_defs(LogSettings(file="/var/log/krwfeed.log", file_max_bytes=12345, file_backups=4))
    handler = defs["handlers"]["file"]
    assert handler["class"] == "logging.handlers.RotatingFileHandler"
    assert (handler["filename"], handler["maxBytes"], handler["backupCount"]) == ("/var/log/krwfeed.log", 12345, 4)
    assert defs["root"]["handlers"] == ["stdout", "file"]
    main = main_process_log_defs(defs)["handlers"]["file"]  # the main process reopens, never rotates
    assert main["class"] == "logging.handlers.WatchedFileHandler" and "maxBytes" not in main


def test_rotation_happens_with_the_configured_size(tmp_path: object, captured: io.StringIO) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "k.log"
    logger = configure(LogSettings(file=str(path), file_max_bytes=10_000, file_backups=2), captured)
    for i in range(400):
        logger.info("record %d %s", i, "x" * 40)
    assert (path.parent / "k.log.1").exists() and not (path.parent / "k.log.3").exists()
    assert SECRET not in path.read_text()


def test_mask_filter_with_no_secrets_leaves_records_alone() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "a %s", ("b",), None)
    assert SecretMaskFilter(()).filter(record) and record.args == ("b",)
