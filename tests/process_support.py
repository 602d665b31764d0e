"""Finding processes through /proc: children, process groups, zombies (Linux)."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable
from pathlib import Path


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, process group) from /proc, or None once the pid is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    state, ppid, pgrp = data.rsplit(")", 1)[1].split()[:3]
    return state, int(ppid), int(pgrp)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def live_processes(match: Callable[[tuple[str, int, int]], bool]) -> list[int]:
    """Running (not zombie) processes whose /proc stat matches."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st is not None and st[0] != "Z" and match(st):
                found.append(int(name))
    return found


def children(pid: int) -> list[int]:
    return live_processes(lambda st: st[1] == pid)


def in_group(pgid: int) -> list[int]:
    return live_processes(lambda st: st[2] == pgid)


def kill_group(pgid: int) -> None:
    for pid in in_group(pgid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
