"""A process killed while it writes an archive object leaves no temporary file behind.

The writer is a real child process, stopped at the moment its bytes are on their way to
disk (its `os.fsync` blocks) and then killed with SIGKILL."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from faktura.archive.storage import STALE_TMP_S, FilesystemStore, object_key

WRITER = """
import os, sys, time
from pathlib import Path
from faktura.archive.storage import FilesystemStore

if sys.argv[3] == "named":
    del os.O_TMPFILE  # a platform without O_TMPFILE

def stall(fd):
    print("writing", flush=True)
    time.sleep(60)

os.fsync = stall
FilesystemStore(Path(sys.argv[1]))._put(sys.argv[2], b"x" * 100_000)
"""

DATA = b"x" * 100_000
KEY = object_key("tenant", hashlib.sha256(DATA).hexdigest())


def _crash_mid_write(root: Path, mode: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), KEY, mode], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "writing\n"
    finally:
        proc.kill()
        proc.wait(10)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


@pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="needs O_TMPFILE (Linux)")
def test_kill_mid_write_leaves_nothing(tmp_path: Path) -> None:
    _crash_mid_write(tmp_path, "unnamed")
    assert _files(tmp_path) == []
    FilesystemStore(tmp_path)._put(KEY, DATA)
    assert _files(tmp_path) == [KEY]
    assert (tmp_path / KEY).read_bytes() == DATA
    assert (tmp_path / KEY).stat().st_mode & 0o777 == 0o444


def test_without_o_tmpfile_the_next_write_removes_a_crashed_writers_tmp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _crash_mid_write(tmp_path, "named")
    (left,) = _files(tmp_path)
    assert left.endswith(".tmp")
    monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    store = FilesystemStore(tmp_path)

    store._put(KEY, DATA)  # a fresh temporary file may belong to a live writer: kept
    assert _files(tmp_path) == sorted([KEY, left])

    old = time.time() - STALE_TMP_S - 1
    os.utime(tmp_path / left, (old, old))
    other = DATA + b"y"
    other_key = object_key("tenant", hashlib.sha256(other).hexdigest())
    other_key = KEY.rsplit("/", 1)[0] + "/" + other_key.rsplit("/", 1)[1]  # same directory
    store._put(other_key, other)
    assert _files(tmp_path) == sorted([KEY, other_key])
