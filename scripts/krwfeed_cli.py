"""The ``krwfeed`` command: runs ``actor_system.py`` from the checkout it was installed from.

krwfeed's code keeps the repository's layout (``actors/``, ``domain/``, ``messages/``, ``proto/``
... at the top) and runs from the checkout; installing it adds only its dependencies and this one
module. So it never puts a generic top-level package such as ``proto`` (also proto-plus's, which every
``google-cloud-*`` client depends on) into site-packages, where pip would silently overwrite one
with the other.

The checkout is, in this order: ``$KRWFEED_HOME``; the directory pip installed from (recorded in
the distribution's ``direct_url.json``, for ``pip install .`` and ``pip install -e .`` alike); the
directory above this file (an editable install); the current directory.
"""
from __future__ import annotations

import json
import os
import sys
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit

ENTRY = "actor_system.py"


def _installed_from() -> Path | None:
    try:
        text = metadata.distribution("krwfeed").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not text:
        return None
    url = urlsplit(json.loads(text).get("url", ""))
    return Path(unquote(url.path)) if url.scheme == "file" else None


def checkout() -> Path | None:
    """The krwfeed checkout to run, or None when none is found."""
    home = os.environ.get("KRWFEED_HOME")
    candidates = [Path(home)] if home else []
    candidates += [p for p in (_installed_from(), Path(__file__).resolve().parent.parent, Path.cwd()) if p]
    return next((c for c in candidates if (c / ENTRY).is_file()), None)


def main() -> None:
    root = checkout()
    if root is None:
        sys.exit(f"krwfeed: no checkout found ({ENTRY} is missing); set KRWFEED_HOME to the repository")
    # exec, not a child process: signals (SIGTERM from a supervisor) reach krwfeed itself.
    os.execv(sys.executable, [sys.executable, str(root / ENTRY), *sys.argv[1:]])


if __name__ == "__main__":
    main()
