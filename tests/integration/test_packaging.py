"""Installing krwfeed next to proto-plus breaks neither.

proto-plus (a dependency of every ``google-cloud-*`` client) owns the top-level package ``proto``,
which is also the name of krwfeed's Protobuf folder. pip overwrites clashing files silently, so
krwfeed installs no package of its own code: only its dependencies and the ``krwfeed`` command,
which runs actor_system.py from the checkout. This test builds a fresh virtual environment,
installs proto-plus and then krwfeed (a plain, non-editable install), and checks that proto-plus's
``proto`` is intact, that krwfeed put nothing but its command module into site-packages, and that
the ``krwfeed`` command starts krwfeed's own code.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
# Not part of a checkout's code; pip's in-tree build would also leave build/ behind in the copy only.
SKIP = shutil.ignore_patterns(".git", "var", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis")


def run(*args: str | Path, cwd: Path | None = None, timeout: float = 900) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.timeout(1200)
def test_krwfeed_and_proto_plus_install_side_by_side(tmp_path: Path) -> None:
    checkout = tmp_path / "krwfeed"  # a copy, so that the build leaves nothing in the real checkout
    shutil.copytree(ROOT, checkout, ignore=SKIP)
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    pip = (python, "-m", "pip", "install", "-q", "--disable-pip-version-check")
    run(*pip, "proto-plus")
    run(*pip, checkout)

    # proto-plus's package is whole and still its own.
    proto_probe = "import json, proto; print(json.dumps([proto.__file__, hasattr(proto, 'Message')]))"
    proto_file, has_message = json.loads(run(python, "-c", proto_probe, cwd=tmp_path).strip().splitlines()[-1])
    assert str(venv) in proto_file and has_message is True

    # krwfeed put nothing into site-packages but its command module, and that module finds the checkout.
    probe = (
        "import json, krwfeed_cli; from importlib import metadata;"
        "print(json.dumps([[str(f) for f in metadata.files('krwfeed')], str(krwfeed_cli.checkout())]))"
    )
    files, found = json.loads(run(python, "-c", probe, cwd=tmp_path).strip().splitlines()[-1])
    top_levels = {Path(f).parts[0] for f in files}
    assert top_levels - {"krwfeed_cli.py", "__pycache__", "..", "krwfeed-0.1.0.dist-info"} == set(), top_levels
    assert Path(found) == checkout

    # The command runs krwfeed's own code from the checkout it was installed from, with the venv's
    # dependencies.
    usage = run(venv / "bin" / "krwfeed", "--help", cwd=tmp_path)
    assert "--conf" in usage
