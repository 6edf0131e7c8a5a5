"""Real multiprocTCPBase actor systems inside the test process, on the Thespian the service runs on.

``actor_system(admin_port)`` applies ``prepare_thespian()`` (loopback binding, timer rounding) before
it builds the system, and builds it with the service's ``CAPABILITIES`` (forked processes inherit the
patches), exactly as ``actor_system.main`` does; so a test's actors run on the production transport
and timers, not on Thespian as installed. A system some earlier run left on the port is shut down
first; the new one is shut down when the block ends. Every test that builds an actor system in its
own process goes through here (scripts run in a child interpreter call ``prepare_thespian()``
themselves).
"""
from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from thespian.actors import ActorSystem

from actors.thespian_setup import CAPABILITIES, prepare_thespian


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def actor_system(admin_port: int) -> Iterator[ActorSystem]:
    prepare_thespian()
    capabilities = {**CAPABILITIES, "Admin Port": admin_port}
    if _port_in_use(admin_port):  # a leftover system from an earlier run: stop it first
        ActorSystem("multiprocTCPBase", capabilities).shutdown()
    system = ActorSystem("multiprocTCPBase", capabilities, transientUnique=True)
    try:
        yield system
    finally:
        system.shutdown()
