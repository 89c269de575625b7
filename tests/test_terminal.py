"""The terminal report and the helpers every report shares: the same text whether or not
the Console colours it, every finding listed, and nothing from the scanned tree ever read
as rich markup or written as a control character."""

from __future__ import annotations

import io
import random
import re
from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console

from policy_gate import cli
from policy_gate.base.fileset import FileSet
from policy_gate.findings import (
    CATEGORIES,
    SAST,
    Confidence,
    Finding,
    Severity,
    Source,
    merge_findings,
)
from policy_gate.policy.evaluate import Decision, Status, evaluate
from policy_gate.policy.loader import load_policy
from policy_gate.policy.waivers import load_waivers
from policy_gate.reports import terminal
from policy_gate.reports.interface import ReportData, printable, status_rank
from policy_gate.results import ScannerRun, ScanOutput, ScanResult
from tests.conftest import EXTENDS_OFFLINE, OFFLINE_POLICY

# What a scanned file may put in a message or a path: rich markup, an ANSI escape, a
# carriage return, emoji codes, a trailing backslash, a zero-width space.
HOSTILE = [
    "[bold red]not bold[/] [link=https://evil.example]click[/link]",
    "\x1b[31mred\x1b[0m and\r a return",
    "C:\\dir\\",
    "\\[bold]x[/]",
    ":warning: :smile:",
    "zero\u200bwidth\ttab\nnewline",
]
SGR = re.compile(r"\x1b\[[0-9;]*m")


def _finding(i: int, message: str, sev: Severity = Severity.HIGH) -> Finding:
    return Finding(
        category=SAST,
        sources=(Source("bandit", f"B{600 + i % 7}", sev, Confidence.HIGH, message),),
        path=f"src/mod_{i % 13}/file [{i}].py",
        start_line=i + 1,
        end_line=i + 1,
        message=message,
        flaw_key=f"CWE-78:{i}",
        content_key=f"code-{i}",
        cwe=("CWE-78",),
        title="shell injection",
        fix=f"fix [green]{i}[/]" if i % 2 else "",
        help_url=f"https://example.org/B{i}" if i % 3 else None,
    )


def _data(tmp_path: Path, n: int = 120) -> ReportData:
    path = tmp_path / "policy.yaml"
    path.write_text(EXTENDS_OFFLINE + "\n")
    policy = load_policy(path)
    sevs = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO)
    findings = merge_findings(
        [_finding(i, f"#{i} " + HOSTILE[i % len(HOSTILE)], sevs[i % 5]) for i in range(n)]
    )
    root = Path("/repo")
    runs = [
        ScannerRun("bandit", "ok", "", "1.0", 0.5, ScanOutput(findings, "1.0", n, 1)),
        ScannerRun("semgrep", "skipped", "no [bold]network[/]\x1b[2J", "1.2", 0.1),
        ScannerRun("detect-secrets", "running", "", "2.0", 0.1),
    ]
    result = ScanResult(root, FileSet(root, ()), runs, findings, 1_700_000_000.0, 1.0)
    ev = evaluate(policy, findings, (r.outcome for r in runs))
    return ReportData(result, policy, ev)


@pytest.fixture
def data(tmp_path: Path) -> ReportData:
    return _data(tmp_path)


def _render(data: ReportData, console: Console) -> str:
    terminal.render(data, console)
    out = console.file
    assert isinstance(out, io.StringIO)
    return out.getvalue()


def _plain(data: ReportData) -> str:
    return _render(data, cli._console(io.StringIO()))


FINGERPRINT = re.compile(r"\b[0-9a-f]{32}\b")


def _place_line(d: Decision) -> str:
    """What a place's line holds: where, how sure, and the fingerprint a waiver takes."""
    f = d.finding
    confidence = f"{d.confidence.label} confidence" if d.confidence else "certain"
    return f"{f.location}  {confidence}  {f.fingerprint}"


def test_off_a_terminal_the_report_is_plain_text_with_every_violation(data: ReportData) -> None:
    text = _plain(data)
    assert "\x1b" not in text and "\r" not in text
    lines = text.splitlines()
    violations = [d for d in data.evaluation.decisions if d.status is Status.VIOLATION]
    for d in violations:
        f = d.finding
        assert f"  {d.severity.label.upper():8} {f.qualified_rule} (" in text
        assert f"           {printable(f.message)}" in lines
        assert any(line.strip() == _place_line(d) for line in lines), _place_line(d)
    assert lines[0].startswith("FAIL policy-gate — failed: ")
    assert lines[-1].startswith("FAIL (") and lines[-1].endswith("; exit 1)")


def test_values_are_shown_literally_never_as_markup(data: ReportData) -> None:
    lines = _plain(data).splitlines()
    assert "           #0 [bold red]not bold[/] [link=https://evil.example]click[/link]" in lines
    assert "           #1 \\x1b[31mred\\x1b[0m and\\r a return" in lines
    assert "           #2 C:\\dir\\" in lines  # the backslash once, as in the value
    assert "           #3 \\[bold]x[/]" in lines
    assert "           #10 :warning: :smile:" in lines
    assert "           #5 zero\\u200bwidth\\ttab\\nnewline" in lines
    assert "fix: fix [green]1[/]" in [line.strip() for line in lines]
    assert "  CRITICAL bandit:B600 (bandit, CWE-78; 4 places)" in lines
    assert any(line.startswith("             src/mod_0/file [0].py:1  high confidence  ")
               for line in lines)
    # a scanner's reason, and a status the report has no colour for
    assert "  skipped semgrep 1.2 0.1s  — no [bold]network[/]\\x1b[2J" in lines
    assert "  running detect-secrets 2.0 0.1s " in lines


def _colour(data: ReportData, **kwargs: object) -> str:
    console = Console(
        file=io.StringIO(), force_terminal=True, highlight=False, soft_wrap=True, emoji=False,
        **kwargs,  # type: ignore[arg-type]
    )
    return _render(data, console)


@pytest.mark.parametrize("system", ["truecolor", "256", "standard"])
def test_on_a_terminal_the_same_text_in_colour(data: ReportData, system: str) -> None:
    text = _colour(data, color_system=system)
    assert text.startswith("\x1b[1;31mFAIL\x1b[0m policy-gate")
    assert "\x1b[1mViolations (" in text
    assert "  \x1b[1;31mCRITICAL\x1b[0m \x1b[1mbandit:B600\x1b[0m (bandit, CWE-78" in text
    # the only escape sequences are the report's own styles
    assert SGR.sub("", text) == _plain(data)


def test_no_color_on_a_terminal_keeps_emphasis_only(data: ReportData) -> None:
    text = _colour(data, color_system="truecolor", no_color=True)
    assert text.startswith("\x1b[1mFAIL\x1b[0m policy-gate")
    assert not re.search(r"\x1b\[[0-9;]*3[0-9]m", text)
    assert SGR.sub("", text) == _plain(data)


def test_recording_and_capturing_consoles_get_the_report(data: ReportData) -> None:
    plain = _plain(data)
    console = Console(record=True, file=io.StringIO(), soft_wrap=True, highlight=False)
    terminal.render(data, console)
    assert console.export_text() == plain
    console = Console(file=io.StringIO(), force_terminal=True, soft_wrap=True)
    with console.capture() as captured:
        terminal.render(data, console)
    assert SGR.sub("", captured.get()) == plain
    out = console.file
    assert isinstance(out, io.StringIO) and out.getvalue() == ""


def test_a_console_that_wraps_still_wraps(data: ReportData) -> None:
    """A caller's default Console (no soft wrap) wraps long lines as it always did."""
    text = _render(data, Console(file=io.StringIO(), width=50, highlight=False, emoji=False))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 50
    assert " ".join(text.split()) == " ".join(_plain(data).split())


def test_nothing_is_lost_below_the_threshold(tmp_path: Path) -> None:
    data = _data(tmp_path, n=400)
    text = _plain(data)
    below = [d for d in data.evaluation.decisions if d.status is Status.BELOW_THRESHOLD]
    shown = [d for d in below if d.reported][: terminal.MAX_BELOW]
    assert f"Below threshold ({len(below)})" in text
    for d in shown:
        assert f" {d.finding.location}  " in text
    hidden = len(below) - len(shown)
    assert hidden == 0 or f"  … and {hidden} more below the threshold (" in text


def _same_message(tmp_path: Path, n: int, rules: int) -> ReportData:
    """``n`` violations of ``rules`` rules, each rule's places sharing message and fix."""
    data = _data(tmp_path, n=1)
    findings = merge_findings([
        Finding(
            category=SAST,
            sources=(Source("bandit", f"B{i % rules}", Severity.HIGH, Confidence.HIGH,
                            f"message of B{i % rules}"),),
            path=f"pkg/m{i}.py", start_line=i + 1, end_line=i + 1,
            message=f"message of B{i % rules}", flaw_key=f"k{i}", content_key=f"c{i}",
            fix=f"fix of B{i % rules}", help_url=f"https://example.org/B{i % rules}",
        )
        for i in range(n)
    ])
    ev = evaluate(data.policy, findings, (r.outcome for r in data.result.runs))
    result = ScanResult(data.result.root, data.result.fileset, data.result.runs, findings,
                        1_700_000_000.0, 1.0)
    return ReportData(result, data.policy, ev)


def test_violations_are_grouped_by_rule_with_a_line_per_place(tmp_path: Path) -> None:
    """59 violations of 3 rules: each rule's message, fix and link once, then one line
    per place with its confidence and whole fingerprint (what a waiver takes)."""
    data = _same_message(tmp_path, 59, 3)
    text = _plain(data)
    lines = text.splitlines()
    start = lines.index("Violations (59) of 3 rules — these fail the build:")
    end = lines.index("", start)
    assert end - start == 1 + 1 + 1 + 3 * 4 + 59  # title, category, rationale, rules, places
    for rule in range(3):
        assert text.count(f"message of B{rule}") == 1
        assert text.count(f"fix: fix of B{rule}") == 1
        assert text.count(f"more: https://example.org/B{rule}") == 1
    violations = [d for d in data.evaluation.decisions if d.status is Status.VIOLATION]
    assert len(violations) == 59
    for d in violations:
        assert f"           {_place_line(d)}" in lines
    # the fingerprints shown are the violations', whole: a waiver or `explain` takes them
    shown = set(FINGERPRINT.findall("\n".join(lines[start:end])))
    assert shown == {d.finding.fingerprint for d in violations}
    waivers = load_waivers(
        "waivers:\n" + "".join(
            f"  - {{fingerprint: {fp}, reason: a test of the output, owner: security@example.org, "
            "expires: 2099-01-01}\n"
            for fp in sorted(shown)
        ),
        "waivers.yaml",
    )
    assert len(waivers.waivers) == 59


def test_places_whose_messages_differ_show_each_message(data: ReportData) -> None:
    """Per-place detail is kept: a rule whose places say different things (advisories,
    masked secrets) shows each message, with its places below it."""
    lines = _plain(data).splitlines()
    for d in data.evaluation.decisions:
        if d.status is Status.VIOLATION:
            message = lines.index(f"           {printable(d.finding.message)}")
            assert lines[message + 1] == f"             {_place_line(d)}"


def test_quiet_is_only_the_verdict_and_the_violations(data: ReportData) -> None:
    loud = _plain(data)
    out = io.StringIO()
    terminal.render(data, cli._console(out), quiet=True)
    quiet = out.getvalue()
    for gone in ("skipped semgrep", "Findings by category", "Below threshold",
                 "How to proceed", "files in scope"):
        assert gone in loud and gone not in quiet, gone
    violations = loud[loud.index("Violations ("):loud.index("\n\n", loud.index("Violations ("))]
    assert violations in quiet
    assert quiet.splitlines()[0] == loud.splitlines()[0]
    assert quiet.splitlines()[-1] == loud.splitlines()[-1]


def test_counts_account_for_every_finding(data: ReportData) -> None:
    lines = _plain(data).splitlines()
    start = lines.index("Findings by category and severity:")
    rows = lines[start + 2:lines.index("", start)]
    total = sum(int(cell) for row in rows for cell in row.split()[2:])
    assert total == len(data.evaluation.decisions)


def test_hints_name_the_report_written_or_how_to_get_one(tmp_path: Path) -> None:
    data = _data(tmp_path, n=400)
    text = _plain(data)
    assert "JSON report" not in text
    assert "`--format json --output FILE` writes a report listing each" in text
    out = io.StringIO()
    terminal.render(data, cli._console(out), reports={"json": "out/r [1].json", "sarif": "s"})
    text = out.getvalue()
    assert "the JSON report out/r [1].json lists each" in text
    assert "--format json" not in text
    assert "Reports: out/r [1].json (json), s (sarif)" in text.splitlines()


def test_quiet_on_the_command_line(tmp_path: Path) -> None:
    """`scan -q`: no scanner table, no progress on stderr, no hints; the violations."""
    from click.testing import CliRunner

    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.py").write_text("import hashlib\n\n\ndef f(x):\n    return hashlib.md5(x)\n")
    args = ["scan", str(root), "--policy", str(OFFLINE_POLICY), "--scanner", "bandit"]
    loud = CliRunner().invoke(cli.cli, args)
    quiet = CliRunner().invoke(cli.cli, [*args, "-q"])
    assert loud.exit_code == quiet.exit_code == 1
    assert "bandit:B324" in quiet.stdout and "a.py:5  high confidence  " in quiet.stdout
    assert "ok bandit" in loud.stdout and "ok bandit" not in quiet.stdout
    assert "How to proceed" in loud.stdout and "How to proceed" not in quiet.stdout
    assert "bandit: ok" in loud.stderr and quiet.stderr == ""


# ----------------------------------------------------------------------- shared helpers


def _printable_reference(text: str) -> str:
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


def test_printable_escapes_exactly_the_unprintable() -> None:
    text = "plain text, ünïcode 中文 [x]"
    assert printable(text) is text
    rng = random.Random(7)
    alphabet = ["a", " ", "\\", "[", "é", "中", "\x1b", "\n", "\r", "\t", "\x00", "\x7f",
                "\u200b", "\u2028", "\u00a0", "\ud800", "\U0001f600", "\U000e0001"]
    for _ in range(3000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert printable(value) == _printable_reference(value)
        assert printable(value).isprintable()


def _ordered_reference(data: ReportData) -> list[Decision]:
    return sorted(
        data.evaluation.decisions,
        key=lambda d: (status_rank(d.status), -d.severity, d.finding.path,
                       d.finding.start_line or 0),
    )


def test_ordered_and_accepted_are_fresh_lists_each_call(data: ReportData) -> None:
    first = data.ordered()
    assert first == _ordered_reference(data)
    first.clear()
    assert data.ordered() == _ordered_reference(data)
    groups = data.accepted()
    for decisions in groups.values():
        decisions.clear()
    assert data.accepted().keys() == groups.keys()


def test_table_counts_in_first_seen_order(data: ReportData) -> None:
    expected: dict[str, dict[str, Counter[str]]] = {
        c: {s.label: Counter() for s in reversed(Severity)} for c in CATEGORIES
    }
    for d in data.evaluation.decisions:  # what table() did, decision by decision
        expected.setdefault(d.finding.category, {s.label: Counter() for s in reversed(Severity)})
        expected[d.finding.category][d.severity.label][d.status.value] += 1
    table = data.table()
    assert table == expected
    assert list(table) == list(expected)
    for category, sevs in table.items():
        assert list(sevs) == list(expected[category])
        for label, counts in sevs.items():
            assert list(counts) == list(expected[category][label])
