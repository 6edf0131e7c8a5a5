"""Every socket of the actor system listens on loopback only.

Thespian's ``multiprocTCPBase`` gives the admin, its logger, every actor and every external endpoint
(the main process's own, and each ``ActorSystem.private()``) a listening TCP socket, and unpickles
whatever arrives on it with no authentication: whoever can reach one of those ports can run code
inside the service. Thespian 4.0.1 binds them all to INADDR_ANY and has no setting to change that.

Its one bind site is ``TCPTransport.__init__`` (plus the test bind in ``TCPTransport.probeAdmin``
that checks whether an admin already holds the port); both bind to
``IPActorAddress.bindArgs``, which for every address Thespian builds is ``('', port)``.
``bind_to_loopback()`` replaces that property so both bind to 127.0.0.1, and sets
``THESPIAN_BASE_IPADDR`` so that the addresses the processes advertise to each other are 127.0.0.1
too (by default Thespian advertises the host's outward-facing IP, found by routing towards a public
address, which a loopback-bound socket would not answer on).

The change lives in the imported modules' memory. Actor processes are forked (``CAPABILITIES`` in
``actors.thespian_setup`` names the fork start method rather than leaving Thespian free to fall back
to spawning fresh interpreters), so every admin, logger and actor process inherits it; nothing needs
re-applying in them, and the listening-socket test of the running service proves it.
``actors.thespian_setup.prepare_thespian()`` applies it, with krwfeed's other changes to Thespian.

The patch is tied to the exact Thespian code it was written against: the pinned version and a
fingerprint of each function involved (``actors.thespian_pins``). Anything else fails loudly at
start (``ThespianMismatch``) instead of silently listening on every interface again.
"""
from __future__ import annotations

import os
from typing import Any

from actors.thespian_pins import ThespianMismatch, check_thespian

LOOPBACK = "127.0.0.1"

# sha256 (first 16 hex digits) of inspect.getsource() of each piece of Thespian 4.0.1 this relies on.
_FINGERPRINTS = {
    "IPActorAddress.__init__": "9924b8617002bf51",  # sets bindname = ('', port) for external addresses
    "IPActorAddress.bindArgs": "b6bb15fd3f34d81b",  # the property replaced here
    "TCPTransport.__init__": "eabcf02e37125c2a",  # the listening socket: bind(*bindArgs); listen()
    "TCPTransport.probeAdmin": "7e6055f00f33e580",  # the admin-port probe: bind(*bindArgs)
}


def _loopback_bind_args(self: Any) -> tuple[tuple[str, int], ...]:
    return ((LOOPBACK, self.bindname[1]),)


_loopback_bind_args.krwfeed_loopback = True  # type: ignore[attr-defined]


def bind_to_loopback() -> None:
    """Make every Thespian TCP socket bind to, and advertise, 127.0.0.1. Idempotent; call it before the
    first ``ActorSystem(...)`` of the process."""
    from thespian.system.transport import IPBase, TCPTransport

    address_class = IPBase.IPActorAddress
    current = address_class.bindArgs.fget
    if not getattr(current, "krwfeed_loopback", False):
        check_thespian(_FINGERPRINTS, {
            "IPActorAddress.__init__": address_class.__init__,
            "IPActorAddress.bindArgs": current,
            "TCPTransport.__init__": TCPTransport.TCPTransport.__init__,
            "TCPTransport.probeAdmin": TCPTransport.TCPTransport.probeAdmin,
        }, "binding the actor system to loopback")
        address_class.bindArgs = property(_loopback_bind_args)
    os.environ["THESPIAN_BASE_IPADDR"] = LOOPBACK
    # Post-condition, checked on a real address object: listens on and advertises loopback.
    probe = IPBase.TCPv4ActorAddress(None, 0, external=True)
    if probe.bindArgs[0][0] != LOOPBACK or probe.connectArgs[0][0] != LOOPBACK:
        raise ThespianMismatch(f"the loopback binding did not take: bind {probe.bindArgs[0]}, "
                               f"advertised {probe.connectArgs[0]}")
