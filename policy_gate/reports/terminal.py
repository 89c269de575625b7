"""The terminal report: verdict first, then notices (a change to the gate's own inputs
first), what fails and how to fix it, then what was accepted or tolerated, then what could
not be checked. Colour only on a TTY without NO_COLOR (the caller's Console decides); every
value from the scanned tree, the policy or the waivers file is shown literally: control
characters escaped (:func:`printable`), and no text is ever parsed as rich markup (the
report is built as plain strings plus styles, never formatted into markup).

The whole report is handed to the Console in one ``print`` as rich Segments, so that it
costs the same whatever the number of findings (10,000 lines through ``Console.print``
and its markup parser took seconds); the Console still decides colour, recording,
capture and the legacy Windows console.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.markup import escape
from rich.segment import Segment, Segments
from rich.style import Style
from rich.text import Text

from policy_gate.findings import Severity
from policy_gate.policy.evaluate import Decision, Status, Verdict
from policy_gate.reports.interface import ReportData, notice_place, printable

_SEV_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
# severity -> (its column, padded, and its style)
_SEV_CELL = {s: (f"{s.label.upper():8}", _SEV_STYLE[s.label]) for s in Severity}
_VERDICT_STYLE = {
    Verdict.PASS: "bold green",
    Verdict.FAIL: "bold red",
    Verdict.REVIEW: "bold yellow",
    Verdict.ERROR: "bold red",
}
_RUN_STYLE = {"ok": "green", "failed": "bold red", "skipped": "yellow"}
MAX_BELOW = 50
MAX_NOTICES = 50

Write = Callable[[str], None]
Styled = Callable[[str, str | None], None]


def safe(text: str) -> str:
    """``text`` as rich markup that shows it literally, control characters escaped (for
    callers that print markup; this report itself never builds markup)."""
    return escape(printable(text))


class _Out:
    """The report as text and styles. ``write`` adds plain text (newlines included),
    ``styled`` adds text in a style; neither interprets anything in the text."""

    def __init__(self, console: Console) -> None:
        self._console = console
        # Without a colour system rich writes no style at all (unless it records or
        # renders for Jupyter): then the report is one plain string.
        self._plain = (
            console.color_system is None and not console.record and not console.is_jupyter
        )
        self._pending: list[str] = []
        self._segments: list[Segment] = []
        self._styles: dict[str, Style] = {}
        self.write: Write = self._pending.append
        self.styled: Styled = self._styled_plain if self._plain else self._styled

    def _styled_plain(self, text: str, style: str | None) -> None:
        self._pending.append(text)

    def _styled(self, text: str, style: str | None) -> None:
        if not text:
            return
        if style is None:
            self._pending.append(text)
            return
        resolved = self._styles.get(style)
        if resolved is None:
            resolved = self._styles[style] = self._console.get_style(style)
        self._flush()
        self._segments.append(Segment(text, resolved))

    def _flush(self) -> None:
        if self._pending:
            self._segments.append(Segment("".join(self._pending)))
            self._pending.clear()

    def emit(self) -> None:
        self._flush()
        console = self._console
        if console.soft_wrap:
            # no wrapping, no cropping: the segments are written as they are
            console.print(Segments(self._segments))
            return
        # A Console that wraps (a caller's default Console): line by line as rich Text, so
        # that long lines wrap as they always did.
        line = Text()
        for segment in self._segments:
            *done, rest = segment.text.split("\n")
            for piece in done:
                line.append(piece, segment.style)
                console.print(line)
                line = Text()
            line.append(rest, segment.style)
        if line:
            console.print(line, end="")


def render(data: ReportData, console: Console) -> None:
    """The report, handed to ``console`` in one print: the verdict, the scanners, the
    notices, what fails, what does not, how to proceed, and the verdict again."""
    out = _Out(console)
    w, styled = out.write, out.styled
    ordered = data.ordered()
    violations = [d for d in ordered if d.status is Status.VIOLATION]
    below = [d for d in ordered if d.status is Status.BELOW_THRESHOLD]
    _headline(data, len(violations), len(below), w, styled)
    _scanners(data, w, styled)
    _notices(data, w, styled)
    _violations(violations, w, styled)
    _budgets(data, w, styled)
    _not_failing(data, below, w, styled)
    _how_to_proceed(data, w, styled)
    ev = data.evaluation
    tail = "" if ev.verdict in (Verdict.PASS, Verdict.FAIL) else f"; {ev.verdict.headline}"
    _verdict(data, styled)
    w(f" ({len(violations)} violation(s){tail}; exit {ev.verdict.exit_code})\n")
    out.emit()


def _verdict(data: ReportData, styled: Styled) -> None:
    """The verdict in its colour: the report's first word and its last line's."""
    verdict = data.evaluation.verdict
    styled(verdict.value.upper(), _VERDICT_STYLE.get(verdict, "bold"))


def _headline(data: ReportData, violations: int, below: int, w: Write, styled: Styled) -> None:
    """The verdict with the count of every status and the policy that decided them."""
    ev = data.evaluation
    accepted = data.accepted_summary()
    _verdict(data, styled)
    w(
        f" policy-gate — {ev.verdict.headline}: {violations} violation(s), "
        + (f"accepted: {accepted}; " if accepted else "")
        + f"{below} below threshold, {ev.count(Status.EXCLUDED)} excluded, "
        f"{ev.count(Status.DISABLED)} disabled by rule "
        f"(policy {printable(data.policy.name)} {data.policy.sha256[:12]})\n\n"
    )


def _violations(violations: list[Decision], w: Write, styled: Styled) -> None:
    """What fails the build, by category (with the policy's rationale for it), each with
    how to fix it."""
    if not violations:
        return
    styled(f"Violations ({len(violations)})", "bold")
    w(" — these fail the build:\n")
    groups: dict[str, list[Decision]] = {}
    for d in violations:
        groups.setdefault(d.finding.category, []).append(d)
    for category, group in groups.items():
        cat = group[0].category_policy
        cites = f" [{', '.join(cat.sources)}]" if cat.sources else ""
        styled(category, "bold")
        w(f" ({len(group)}){printable(cites)}\n")
        if cat.rationale:
            w("  ")
            styled(printable(cat.rationale), "dim")
            w("\n")
        for d in group:
            _finding(w, styled, d, detail=True)
    w("\n")


def _budgets(data: ReportData, w: Write, styled: Styled) -> None:
    """Each budget exceeded (its findings are among the violations above)."""
    for b in data.evaluation.budgets:
        styled("Budget exceeded", "red")
        w(
            f": {b.category} allows {b.allowed} {b.severity.label} "
            f"finding(s), {b.found} found.\n"
        )


def _not_failing(data: ReportData, below: list[Decision], w: Write, styled: Styled) -> None:
    """What is over the threshold but accepted (counted: the JSON report says why), then
    the reported findings below the threshold (the first ``MAX_BELOW``)."""
    accepted = data.accepted_summary()
    if accepted:
        styled(f"Accepted ({sum(len(v) for v in data.accepted().values())})", "bold")
        w(
            f" — over the fail threshold, not failing this run: {accepted} (the JSON report "
            "says why, per finding)\n\n"
        )
    shown_below = [d for d in below if d.reported]
    if shown_below:
        styled(f"Below threshold ({len(below)})", "bold")
        w(" — reported, not failing:\n")
        for d in shown_below[:MAX_BELOW]:
            _finding(w, styled, d, detail=False)
        hidden = len(below) - min(len(shown_below), MAX_BELOW)
        if hidden:
            w(f"  … and {hidden} more below the report threshold (see the JSON report)\n")
        w("\n")


def _how_to_proceed(data: ReportData, w: Write, styled: Styled) -> None:
    """What to do next: fix or waive a violation, have a change to the gate's own inputs
    reviewed, or (when a required scanner failed) know that this is not a pass."""
    ev = data.evaluation
    if ev.verdict is Verdict.FAIL:
        w(
            "How to proceed: fix each violation as its line says; if a finding is a false "
            "positive or an accepted risk, ask a security lead to record a waiver with a "
            "reason, an owner and an expiry date (see docs/waivers.md).\n"
        )
    if ev.policy_change is not None and ev.verdict in (Verdict.FAIL, Verdict.REVIEW):
        lead = "How to proceed" if ev.verdict is Verdict.REVIEW else "Also"
        w(
            f"{lead}: this change modifies what the gate enforces (its policy, waivers or "
            "baseline). The base ref's version was enforced; a security lead must review "
            "and merge the change.\n"
        )
    if ev.verdict is Verdict.ERROR:
        failed = [r for r in data.result.runs if r.status == "failed"]
        for run in failed:
            styled(f"{run.name} failed", "red")
            w(f": {printable(run.reason)}\n")
        styled("The gate could not complete", "red")
        w(": a required scanner failed. Exit code 3 — this is not a pass.\n")


def _notices(data: ReportData, w: Write, styled: Styled) -> None:
    notices = data.notices()
    if not notices:
        return
    failing = sum(1 for n in notices if n.fails)
    styled(f"Notices ({len(notices)}, {failing} failing)", "bold")
    w(":\n")
    for n in notices[:MAX_NOTICES]:
        place = notice_place(n)
        where = f" {printable(place)}:" if place else ""
        w("  ")
        if n.fails:
            styled("  fails", "bold red")
        else:
            styled("warning", "yellow")
        if n.kind == "policy-change":
            w(" ")
            styled("POLICY CHANGE", "bold")
            w(f"{where} {printable(n.message)}\n")
        else:
            w(f" {n.kind}{where} {printable(n.message)}\n")
    if len(notices) > MAX_NOTICES:
        w(f"  … and {len(notices) - MAX_NOTICES} more (see the JSON report)\n")
    w("\n")


def _scanners(data: ReportData, w: Write, styled: Styled) -> None:
    for run in data.result.runs:
        if run.status == "disabled":
            continue
        out = run.output
        detail = f"{out.raw_results} result(s), {out.files_scanned} file(s)" if out else ""
        reason = f" — {printable(run.reason)}" if run.reason else ""
        w("  ")
        styled(f"{run.status:>7}", _RUN_STYLE.get(run.status))
        w(f" {run.name} {printable(run.version)} {run.seconds:.1f}s {detail}{reason}\n")
        for note in out.notes if out else []:
            w(f"          {printable(note)}\n")
    fs = data.result.fileset
    why = f" ({printable(fs.exclusion_summary())})" if fs.excluded else ""
    w(
        f"  {len(fs.files)} files in scope, {len(fs.excluded)} excluded paths{why}, "
        f"{len(fs.symlinks)} symlinks not followed; {data.result.seconds:.1f}s in all\n"
    )
    w(f"  files read: {printable(fs.selection_summary())}\n")
    if data.result.advisory_info is not None:
        w(f"  {printable(data.result.advisory_info.summary())}\n")
    changes = data.changes
    if changes is not None:
        w(
            f"  diff mode: against {printable(changes.base_ref)} "
            f"(base {printable(changes.base[:12])}), {len(changes.files)} changed file(s); "
            "only what the change adds can fail\n"
        )
    found, honoured = data.suppression_counts()
    if found:
        w(
            f"  inline suppressions: {found} found, {honoured} honoured "
            f"(policy: inline_suppressions {printable(data.policy.inline_suppressions)})\n"
        )
    w("\n")


def _finding(w: Write, styled: Styled, d: Decision, *, detail: bool) -> None:
    f = d.finding
    cell, style = _SEV_CELL[d.severity]
    ids = f.ids
    w("  ")
    styled(cell, style)
    w(f" {printable(f.location)}  ")
    styled(printable(f.qualified_rule), "bold")
    w(
        f" ({f.category}, {'+'.join(f.scanners)}"
        f"{printable(' ' + ', '.join(ids)) if ids else ''})\n"
        f"           {printable(f.message)}\n"
    )
    if detail:
        if f.fix:
            w("           ")
            styled(f"fix: {printable(f.fix)}", "green")
            w("\n")
        if f.help_url:
            w("           ")
            styled(f"more: {printable(f.help_url)}", "dim")
            w("\n")
