"""The terminal report: verdict first, then notices (a change to the gate's own inputs
first), what fails and how to fix it, then what was accepted or tolerated, then what could
not be checked. Colour only on a TTY without NO_COLOR (the caller's Console decides); every
value from the scanned tree, the policy or the waivers file is escaped (rich markup and
control characters)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from policy_gate.policy.evaluate import Decision, Status, Verdict
from policy_gate.reports.interface import ReportData, notice_place, printable

_SEV_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
_LABEL = {
    Verdict.PASS: "[bold green]PASS[/]",
    Verdict.FAIL: "[bold red]FAIL[/]",
    Verdict.REVIEW: "[bold yellow]REVIEW[/]",
    Verdict.ERROR: "[bold red]ERROR[/]",
}
MAX_BELOW = 50
MAX_NOTICES = 50


def safe(text: str) -> str:
    return escape(printable(text))


def render(data: ReportData, console: Console) -> None:
    ev = data.evaluation
    ordered = data.ordered()
    label = _LABEL.get(ev.verdict, f"[bold]{ev.verdict.value.upper()}[/]")
    violations = [d for d in ordered if d.status is Status.VIOLATION]
    below = [d for d in ordered if d.status is Status.BELOW_THRESHOLD]
    shown_below = [d for d in below if d.reported]
    accepted = data.accepted_summary()
    console.print(
        f"{label} policy-gate — {ev.verdict.headline}: {len(violations)} violation(s), "
        + (f"accepted: {accepted}; " if accepted else "")
        + f"{len(below)} below threshold, {ev.count(Status.EXCLUDED)} excluded, "
        f"{ev.count(Status.DISABLED)} disabled by rule "
        f"(policy {safe(data.policy.name)} {data.policy.sha256[:12]})"
    )
    console.print()
    _scanners(data, console)
    _notices(data, console)

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
    if accepted:
        console.print(
            f"[bold]Accepted ({sum(len(v) for v in data.accepted().values())})[/] — over the "
            f"fail threshold, not failing this run: {accepted} (the JSON report says why, "
            "per finding)"
        )
        console.print()
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
            "positive or an accepted risk, ask a security lead to record a waiver with a "
            "reason, an owner and an expiry date (see docs/waivers.md)."
        )
    if ev.policy_change is not None and ev.verdict in (Verdict.FAIL, Verdict.REVIEW):
        lead = "How to proceed" if ev.verdict is Verdict.REVIEW else "Also"
        console.print(
            f"{lead}: this change modifies what the gate enforces (its policy, waivers or "
            "baseline). The base ref's version was enforced; a security lead must review "
            "and merge the change."
        )
    if ev.verdict is Verdict.ERROR:
        failed = [r for r in data.result.runs if r.status == "failed"]
        for run in failed:
            console.print(f"[red]{run.name} failed[/]: {safe(run.reason)}")
        console.print(
            "[red]The gate could not complete[/]: a required scanner failed. "
            "Exit code 3 — this is not a pass."
        )
    tail = "" if ev.verdict in (Verdict.PASS, Verdict.FAIL) else f"; {ev.verdict.headline}"
    console.print(f"{label} ({len(violations)} violation(s){tail}; exit {ev.verdict.exit_code})")


def _notices(data: ReportData, console: Console) -> None:
    notices = data.notices()
    if not notices:
        return
    failing = sum(1 for n in notices if n.fails)
    console.print(f"[bold]Notices ({len(notices)}, {failing} failing)[/]:")
    for n in notices[:MAX_NOTICES]:
        mark = "[bold red]  fails[/]" if n.fails else "[yellow]warning[/]"
        place = notice_place(n)
        where = f" {safe(place)}:" if place else ""
        if n.kind == "policy-change":
            console.print(f"  {mark} [bold]POLICY CHANGE[/]{where} {safe(n.message)}")
        else:
            console.print(f"  {mark} {n.kind}{where} {safe(n.message)}")
    if len(notices) > MAX_NOTICES:
        console.print(f"  … and {len(notices) - MAX_NOTICES} more (see the JSON report)")
    console.print()


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
    changes = data.changes
    if changes is not None:
        console.print(
            f"  diff mode: against {safe(changes.base_ref)} (base {safe(changes.base[:12])}), "
            f"{len(changes.files)} changed file(s); only what the change adds can fail"
        )
    found, honoured = data.suppression_counts()
    if found:
        console.print(
            f"  inline suppressions: {found} found, {honoured} honoured "
            f"(policy: inline_suppressions {safe(data.policy.inline_suppressions)})"
        )
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
