"""One krwfeed per admin port: a second start is refused before it touches anything of the first.

The admin port names an instance. ``claim_instance()`` takes an exclusive lock on
``var/krwfeed-<admin port>.pid`` (a POSIX record lock: held by this process only, not inherited by
the actor processes it forks, released by the kernel however the process ends) and records its pid
there; a clean exit empties the file. Then it checks that the web port can be bound, and decides
what a busy admin port means:

* the lock is held: another krwfeed is running -> refused;
* the lock is free but the file still names a pid: that krwfeed died without a clean exit and its
  actor system may be left on the port -> ``leftover`` is True and the composition root shuts it down;
* the lock is free, the file is empty, yet the port answers: something else owns it -> refused.

Every refusal is an ``InstanceRefused`` whose message is one line.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from dataclasses import dataclass
from pathlib import Path


class InstanceRefused(Exception):
    """Another instance (or another program) holds a port this one needs."""


@dataclass
class InstanceClaim:
    path: Path
    fd: int
    leftover: bool  # a dead krwfeed's actor system may still hold the admin port

    def release(self) -> None:
        """Clean exit: no pid left in the file (so a later start knows nothing was left running)."""
        if self.fd < 0:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)
        os.close(self.fd)  # closing releases the lock
        self.fd = -1


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def can_bind(host: str, port: int) -> str | None:
    """None if ``host:port`` can be bound now, else the reason."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the web server itself binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def claim_instance(admin_port: int, web: tuple[str, int] | None, var_dir: str = "var") -> InstanceClaim:
    Path(var_dir).mkdir(parents=True, exist_ok=True)
    path = Path(var_dir) / f"krwfeed-{admin_port}.pid"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise InstanceRefused(f"another krwfeed (pid {owner}) is running with admin port {admin_port}; "
                                  "stop it first or give this one another admin_port") from None
        previous = os.pread(fd, 32, 0).decode(errors="replace").strip()
        if web is not None:
            problem = can_bind(*web)
            if problem is not None:
                raise InstanceRefused(f"the web port {web[0]}:{web[1]} cannot be bound ({problem}); "
                                      "stop what holds it or choose another web port")
        leftover = port_answers(admin_port)
        if leftover and not previous:
            raise InstanceRefused(f"admin port {admin_port} is in use by a program that is not a krwfeed "
                                  f"started from this directory; choose another admin_port")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return InstanceClaim(path, fd, leftover)
    except BaseException:
        os.close(fd)
        raise
