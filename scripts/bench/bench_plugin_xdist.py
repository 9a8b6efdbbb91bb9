"""Wall time of 500 generated `*.murano.yaml` cases under pytest -n 0 beside pytest-xdist -n 2.

Each case runs a small notification script (three postMessage calls and a listMessage against
its own fresh emulator) and checks code, message subset and calls. Prints both times and the
speed-up (target >= 1.6 on 2 cores). Each pytest run is a subprocess with -p no:cacheprovider;
the best of R repetitions is kept.
Usage: python scripts/bench/bench_plugin_xdist.py [CASES] [REPEAT]
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES_PER_FILE = 20

SCRIPT = """\
local to = request.body.to
local sent = {}
for i = 1, 3 do
  local out = Twilio.postMessage({To = to, From = "+15005550006", Body = "order " .. request.body.order .. " #" .. i})
  if out.error then
    response.code = out.status
    return out
  end
  sent[#sent + 1] = out.sid
end
local page = Twilio.listMessage({To = to, PageSize = 10})
response.code = 201
return {sent = #sent, listed = #page.messages, first = page.messages[#page.messages].body}
"""

CASE = """\
  - name: order {n}
    request: {{method: POST, body: {{to: "+1555{n:07d}", order: {n}}}}}
    expect:
      code: 201
      message_subset: {{sent: 3, listed: 3, first: "order {n} #1"}}
      calls:
        - {{operation: postMessage, arguments: {{To: "+1555{n:07d}"}}}}
        - {{operation: postMessage}}
        - {{operation: postMessage}}
        - {{operation: listMessage}}
"""


def generate(folder: Path, cases: int) -> None:
    (folder / "notify.lua").write_text(SCRIPT, encoding="utf-8")
    for start in range(0, cases, CASES_PER_FILE):
        body = "".join(CASE.format(n=n) for n in range(start, min(start + CASES_PER_FILE, cases)))
        (folder / f"test_notify_{start // CASES_PER_FILE:03d}.murano.yaml").write_text(
            "script: notify.lua\ncases:\n" + body, encoding="utf-8"
        )
    # An empty ini file makes the folder the rootdir: no outside configuration leaks in.
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")


def run_pytest(folder: Path, workers: int, expected: int) -> float:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", str(workers), str(folder)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    lines = done.stdout.strip().splitlines() or done.stderr.strip().splitlines() or ["(no output)"]
    if done.returncode != 0 or f"{expected} passed" not in lines[-1]:
        print("\n".join(lines[-40:]), file=sys.stderr)
        raise SystemExit(f"pytest -n {workers} did not pass all {expected} cases: {lines[-1]}")
    return elapsed


def main() -> int:
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {cases} cases, best of {repeat}", flush=True)
    with tempfile.TemporaryDirectory(prefix="murano-bench-") as tmp:
        folder = Path(tmp)
        generate(folder, cases)
        serial = min(run_pytest(folder, 0, cases) for _ in range(repeat))
        parallel = min(run_pytest(folder, 2, cases) for _ in range(repeat))
    print(f"pytest -n 0: {serial:7.2f} s  ({serial / cases * 1000:.2f} ms per case, process start included)")
    print(f"pytest -n 2: {parallel:7.2f} s")
    print(f"speed-up:    {serial / parallel:7.2f}x  (target >= 1.6 on 2 cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
