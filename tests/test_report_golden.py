"""Refactoring leaves what people read unchanged: the example repository's reports in
every format, its terminal output and its GitHub Actions output are compared with the
copies in tests/golden/, after masking only what differs between two identical runs
(times, durations, the checkout's path, identifiers derived from the time).

After a deliberate change of output: POLICY_GATE_UPDATE_GOLDEN=1 pytest this file, and
review the diff of tests/golden/ like any other change."""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ADVISORIES, OFFLINE_POLICY, REPO

GOLDEN = REPO / "tests" / "golden" / "example"
FORMATS = {"json": "report.json", "sarif": "report.sarif", "junit": "report.xml",
           "markdown": "report.md", "cyclonedx": "report.cdx.json",
           "openvex": "report.vex.json", "compliance": "compliance.md"}
VOLATILE = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d(?::|&#58;)\d\d(?::|&#58;)\d\d(?:\.\d+)?"
                r"(?:Z|[+-]\d\d(?::|&#58;)\d\d)?"), "<TIME>"),
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
        escaped = literal.replace("_", "&#95;").replace(":", "&#58;")  # as Markdown has it
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
    (work / "stdout.txt").write_text(f"exit {proc.returncode}\n{proc.stdout}")
    written = {p.name: normalise(p.read_text(encoding="utf-8"), root)
               for p in sorted(work.iterdir()) if p.is_file()}
    return written


@pytest.mark.parametrize("github", [False, True], ids=["terminal", "github"])
def test_reports_on_the_example_are_unchanged(tmp_path: Path, github: bool) -> None:
    got = run_gate(tmp_path, github=github)
    golden = GOLDEN / ("github" if github else "terminal")
    if os.environ.get("POLICY_GATE_UPDATE_GOLDEN") == "1":
        shutil.rmtree(golden, ignore_errors=True)
        golden.mkdir(parents=True)
        for name, text in got.items():
            (golden / name).write_text(text, encoding="utf-8")
    expected = {p.name: p.read_text(encoding="utf-8") for p in sorted(golden.iterdir())}
    assert sorted(got) == sorted(expected)
    for name, text in got.items():
        diff = difflib.unified_diff(expected[name].splitlines(), text.splitlines(),
                                    f"golden/{name}", name, lineterm="", n=1)
        assert text == expected[name], "\n".join(["differs (see module doc):", *diff][:40])
