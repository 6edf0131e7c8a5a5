"""The instance claim on real files, locks, sockets and processes: who is refused, and when an actor
system on the admin port counts as a dead krwfeed's leftover."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from settings.single_instance import InstanceRefused, claim_instance
from tests.integration.tooling import free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ports() -> tuple[int, int]:
    return free_port(19180, 19189), free_port(18180, 18189)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


def test_a_live_owner_refuses_a_second_claim(tmp_path: Path, ports: tuple[int, int]) -> None:
    admin, web = ports
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from settings.single_instance import claim_instance\n"
         f"c = claim_instance({admin}, None, {str(tmp_path)!r}); print('held', flush=True); time.sleep(30)"],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(InstanceRefused, match=f"another krwfeed \\(pid {holder.pid}\\).*admin port {admin}"):
            claim_instance(admin, ("127.0.0.1", web), str(tmp_path))
    finally:
        holder.kill()
        holder.wait(5)
    # its owner is dead (SIGKILL): the lock is free again and the pid is still recorded
    claim = claim_instance(admin, ("127.0.0.1", web), str(tmp_path))
    assert not claim.leftover  # nothing answers on the admin port
    assert (tmp_path / f"krwfeed-{admin}.pid").read_text().strip() == str(os.getpid())
    claim.release()
    assert (tmp_path / f"krwfeed-{admin}.pid").read_text() == ""


def test_a_busy_web_port_is_refused_before_anything_else(tmp_path: Path, ports: tuple[int, int],
                                                         listener: socket.socket) -> None:
    admin, _ = ports
    busy = listener.getsockname()[1]
    with pytest.raises(InstanceRefused, match=f"web port 127.0.0.1:{busy} cannot be bound"):
        claim_instance(admin, ("127.0.0.1", busy), str(tmp_path))
    assert (tmp_path / f"krwfeed-{admin}.pid").read_text() == ""  # nothing recorded
    claim_instance(admin, None, str(tmp_path)).release()  # and the lock was let go


def test_an_admin_port_held_by_another_program_is_refused(tmp_path: Path, ports: tuple[int, int],
                                                          listener: socket.socket) -> None:
    taken = listener.getsockname()[1]
    with pytest.raises(InstanceRefused, match=f"admin port {taken} is in use by a program that is not a krwfeed"):
        claim_instance(taken, None, str(tmp_path))


def test_an_admin_port_held_after_a_krwfeed_died_is_a_leftover(tmp_path: Path, listener: socket.socket) -> None:
    taken = listener.getsockname()[1]
    (tmp_path / f"krwfeed-{taken}.pid").write_text("999999999\n")  # a pid from a run that never exited cleanly
    claim = claim_instance(taken, None, str(tmp_path))
    try:
        assert claim.leftover
    finally:
        claim.release()
