"""Refactoring leaves what people read unchanged: the example repository's reports in
every format, its terminal output and its GitHub Actions output are compared with the
copies in tests/golden/, after masking only what differs between two identical runs
(times, durations, the checkout's path, identifiers derived from the time).

Each file is stored once: golden/example/terminal/ holds every file of the terminal run;
golden/example/github/ holds only what the GitHub Actions run writes differently (its
outputs, job summary and stdout, and a report only if GitHub mode changes it). The GitHub
run's other reports are compared with the terminal's copies.

After a deliberate change of output: POLICY_GATE_UPDATE_GOLDEN=1 pytest this file (both
runs: the terminal's first, as pytest orders them), and review the diff of tests/golden/
like any other change."""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from policy_gate.reports.markdown import md
from tests.conftest import EXAMPLE_ADVISORIES, OFFLINE_POLICY, REPO
from tests.report_schema import assert_valid_report

GOLDEN = REPO / "tests" / "golden" / "example"
FORMATS = {"json": "report.json", "sarif": "report.sarif", "junit": "report.xml",
           "markdown": "report.md", "cyclonedx": "report.cdx.json",
           "openvex": "report.vex.json", "compliance": "compliance.md"}
VOLATILE = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?"), "<TIME>"),
    (re.compile(r'("(?:seconds|duration_s|elapsed)"\s*:\s*)[\d.]+'), r"\g<1><S>"),
    (re.compile(r'\btime="[\d.]+"'), 'time="<S>"'),
    (re.compile(r"\b\d+(?:\.\d+)? ?s\b"), "<S>s"),
    # the advisory data's age: it grows with the wall clock
    (re.compile(r'("age_days"\s*:\s*)\d+\.\d+'), r"\g<1><AGE>"),
    (re.compile(r"\(\d+ days old\)"), "(<AGE> days old)"),
    (re.compile(r"urn:uuid:[0-9a-f-]{36}"), "urn:uuid:<UUID>"),
    (re.compile(r"ghadelimiter_[0-9a-f-]{36}"), "ghadelimiter_<UUID>"),
    (re.compile(r"vex-[0-9a-f]{64}"), "vex-<ID>"),
]


def normalise(text: str, root: Path) -> str:
    pypi = os.environ["POLICY_GATE_PYPI_URL"]  # the tests' fake PyPI, on a new port each run
    for literal, name in ((str(root), "<ROOT>"), (str(root.parent), "<WORK>"),
                          (str(REPO), "<REPO>"), (pypi, "<PYPI>")):
        escaped = md(literal)  # as Markdown has it
        text = text.replace(literal, name).replace(escaped, name)
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def run_gate(work: Path, *, github: bool) -> dict[str, str]:
    """One gate run on a copy of the example; every file it wrote, by name."""
    root = work / "vulnerable-service"
    shutil.copytree(REPO / "examples" / "vulnerable-service", root)
    argv = [sys.executable, "-m", "policy_gate", "scan", str(root), "--policy",
            str(OFFLINE_POLICY), "--advisories", str(EXAMPLE_ADVISORIES), "--jobs", "2"]
    for fmt, name in FORMATS.items():
        argv += ["--format", fmt, "--output", str(work / name)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    # the gate of the checkout this test is in, whatever is installed
    env |= {"NO_COLOR": "1", "POLICY_GATE_TODAY": "2026-12-01", "COLUMNS": "100",
            "PYTHONPATH": str(REPO)}
    if github:
        (work / "summary.md").touch()
        (work / "outputs.txt").touch()
        env |= {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push",
                "GITHUB_STEP_SUMMARY": str(work / "summary.md"),
                "GITHUB_OUTPUT": str(work / "outputs.txt"), "GITHUB_REPOSITORY": "o/r",
                "GITHUB_SERVER_URL": "https://github.com", "GITHUB_SHA": "0" * 40}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=work,
                          timeout=600, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert_valid_report(json.loads((work / "report.json").read_text(encoding="utf-8")))
    (work / "stdout.txt").write_text(f"exit {proc.returncode}\n{proc.stdout}")
    written = {p.name: normalise(p.read_text(encoding="utf-8"), root)
               for p in sorted(work.iterdir()) if p.is_file()}
    return written


def golden_of(github: bool) -> dict[str, str]:
    """What a run must write: the terminal's files, with the GitHub run's own in front."""
    dirs = [GOLDEN / "terminal", *([GOLDEN / "github"] if github else [])]
    return {p.name: p.read_text(encoding="utf-8")
            for d in dirs if d.is_dir() for p in sorted(d.iterdir())}


def update_golden(got: dict[str, str], *, github: bool) -> None:
    """Store the run's files, each once: a GitHub file only where the terminal's differs."""
    terminal, own = GOLDEN / "terminal", GOLDEN / "github"
    target = own if github else terminal
    target.mkdir(parents=True, exist_ok=True)
    for name, text in got.items():
        shared = terminal / name
        if github and shared.is_file() and shared.read_text(encoding="utf-8") == text:
            (own / name).unlink(missing_ok=True)
        else:
            (target / name).write_text(text, encoding="utf-8")
    for stale in [p for p in target.iterdir() if p.name not in got]:
        stale.unlink()
    # the terminal's new copies may make a GitHub file the same as them: store it once
    for copy in [p for p in own.iterdir() if p.is_file()] if own.is_dir() else []:
        shared = terminal / copy.name
        if shared.is_file() and shared.read_bytes() == copy.read_bytes():
            copy.unlink()


@pytest.mark.parametrize("github", [False, True], ids=["terminal", "github"])
def test_reports_on_the_example_are_unchanged(tmp_path: Path, github: bool) -> None:
    got = run_gate(tmp_path, github=github)
    if os.environ.get("POLICY_GATE_UPDATE_GOLDEN") == "1":
        update_golden(got, github=github)
    expected = golden_of(github)
    assert sorted(got) == sorted(expected)
    for name, text in got.items():
        diff = difflib.unified_diff(expected[name].splitlines(), text.splitlines(),
                                    f"golden/{name}", name, lineterm="", n=1)
        assert text == expected[name], "\n".join(["differs (see module doc):", *diff][:40])


def test_golden_files_are_stored_once() -> None:
    """A GitHub-run file the same as the terminal's is a duplicate to delete, not a copy
    that could drift: the GitHub run is compared with the terminal's copy."""
    own = GOLDEN / "github"
    duplicates = [p.name for p in sorted(own.iterdir())
                  if (GOLDEN / "terminal" / p.name).is_file()
                  and (GOLDEN / "terminal" / p.name).read_bytes() == p.read_bytes()]
    assert not duplicates, f"the same as golden/example/terminal/, delete: {duplicates}"
    assert {"outputs.txt", "summary.md", "stdout.txt"} <= {p.name for p in own.iterdir()}
