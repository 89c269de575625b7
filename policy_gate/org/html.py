"""The organisation view as one self-contained HTML page (the compliance page's style; no
scripts, no external resources). Sized for hundreds of repositories: the repository x
control matrix is one small cell per pair, each repository's details fold away, and the long
lists stop at a few hundred rows (the JSON view has them whole)."""

from __future__ import annotations

import hashlib
import re

from policy_gate.org.reader import RepoReport
from policy_gate.org.view import NO_DATA, SEVERITY_RANK, OrgView
from policy_gate.reports.compliance import PAGE_CSS, e

MAX_ROWS = 300
MAX_ADVISORIES = 100  # the most widespread; the JSON view lists every one
MAX_NAMES = 10
_CELL = {"pass": "✓", "fail": "✗", "not-checked": "?", "not-covered": "&ndash;", NO_DATA: "·"}
_SLUG = re.compile(r"[^A-Za-z0-9]+")
_EXTRA_CSS = """
main{max-width:none}
table.matrix{width:auto;table-layout:fixed}
table.matrix th.c{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;
 font-size:12px;padding:6px 2px}
table.matrix td.m{width:22px;padding:0;text-align:center;font-size:12px}
table.matrix td.m{line-height:20px}
td.s-fail{background:#ffebe9;color:#82071e}td.s-pass{background:#dafbe1;color:#0a4d1d}
td.s-not-checked{background:#fff8c5;color:#5c3d00}td.s-not-covered,td.s-no-data{color:#6e7781}
details{border:1px solid var(--line);border-radius:6px;padding:6px 12px;margin:6px 0}
summary{cursor:pointer;font-weight:600}
"""


def _rid(name: str) -> str:
    """A fragment id unique per name (the slug alone could make two names one)."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"repo-{_SLUG.sub('-', name).strip('-').lower()[:40]}-{digest}"


def _cut(n: int, what: str, shown: int = MAX_ROWS) -> str:
    return (f'<p class="meta">{n - shown} more {e(what)} are in the JSON view.</p>'
            if n > shown else "")


def render(view: OrgView) -> str:
    """The page; everything from the reports is escaped."""
    verdicts = ", ".join(f"{n} {e(v)}" for v, n in sorted(view.verdicts.items()))
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>policy-gate: {len(view.repos)} repositories</title>",
        f"<style>{PAGE_CSS}{_EXTRA_CSS}</style></head><body><main>",
        f"<header><h1>policy-gate across {len(view.repos)} repositories</h1>",
        f'<p class="sub">Verdicts: {verdicts or "none"} · as of {e(view.as_of.isoformat())}'
        f" · Mojaloop standards, PCI DSS v4.0.1 and GDPR controls per repository</p></header>",
        *_matrix(view), *_advisories(view), *_waivers(view), *_problems(view), *_details(view),
        "</main></body></html>",
    ]
    return "\n".join(out) + "\n"


def _matrix(view: OrgView) -> list[str]:
    out = ["<h2>Repositories &times; controls</h2>",
           '<p class="meta">✓ pass, ✗ fail, ? not checked, &ndash; not covered (manual '
           "evidence), · no data in the report. A repository's name links to its evidence "
           "below.</p>",
           '<table class="matrix"><thead><tr><th>Repository</th><th>Verdict</th>'
           "<th>Violations</th>"]
    out += [f'<th class="c" title="{e(title)}">{e(cid)}</th>' for cid, _fw, title in view.controls]
    out.append("</tr></thead><tbody>")
    for repo in view.repos[:MAX_ROWS]:
        rid = _rid(repo.name)
        # One short cell per pair (hundreds of repositories x 30 controls): what a cell
        # means is in the legend and the column's title; the row links to the evidence.
        cells = "".join(f'<td class="m s-{st}">{_CELL[st]}</td>' for st in (
            view.control_status(repo, cid) for cid, _fw, _t in view.controls))
        out.append(f'<tr><td><a href="#{rid}">{e(repo.name, 80)}</a></td>'
                   f'<td><span class="badge s-{"pass" if repo.exit_code == 0 else "fail"}">'
                   f"{e(repo.verdict)}</span></td>"
                   f'<td class="num">{repo.by_status.get("violation", 0)}</td>{cells}</tr>')
    out.append("</tbody></table>")
    out.append(_cut(len(view.repos), "repositories"))
    return out


def _advisories(view: OrgView) -> list[str]:
    out = ["<h2>Advisories by repositories hit</h2>"]
    if not view.advisories:
        return [*out, "<p>None.</p>"]
    out.append("<table><thead><tr><th>Advisory</th><th>Package</th><th>Severity</th>"
               "<th>Repositories</th><th>Fixed in</th></tr></thead><tbody>")
    for a in view.advisories[:MAX_ADVISORIES]:
        repos = ", ".join(e(n, 80) for n in a.repositories[:MAX_NAMES])
        more = (f" and {len(a.repositories) - MAX_NAMES} more"
                if len(a.repositories) > MAX_NAMES else "")
        out.append(f"<tr><td><code>{e(a.advisory)}</code></td><td>{e(a.ecosystem)} "
                   f"<code>{e(a.package, 80)}</code> {e(', '.join(a.versions), 80)}</td>"
                   f"<td>{e(a.severity)}</td><td><b>{len(a.repositories)}</b>: {repos}{more}</td>"
                   f"<td>{e(', '.join(a.fix_versions)) or 'no fix yet'}</td></tr>")
    return [*out, "</tbody></table>", _cut(len(view.advisories), "advisories", MAX_ADVISORIES)]


def _waivers(view: OrgView) -> list[str]:
    out = [f"<h2>Waivers expiring within {view.within_days} days (or expired), by owner</h2>"]
    if not view.expiring:
        return [*out, "<p>None.</p>"]
    out.append("<table><thead><tr><th>Owner</th><th>Expires</th><th>Repository</th>"
               "<th>Waiver</th><th>Findings</th><th>Reason</th></tr></thead><tbody>")
    for w in view.expiring[:MAX_ROWS]:
        when = "expired" if w.days < 0 else f"in {w.days} days"
        out.append(f'<tr><td>{e(w.owner, 80)}</td><td class="nowrap">{e(w.expires)} '
                   f"({when})</td><td>{e(w.repository, 80)}</td><td><code>{e(w.id, 80)}"
                   f'</code></td><td class="num">{w.findings}</td>'
                   f"<td>{e(w.reason, 200)}</td></tr>")
    return [*out, "</tbody></table>", _cut(len(view.expiring), "waivers")]


def _problems(view: OrgView) -> list[str]:
    out = ["<h2>Verdicts that mean less</h2>"]
    if not view.problems:
        return [*out, "<p>None: every scanner ran and the advisory data was fresh.</p>"]
    out.append("<ul>")
    out += [f'<li><a href="#{_rid(p.repository)}">{e(p.repository, 80)}</a> '
            f"<b>{e(p.kind)}</b>: {e(p.detail, 300)}</li>" for p in view.problems[:MAX_ROWS]]
    return [*out, "</ul>", _cut(len(view.problems), "problems")]


def _details(view: OrgView) -> list[str]:
    out = ["<h2>Evidence per repository</h2>"]
    for repo in view.repos[:MAX_ROWS]:
        out.append(_repo(repo))
    return out


def _repo(repo: RepoReport) -> str:
    by_sev = ", ".join(f"{n} {e(s)}" for s, n in sorted(
        repo.by_severity.items(), key=lambda kv: -SEVERITY_RANK.get(kv[0], 0))) or "no violations"
    open_controls = [c for c in repo.controls or () if c.status in ("fail", "not-checked")]
    items = "".join(f"<li><b>{e(c.id)}</b> {e(c.status)}: {e(c.why, 400)}</li>"
                    for c in open_controls)
    controls = (f"<ul>{items}</ul>" if items else
                "<p>No control results in this report.</p>" if repo.controls is None else
                "<p>No control fails or is unchecked.</p>")
    return (f'<details id="{_rid(repo.name)}"><summary>{e(repo.name, 80)}: '
            f"{e(repo.headline, 200)}</summary>"
            f'<p class="meta">Report <code>{e(repo.path, 300)}</code> · commit '
            f'<code>{e(repo.commit or "unknown")}</code> · {e(repo.generated_at)} · policy '
            f"{e(repo.policy, 80)} · policy-gate {e(repo.gate_version)} (schema "
            f"{e(repo.schema_version)}) · {by_sev}</p>{controls}</details>")
