"""The Markdown report: the GitHub job summary (``$GITHUB_STEP_SUMMARY``) and the sticky
pull-request comment.

Entry point: :func:`render` ``(data, *, links=None, max_bytes=SUMMARY_MAX_BYTES,
annotations_not_shown=0, max_violations=MAX_VIOLATIONS) -> str``.

* ``links``: a :class:`LinkBuilder` (``LinkBuilder.from_env(os.environ)`` in Actions) makes
  every ``file:line`` a link to the blob at the commit; without it places are plain text.
* ``max_bytes``: the result never exceeds it in UTF-8 bytes. GitHub rejects a step summary
  over 1 MiB (``SUMMARY_MAX_BYTES``) and a comment over 65,536 characters
  (``COMMENT_MAX_CHARS``; characters <= bytes, so passing it as ``max_bytes`` is safe).
  The violation table is shortened first (and says so); :func:`fit` is the last resort.
* ``annotations_not_shown``: what :func:`policy_gate.github.annotations` could not emit.

Order: verdict (first line; "policy change needs security review" when the change alters
the gate's own inputs), the diff-mode scope, notices (the policy change first), category x
severity counts, top violations (file:line, rule, severity, message, fix), budget breaches,
accepted findings (waived with owner and expiry, suppressed inline with the comment,
baselined and pre-existing as counts), below-threshold counts, excluded/disabled counts and
why, inline suppression comments found/honoured, scanners that failed or were skipped and
why, annotations not shown, then the policy name + sha256, waivers and baseline, and
scanner versions. Accepted and notice tables are capped (``MAX_ACCEPTED_ROWS``,
``MAX_NOTICES``): the summary is for a pull request's author, the JSON report is complete.

Everything that comes from the scanned tree, the scanners or the policy files is passed
through :func:`md`, which makes it inert for GitHub Markdown while keeping it readable as
plain text (the report file is read outside a renderer too): Markdown punctuation that
could make code, emphasis, strikethrough, links, images, HTML, character references or
table cells (`` ` * ~ [ ] < | \\ ``, ``&`` before ``name;``, ``_`` outside a word) gets a
backslash escape; ``$`` (GitHub's maths, which a backslash does not stop) becomes
``&#36;``; GitHub's mentions, issue references and autolinks, found in the rendered text
after escapes are gone, are broken by an invisible zero-width joiner after ``@``, after
``#`` before a digit, after the ``:`` of ``scheme://`` and after ``www``; line breaks
become spaces and control characters are shown escaped. Characters that only act at the
start of a line (``-``, ``+``, ``=``, ``#``, ``>``, digits) are left alone: untrusted text
never starts a line. tests/test_markdown.py renders hostile text with GitHub's own parser
(cmark-gfm) to hold this: no element of the text's making, the same cells, the same text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import groupby
from operator import attrgetter
from urllib.parse import quote

from policy_gate import __version__
from policy_gate.findings import Severity
from policy_gate.policy.evaluate import Decision, Status, Verdict
from policy_gate.reports.interface import (
    ACCEPTED_WORDS,
    ReportData,
    artifact_uri,
    not_checked_reasons,
    notice_place,
    repo_path,
    scanners_by_category,
    unprintable_escaped,
)

SUMMARY_MAX_BYTES = 1024 * 1024  # GitHub: a step's summary is limited to 1 MiB
COMMENT_MAX_CHARS = 65_536  # GitHub: "Body is too long (maximum is 65536 characters)"
MAX_VIOLATIONS = 50
MAX_CELL = 300  # characters of a message or fix shown in a table cell
MAX_ACCEPTED_ROWS = 20  # waived / suppressed findings listed each
MAX_NOTICES = 30

# Zero-width joiner: invisible in a plain-text reading, but GitHub finds mentions, issue
# references and autolinks in the rendered text, where a backslash escape is gone.
ZWJ = "\u200d"
# What is escaped, one alternative per rule (see :func:`md`).
_ACTIVE_RE = re.compile(
    r"\\(?=[!-/:-@\[-`{-~]|\Z)"  # a backslash that would escape what follows it
    r"|[`*~\[\]<|]"  # code, emphasis, strikethrough, links and images, HTML, table cells
    r"|_"  # emphasis, unless inside a word (handled in _escape)
    r"|&(?=#?[0-9A-Za-z]+;)"  # a character reference
    r"|\$"  # maths
    r"|@"  # mentions, e-mail autolinks
    r"|#(?=[0-9])"  # issue references
    r"|(?<=[0-9A-Za-z]):(?=//)"  # autolinks: https://, ftp://
    r"|(?i:(?<![0-9A-Za-z])www)(?=\.)"  # autolinks: www.
)
_SPACE_RE = re.compile(r"[\r\n\t\f\v\u0085\u2028\u2029]+")


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch == "_":
        text, i = match.string, match.start()
        if 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum():
            return ch  # snake_case: an underscore inside a word never starts emphasis
        return "\\_"
    if ch == "$":
        # GitHub's maths is found in the source, and a backslash does not stop it there
        return "&#36;"
    if ch in "@#:" or ch.lower() == "www":
        return ch + ZWJ
    return "\\" + ch


def md(text: str, limit: int | None = None) -> str:
    """Make untrusted text inert in GitHub Markdown (and its HTML), readable as plain
    text; one line only."""
    if not text.isprintable():  # every character _SPACE_RE matches is unprintable
        text = unprintable_escaped(_SPACE_RE.sub(" ", text))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    # ``.`` after digits would start an ordered list only at a line start, which a table
    # cell or an inline sentence never is.
    return _ACTIVE_RE.sub(_escape, text)


@dataclass(frozen=True)
class LinkBuilder:
    """Builds links to files at a commit: ``{server}/{repository}/blob/{sha}/{path}#L{n}``."""

    server_url: str
    repository: str
    sha: str
    prefix: str = ""  # the scanned root's path inside the repository, e.g. "services/api/"

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, sha: str | None = None) -> LinkBuilder | None:
        """From ``GITHUB_SERVER_URL`` (default https://github.com), ``GITHUB_REPOSITORY``
        and ``GITHUB_SHA``; ``sha`` overrides the commit (on ``pull_request`` events
        ``GITHUB_SHA`` is the test merge commit — pass the PR head sha to link to code
        that survives the merge ref). None when the repository or commit is unknown or
        malformed."""
        server = (env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
        repository = env.get("GITHUB_REPOSITORY", "")
        commit = sha or env.get("GITHUB_SHA", "")
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d+)?(/[A-Za-z0-9._~/-]*)?", server):
            return None
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository):
            return None
        if not re.fullmatch(r"[0-9a-fA-F]{7,64}", commit):
            return None
        return cls(server, repository, commit)

    def blob(self, path: str, line: int | None = None, end_line: int | None = None) -> str:
        full = repo_path(self.prefix, path)
        url = f"{self.server_url}/{self.repository}/blob/{self.sha}/{artifact_uri(full)}"
        if line:
            url += f"#L{line}"
            if end_line and end_line > line:
                url += f"-L{end_line}"
        return url


def _place(d: Decision, links: LinkBuilder | None) -> str:
    f = d.finding
    text = md(f.location, 200)
    if links is None or not f.path:
        return text
    # the URL is percent-encoded (no spaces, brackets or parentheses can end the link)
    return f"[{text}]({links.blob(f.path, f.start_line, f.end_line)})"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


_VERDICT = {
    Verdict.PASS: "**PASS**",
    Verdict.FAIL: "**FAIL**",
    Verdict.REVIEW: "**REVIEW**",
    Verdict.ERROR: "**ERROR**",
}
_TAIL = {
    Verdict.PASS: "the policy is met",
    Verdict.FAIL: "the policy is violated",
    Verdict.ERROR: "a required scanner failed, so the result cannot be trusted (exit 3)",
}


def _headline(data: ReportData, n: int) -> str:
    ev = data.evaluation
    label = _VERDICT.get(ev.verdict, f"**{ev.verdict.value.upper()}**")
    where = f"(policy-gate, policy {md(data.policy.name, 80)})"
    if ev.verdict is Verdict.REVIEW:
        # the reason it does not pass leads; the author has nothing to fix in the code
        return f"{label} — {ev.verdict.headline}; {_plural(n, 'violation')} {where}"
    tail = _TAIL.get(ev.verdict, ev.verdict.headline)
    if ev.policy_change is not None:
        tail += "; the policy change also needs security review"
    return f"{label} — {_plural(n, 'violation')}; {tail} {where}"


def _scope(data: ReportData) -> list[str]:
    changes = data.changes
    if changes is None:
        return []
    return [
        f"Diff mode: compared with {md(changes.base_ref, 80)} at {md(changes.base[:12])}; "
        f"{_plural(len(changes.files), 'changed file')}. Only findings on lines (or "
        "dependencies) this change adds can fail; the others are pre-existing.",
        "",
    ]


def _notices(data: ReportData) -> list[str]:
    notices = data.notices()
    if not notices:
        return []
    lines = ["### Notices", "", "| Effect | Notice | Where | Details |", "|---|---|---|---|"]
    for n in notices[:MAX_NOTICES]:
        effect = "**fails**" if n.fails else "warning"
        kind = "**policy change**" if n.kind == "policy-change" else md(n.kind)
        lines.append(f"| {effect} | {kind} | {md(notice_place(n), 200)} | {md(n.message, 600)} |")
    lines.append("")
    if len(notices) > MAX_NOTICES:
        lines += [f"{len(notices) - MAX_NOTICES} more notices in the JSON report.", ""]
    return lines


def _counts_table(data: ReportData) -> list[str]:
    coverage = scanners_by_category(data)
    why_not = not_checked_reasons(data)
    rows = [
        "| Category | Severity | Violations | Accepted | Below threshold | Excluded | Disabled |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    table = data.table()
    for category, sevs in table.items():
        if category not in data.policy.categories and not any(sevs.values()):
            continue
        shown = False
        for sev, counts in sevs.items():
            if not counts:
                continue
            shown = True
            accepted = sum(counts[s.value] for s in ACCEPTED_WORDS)
            rows.append(
                f"| {md(category)} | {sev} | {counts[Status.VIOLATION.value]} | {accepted} | "
                f"{counts[Status.BELOW_THRESHOLD.value]} | {counts[Status.EXCLUDED.value]} | "
                f"{counts[Status.DISABLED.value]} |"
            )
        if not shown:
            ran = coverage.get(category)
            note = "no findings" if ran else (
                f"not checked ({md(why_not[category])})" if category in why_not
                else "not checked: no scanner for it ran"
            )
            rows.append(f"| {md(category)} | — | {note} | | | | |")
    return rows


def _violation_rows(violations: list[Decision], links: LinkBuilder | None) -> list[str]:
    rows = []
    for d in violations:
        f = d.finding
        ids = f" ({md(', '.join(f.ids), 120)})" if f.ids else ""
        fix = md(f.fix, MAX_CELL) if f.fix else ""
        if f.help_url and f.help_url.startswith(("https://", "http://")):
            more = f"[more]({quote(f.help_url, safe=':/?#=&%.,;~+-_')})"
            fix = f"{fix} {more}".strip()
        # the fingerprint a waiver or `policy-gate explain` takes (hex, in code: no link)
        fingerprint = f"`{f.fingerprint}`" if f.fingerprint.isalnum() else ""
        rows.append(
            f"| {_place(d, links)} | {md(f.qualified_rule, 120)}{ids} | {d.severity.label} | "
            f"{md(f.message, MAX_CELL)} | {fix} | {fingerprint} |"
        )
    return rows


def _below(below: list[Decision]) -> list[str]:
    if not below:
        return []
    counts: Counter[tuple[str, Severity]] = Counter((d.finding.category, d.severity) for d in below)
    parts = [
        f"{md(cat)} {n} {sev.label}"
        for (cat, sev), n in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[0][1]))
    ]
    return [
        "### Below the fail threshold",
        "",
        f"{_plural(len(below), 'finding')} reported but not failing: {', '.join(parts)}. "
        "The JSON report lists them.",
        "",
    ]


def _by_category(decisions: list[Decision]) -> str:
    """'sast 2 high, secret 1 critical': compact counts for a sentence."""
    counts: Counter[tuple[str, Severity]] = Counter(
        (d.finding.category, d.severity) for d in decisions
    )
    return ", ".join(
        f"{md(cat)} {n} {sev.label}"
        for (cat, sev), n in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[0][1]))
    )


def _accepted(data: ReportData, links: LinkBuilder | None) -> list[str]:
    """Over the fail threshold but not failing: who accepted what, and until when."""
    groups = data.accepted()
    total = sum(len(ds) for ds in groups.values())
    if not total:
        return []
    summary = ", ".join(f"{len(ds)} {ACCEPTED_WORDS[s]}" for s, ds in groups.items() if ds)
    lines = [
        f"### Accepted ({total})",
        "",
        f"Over the fail threshold but not failing this run: {summary}.",
        "",
    ]
    waived = groups.get(Status.WAIVED, [])
    if waived:
        lines += [
            f"**Waived ({len(waived)})**",
            "",
            "| Where | Rule | Waiver | Owner | Expires | Reason |",
            "|---|---|---|---|---|---|",
        ]
        for d in waived[:MAX_ACCEPTED_ROWS]:
            w = d.waiver
            if w is None:  # pragma: no cover - the evaluator sets it for every waived one
                continue
            name = md(w.id if w.id else f"#{w.index}", 60)
            lines.append(
                f"| {_place(d, links)} | {md(d.finding.qualified_rule, 120)} | "
                f"{name} ({md(w.location, 120)}) | {md(w.owner, 80)} | "
                f"{w.expires.isoformat()} | {md(w.reason, MAX_CELL)} |"
            )
        lines += _more(len(waived))
    suppressed = groups.get(Status.SUPPRESSED, [])
    if suppressed:
        lines += [
            f"**Suppressed by inline comments ({len(suppressed)})**",
            "",
            "| Where | Rule | Comment |",
            "|---|---|---|",
        ]
        for d in suppressed[:MAX_ACCEPTED_ROWS]:
            s = d.suppression
            comment = md(s.text, MAX_CELL) if s is not None else ""
            if s is not None and s.line != d.finding.start_line:
                comment += f" (on line {s.line})"  # a comment on the line above
            lines.append(
                f"| {_place(d, links)} | {md(d.finding.qualified_rule, 120)} | {comment} |"
            )
        lines += _more(len(suppressed))
    baselined = groups.get(Status.BASELINED, [])
    if baselined:
        inputs = data.inputs
        source = inputs.baseline.source if inputs and inputs.baseline else ""
        lines += [
            f"- {_plural(len(baselined), 'finding')} recorded in the baseline"
            + (f" {md(source, 200)}" if source else "")
            + f": {_by_category(baselined)}.",
        ]
    pre = groups.get(Status.PRE_EXISTING, [])
    if pre:
        changes = data.changes
        base = f" ({md(changes.base[:12])})" if changes is not None else ""
        lines += [
            f"- {_plural(len(pre), 'finding')} pre-existing, already at the base{base} and "
            f"not added by this change: {_by_category(pre)}.",
        ]
    if baselined or pre:
        lines.append("")
    return lines


def _more(n: int) -> list[str]:
    if n <= MAX_ACCEPTED_ROWS:
        return [""]
    return ["", f"{n - MAX_ACCEPTED_ROWS} more in the JSON report.", ""]


def _suppression_line(data: ReportData) -> list[str]:
    found, honoured = data.suppression_counts()
    if not found:
        return []
    return [
        f"Inline suppression comments: {found} found, {honoured} honoured (the policy's "
        f"inline_suppressions is {md(data.policy.inline_suppressions)}); the JSON report "
        "lists each.",
        "",
    ]


def _why(d: Decision) -> str:
    return d.steps[-1] if d.steps else d.status.value


def _not_enforced(tolerated: list[Decision]) -> list[str]:
    if not tolerated:
        return []
    lines = ["### Not enforced", ""]
    reasons: Counter[tuple[str, str]] = Counter((d.status.value, _why(d)) for d in tolerated)
    for (status, why), n in sorted(reasons.items()):
        lines.append(f"- {_plural(n, 'finding')} {status}: {md(why, 400)}")
    lines.append("")
    return lines


def _scanner_problems(data: ReportData) -> list[str]:
    runs = [r for r in data.result.runs if r.status in ("failed", "skipped")]
    if not runs:
        return []
    lines = ["### Scanners that did not complete", ""]
    for run in runs:
        what = (
            "failed — the gate cannot pass"
            if run.status == "failed"
            else "failed, skipped (optional in the policy)"
        )
        lines.append(f"- {md(run.name)} {what}: {md(run.reason or 'no reason given', 600)}")
    lines.append("")
    return lines


def _footer(data: ReportData, annotations_not_shown: int) -> list[str]:
    lines: list[str] = []
    if annotations_not_shown > 0:
        lines += [
            f"{_plural(annotations_not_shown, 'more annotation')} than GitHub shows were not "
            "emitted (GitHub shows 10 errors and 10 warnings per step); every finding is "
            "in this summary and the JSON report.",
            "",
        ]
    versions = ", ".join(
        f"{md(r.name)} {md(r.version, 40)}".rstrip()
        + ("" if r.status == "ok" else f" ({r.status})")
        for r in data.result.runs
    )
    fs = data.result.fileset
    inputs = data.inputs
    extra = ""
    if inputs is not None and inputs.waivers is not None:
        ws = inputs.waivers
        extra += f" · waivers {md(ws.file, 120)} ({len(ws.waivers)}, sha256 {md(ws.sha256[:12])})"
    if inputs is not None and inputs.baseline is not None:
        n = len(inputs.baseline.entries)
        extra += (
            f" · baseline {md(inputs.baseline.source or 'given', 120)} "
            f"({n} {'entry' if n == 1 else 'entries'})"
        )
    lines += [
        "---",
        "",
        f"Policy {md(data.policy.name, 80)} sha256 `{data.policy.sha256}` · "
        f"policy-gate {__version__} · scanners: {versions} · "
        f"{len(fs.files)} files in scope{extra} · {data.generated_at}",
    ]
    info = data.result.advisory_info
    if info is not None:
        lines += ["", f"Vulnerability data: {md(info.summary(), 300)}"]
    return lines


def _by_status(data: ReportData) -> dict[Status, list[Decision]]:
    """The decisions of each status, most important first (``ReportData.ordered``, which
    keeps each status together)."""
    out: dict[Status, list[Decision]] = {}
    for status, group in groupby(data.ordered(), key=attrgetter("status")):
        out.setdefault(status, []).extend(group)
    return out


@dataclass(frozen=True)
class _Parts:
    """What the document holds around the violation table, made once: only the number of
    violation rows shown changes while the document is fitted to its size limit."""

    head: list[str]
    violations: list[Decision]
    shown: int  # violation rows shown at most
    rows: list[str]  # the table rows of violations[:shown]
    tail: list[str]

    def document(self, shown: int) -> str:
        lines = list(self.head)
        violations = self.violations
        if violations:
            title = (
                f"### Violations ({len(violations)})"
                if shown >= len(violations)
                else f"### Violations (top {shown} of {len(violations)})"
            )
            lines += [title, "", "| Where | Rule | Severity | Message | Fix | Fingerprint |"]
            rows = self.rows if shown == self.shown else self.rows[:shown]
            lines += ["|---|---|---|---|---|---|", *rows, ""]
            if shown < len(violations):
                lines += [
                    f"{len(violations) - shown} more not shown here (size limit); the JSON "
                    "and SARIF reports list every violation.",
                    "",
                ]
        lines += self.tail
        return "\n".join(lines) + "\n"


def _parts(
    data: ReportData,
    links: LinkBuilder | None,
    annotations_not_shown: int,
    max_violations: int,
) -> _Parts:
    ev = data.evaluation
    by_status = _by_status(data)
    violations = by_status.get(Status.VIOLATION, [])
    head = [_headline(data, len(violations)), ""]
    head += _scope(data)
    head += _notices(data)
    head += ["### Findings", ""]
    head += _counts_table(data)
    head.append("")
    tail: list[str] = []
    for b in ev.budgets:
        tail += [
            f"- Budget exceeded: {md(b.category)} allows {b.allowed} {b.severity.label} "
            f"finding(s), {b.found} found.",
        ]
    if ev.budgets:
        tail.append("")
    tail += _accepted(data, links)
    tail += _below(by_status.get(Status.BELOW_THRESHOLD, []))
    tail += _not_enforced(
        by_status.get(Status.EXCLUDED, []) + by_status.get(Status.DISABLED, [])
    )
    tail += _suppression_line(data)
    tail += _scanner_problems(data)
    tail += _footer(data, annotations_not_shown)
    shown = min(max_violations, len(violations))
    return _Parts(head, violations, shown, _violation_rows(violations[:shown], links), tail)


def fit(text: str, max_bytes: int, note: str = "") -> str:
    """Cut ``text`` at a line boundary so that it and ``note`` fit in ``max_bytes`` UTF-8
    bytes (whole lines only: an HTML reference or a table row is never cut in half)."""
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    note = note or "\n*(truncated to fit GitHub's size limit)*\n"
    budget = max_bytes - len(note.encode("utf-8"))
    if budget <= 0:
        return note.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")
    head = text.encode("utf-8")[:budget].decode("utf-8", "ignore")
    cut = head.rfind("\n")
    head = head[: cut + 1] if cut >= 0 else ""
    return head + note


def render(
    data: ReportData,
    *,
    links: LinkBuilder | None = None,
    max_bytes: int = SUMMARY_MAX_BYTES,
    annotations_not_shown: int = 0,
    max_violations: int = MAX_VIOLATIONS,
) -> str:
    parts = _parts(data, links, annotations_not_shown, max_violations)
    shown = parts.shown
    text = parts.document(shown)
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    # the most rows that fit: the document grows monotonically with the rows shown
    lo, hi = 0, shown
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(parts.document(mid).encode("utf-8")) <= max_bytes:
            lo = mid
        else:
            hi = mid - 1
    return fit(parts.document(lo), max_bytes)


__all__ = [
    "COMMENT_MAX_CHARS",
    "MAX_VIOLATIONS",
    "SUMMARY_MAX_BYTES",
    "LinkBuilder",
    "fit",
    "md",
    "render",
]
