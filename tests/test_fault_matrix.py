"""The fault matrix (issue 8): every scanner x every way it can fail ends in exit 3 naming
the scanner or, where the policy marks it optional, in a report that says it was skipped
and why. No combination passes silently.

Scanners that run a tool get each fault from a fake standing in for that tool (a fake
only injects the fault; the rest is the real gate, in a subprocess). Scanners that run in
the gate's process get a crash, an error, an exit, a hang or an answer that does not add
up injected into the real adapter, after it has read the real tree, in an in-process run
of the real CLI. Every run is in pull-request diff mode, so the search of the change's
commits for secrets (`secrets-history`, which runs detect-secrets) is faulted too.

One gate run faults every scanner of its kind the same way; each (scanner, fault,
required or optional) is then a test of its own.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from policy_gate.base.fileset import walk
from policy_gate.base.process import ScannerError
from policy_gate.cli import main
from policy_gate.history import scan_history
from policy_gate.results import HISTORY, ScanOutput
from policy_gate.scanners import registry
from policy_gate.scanners.interface import Scanner, map_batches
from tests.conftest import EXAMPLE_ADVISORIES, OFFLINE_POLICY, GateRun, make_tree

# The fault classes the issue names; a scanner that runs a tool gets every one.
ISSUE_FAULTS = ("missing", "crash", "partial", "timeout", "garbage", "missing-fields", "signal")
# What can go wrong inside an adapter that runs in the gate's process.
IN_PROCESS_FAULTS = ("crash", "error", "exit", "hang", "inconsistent")
TIMEOUT = 2  # seconds: the policy's timeout for the timeout and hang faults


@dataclass(frozen=True)
class NotApplicable:
    why: str


# Each fault class of the issue, for a scanner that runs in the gate's process: the
# in-process fault that stands for it, or why it cannot happen there.
IN_PROCESS_EQUIVALENT: dict[str, str | NotApplicable] = {
    "missing": NotApplicable("nothing to install: the adapter is part of the gate"),
    "crash": "crash",  # an unexpected exception (and "exit": a library calling sys.exit)
    "partial": "error",  # the adapter gives up part way, with a ScannerError
    "timeout": "hang",
    "garbage": NotApplicable(
        "no tool output to parse: an input file the adapter cannot read is an `unscanned` "
        "finding (each scanner's own tests), not a failure"
    ),
    "missing-fields": "inconsistent",  # an answer whose result count does not add up
    "signal": NotApplicable(
        "no process of its own: a signal to the gate's process ends the whole gate, with "
        "no report and a non-zero status"
    ),
}
# secrets-history runs in the gate's process but its time goes to git and detect-secrets,
# each under its own timeout (the tool faults below time out its detect-secrets): no
# watchdog bounds it as a whole, so it cannot hang in the sense of an in-process adapter.
HISTORY_NOT_APPLICABLE = {
    "hang": NotApplicable("bounded by git's and detect-secrets' own timeouts"),
}


def tool_runs() -> dict[str, str]:
    """Every run that starts a tool: scanner (or run) name -> executable."""
    runs = {n: s.executable for n, s in registry().items() if s.executable}
    runs[HISTORY] = registry()["kingfisher"].executable  # the history's engine (all enabled)
    return runs


def in_process() -> dict[str, Scanner]:
    return {n: s for n, s in registry().items() if not s.executable}


def in_process_faults(name: str) -> tuple[str, ...]:
    skip = HISTORY_NOT_APPLICABLE if name == HISTORY else {}
    return tuple(f for f in IN_PROCESS_FAULTS if f not in skip)


# -- the tree: input that makes every scanner start its tool -------------------------------

def lockfile() -> str:
    lock = {
        "name": "svc", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
        "packages": {
            "": {"name": "svc", "version": "1.0.0", "dependencies": {"left-pad": "^1.3.0"}},
            "node_modules/left-pad": {
                "version": "1.3.0", "license": "WTFPL",
                "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
            },
        },
    }
    return json.dumps(lock, indent=2)


def files() -> dict[str, str | bytes]:
    return {
        "app.py": "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, "
                  "shell=True)\n",
        "web/index.js": "function show(x) { document.body.innerHTML = x; }\n",
        # pinned and vulnerable in the offline advisory snapshot (examples/advisories)
        "requirements.txt": "requests==2.19.0\n",
        "package-lock.json": lockfile(),
        "package.json": json.dumps({"name": "svc", "version": "1.0.0",
                                    "dependencies": {"left-pad": "^1.3.0"}}),
        "Dockerfile": "FROM python:3.11.9-slim\nUSER app\n",
        ".github/workflows/ci.yml": (
            "on: push\npermissions: {}\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
            "    steps:\n      - run: echo hello\n"
        ),
        "lcov.info": "SF:app.py\nDA:4,1\nDA:5,0\nLF:2\nLH:1\nend_of_record\n",
    }


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.org",
         "-c", "commit.gpgsign=false", *args],
        cwd=repo, check=True, capture_output=True,
    )


def pull_request(root: Path) -> Path:
    """A feature branch whose one commit adds every file, with app.py edited since: the
    history run searches the committed app.py (it differs from the working tree's)."""
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "commit", "-q", "--allow-empty", "-m", "base")
    git(root, "checkout", "-q", "-b", "feature")
    make_tree(root, files())
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "feature")
    (root / "app.py").write_text("print('edited since the commit')\n")
    return root


def policy_file(path: Path, names: list[str], *, optional: bool, timeout: float,
                timeouts: dict[str, float] | None = None) -> Path:
    """The offline test policy with these scanners enabled, all optional or all not;
    each with ``timeout`` unless ``timeouts`` names it."""
    flag = "true" if optional else "false"
    limit = {n: timeout for n in names} | (timeouts or {})
    path.write_text(
        f"version: 1\nextends: {OFFLINE_POLICY}\nname: fault-matrix\nscanners:\n"
        + "".join(f"  {n}: {{enabled: true, optional: {flag}, timeout: {limit[n]:g}}}\n"
                  for n in names)
    )
    return path


def mode(optional: bool) -> str:
    return "optional" if optional else "required"


def assert_fails_closed(run: GateRun, name: str, optional: bool, expect: str) -> None:
    """Required: exit 3, verdict error, the scanner failed and the terminal names it.
    Optional: skipped with the reason kept, said so on the terminal, never exit 3."""
    assert run.report is not None, run.output
    entry = run.scanner(name)
    assert expect in entry["reason"], (name, entry, run.output)
    kept = [f for f in run.report["findings"]
            if (f["commit"] if name == HISTORY else name in f["scanners"])]
    assert not kept, f"{name}: results of a run that did not complete were kept"
    if optional:
        assert entry["status"] == "skipped", (name, entry)
        assert run.code != 3 and run.report["verdict"] != "error", run.output
        assert f"skipped {name}" in run.stdout and expect in run.stdout, run.stdout
    else:
        assert entry["status"] == "failed", (name, entry)
        assert run.code == 3 and run.report["verdict"] == "error", run.output
        assert f"{name} failed: " in run.stdout and expect in run.stdout, run.stdout


# -- scanners that run a tool ----------------------------------------------------------------

@dataclass(frozen=True)
class MissingField:
    """A tool's output valid in syntax but without a field its format promises, and the
    field the gate must name."""

    output: str
    field: str


# Keyed by executable; a tool not here fails test_every_scanner_is_in_the_matrix.
MISSING_FIELDS: dict[str, MissingField] = {
    "bandit": MissingField('{"errors": [], "results": [{"test_id": "B602"}]}', "filename"),
    "semgrep": MissingField('{"errors": [], "results": [{"check_id": "x.y"}]}', "path"),
    "detect-secrets": MissingField(
        '{"results": {"./app.py": [{"type": "Secret Keyword"}]}}', "filename"
    ),
    "kingfisher": MissingField(
        '{"rule": {"id": "x", "name": "x"}, "finding": {"line": 1}}\n{"audit": {}}', "snippet"
    ),
    "pip-audit": MissingField('{"dependencies": [{"name": "requests"}]}', "version"),
    "safety": MissingField('{"vulnerabilities": [{"vulnerability_id": "1"}]}', "package_name"),
    "zizmor": MissingField('[{"ident": "unpinned-uses"}]', "desc"),
}

# Every fake answers `--version` normally and records each other call, so the fault tested
# is in the scan itself; then it does this.
FAULT_BODIES = {
    "crash": "raise RuntimeError('simulated crash')\n",
    "partial": (
        "print('{\"results\": [{\"test_id\": \"B602\", \"filename\": ')\n"
        "sys.stderr.write('fatal: out of memory after 3 of 9 files\\n')\n"
        "sys.exit(2)\n"
    ),
    "timeout": (
        # a grandchild too: a timeout must kill the whole process group. Each marks that
        # it finished (PIDS.finished), which only a gate that waited for it would see.
        "child = subprocess.Popen([sys.executable, '-c', 'import sys, time; "
        "time.sleep(120); open(sys.argv[1], \"a\").write(\"grandchild\\\\n\")', "
        "PIDS + '.finished'])\n"
        "open(PIDS, 'a').write(f'{os.getpid()}\\n{child.pid}\\n')\n"
        "time.sleep(120)\n"
        "open(PIDS + '.finished', 'a').write('child\\n')\n"
    ),
    "garbage": "print('<html><body>502 Bad Gateway</body></html>')\n",
    "missing-fields": "print(MISSING_FIELDS)\n",
    "signal": "os.kill(os.getpid(), signal.SIGKILL)\n",
}

FAKE = """\
import os, signal, subprocess, sys, time
CALLS, PIDS, MISSING_FIELDS = {calls!r}, {pids!r}, {missing_fields!r}
if "--version" in sys.argv:
    print("{exe} 9.9.9")
    sys.exit(0)
with open(CALLS, "a") as f:
    f.write(" ".join(sys.argv[1:]) + " @" + os.getcwd() + "\\n")
"""


def expected_reason(exe: str, fault: str) -> str:
    """What a run's reason (and the terminal) must say for each fault."""
    return {
        "missing": f"'{exe}' is not installed",
        "crash": "RuntimeError: simulated crash",
        # pip-audit's reason says its report is missing: "exited 2 without a report: …"
        "partial": ("exited 2 without a report: fatal: out of memory" if exe == "pip-audit"
                    else "exited 2: fatal: out of memory"),
        "timeout": f"timed out after {TIMEOUT} seconds",
        "garbage": "not JSON",
        "missing-fields": f"has no '{MISSING_FIELDS[exe].field}' field",
        "signal": "killed by SIGKILL",
    }[fault]


def asked_to_scan(name: str, calls: str) -> bool:
    """Whether the fake was asked to scan for this run (the history run's calls name the
    commit's copy of app.py, under its blobs directory, or run in the history's work
    directory or a mirror named after it; the head scan's do neither)."""
    def of_history(line: str) -> bool:
        return "00000/" in line or f"/{HISTORY}/" in line or f"-{HISTORY}-" in line

    history = [line for line in calls.splitlines() if of_history(line)]
    head = [line for line in calls.splitlines() if line and not of_history(line)]
    return bool(history if name == HISTORY else head)


@dataclass
class ToolFaultRun:
    run: GateRun
    calls: dict[str, str]  # executable -> the calls its fake recorded, one per line
    survivors: list[int]  # fake processes (and their children) alive after the gate
    finished: bool  # a timed-out fake (or its child) ran to its end before the gate did


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def survivors(pids: list[int], wait: float = 60.0) -> list[int]:
    """The pids still alive once the ended ones had time to go (on a loaded machine, the
    kernel may take seconds to tear down a killed process); the wait ends when all are."""
    deadline = time.monotonic() + wait
    left = [p for p in pids if alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [p for p in left if alive(p)]
    return left


def run_tool_fault(
    fault: str, optional: bool, tmp_path: Path, gate: Callable[..., GateRun],
    scanner_bin: Callable[[dict[str, str]], dict[str, str]],
) -> ToolFaultRun:
    """One gate run with every tool faulted the same way."""
    root = pull_request(tmp_path / "repo")
    work = tmp_path / "fault"
    work.mkdir()
    pids = work / "pids"
    executables = sorted(set(tool_runs().values()))
    fakes = {}
    if fault != "missing":
        fakes = {
            exe: FAKE.format(calls=str(work / f"{exe}.calls"), pids=str(pids), exe=exe,
                             missing_fields=MISSING_FIELDS[exe].output) + FAULT_BODIES[fault]
            for exe in executables
        }
    env = scanner_bin(fakes)
    if fault == "missing":
        for exe in executables:
            (Path(env["POLICY_GATE_SCANNER_PATH"]) / exe).unlink(missing_ok=True)
    scanners = [n for n in tool_runs() if n != HISTORY]  # history: detect-secrets' settings
    policy = policy_file(tmp_path / "policy.yaml", scanners, optional=optional,
                         timeout=TIMEOUT if fault == "timeout" else 120)
    run = gate(root, "--diff-base", "main", "--policy", str(policy), env=env)
    calls = {exe: (work / f"{exe}.calls").read_text()
             for exe in executables if (work / f"{exe}.calls").exists()}
    finished = pids.with_name(pids.name + ".finished").exists()
    started = [int(p) for p in pids.read_text().split()] if pids.exists() else []
    return ToolFaultRun(run, calls, survivors(started), finished)


@pytest.fixture(scope="module")
def tool_fault_runs() -> dict[tuple[str, bool], ToolFaultRun]:
    """Gate runs by (fault, optional), shared by the tests of every tool."""
    return {}


def tool_cases() -> Iterator[Any]:
    for fault in ISSUE_FAULTS:
        for optional in (False, True):
            for name in tool_runs():
                yield pytest.param(fault, optional, name, id=f"{name}-{fault}-{mode(optional)}")


@pytest.mark.parametrize(("fault", "optional", "name"), list(tool_cases()))
def test_tool_fault_fails_closed(
    fault: str, optional: bool, name: str,
    tool_fault_runs: dict[tuple[str, bool], ToolFaultRun], tmp_path: Path,
    gate: Callable[..., GateRun], scanner_bin: Callable[[dict[str, str]], dict[str, str]],
) -> None:
    if (fault, optional) not in tool_fault_runs:
        tool_fault_runs[fault, optional] = run_tool_fault(
            fault, optional, tmp_path, gate, scanner_bin
        )
    faulted = tool_fault_runs[fault, optional]
    exe = tool_runs()[name]
    if fault != "missing":  # the fault is the one named: the fake was asked to scan
        assert asked_to_scan(name, faulted.calls.get(exe, "")), (name, faulted.calls)
    assert_fails_closed(faulted.run, name, optional, expected_reason(exe, fault))
    if fault == "timeout":
        assert not faulted.survivors, "processes of a timed-out scanner were left running"
        # the gate ended them at the timeout and waited for neither (a bound on the wall
        # time instead depended on the machine's load); batches: test_map_batches_*
        assert not faulted.finished, "the gate waited for a timed-out scanner to finish"


def test_map_batches_starts_no_batch_after_one_timed_out() -> None:
    """A tool that timed out is not given a timeout's worth of time again for each batch
    left: after the first failure no further batch starts, and that failure is raised."""
    started: list[int] = []

    def run(batch: int) -> int:
        started.append(batch)
        if batch == 0:
            raise ScannerError("bandit", f"timed out after {TIMEOUT} s")
        return batch

    with pytest.raises(ScannerError, match="timed out"):
        map_batches(run, list(range(5)), workers=1)
    assert started == [0]
    assert map_batches(lambda b: b * 2, [1, 2, 3], workers=2) == [2, 4, 6]  # in order


# -- scanners that run in the gate's process --------------------------------------------------

HANG_RELEASE = 30.0  # a hang no watchdog ends returns after this (and its tests fail)


class InjectedFault:
    """Each adapter runs for real on the real tree, then fails in the way asked. Records
    how many files each had read by then."""

    def __init__(self, fault: str) -> None:
        self.fault = fault
        self.read: dict[str, int] = {}
        self.release = threading.Event()

    def wrap(self, name: str, real: Callable[..., ScanOutput]) -> Callable[..., ScanOutput]:
        def faulty(*args: Any, **kwargs: Any) -> ScanOutput:
            output = real(*args, **kwargs)
            self.read[name] = output.files_scanned
            if self.fault == "crash":
                raise RuntimeError(f"injected crash in {name}")
            if self.fault == "error":
                raise ScannerError(name, "injected: gave up part way")
            if self.fault == "exit":
                sys.exit(0)  # what a library may do: it ends the thread, silently
            if self.fault == "hang":
                self.release.wait(HANG_RELEASE)
            elif self.fault == "inconsistent":
                output.raw_results += 1  # a result lost on the way to a finding
            return output

        return faulty


IN_PROCESS_REASONS = {
    "crash": "internal error in the {name} adapter: RuntimeError: injected crash",
    "error": "injected: gave up part way",
    "exit": "internal error in the {name} adapter: SystemExit",
    "hang": f"timed out after {TIMEOUT} seconds",
    "inconsistent": "internal accounting error",
}


@dataclass
class InProcessFaultRun:
    run: GateRun
    read: dict[str, int]


def run_in_process_fault(
    fault: str, optional: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> InProcessFaultRun:
    """The real CLI in this process, with every in-process adapter faulted the same way
    (and detect-secrets running for real, which the history run needs)."""
    inject = InjectedFault(fault)
    for name, scanner in in_process().items():
        monkeypatch.setattr(type(scanner), "scan", inject.wrap(name, type(scanner).scan))
    if fault in in_process_faults(HISTORY):
        monkeypatch.setattr("policy_gate.runner.scan_history",
                            inject.wrap(HISTORY, scan_history))
    root = pull_request(tmp_path / "repo")
    names = [*in_process(), "detect-secrets"]
    # detect-secrets is not faulted here: the history run needs it to finish, however
    # loaded the machine (the fault under test is the history run's own)
    policy = policy_file(tmp_path / "policy.yaml", names, optional=optional, timeout=TIMEOUT,
                         timeouts={"detect-secrets": 300})
    report = tmp_path / "report.json"
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(sys, "argv", [
        "policy-gate", "scan", str(root), "--diff-base", "main", "--policy", str(policy),
        "--advisories", str(EXAMPLE_ADVISORIES), "--format", "json", "--output", str(report),
        *(arg for n in names for arg in ("--scanner", n)),
    ])
    try:
        with pytest.raises(SystemExit) as exited:
            main()
    finally:
        inject.release.set()  # let a hung adapter the gate left behind finish
        for thread in threading.enumerate():
            if thread.name.startswith("scan-"):
                thread.join(10)
        gc.unfreeze()  # the CLI freezes what it made for its report writers
    out, err = capsys.readouterr()
    data = json.loads(report.read_text()) if report.exists() else None
    code = exited.value.code
    return InProcessFaultRun(GateRun(code if isinstance(code, int) else -1, out, err, data),
                             inject.read)


@pytest.fixture(scope="module")
def in_process_fault_runs() -> dict[tuple[str, bool], InProcessFaultRun]:
    return {}


def in_process_cases() -> Iterator[Any]:
    for fault in IN_PROCESS_FAULTS:
        for optional in (False, True):
            for name in [*in_process(), HISTORY]:
                if fault in in_process_faults(name):
                    yield pytest.param(fault, optional, name,
                                       id=f"{name}-{fault}-{mode(optional)}")


@pytest.mark.parametrize(("fault", "optional", "name"), list(in_process_cases()))
def test_in_process_fault_fails_closed(
    fault: str, optional: bool, name: str,
    in_process_fault_runs: dict[tuple[str, bool], InProcessFaultRun],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    if (fault, optional) not in in_process_fault_runs:
        in_process_fault_runs[fault, optional] = run_in_process_fault(
            fault, optional, tmp_path, monkeypatch, capsys
        )
    faulted = in_process_fault_runs[fault, optional]
    # the adapter really ran, on real input, before the fault
    assert faulted.read.get(name, 0) > 0, (name, faulted.read, faulted.run.output)
    assert_fails_closed(faulted.run, name, optional, IN_PROCESS_REASONS[fault].format(name=name))


# -- nothing is left out ---------------------------------------------------------------------

def test_every_scanner_is_in_the_matrix() -> None:
    """A new scanner fails here until the matrix covers it: one that runs a tool needs
    that tool's malformed output in MISSING_FIELDS; one that runs in the gate's process is
    faulted as it is."""
    tools = {s.executable for s in registry().values() if s.executable}
    assert set(MISSING_FIELDS) == tools
    assert {n for n in tool_runs() if n != HISTORY} | set(in_process()) == set(registry())


def test_every_fault_class_applies_or_says_why() -> None:
    assert set(FAULT_BODIES) | {"missing"} == set(ISSUE_FAULTS)
    assert set(IN_PROCESS_EQUIVALENT) == set(ISSUE_FAULTS)
    for fault, equivalent in IN_PROCESS_EQUIVALENT.items():
        if isinstance(equivalent, NotApplicable):
            assert equivalent.why, fault
        else:
            assert equivalent in IN_PROCESS_FAULTS, fault
    assert set(IN_PROCESS_REASONS) == set(IN_PROCESS_FAULTS)
    assert set(HISTORY_NOT_APPLICABLE) < set(IN_PROCESS_FAULTS)
    assert all(n.why for n in HISTORY_NOT_APPLICABLE.values())


def test_the_tree_gives_every_scanner_work(tmp_path: Path) -> None:
    """Otherwise a scanner with nothing to do never starts its tool and its cases prove
    nothing (the fault tests also check each fake was asked to scan)."""
    fileset = walk(make_tree(tmp_path / "repo", files()))
    assert not [n for n, s in registry().items() if not s.targets(fileset)]
