"""The loopback binding and the pinning of Thespian on the real Thespian 4.0.1, each in a fresh
interpreter (the changes live in the imported modules of the process that applies them)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from actors.thespian_pins import ThespianMismatch, check_thespian, fingerprint
from tests.integration.tooling import free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)


def test_thespian_alone_listens_on_every_interface_and_advertises_the_host_address() -> None:
    """The control case: what the binding exists to change."""
    out = run("import os; os.environ.pop('THESPIAN_BASE_IPADDR', None)\n"
              "from thespian.system.transport.IPBase import TCPv4ActorAddress as A\n"
              "a = A(None, 0, external=True); print(a.bindArgs[0][0] == '', a.connectArgs[0][0])")
    assert out.returncode == 0, out.stderr
    unbound, advertised = out.stdout.split()
    assert unbound == "True"
    assert advertised != "127.0.0.1" or "Network unreachable" in out.stderr


def test_bound_actor_system_listens_and_advertises_loopback_only() -> None:
    code = f"ADMIN_PORT = {free_port(19190, 19199)}" + """
import psutil
from actors.thespian_setup import CAPABILITIES, prepare_thespian
prepare_thespian()
from thespian.actors import Actor, ActorSystem
class Echo(Actor):
    def receiveMessage(self, message, sender):
        if isinstance(message, str):
            self.send(sender, message)
asys = ActorSystem("multiprocTCPBase", {**CAPABILITIES, "Admin Port": ADMIN_PORT})
try:
    echo = asys.createActor(Echo)
    assert asys.ask(echo, "ping", 10) == "ping"
    me = psutil.Process()
    admin = [psutil.Process(c.pid) for c in psutil.net_connections("inet")
             if c.status == "LISTEN" and c.laddr.port == ADMIN_PORT and c.pid not in (None, me.pid)][:1]
    procs = [me, *me.children(recursive=True)] + [q for a in admin for q in (a, *a.children(recursive=True))]
    listening = sorted({(c.laddr.ip, c.laddr.port) for p in procs for c in p.net_connections("inet") if c.status == "LISTEN"})
    print(len(listening), sorted({ip for ip, _ in listening}), str(echo))
finally:
    asys.shutdown()
"""
    out = run(code)
    assert out.returncode == 0, out.stderr
    count, rest = out.stdout.split(" ", 1)
    assert int(count) >= 3  # this process's endpoint, the admin, the echo actor (at least)
    assert rest.startswith("['127.0.0.1']"), out.stdout
    assert "ActorAddr-(T|:" in rest  # advertised as this machine's loopback, not an external IP


def test_a_changed_thespian_fails_loudly() -> None:
    def piece() -> None: ...

    with pytest.raises(ThespianMismatch, match="piece"):
        check_thespian({"piece": "0" * 16}, {"piece": piece}, "testing")
    check_thespian({"piece": fingerprint(piece)}, {"piece": piece}, "testing")  # unchanged: passes


def test_another_thespian_version_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("actors.thespian_pins.metadata.version", lambda _name: "4.0.2")
    with pytest.raises(ThespianMismatch, match="thespian==4.0.1"):
        check_thespian({}, {}, "testing")


def test_the_service_refuses_to_start_on_a_changed_thespian(tmp_path: Path) -> None:
    """Exit 2 with one line, before anything starts: here the bind property differs from the pinned code."""
    conf = tmp_path / "c.yaml"
    conf.write_text("exchanges:\n  - name: upbit\n    ws_url: ws://127.0.0.1:1/websocket/v1\n"
                    "    rest_url: http://127.0.0.1:1\n    markets: [KRW-BTC]\nadmin_port: 19194\n")
    code = (f"import sys; sys.argv = ['actor_system.py', '--conf', {str(conf)!r}]\n"
            "from thespian.system.transport import IPBase\n"
            "IPBase.IPActorAddress.bindArgs = property(lambda self: (self.bindname,))\n"
            "import actor_system; sys.exit(actor_system.main())")
    out = run(code)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "IPActorAddress.bindArgs" in lines[0] and "4.0.1" in lines[0], lines
