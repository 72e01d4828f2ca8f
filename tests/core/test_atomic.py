"""The lock and the writes every command relies on, on the real operating system.

The lock's contract (what ``filelock`` gives on POSIX and Windows alike): a second process
waits while the first holds it, and a holder killed with SIGKILL releases it, so the next
process never wedges. A folder that cannot be written is one NotWritable line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sddd.core.atomic import file_lock
from sddd.core.errors import EXIT_INPUT
from tests.fixtures.readonly import run_read_only

HOLDER = """
import sys, time
from pathlib import Path
from sddd.core.atomic import file_lock
with file_lock(Path(sys.argv[1])):
    print(f"acquired {time.time()}", flush=True)
    time.sleep(float(sys.argv[2]))
    print(f"releasing {time.time()}", flush=True)
"""


def holder(lock: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock), str(seconds)],
                            stdout=subprocess.PIPE, text=True, env={**os.environ})
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the lock is held
    assert line.startswith("acquired"), line
    return proc


def stamp(line: str) -> float:
    return float(line.split()[1])


def test_a_second_process_waits_for_the_holder(tmp_path: Path):
    lock = tmp_path / "index" / "lock"
    first = holder(lock, 1.5)
    second = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock), "0"], stdout=subprocess.PIPE,
                              text=True)
    out_first, _ = first.communicate(timeout=60)
    out_second, _ = second.communicate(timeout=60)
    released = stamp(out_first.splitlines()[-1])
    acquired = stamp(out_second.splitlines()[0])
    assert acquired >= released, (out_first, out_second)  # never both inside


def test_a_killed_holder_does_not_wedge_the_next_one(tmp_path: Path):
    lock = tmp_path / "lock"
    first = holder(lock, 600)
    os.kill(first.pid, signal.SIGKILL)  # no finally, no release: the kernel drops the lock
    first.wait(timeout=30)
    started = time.monotonic()
    with file_lock(lock):
        waited = time.monotonic() - started
    assert waited < 5, waited
    assert lock.exists()  # left in place, on purpose: deleting it could let two processes in


UNWRITABLE = """
import sys
from pathlib import Path
from sddd.core.atomic import atomic_write_text, file_lock
from sddd.core.errors import SdddError
folder = Path(sys.argv[1])
for name, attempt in (("lock", lambda: file_lock(folder / "lock").__enter__()),
                      ("write", lambda: atomic_write_text(folder / "x.json", "{}"))):
    try:
        attempt()
        print(name, "wrote")
    except SdddError as exc:
        print(name, type(exc).__name__, exc.exit_code, exc)
"""


def test_an_unwritable_folder_is_one_error_naming_it(tmp_path: Path):
    folder = tmp_path / "ro"
    folder.mkdir()
    proc = run_read_only(folder, [sys.executable, "-c", UNWRITABLE, str(folder)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[:3] for line in lines] == [["lock", "NotWritable", str(EXIT_INPUT)],
                                                    ["write", "NotWritable", str(EXIT_INPUT)]], lines
    assert all(str(folder) in line and "cannot write here" in line for line in lines)
    assert "set `index:` in sddd.yaml" in lines[0]  # the lock says where sddd keeps it
    assert not list(folder.iterdir())
