"""A warehouse held by another process: opens wait for a bounded time, then name the holder."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from foundation.warehouse import WarehouseBusy, connect

HOLD = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def hold(path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_an_open_waits_for_a_short_write_by_another_process(tmp_path):
    path = tmp_path / "w.duckdb"
    holder = hold(path, 1.5)
    started = time.monotonic()
    with connect(path, read_only=False, wait_seconds=30) as con:
        assert con.execute("select 42").fetchone() == (42,)
    assert time.monotonic() - started >= 0.5  # it did wait for the holder
    holder.wait()


def test_an_open_gives_up_after_the_wait_naming_the_holder(tmp_path):
    path = tmp_path / "w.duckdb"
    holder = hold(path, 20)
    try:
        with pytest.raises(WarehouseBusy, match=r"stayed locked for 1 s .*GRIDLEDGER_LOCK_WAIT"
                                                r"_SECONDS.*PID"):
            with connect(path, wait_seconds=1):
                pass
    finally:
        holder.kill()
        holder.wait()
