"""What every benchmark part shares: paths, the scanners' environment, finding the tools,
logging, waiting for the machine to go quiet, and running a command (policy-gate above all)
while timing it and sampling the memory of its whole process tree.

Only the standard library is imported here, so that any benchmark script (and the
overhead part's fresh interpreters) can import it without paying for policy-gate.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work"
README = HERE / "README.md"
RULES = REPO / "policy_gate" / "rules" / "semgrep"
ADVISORIES = REPO.parent / "shared" / "advisories" / "pypa" / "vulns"
BIN = Path(sys.executable).parent
GIB = 1024 * 1024  # in KiB
IDLE_WAIT = 60.0
# Every format the CLI writes, so that the timed gate runs include writing every report
# (the terminal report goes to stdout, captured).
REPORTS = {
    "json": "gate.json",
    "sarif": "gate.sarif",
    "junit": "gate.junit.xml",
    "markdown": "gate.md",
    "cyclonedx": "gate.cdx.json",
    "openvex": "gate.openvex.json",
    "compliance": "compliance.md",  # and compliance.html beside it
}

# What the gate's scanners run with (policy_gate.base.process.scanner_env); the by-hand runs get
# the same, so that neither side pays for semgrep's version check or metrics.
ENV = {
    **os.environ,
    "SEMGREP_ENABLE_VERSION_CHECK": "0",
    "SEMGREP_SEND_METRICS": "off",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "NO_COLOR": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}
ENV.pop("FORCE_COLOR", None)


def tool(name: str) -> str:
    """A scanner beside this interpreter (the gate looks there first), else on PATH."""
    beside = BIN / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if not found:
        sys.exit(f"bench: '{name}' not found beside {sys.executable} or on PATH")
    return found


def optional_tool(name: str) -> str | None:
    try:
        return tool(name)
    except SystemExit:
        return None


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def compile_package() -> None:
    """Byte-compile the gate's own modules, as `pip install` does for an installed package
    (and the container image has). An editable install under PYTHONDONTWRITEBYTECODE=1
    would otherwise compile ~60 modules from source in every run (~0.15 s of start-up)."""
    import compileall

    compileall.compile_dir(REPO / "policy_gate", quiet=1)


# --------------------------------------------------------------------------- measuring


@dataclass
class Measured:
    argv: list[str]
    seconds: float
    returncode: int
    stdout: str
    stderr: str
    tree_rss_kb: int  # peak of the summed RSS of the process and all its descendants
    max_rss_kb: int  # largest single process (wait4's ru_maxrss)
    cpu_seconds: float  # user + system of the whole tree
    foreign_cpu: float = 0.0  # CPU seconds other processes on the machine used meanwhile


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy since boot (/proc/stat)."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def wait_for_idle(max_wait: float, threshold: float = 0.15) -> float:
    """Wait (up to max_wait s) until the rest of the machine uses < threshold of one core
    over a second; return the load seen last. Other jobs on a small machine would
    otherwise be measured as the scanners' time."""
    deadline = time.monotonic() + max_wait
    while True:
        before = busy_cpu_seconds()
        time.sleep(1.0)
        load = busy_cpu_seconds() - before
        if load < threshold or time.monotonic() >= deadline:
            return load
        log(f"machine busy ({load:.2f} cores used by other processes); waiting …")


def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, rss pages) for every process we can see."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        # fields[0] is the state (field 3); ppid is field 4, rss field 24.
        table[int(entry.name)] = (int(fields[1]), int(fields[21]))
    return table


class TreeSampler(threading.Thread):
    """Sum the RSS of a process and its descendants every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self.stop = threading.Event()
        self.page_kb = os.sysconf("SC_PAGE_SIZE") // 1024

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                table = _proc_table()
            except OSError:
                table = {}
            children: dict[int, list[int]] = {}
            for pid, (ppid, _rss) in table.items():
                children.setdefault(ppid, []).append(pid)
            total, todo = 0, [self.pid]
            while todo:
                pid = todo.pop()
                if pid in table:
                    total += table[pid][1]
                todo.extend(children.get(pid, ()))
            self.peak_kb = max(self.peak_kb, total * self.page_kb)
            self.stop.wait(self.interval)


def measure(argv: Sequence[str], *, cwd: Path | None = None) -> Measured:
    """Run to completion, timing the wall clock and sampling memory."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        busy_before = busy_cpu_seconds()
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=ENV, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        cpu = usage.ru_utime + usage.ru_stime
        foreign = max(0.0, busy_cpu_seconds() - busy_before - cpu)
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        return Measured(
            argv=list(argv),
            seconds=seconds,
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            tree_rss_kb=sampler.peak_kb,
            max_rss_kb=usage.ru_maxrss,
            cpu_seconds=cpu,
            foreign_cpu=foreign,
        )


def check(m: Measured, ok: Sequence[int], what: str) -> None:
    if m.returncode not in ok:
        tail = (m.stderr.strip() or m.stdout.strip())[-1500:]
        raise RuntimeError(f"{what} exited {m.returncode}: {' '.join(m.argv[:6])} …\n{tail}")


def add_up(total: Measured, m: Measured) -> None:
    """Fold one of several sequential runs into their total."""
    total.seconds += m.seconds
    total.cpu_seconds += m.cpu_seconds
    total.foreign_cpu += m.foreign_cpu
    total.tree_rss_kb = max(total.tree_rss_kb, m.tree_rss_kb)
    total.max_rss_kb = max(total.max_rss_kb, m.max_rss_kb)


def med_of(ms: Sequence[Measured]) -> float:
    return statistics.median(m.seconds for m in ms)


# --------------------------------------------------------------------------- the gate


def gate_argv(tree: Path, out_dir: Path, jobs: int | None, extra: Sequence[str]) -> list[str]:
    argv = [
        tool("policy-gate"),
        "scan",
        str(tree),
        # The Mojaloop policy with only the M4a data-age limit lifted: the shared advisory
        # database is a fixed 2024 snapshot.
        "--policy",
        str(REPO / "examples" / "policy.yaml"),
        "--advisories",
        str(ADVISORIES),
    ]
    for fmt, name in REPORTS.items():
        argv += ["--format", fmt, "--output", str(out_dir / name)]
    if jobs:
        argv += ["--jobs", str(jobs)]
    return [*argv, *extra]


def run_gate(
    tree: Path,
    out_dir: Path,
    jobs: int | None,
    extra: Sequence[str] = (),
    ok: Sequence[int] = (0, 1),
) -> tuple[Measured, dict[str, Any]]:
    """One gate run writing every report format; its JSON report ({} unless exit 0/1)."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    m = measure(gate_argv(tree, out_dir, jobs, extra))
    check(m, ok, "policy-gate")
    if m.returncode not in (0, 1):
        return m, {}
    return m, json.loads((out_dir / REPORTS["json"]).read_text("utf-8"))


def write_readme_section(begin: str, end: str, heading: str, table: str) -> None:
    """Put ``table`` between the ``begin`` and ``end`` markers of README.md (each bench's
    own results section); without them, append the section under ``heading``."""
    text = README.read_text("utf-8") if README.exists() else ""
    block = f"{begin}\n{table}{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + f"\n\n## {heading}\n\n" + block + "\n"
    README.write_text(text, "utf-8")
