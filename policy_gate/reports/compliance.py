"""The compliance evidence report: for a risk officer, how one gate run stands against each
Mojaloop fact, PCI DSS requirement and GDPR article in the catalogue (docs/compliance.md).

Entry points: :func:`render` (Markdown, the ``--format compliance`` output),
:func:`render_markdown` and :func:`render_html` (a self-contained page: inline CSS, no
scripts, no external resources, printable). All take the :class:`ReportData` every format
gets; the statuses come from :func:`policy_gate.compliance.assess.assess`, so both
renderings say the same thing.

Everything from the scanned tree, the scanners or the policy (file names, messages, rule
ids, waiver owners and reasons) is hostile: Markdown passes it through
:func:`policy_gate.reports.markdown.md`, HTML through :func:`html.escape` after control
characters are made visible. Secret values are never shown: the report names findings by
place, rule and message, which scanners write without the value.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from policy_gate.compliance.assess import (
    FAIL,
    GLOSSARY,
    NOT_CHECKED,
    NOT_COVERED,
    NOTHING,
    PASS,
    STATUSES,
    Assessment,
    CheckResult,
    ControlResult,
    Evidence,
    ScannerEvidence,
    assessed,
    counted_text,
)
from policy_gate.policy.evaluate import Decision, Status
from policy_gate.reports.interface import ACCEPTED_WORDS, ReportData
from policy_gate.reports.markdown import md

MAX_FINDINGS = 15  # violations / accepted findings listed per control; the JSON has all
MAX_CELL = 240
MAX_RULE_CHECKS = 3  # rule checks named in a summary cell; more are counted

SHORT_FRAMEWORK = {"mojaloop": "Mojaloop", "pci-dss": "PCI DSS", "gdpr": "GDPR"}
STATUS_LABEL = {PASS: "pass", FAIL: "fail", NOT_CHECKED: "not checked",
                NOT_COVERED: "not covered", NOTHING: "nothing examined"}
_SLUG = re.compile(r"[^a-z0-9]+")


def anchor(control_id: str) -> str:
    """A stable fragment id for a control ("PCI DSS 6.2.4" -> "control-pci-dss-6-2-4")."""
    return "control-" + _SLUG.sub("-", control_id.lower()).strip("-")


def _visible(text: str, limit: int | None = None) -> str:
    """One line, control characters shown escaped, cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    if not text.isprintable():  # the usual case needs no look at each character
        text = "".join(
            ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
            for ch in text
        )
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def e(text: object, limit: int | None = None) -> str:
    """Escape anything for HTML text or a quoted attribute."""
    return html.escape(_visible(str(text), limit), quote=True)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _scanner_text(s: ScannerEvidence) -> str:
    """Name, version, and what it examined ("bandit 1.9.2: 12 Python files") or its
    status when it did not run to completion."""
    text = f"{s.name} {s.version}".rstrip()
    if s.status != "ok":
        return f"{text} ({s.status})"
    counted = ", ".join(counted_text(n, kind) for kind, n in s.examined)
    return f"{text}: {counted}" if counted else text


def _check_names(r: ControlResult) -> list[str]:
    """Covering checks for a summary cell: features and categories by name, rules by
    name only when few (the control's section lists every one)."""
    names = [c.title if c.check.kind == "feature" else c.check.key
             for c in r.checks if c.check.kind != "rule"]
    rules = [c.check.key for c in r.checks if c.check.kind == "rule"]
    if len(rules) > MAX_RULE_CHECKS:
        names.append(f"{len(rules)} rules")
    else:
        names += rules
    return names


def _finding_line(d: Decision) -> tuple[str, str, str, str]:
    f = d.finding
    return f.location, f.qualified_rule, d.severity.label, f.message


def _accepted_why(d: Decision) -> str:
    if d.status is Status.WAIVED and d.waiver is not None:
        w = d.waiver
        return (f"waived by {w.owner} until {w.expires.isoformat()}"
                f" ({w.id or w.location}): {w.reason}")
    return ACCEPTED_WORDS.get(d.status, d.status.value)


def _listed(r: ControlResult) -> tuple[tuple[Decision, ...], tuple[Decision, ...], int]:
    """The violations and accepted findings a control's section lists, and how many more
    only the JSON report has: both renderings cap the list the same way, so a page stays
    readable at thousands of findings."""
    more = max(0, len(r.violations) - MAX_FINDINGS) + max(0, len(r.accepted) - MAX_FINDINGS)
    return r.violations[:MAX_FINDINGS], r.accepted[:MAX_FINDINGS], more


def _counts_text(r: ControlResult) -> str:
    parts = [
        f"{len(r.violations)} violation(s)",
        f"{len(r.accepted)} accepted",
        f"{r.below_threshold} below threshold",
    ]
    if r.not_enforced:
        parts.append(f"{r.not_enforced} excluded or disabled")
    return ", ".join(parts)


# ---------------------------------------------------------------- Markdown
def render_markdown(data: ReportData, assessment: Assessment | None = None) -> str:
    """The evidence report as Markdown (GitHub-flavoured, every untrusted string inert)."""
    a = assessment or assessed(data)
    ev = a.evidence
    tally = a.by_status()
    lines = [
        f"# Compliance evidence: gate {md(ev.verdict_headline)}",
        "",
        "*Automated evidence from one policy-gate run. It supports an assessment by a "
        "qualified assessor; it is not one.*",
        "",
        "| Evidence | |",
        "|---|---|",
        f"| Verdict | {md(ev.verdict)} ({md(ev.verdict_headline)}) |",
        f"| Commit | {md(ev.commit or 'unknown')} ({md(ev.commit_source)}) |",
    ]
    if ev.diff:
        lines.append(f"| Diff | {md(ev.diff)} |")
    lines += [
        f"| Policy | {md(ev.policy_name)}, sha256 {md(ev.policy_sha256)} |",
        f"| Policy files | {md(', '.join(ev.policy_files), 600)} |",
        f"| Scanned | {md(ev.scanned_at)}, {ev.files_in_scope} files, root "
        f"{md(ev.root, 200)} |",
        f"| Scanners | {md(', '.join(_scanner_text(s) for s in ev.scanners), 600)} |",
        f"| Advisory data | {md(ev.advisories, 300)} |",
    ]
    if ev.waivers:
        lines.append(f"| Waivers | {md(ev.waivers, 300)} |")
    lines += [f"| Gate | policy-gate {md(ev.gate_version)} |", ""]
    lines += [
        "Controls: " + ", ".join(f"{tally.get(s, 0)} {STATUS_LABEL[s]}" for s in STATUSES),
        "",
        "## Summary",
        "",
        "| Control | Framework | Status | Covering checks | Violations | Accepted |",
        "|---|---|---|---|---|---|",
    ]
    for r in a.controls:
        c = r.control
        checks = ", ".join(_check_names(r)) or "none (manual evidence needed)"
        lines.append(
            f"| {md(c.id)} {md(c.title)} | {md(SHORT_FRAMEWORK.get(c.framework, c.framework))} | "
            f"**{md(STATUS_LABEL[r.status])}** | {md(checks, 600)} | {len(r.violations)} | "
            f"{len(r.accepted)} |"
        )
    lines += ["", "## Controls", ""]
    for r in a.controls:
        lines += _md_control(r)
    if a.unknown_sources:
        lines += ["## Citations the catalogue does not know", "",
                  "Cited by the policy or the rules, but not in the catalogue: no evidence "
                  "is reported for them. Add them to the catalogue or correct the citation.",
                  ""]
        lines += [f"- {md(src)}: cited by {md(', '.join(where), 400)}"
                  for src, where in a.unknown_sources]
        lines.append("")
    lines += ["## Statuses", ""]
    lines += [f"- **{STATUS_LABEL[s]}**: {md(GLOSSARY[s])}" for s in (*STATUSES, NOTHING)]
    lines.append("")
    return "\n".join(lines)


def _md_control(r: ControlResult) -> list[str]:
    c = r.control
    lines = [
        f"### {md(c.id)}: {md(c.title)}",
        "",
        f"**{STATUS_LABEL[r.status]}**: {md(r.why, 600)}",
        "",
        f"Requirement: {md(c.requirement)} (source: {md(c.source)})",
        "",
    ]
    if r.checks:
        lines += ["| Check | Mapped by | Status | Scanners | Result |", "|---|---|---|---|---|"]
        for ch in r.checks:
            lines.append(
                f"| {md(ch.title)} | {md(', '.join(ch.origins))} | {md(STATUS_LABEL[ch.status])}"
                f" | {md(', '.join(_scanner_text(s) for s in ch.scanners), 300) or '-'} | "
                f"{md(ch.why, MAX_CELL)} |"
            )
        lines += ["", f"Findings: {_counts_text(r)}.", ""]
    violations, accepted, more = _listed(r)
    for d in violations:
        where, rule, sev, msg = _finding_line(d)
        lines.append(f"- violation at {md(where, 200)}: {md(rule, 120)} ({sev}): "
                     f"{md(msg, MAX_CELL)}")
    for d in accepted:
        where, rule, sev, _ = _finding_line(d)
        lines.append(f"- accepted at {md(where, 200)}: {md(rule, 120)} ({sev}), "
                     f"{md(_accepted_why(d), MAX_CELL)}")
    if more:
        lines.append(f"- {more} more in the JSON report")
    if r.violations or r.accepted:
        lines.append("")
    if c.manual or not r.checks:
        lines += [f"Manual evidence needed: {md(c.manual or 'no automated check covers it')}",
                  ""]
    if r.related:
        lines += ["Related: " + ", ".join(md(x) for x in r.related), ""]
    return lines


# ---------------------------------------------------------------- HTML
PAGE_CSS = """
:root{--fg:#1f2328;--muted:#4d5560;--line:#d0d7de;--soft:#f6f8fa}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#fff;color:var(--fg);
 font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 32px 48px}
h1{font-size:26px;line-height:1.25;margin:0 0 6px}
h2{font-size:20px;margin:36px 0 12px;padding-bottom:6px;border-bottom:2px solid var(--line)}
h3{font-size:17px;margin:28px 0 8px}
h4{font-size:15px;margin:0 0 6px;display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
p{margin:6px 0}
a{color:#0550ae}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;
 font-size:12.5px;overflow-wrap:anywhere;word-break:break-word}
.sub{color:var(--muted);margin:0 0 16px}
.verdict{display:inline-block;font-size:16px;font-weight:700;padding:6px 14px;
 border-radius:6px;border:2px solid;margin:4px 0 12px}
.v-pass{background:#dafbe1;color:#0a4d1d;border-color:#2da44e}
.v-fail,.v-error{background:#ffebe9;color:#82071e;border-color:#cf222e}
.v-review{background:#fff8c5;color:#5c3d00;border-color:#bf8700}
.evidence{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:4px 18px;
 background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:12px 16px;
 margin:0}
.evidence dt{font-weight:600;color:var(--muted)}
.evidence dd{margin:0;overflow-wrap:anywhere}
.disclaimer{border-left:4px solid #8c959f;padding:6px 12px;background:var(--soft);
 margin:14px 0}
.tally{display:flex;gap:10px;flex-wrap:wrap;margin:8px 0 14px}
.tally span{font-weight:600}
table{border-collapse:collapse;width:100%;margin:6px 0 10px}
th,td{border:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top;
 overflow-wrap:anywhere;word-break:break-word}
th{background:var(--soft);font-weight:600;word-break:normal;overflow-wrap:normal}
td.num{text-align:right;white-space:nowrap}
td.nowrap{white-space:nowrap}
table.summary td:first-child{min-width:190px}
table.checks{table-layout:fixed}
col.w-check{width:24%}col.w-by{width:12%}col.w-status{width:10%}col.w-scanners{width:22%}
.badge{display:inline-block;padding:1px 9px;border-radius:10px;border:1px solid;
 font-size:12px;font-weight:700;white-space:nowrap;line-height:18px}
.s-pass{background:#dafbe1;color:#0a4d1d;border-color:#4ac26b}
.s-fail{background:#ffebe9;color:#82071e;border-color:#ff8182}
.s-not-checked,.s-nothing-examined{background:#fff8c5;color:#5c3d00;border-color:#d4a72c}
.s-not-covered{background:#eaeef2;color:#32383f;border-color:#8c959f}
.control{border:1px solid var(--line);border-left:6px solid #8c959f;border-radius:6px;
 padding:12px 16px;margin:14px 0;break-inside:avoid-page}
.c-pass{border-left-color:#2da44e}.c-fail{border-left-color:#cf222e}
.c-not-checked{border-left-color:#bf8700}.c-not-covered{border-left-color:#8c959f}
.control .why{margin:4px 0 8px}
.meta{color:var(--muted);font-size:13px}
.manual{background:#f6f8fa;border:1px dashed #8c959f;border-radius:4px;padding:6px 10px;
 margin:8px 0}
ul.findings{margin:4px 0 8px;padding-left:20px}
ul.findings li{margin:2px 0;overflow-wrap:anywhere}
.related a{margin-right:8px;white-space:nowrap}
dl.glossary dt{margin-top:8px;font-weight:600}
dl.glossary dd{margin:2px 0 0 0}
footer{margin-top:36px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);
 padding-top:8px}
@media print{
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 body{font-size:11pt}
 main{max-width:none;padding:0}
 a{color:inherit;text-decoration:none}
 h2{break-after:avoid-page}
 tr,.control{break-inside:avoid-page}
 thead{display:table-header-group}
}
@page{margin:14mm}
"""


def _badge(status: str) -> str:
    return f'<span class="badge s-{e(status)}">{e(STATUS_LABEL.get(status, status))}</span>'


def _link(control_id: str) -> str:
    return f'<a href="#{anchor(control_id)}">{e(control_id)}</a>'


def render_html(data: ReportData, assessment: Assessment | None = None) -> str:
    """The evidence report as one self-contained HTML page (inline CSS, no scripts, no
    external resources), laid out for screen and print."""
    a = assessment or assessed(data)
    title = f"Compliance evidence: {a.evidence.policy_name}"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title, 120)}</title>",
        f"<style>{PAGE_CSS}</style></head><body><main>",
        *_html_header(title, a.evidence),
        *_html_summary(a),
        *_html_controls(a),
        *_html_unknown_sources(a),
        *_html_glossary(),
        _html_footer(a.evidence),
        "</main></body></html>",
    ]
    return "\n".join(out) + "\n"


def _html_header(title: str, ev: Evidence) -> list[str]:
    """The page's header: the verdict, then what identifies the run (commit, policy,
    scanners, advisory data), so a printed copy can be traced back to its scan."""
    return [
        "<header>",
        f"<h1>{e(title, 120)}</h1>",
        f'<p class="sub">Mojaloop standards, PCI DSS v4.0.1 and GDPR, as evidenced by one '
        f"policy-gate run on {e(ev.scanned_at)}</p>",
        f'<div class="verdict v-{e(ev.verdict)}">Gate verdict: {e(ev.verdict_headline)}</div>',
        '<dl class="evidence">',
        *(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in _evidence_rows(ev)),
        "</dl>",
        '<p class="disclaimer">Automated evidence from one run of the gate. It supports an '
        "assessment by a qualified assessor; it is not one. Controls marked "
        "<em>not covered</em> need manual evidence; see the glossary at the end.</p>",
        "</header>",
    ]


def _evidence_rows(ev: Evidence) -> list[tuple[str, str]]:
    """(label, HTML) of each fact about the run; diff and waivers only when there are any."""
    rows = [
        ("Commit", f'<code>{e(ev.commit or "unknown")}</code> '
                   f'<span class="meta">({e(ev.commit_source)})</span>'),
    ]
    if ev.diff:
        rows.append(("Diff", f"<code>{e(ev.diff)}</code>"))
    rows += [
        ("Policy", f"{e(ev.policy_name, 120)}"),
        ("Policy sha256", f"<code>{e(ev.policy_sha256)}</code>"),
        ("Policy files", "<br>".join(f"<code>{e(f, 300)}</code>" for f in ev.policy_files)),
        ("Scanned", f"{e(ev.scanned_at)} · {ev.files_in_scope} files in scope · root "
                    f"<code>{e(ev.root, 300)}</code>"),
        ("Scanners", ", ".join(e(_scanner_text(s)) for s in ev.scanners)),
        ("Advisory data", e(ev.advisories, 300)),
    ]
    if ev.waivers:
        rows.append(("Waivers", e(ev.waivers, 300)))
    rows.append(("Gate", f"policy-gate {e(ev.gate_version)}"))
    return rows


def _html_summary(a: Assessment) -> list[str]:
    """The tally of statuses and one row a control, each linking to its section."""
    tally = a.by_status()
    out = ['<section><h2 id="summary">Summary</h2><div class="tally">']
    out += [f"<span>{_badge(s)} {tally.get(s, 0)}</span>" for s in STATUSES]
    out += [
        "</div>",
        '<table class="summary"><thead><tr><th>Control</th><th>Framework</th><th>Status</th>'
        "<th>Covering checks</th><th>Violations</th><th>Accepted</th></tr></thead><tbody>",
    ]
    for r in a.controls:
        c = r.control
        checks = ", ".join(e(n) for n in _check_names(r)) or \
            '<span class="meta">none: manual evidence needed</span>'
        out.append(
            f"<tr><td>{_link(c.id)}<br><span class='meta'>{e(c.title)}</span></td>"
            f"<td class='nowrap'>{e(SHORT_FRAMEWORK.get(c.framework, c.framework))}</td>"
            f"<td>{_badge(r.status)}</td><td>{checks}</td>"
            f"<td class='num'>{len(r.violations)}</td><td class='num'>{len(r.accepted)}</td></tr>"
        )
    out.append("</tbody></table></section>")
    return out


def _html_controls(a: Assessment) -> list[str]:
    """Every control's section, grouped under its framework in catalogue order (a
    framework with no control in the assessment gets no heading)."""
    out = ['<section><h2 id="controls">Controls</h2>']
    for fid, framework in a.catalogue.frameworks.items():
        members = [r for r in a.controls if r.control.framework == fid]
        if not members:
            continue
        out.append(f"<h3>{e(framework.title)} <span class='meta'>({e(framework.reference)})"
                   "</span></h3>")
        out += [_html_control(r) for r in members]
    out.append("</section>")
    return out


def _html_unknown_sources(a: Assessment) -> list[str]:
    """Citations the catalogue does not know, shown rather than dropped so a misspelt
    citation is seen; nothing when every citation is known."""
    if not a.unknown_sources:
        return []
    return [
        '<section><h2 id="unknown">Citations the catalogue does not know</h2>',
        "<p>Cited by the policy or the rules, but not in the catalogue, so no evidence is "
        "reported for them. Add them to the catalogue or correct the citation.</p>",
        "<table><thead><tr><th>Citation</th><th>Cited by</th></tr></thead><tbody>",
        *(f"<tr><td class='nowrap'>{e(src)}</td><td>{e(', '.join(where), 600)}</td></tr>"
          for src, where in a.unknown_sources),
        "</tbody></table></section>",
    ]


def _html_glossary() -> list[str]:
    """What each status and finding word means, for a reader without the docs."""
    return [
        '<section><h2 id="glossary">Statuses</h2><dl class="glossary">',
        *(f"<dt>{_badge(s)}</dt><dd>{e(GLOSSARY[s])}</dd>" for s in (*STATUSES, NOTHING)),
        "<dt>accepted</dt><dd>Over the policy's fail threshold but not failing: waived (with "
        "owner and expiry), in the baseline, pre-existing at the diff base, or suppressed "
        "inline where the policy honours it.</dd>",
        "<dt>below threshold</dt><dd>Reported but under the policy's fail threshold.</dd>",
        "</dl></section>",
    ]


def _html_footer(ev: Evidence) -> str:
    """Gate version, policy hash and scan time once more, on the last printed page."""
    return (f"<footer>policy-gate {e(ev.gate_version)} · policy {e(ev.policy_name, 80)} sha256 "
            f"<code>{e(ev.policy_sha256)}</code> · generated from the scan of {e(ev.scanned_at)}"
            "</footer>")


def _scanners_cell(scanners: Iterable[ScannerEvidence]) -> str:
    items = [e(_scanner_text(s)) for s in scanners]
    return ", ".join(items) if items else '<span class="meta">-</span>'


def _check_row(ch: CheckResult) -> str:
    name = e(ch.title)
    if ch.check.kind == "feature":
        name += f"<br><code>{e(ch.check.key)}</code>"
    if ch.cwe:
        name += f"<br><span class='meta'>{e(', '.join(ch.cwe))}</span>"
    return (f"<tr><td>{name}</td><td>{e(', '.join(ch.origins))}</td><td>{_badge(ch.status)}</td>"
            f"<td>{_scanners_cell(ch.scanners)}</td><td>{e(ch.why, MAX_CELL)}</td></tr>")


def _html_control(r: ControlResult) -> str:
    c = r.control
    parts = [
        f'<article class="control c-{e(r.status)}" id="{anchor(c.id)}">',
        f"<h4>{_badge(r.status)} <span>{e(c.id)}: {e(c.title)}</span></h4>",
        f'<p class="why">{e(r.why, 800)}</p>',
        f"<p>{e(c.requirement)}</p>",
        f'<p class="meta">Source: {e(c.source)}</p>',
    ]
    if r.checks:
        parts += [
            '<table class="checks"><colgroup><col class="w-check"><col class="w-by">'
            '<col class="w-status"><col class="w-scanners"><col></colgroup>'
            "<thead><tr><th>Check</th><th>Mapped by</th><th>Status</th>"
            "<th>Scanners</th><th>Result</th></tr></thead><tbody>",
            *(_check_row(ch) for ch in r.checks),
            "</tbody></table>",
            f'<p class="meta">Findings: {e(_counts_text(r))}.</p>',
        ]
    items: list[str] = []
    violations, accepted, more = _listed(r)
    for d in violations:
        where, rule, sev, msg = _finding_line(d)
        items.append(f"<li>{_badge(FAIL)} <code>{e(where, 200)}</code> <code>{e(rule, 120)}</code>"
                     f" ({e(sev)}): {e(msg, MAX_CELL)}</li>")
    for d in accepted:
        where, rule, sev, _ = _finding_line(d)
        items.append(f"<li><strong>accepted</strong> <code>{e(where, 200)}</code> "
                     f"<code>{e(rule, 120)}</code> ({e(sev)}): {e(_accepted_why(d), MAX_CELL)}"
                     "</li>")
    if more:
        items.append(f"<li>{_plural(more, 'more finding')} in the JSON report</li>")
    if items:
        parts += ['<ul class="findings">', *items, "</ul>"]
    if r.waivers:
        owners = sorted({f"{w.owner} (until {w.expires.isoformat()})" for w in r.waivers})
        parts.append(f'<p class="meta">Waiver owners: {e(", ".join(owners), 600)}</p>')
    if c.manual or not r.checks:
        parts.append(f'<p class="manual"><strong>Manual evidence needed:</strong> '
                     f"{e(c.manual or 'no automated check covers this control.')}</p>")
    if r.related:
        parts.append('<p class="related meta">Related: '
                     + " ".join(_link(x) for x in r.related) + "</p>")
    parts.append("</article>")
    return "\n".join(parts)


def render(data: ReportData) -> str:
    """``--format compliance``: the Markdown report (the CLI writes the HTML beside it)."""
    return render_markdown(data)


def render_both(data: ReportData) -> tuple[str, str]:
    """(Markdown, HTML) from one assessment, so both copies state the same evidence."""
    a = assessed(data)
    return render_markdown(data, a), render_html(data, a)


__all__ = ["anchor", "render", "render_both", "render_html", "render_markdown"]
