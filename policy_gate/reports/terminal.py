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

from collections.abc import Callable, Mapping

from rich.console import Console
from rich.markup import escape
from rich.segment import Segment, Segments
from rich.style import Style
from rich.text import Text

from policy_gate.findings import Severity
from policy_gate.policy.evaluate import Decision, Status, Verdict
from policy_gate.reports.interface import (
    ACCEPTED_ORDER,
    ACCEPTED_WORDS,
    ReportData,
    notice_place,
    printable,
)

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
MAX_ACCEPTED_RULES = 8  # rules named per accepted status; the rest are counted
# The count table's columns: the statuses each counts.
_COUNT_COLUMNS: tuple[tuple[tuple[Status, ...], str], ...] = (
    ((Status.VIOLATION,), "violations"),
    (ACCEPTED_ORDER, "accepted"),
    ((Status.BELOW_THRESHOLD,), "below"),
    ((Status.EXCLUDED,), "excluded"),
    ((Status.DISABLED,), "disabled"),
)
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


def render(
    data: ReportData,
    console: Console,
    *,
    quiet: bool = False,
    reports: Mapping[str, str] | None = None,
) -> None:
    """The report, handed to ``console`` in one print: the verdict, the scanners, the
    counts, the notices, what fails (grouped by rule), what does not, how to proceed, and
    the verdict again. ``quiet``: only the verdict, what fails and why the gate could not
    complete. ``reports``: {format: path} of the report files this run writes, so that a
    hint names one that exists (or says how to get one)."""
    out = _Out(console)
    w, styled = out.write, out.styled
    files = dict(reports or {})
    ordered = data.ordered()
    violations = [d for d in ordered if d.status is Status.VIOLATION]
    below = [d for d in ordered if d.status is Status.BELOW_THRESHOLD]
    _headline(data, len(violations), len(below), w, styled)
    if not quiet:
        _scanners(data, w, styled)
        _counts(data, w, styled)
    _notices(data, w, styled, files, failing_only=quiet)
    _violations(violations, w, styled)
    _budgets(data, w, styled)
    if not quiet:
        _not_failing(data, below, w, styled, files)
        _reports_written(data, files, w)
    _how_to_proceed(data, w, styled, hints=not quiet)
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


def where_listed(reports: Mapping[str, str]) -> str:
    """Where every finding can be read: the JSON report this run writes, or how to ask
    for one (never a report that was not asked for)."""
    path = reports.get("json")
    if path is not None and path != "-":
        return f"the JSON report {printable(path)} lists each"
    return "`--format json --output FILE` writes a report listing each"


def _counts(data: ReportData, w: Write, styled: Styled) -> None:
    """Every finding counted once, by category and severity, in the status it ended in:
    the table accounts for what the lists below leave out."""
    rows = [
        (category, sev, counts)
        for category, sevs in data.table().items()
        for sev, counts in sevs.items()
        if counts
    ]
    if not rows:
        return
    styled("Findings", "bold")
    w(" by category and severity:\n")
    head = ("category", "severity", *(label for _, label in _COUNT_COLUMNS))
    widths = [max(11, len(head[0])), 9, *(len(label) for _, label in _COUNT_COLUMNS)]
    w("  " + _row(head, widths) + "\n")
    for category, sev, counts in rows:
        cells = [str(sum(counts[s.value] for s in statuses)) for statuses, _ in _COUNT_COLUMNS]
        w("  " + _row((printable(category), sev, *cells), widths) + "\n")
    w("\n")


def _row(cells: tuple[str, ...], widths: list[int]) -> str:
    """Text columns left-aligned, counts right-aligned, two spaces apart."""
    parts = [cells[0].ljust(widths[0]), cells[1].ljust(widths[1])]
    parts += [cell.rjust(width) for cell, width in zip(cells[2:], widths[2:], strict=True)]
    return "  ".join(parts).rstrip()


def _violations(violations: list[Decision], w: Write, styled: Styled) -> None:
    """What fails the build, by category (with the policy's rationale for it), then by
    rule: its message, fix and link once, then one line per place."""
    if not violations:
        return
    groups = _by_rule(violations)
    styled(f"Violations ({len(violations)})", "bold")
    rules = "rule" if len(groups) == 1 else "rules"
    w(f" of {len(groups)} {rules} — these fail the build:\n")
    category = None
    for group in groups:
        first = group[0]
        if first.finding.category != category:
            category = first.finding.category
            cat = first.category_policy
            n = sum(len(g) for g in groups if g[0].finding.category == category)
            cites = f" [{', '.join(cat.sources)}]" if cat.sources else ""
            styled(printable(category), "bold")
            w(f" ({n}){printable(cites)}\n")
            if cat.rationale:
                w("  ")
                styled(printable(cat.rationale), "dim")
                w("\n")
        _group(w, styled, group, detail=True)
    w("\n")


def _budgets(data: ReportData, w: Write, styled: Styled) -> None:
    """Each budget exceeded (its findings are among the violations above)."""
    for b in data.evaluation.budgets:
        styled("Budget exceeded", "red")
        w(
            f": {b.category} allows {b.allowed} {b.severity.label} "
            f"finding(s), {b.found} found.\n"
        )


def _not_failing(
    data: ReportData, below: list[Decision], w: Write, styled: Styled, reports: Mapping[str, str]
) -> None:
    """What is over the threshold but accepted (counted, with where to read why), then
    the reported findings below the threshold, grouped by rule (the first ``MAX_BELOW``
    places)."""
    accepted = data.accepted_summary()
    if accepted:
        styled(f"Accepted ({sum(len(v) for v in data.accepted().values())})", "bold")
        w(
            f" — over the fail threshold, not failing this run: {accepted} "
            f"({where_listed(reports)}, with why)\n"
        )
        for status, decisions in data.accepted().items():
            if decisions:
                w(f"  {ACCEPTED_WORDS.get(status, status.value)}: {_rule_counts(decisions)}\n")
        w("\n")
    shown_below = [d for d in below if d.reported]
    if shown_below:
        styled(f"Below threshold ({len(below)})", "bold")
        w(" — reported, not failing:\n")
        for group in _by_rule(shown_below[:MAX_BELOW]):
            _group(w, styled, group, detail=False)
        hidden = len(below) - min(len(shown_below), MAX_BELOW)
        if hidden:
            w(f"  … and {hidden} more below the threshold ({where_listed(reports)})\n")
        w("\n")


def _rule_counts(decisions: list[Decision]) -> str:
    """'bandit:B324 (2), semgrep:js-weak-hash (1)' (most first, the first MAX_ACCEPTED_RULES):
    which rules a baseline or the waivers hold, without a line per finding."""
    counts: dict[str, int] = {}
    for d in decisions:
        counts[d.finding.qualified_rule] = counts.get(d.finding.qualified_rule, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{printable(rule)} ({n})" for rule, n in ranked[:MAX_ACCEPTED_RULES])
    more = len(ranked) - MAX_ACCEPTED_RULES
    return shown + (f", … {more} more rules" if more > 0 else "")


def _reports_written(data: ReportData, reports: Mapping[str, str], w: Write) -> None:
    """The report files, and the OpenVEX file not written because it has nothing to state
    (its schema asks for at least one statement; cli_output removes an old copy)."""
    unwritten = ""
    if reports.get("openvex", "-") != "-":
        from policy_gate.reports import openvex

        if not openvex.has_statements(data):
            unwritten = reports["openvex"]
    files = [f"{printable(path)} ({fmt})" for fmt, path in reports.items()
             if path not in ("-", unwritten)]
    if files:
        w(f"Reports: {', '.join(files)}\n")
    if unwritten:
        w(f"OpenVEX: {printable(unwritten)} not written, {openvex.NOTHING_TO_STATE}\n")


def _how_to_proceed(data: ReportData, w: Write, styled: Styled, *, hints: bool) -> None:
    """What to do next: fix or waive a violation, have a change to the gate's own inputs
    reviewed, or (when a required scanner failed, said even with ``hints`` off) know that
    this is not a pass."""
    ev = data.evaluation
    if ev.verdict is Verdict.FAIL and hints:
        w(
            "How to proceed: fix each violation as its rule says; if a finding is a false "
            "positive or an accepted risk, ask a security lead to waive it by its fingerprint "
            "(the 32 hex characters after its place) with a reason, an owner and an expiry "
            "date (docs/waivers.md). `policy-gate explain FINGERPRINT` shows how the policy "
            "decided.\n"
        )
    if ev.policy_change is not None and ev.verdict in (Verdict.FAIL, Verdict.REVIEW) and hints:
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


def _notices(
    data: ReportData,
    w: Write,
    styled: Styled,
    reports: Mapping[str, str],
    *,
    failing_only: bool = False,
) -> None:
    notices = [n for n in data.notices() if n.fails or not failing_only]
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
        w(f"  … and {len(notices) - MAX_NOTICES} more ({where_listed(reports)})\n")
    w("\n")


def _scanners(data: ReportData, w: Write, styled: Styled) -> None:
    for run in data.result.runs:
        if run.status == "disabled":
            continue
        out = run.output
        detail = f"{out.raw_results} result(s), {out.files_scanned} file(s)" if out else ""
        reason = f" — {printable(run.reason)}" if run.reason else ""
        if run.status == "failed" and data.evaluation.verdict is Verdict.ERROR:
            reason = " — why: at the end"  # said once, where the verdict is explained
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


def _by_rule(decisions: list[Decision]) -> list[list[Decision]]:
    """Decisions by category, then by rule and severity, each group in the order of its
    first member (the report's order: most severe first)."""
    groups: dict[tuple[str, str, Severity], list[Decision]] = {}
    for d in decisions:
        key = (d.finding.category, d.finding.qualified_rule, d.severity)
        groups.setdefault(key, []).append(d)
    categories = list(dict.fromkeys(key[0] for key in groups))
    return sorted(groups.values(), key=lambda g: categories.index(g[0].finding.category))


def _shared(group: list[Decision], value: Callable[[Decision], str]) -> str | None:
    """The value every member of ``group`` has, or None when they differ."""
    first = value(group[0])
    return first if all(value(d) == first for d in group[1:]) else None


def _scanners_of(d: Decision) -> str:
    return "+".join(d.finding.scanners)


def _ids_of(d: Decision) -> str:
    return ", ".join(d.finding.ids)


def _message_of(d: Decision) -> str:
    return d.finding.message


def _fix_of(d: Decision) -> str:
    return d.finding.fix


def _url_of(d: Decision) -> str:
    return d.finding.help_url or ""


def _group(w: Write, styled: Styled, group: list[Decision], *, detail: bool) -> None:
    """One rule's findings: severity, rule, scanners and ids, message, fix and link once
    (where every place shares them), then a line per place with what differs there."""
    first = group[0]
    cell, style = _SEV_CELL[first.severity]
    scanners, ids = _shared(group, _scanners_of), _shared(group, _ids_of)
    about = ", ".join(x for x in (scanners, ids) if x)
    w("  ")
    styled(cell, style)
    w(" ")
    styled(printable(first.finding.qualified_rule), "bold")
    count = f"{len(group)} places" if len(group) > 1 else ""
    about = "; ".join(x for x in (printable(about), count) if x)
    w(f" ({about})\n" if about else "\n")
    shared = {
        "message": _shared(group, _message_of),
        "fix": _shared(group, _fix_of) if detail else "",
        "more": _shared(group, _url_of) if detail else "",
    }
    _texts(w, styled, shared, _INDENT)
    if shared["message"] is not None:
        for d in group:
            _place(w, styled, d, scanners is None, ids is None, False)
            _texts(w, styled, _own(d, shared), _INDENT + "  ")
        return
    # Places whose messages differ: each message once, its places below it.
    by_message: dict[str, list[Decision]] = {}
    for d in group:
        by_message.setdefault(d.finding.message, []).append(d)
    for message, places in by_message.items():
        _texts(w, styled, {"message": message}, _INDENT)
        for d in places:
            w("  ")
            _place(w, styled, d, scanners is None, ids is None, True)
            _texts(w, styled, _own(d, shared), _INDENT + "    ")


def _own(d: Decision, shared: Mapping[str, str | None]) -> dict[str, str]:
    """The fix and link of one place, where the rule's places differ in them."""
    return {
        key: getter(d) if shared[key] is None else ""
        for key, getter in (("fix", _fix_of), ("more", _url_of))
    }


_INDENT = " " * 11
_TEXT_STYLE = {"message": None, "fix": "green", "more": "dim"}


def _texts(w: Write, styled: Styled, texts: Mapping[str, str | None], indent: str) -> None:
    for key, text in texts.items():
        if not text:
            continue
        w(indent)
        label = "" if key == "message" else f"{key}: "
        styled(label + printable(text), _TEXT_STYLE[key])
        w("\n")


def _place(
    w: Write, styled: Styled, d: Decision, scanners: bool, ids: bool, message: bool
) -> None:
    """``path:line  confidence  fingerprint``, then what only this place has: its
    scanners and ids where the rule's places differ, the masked secret, the package."""
    f = d.finding
    confidence = f"{d.confidence.label} confidence" if d.confidence is not None else "certain"
    w(f"{_INDENT}{printable(f.location)}  {confidence}  ")
    styled(f.fingerprint, "dim")
    extra = []
    if scanners:
        extra.append("+".join(f.scanners))
    if f.secret is not None:
        extra.append(f"{f.secret.preview} {f.secret.hash[:13]}")
    dep = f.dependency
    if dep is not None:
        extra.append(f"{dep.package}@{dep.version}" if dep.version else dep.package)
    own_message = f.message if message else ""
    if ids and f.ids and not all(i in own_message for i in f.ids):  # else its message says
        extra.append(", ".join(f.ids))
    if f.commit:
        extra.append(f"commit {f.commit[:12]}")
    w(f"  {printable('  '.join(extra))}\n" if extra else "\n")
