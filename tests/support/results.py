"""Where a test writes a figure or a screenshot that the repository also keeps (``bench/results/``,
``docs/``): a temporary directory by default, so a test run never rewrites tracked files; the committed
file itself only under ``pytest --update-results`` (``make results``).

The option is registered by tests/conftest.py (``pytest_addoption`` below); tests call
``artefact_path(request.config, committed, tmp_dir)``.
"""
from __future__ import annotations

from pathlib import Path

import pytest

OPTION = "--update-results"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(OPTION, action="store_true", default=False,
                     help="write committed results and screenshots (bench/results/, docs/) in place "
                          "instead of to a temporary directory")


def updating(config: pytest.Config) -> bool:
    return bool(config.getoption(OPTION))


def artefact_path(config: pytest.Config, committed: Path, tmp_dir: Path) -> Path:
    """``committed`` under --update-results, else the same file name in ``tmp_dir``."""
    if updating(config):
        return committed
    tmp_dir.mkdir(parents=True, exist_ok=True)
    return tmp_dir / committed.name
