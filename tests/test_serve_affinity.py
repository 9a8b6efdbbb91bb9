"""`murano-sim serve` keeps its threads on one CPU (solution/affinity.py); `serve.one_cpu: false` does not."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="CPU affinity: Linux with two CPUs or more",
)
WAIT = 60  # seconds: a hang guard only


def _cpus_of_every_thread(pid: int) -> list[set[int]]:
    return [os.sched_getaffinity(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")]


def _serve(folder: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "murano_sim", "serve", str(folder), "--port", "0"],
                            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    for _ in range(2):  # the URL, then `devices: URL`: every listener and its thread has started
        assert proc.stdout.readline().strip(), proc.stderr.read() if proc.stderr else ""
    return proc


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.fixture
def solution(tmp_path: Path) -> Path:
    (tmp_path / "endpoints").mkdir()
    (tmp_path / "endpoints" / "api.lua").write_text("--#ENDPOINT GET /hi\nreturn 'hi'\n", encoding="utf-8")
    return tmp_path


def test_serve_runs_every_thread_on_one_cpu(solution):
    allowed = os.sched_getaffinity(0)
    proc = _serve(solution)
    try:
        sets = _cpus_of_every_thread(proc.pid)
    finally:
        _stop(proc)
    assert len(sets) > 3  # the main thread, the listeners, the ticker, the watcher
    assert all(len(cpus) == 1 for cpus in sets), sets
    assert len({frozenset(cpus) for cpus in sets}) == 1 and sets[0] <= allowed, sets


def test_one_cpu_false_leaves_serve_on_every_cpu(solution):
    (solution / "config.yaml").write_text("serve:\n  one_cpu: false\n", encoding="utf-8")
    proc = _serve(solution)
    try:
        sets = _cpus_of_every_thread(proc.pid)
    finally:
        _stop(proc)
    assert sets and all(cpus == os.sched_getaffinity(0) for cpus in sets), sets


def test_threads_started_before_and_after_the_choice_share_the_cpu():
    # A thread that already runs is moved too (the choice walks /proc/self/task); a later one inherits it.
    script = textwrap.dedent("""
        import json, os, threading
        from murano_sim.solution.affinity import pin_to_one_cpu
        ids, go = {}, threading.Event()
        def note(name):
            ids[name] = threading.get_native_id()
            go.wait()
        before = threading.Thread(target=note, args=("before",)); before.start()
        while "before" not in ids:
            pass
        cpu = pin_to_one_cpu()
        after = threading.Thread(target=note, args=("after",)); after.start()
        while "after" not in ids:
            pass
        print(json.dumps({"cpu": cpu, "sets": [sorted(os.sched_getaffinity(t))
                                               for t in (ids["before"], ids["after"], 0)]}))
        go.set()
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=WAIT, check=True)
    found = json.loads(out.stdout)
    assert isinstance(found["cpu"], int) and found["sets"] == [[found["cpu"]]] * 3, found
