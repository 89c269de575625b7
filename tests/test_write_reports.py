"""`policy-gate scan` writes its report files through `cli_output.write_reports`: on a
large scan with more than one core, a forked child writes about half of them. The files
must be the ones a single process writes, and a failure in either process must end the
gate with exit 3, never with a missing report and a pass."""

from __future__ import annotations

import io
import json
from functools import partial
from pathlib import Path

import pytest

from policy_gate import cli, cli_output
from policy_gate.reports import openvex, terminal
from policy_gate.reports.interface import ReportData
from tests.test_report_writers import _hostile
from tests.test_reports_decisions import _full

ALL = [*(f for f in cli_output.FORMATS if f != "compliance"), "compliance"]


def _requests(out: Path) -> list[tuple[str, Path]]:
    return [(fmt, out / f"report.{fmt}") for fmt in ALL]


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


@pytest.fixture(params=["full", "hostile"])
def data(request: pytest.FixtureRequest, tmp_path: Path) -> ReportData:
    return _full(tmp_path) if request.param == "full" else _hostile()


def _write(
    data: ReportData, out: Path, monkeypatch: pytest.MonkeyPatch, *, fork: bool
) -> tuple[dict[str, str], list[int], str]:
    """write_reports with (or without) the second process; the pids it forked."""
    forked: list[int] = []
    real_fork = cli_output.os.fork

    def spy() -> int:
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    with monkeypatch.context() as m:
        m.setattr(cli_output, "PARALLEL_REPORTS_FROM", 0 if fork else 10**9)
        m.setattr(cli_output.os, "cpu_count", lambda: 2)
        m.setattr(cli_output.os, "fork", spy)
        summary = io.StringIO()
        written = cli_output.write_reports(
            data, _requests(out), partial(terminal.render, data, cli._console(summary))
        )
    return written, forked, summary.getvalue()


def test_two_processes_write_what_one_writes(
    data: ReportData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    written_one, forked_one, summary_one = _write(data, one, monkeypatch, fork=False)
    written_two, forked_two, summary_two = _write(data, two, monkeypatch, fork=True)
    assert not forked_one and len(forked_two) == 1
    assert _files(one) == _files(two)
    # an OpenVEX report with nothing to state is no file, in either process
    stated = [f for f in ALL if f != "openvex" or openvex.has_statements(data)]
    assert set(_files(two)) == {f"report.{f}" for f in stated} | {"report.compliance.html"}
    assert summary_one == summary_two and summary_two
    assert written_two == {k: v.replace(str(one), str(two)) for k, v in written_one.items()}
    assert written_two["compliance-html"] == str(two / "report.compliance.html")


def test_the_child_writes_about_half() -> None:
    files = [(fmt, Path(fmt)) for fmt in ALL]
    child = cli_output._half(files, cli_output.REPORT_COST["terminal"])
    costs = {fmt: cli_output.REPORT_COST[fmt] for fmt in ALL}
    theirs = sum(costs[f] for f, _ in child)
    mine = sum(costs.values()) - theirs + cli_output.REPORT_COST["terminal"]
    assert child and len(child) < len(files)
    assert abs(mine - theirs) <= max(costs.values())


@pytest.mark.parametrize("where", ["child", "parent", "one process"])
def test_a_report_that_cannot_be_written_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Whichever process was given it, the call fails naming the format."""
    data = _full(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "blocker").write_text("a file where a directory should be")
    requests = _requests(out)
    child = {f for f, _ in cli_output._half(requests, 0.0)}
    bad = next(f for f, _ in requests if (f in child) == (where == "child"))
    requests = [(f, out / "blocker" / t.name if f == bad else t) for f, t in requests]
    with monkeypatch.context() as m:
        m.setattr(cli_output, "PARALLEL_REPORTS_FROM", 10**9 if where == "one process" else 0)
        m.setattr(cli_output.os, "cpu_count", lambda: 2)
        with pytest.raises(cli_output.ReportWriteError, match=bad):
            cli_output.write_reports(data, requests)


def test_the_cli_exits_2_before_scanning_when_a_report_path_is_below_a_file(
    tmp_path: Path,
) -> None:
    """End to end: the report path is under a regular file. That is bad input (exit 2),
    found before any scanner starts, not a failure after the scan."""
    import subprocess
    import sys

    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "app.py").write_text("print('hello')\n")
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    done = subprocess.run(
        [sys.executable, "-m", "policy_gate.cli", "scan", str(tree), "--scanner", "bandit",
         "--format", "json", "--output", str(blocker / "gate.json")],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 2, done.stderr
    assert f"--output (json) {blocker / 'gate.json'}" in done.stderr
    assert "is not a directory" in done.stderr and "Traceback" not in done.stderr


def test_a_report_on_stdout_in_github_mode_cannot_issue_workflow_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A report printed into the job log quotes file names from the tree; GitHub's runner
    obeys `::command` at a line's start and the legacy `##[command]` anywhere in a line. In
    GitHub mode the report is printed between `::stop-commands::TOKEN` and `::TOKEN::`,
    with a token nobody could have put in the tree."""
    data = _hostile()
    cli_output.write_reports(data, [("json", Path("-"))], in_github=True)
    first = capsys.readouterr().out
    cli_output.write_reports(data, [("json", Path("-"))], in_github=True)
    second = capsys.readouterr().out
    lines = first.splitlines()
    assert lines[0].startswith("::stop-commands::")
    token = lines[0].removeprefix("::stop-commands::")
    assert len(token) == 32 and lines[-1] == f"::{token}::"
    assert token not in "\n".join(lines[1:-1])
    assert second.splitlines()[0] != lines[0], "a fresh token every time"
    assert json.loads("\n".join(lines[1:-1]))["findings"]
    # outside GitHub mode the report is printed as it is
    cli_output.write_reports(data, [("json", Path("-"))])
    assert capsys.readouterr().out.startswith("{")
