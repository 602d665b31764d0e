"""Waiting for a Faktura process started by a test to answer."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

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
