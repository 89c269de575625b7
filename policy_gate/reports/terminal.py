"""The terminal report: verdict first, then what fails and how to fix it, then what was
found but tolerated, then what could not be checked. Colour only on a TTY without NO_COLOR;
every value from the scanned tree is escaped (rich markup and control characters)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from policy_gate.policy.evaluate import Decision, Status, Verdict
from policy_gate.reports.interface import ReportData, printable

_SEV_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
_VERDICT = {
    Verdict.PASS: ("[bold green]PASS[/]", "no violations of the policy"),
    Verdict.FAIL: ("[bold red]FAIL[/]", "the policy is violated"),
    Verdict.ERROR: (
        "[bold red]ERROR[/]",
        "a required scanner failed, so the result cannot be trusted",
    ),
}
MAX_BELOW = 50


def safe(text: str) -> str:
    return escape(printable(text))


def render(data: ReportData, console: Console) -> None:
    ev = data.evaluation
    ordered = data.ordered()
    label, meaning = _VERDICT[ev.verdict]
    violations = [d for d in ordered if d.status is Status.VIOLATION]
    below = [d for d in ordered if d.status is Status.BELOW_THRESHOLD]
    shown_below = [d for d in below if d.reported]
    console.print(
        f"{label} policy-gate — {meaning}: {len(violations)} violation(s), "
        f"{len(below)} below threshold, {ev.count(Status.EXCLUDED)} excluded, "
        f"{ev.count(Status.DISABLED)} disabled by rule "
        f"(policy {safe(data.policy.name)} {data.policy.sha256[:12]})"
    )
    console.print()
    _scanners(data, console)

    if violations:
        console.print(f"[bold]Violations ({len(violations)})[/] — these fail the build:")
        for category in dict.fromkeys(d.finding.category for d in violations):
            group = [d for d in violations if d.finding.category == category]
            cat = group[0].category_policy
            cites = f" [{', '.join(cat.sources)}]" if cat.sources else ""
            console.print(f"[bold]{category}[/] ({len(group)}){safe(cites)}")
            if cat.rationale:
                console.print(f"  [dim]{safe(cat.rationale)}[/]")
            for d in group:
                _finding(console, d, detail=True)
        console.print()
    for b in ev.budgets:
        console.print(
            f"[red]Budget exceeded[/]: {b.category} allows {b.allowed} {b.severity.label} "
            f"finding(s), {b.found} found."
        )
    if shown_below:
        console.print(f"[bold]Below threshold ({len(below)})[/] — reported, not failing:")
        for d in shown_below[:MAX_BELOW]:
            _finding(console, d, detail=False)
        hidden = len(below) - min(len(shown_below), MAX_BELOW)
        if hidden:
            console.print(f"  … and {hidden} more below the report threshold (see the JSON report)")
        console.print()

    if ev.verdict is Verdict.FAIL:
        console.print(
            "How to proceed: fix each violation as its line says; if a finding is a false "
            "positive or an accepted risk, ask a security lead to record it in the policy "
            "with a reason (see README: Policy reference)."
        )
    elif ev.verdict is Verdict.ERROR:
        failed = [r for r in data.result.runs if r.status == "failed"]
        for run in failed:
            console.print(f"[red]{run.name} failed[/]: {safe(run.reason)}")
        console.print(
            "[red]The gate could not complete[/]: a required scanner failed. "
            "Exit code 3 — this is not a pass."
        )
    console.print(f"{label} ({len(violations)} violation(s); exit {ev.verdict.exit_code})")


def _scanners(data: ReportData, console: Console) -> None:
    for run in data.result.runs:
        if run.status == "disabled":
            continue
        out = run.output
        detail = f"{out.raw_results} result(s), {out.files_scanned} file(s)" if out else ""
        style = {"ok": "green", "failed": "bold red", "skipped": "yellow"}.get(run.status, "")
        reason = f" — {safe(run.reason)}" if run.reason else ""
        console.print(
            f"  [{style}]{run.status:>7}[/] {run.name} {safe(run.version)} "
            f"{run.seconds:.1f}s {detail}{reason}"
        )
        for note in out.notes if out else []:
            console.print(f"          {safe(note)}")
    fs = data.result.fileset
    console.print(
        f"  {len(fs.files)} files in scope, {len(fs.excluded)} excluded paths, "
        f"{len(fs.symlinks)} symlinks not followed; {data.result.seconds:.1f}s in all"
    )
    if data.result.advisory_info is not None:
        console.print(f"  {safe(data.result.advisory_info.summary())}")
    console.print()


def _finding(console: Console, d: Decision, *, detail: bool) -> None:
    f = d.finding
    sev = d.severity.label
    scanners = "+".join(f.scanners)
    ids = f" {', '.join(f.ids)}" if f.ids else ""
    console.print(
        f"  [{_SEV_STYLE[sev]}]{sev.upper():8}[/] {safe(f.location)}  "
        f"[bold]{safe(f.qualified_rule)}[/] ({f.category}, {scanners}{safe(ids)})"
    )
    console.print(f"           {safe(f.message)}")
    if detail:
        if f.fix:
            console.print(f"           [green]fix: {safe(f.fix)}[/]")
        if f.help_url:
            console.print(f"           [dim]more: {safe(f.help_url)}[/]")
