"""Keeping one child process alive: `faktura serve` runs its job worker under this.

A thread waits on the child, which reaps it (no defunct process is left behind), and starts
it again after a delay that grows while the child keeps dying young (1 s, 2 s, ... 30 s)
and starts small again once a child has run for a minute. The worker itself survives a
database restart; this covers everything else that can end it (a crash, the OOM killer,
`kill -9`). The other way round, a child that finds `FAKTURA_SUPERVISOR_PID` in its
environment calls `die_with_parent`, so a `serve` killed with -9 leaves no worker behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

#: Set in a supervised child's environment: the pid it must not outlive.
PARENT_ENV = "FAKTURA_SUPERVISOR_PID"
#: A child that ran this long before it died was healthy: restart it quickly.
HEALTHY_AFTER_S = 60.0
FIRST_DELAY_S = 1.0
MAX_DELAY_S = 30.0


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> None:
    """Have the kernel send `sig` to this process when its parent ends, however it ends
    (also on `kill -9`, where no cleanup of the parent runs). For pool initializers and
    supervised children: neither must outlive the process that started it.

    Linux signals when the *thread* that started the child ends, so children must be
    started from a long-lived thread (an event loop's, a supervisor's). The getppid check
    closes the race with a parent that died before prctl ran."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, sig, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)


def _log(msg: str) -> None:
    print(f"faktura: {msg}", file=sys.stderr, flush=True)


class Supervisor:
    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str]):
        self.name = name
        self.argv = list(argv)
        self.env = {**env, PARENT_ENV: str(os.getpid())}
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._watch, name=f"supervise-{name}", daemon=True)

    def start(self) -> Supervisor:
        self._spawn()
        self._thread.start()
        return self

    def _spawn(self) -> None:
        with self._lock:
            if not self._stopping.is_set():
                self._proc = subprocess.Popen(self.argv, env=self.env)

    def _watch(self) -> None:
        delay = FIRST_DELAY_S
        while not self._stopping.is_set():
            with self._lock:
                proc = self._proc
            if proc is None:
                return
            started = time.monotonic()
            code = proc.wait()  # reaps the child
            if self._stopping.is_set():
                return
            if time.monotonic() - started > HEALTHY_AFTER_S:
                delay = FIRST_DELAY_S
            _log(f"{self.name} (pid {proc.pid}) exited with {code}; restarting in {delay:.0f} s")
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, MAX_DELAY_S)
            self._spawn()

    def stop(self, timeout: float = 15) -> None:
        """Stop supervising, then SIGTERM the child (SIGKILL after `timeout`)."""
        with self._lock:
            self._stopping.set()
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
