"""Tools for fault tests on the real stack: pause a process, see a request waiting, find a connection's owner."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from scripts.stack import Stack

ESTABLISHED = "01"


def _rows() -> Iterator[tuple[int, int, str, int, int]]:
    """(local port, remote port, state, receive-queue bytes, inode) of every TCP socket (Linux's /proc)."""
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        for row in table.read_text().splitlines()[1:]:
            f = row.split()
            yield (int(f[1].rsplit(":", 1)[1], 16), int(f[2].rsplit(":", 1)[1], 16), f[3],
                   int(f[4].split(":")[1], 16), int(f[9]))


def waiting_requests(port: int) -> int:
    """Connections to ``port`` with bytes the server has not read: requests a paused server holds."""
    return sum(1 for local, _, state, queued, _ in _rows() if local == port and state == ESTABLISHED and queued > 0)


def owner(stack: Stack, port: int, client_port: int, names: tuple[str, ...]) -> str | None:
    """Which of the processes ``names`` holds the server end of the connection ``client_port`` → ``port``."""
    inodes = {inode for local, remote, state, _, inode in _rows()
              if local == port and remote == client_port and state == ESTABLISHED}
    for name in names:
        fds = Path(f"/proc/{stack.procs[name].pid}/fd")
        for fd in fds.iterdir():
            try:
                link = os.readlink(fd)
            except OSError:
                continue
            if link.startswith("socket:[") and int(link[8:-1]) in inodes:
                return name
    return None


def wait_for(check: Callable[[], object], what: str, timeout_s: float = 30) -> object:
    """Poll ``check`` until it returns something truthy; fail after ``timeout_s`` (a hang, not a slow run)."""
    deadline = time.monotonic() + timeout_s
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what} after {timeout_s}s")
        time.sleep(0.05)
    return found


@contextmanager
def paused(stack: Stack, name: str) -> Iterator[None]:
    """Stop process ``name`` and its children (SIGSTOP) for the block: its requests wait, mid-turn."""
    group = os.getpgid(stack.procs[name].pid)
    os.killpg(group, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(group, signal.SIGCONT)
