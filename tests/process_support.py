"""Processes started by tests: waiting for one to answer; finding children, process groups
and zombies through /proc (Linux)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx


def wait_until_serving(
    url: str, proc: subprocess.Popen[bytes], log: Callable[[], str], timeout: float = 90
) -> None:
    """Until `url`/health answers 200; fails with the process's log if it exits or times out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, log()
        time.sleep(0.2)


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
