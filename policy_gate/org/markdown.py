"""The organisation view as GitHub Markdown (a job summary): verdicts, the controls that
fail where, the advisories that hit the most repositories, waivers about to expire by
owner, and what makes a verdict mean less. Long lists are cut; the JSON has them whole."""

from __future__ import annotations

from policy_gate.org.view import SEVERITY_RANK, OrgView
from policy_gate.reports.markdown import md

MAX_ROWS = 50
MAX_NAMES = 8


def _names(names: list[str] | tuple[str, ...]) -> str:
    shown = ", ".join(md(n, 60) for n in names[:MAX_NAMES])
    return shown + (f" and {len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else "")


def _more(n: int, what: str) -> list[str]:
    return [f"\n_{n - MAX_ROWS} more {what} in the JSON view._"] if n > MAX_ROWS else []


def render(view: OrgView) -> str:
    out = [f"# policy-gate: {len(view.repos)} repositories", ""]
    verdicts = ", ".join(f"{n} {md(v)}" for v, n in sorted(view.verdicts.items()))
    out += [f"Verdicts: {verdicts or 'none'}. As of {view.as_of.isoformat()}.", ""]
    out += _repos(view) + _controls(view) + _advisories(view) + _waivers(view) + _problems(view)
    return "\n".join(out) + "\n"


def _repos(view: OrgView) -> list[str]:
    sevs = sorted({s for r in view.repos for c in r.violations.values() for s in c},
                  key=lambda s: -SEVERITY_RANK.get(s, 0))
    header = ["Repository", "Verdict", "Violations", *(md(s) for s in sevs)]
    out = ["## Repositories", "", "| " + " | ".join(header) + " |",
           "|---|---|---:|" + "---:|" * len(sevs)]
    for r in view.repos[:MAX_ROWS]:
        per = r.by_severity
        cells = [md(r.name, 80), md(r.verdict), str(r.by_status.get("violation", 0)),
                 *(str(per.get(s, 0)) for s in sevs)]
        out.append("| " + " | ".join(cells) + " |")
    return [*out, *_more(len(view.repos), "repositories"), ""]


def _controls(view: OrgView) -> list[str]:
    out = ["## Controls", "", "| Control | Fail | Not checked | Pass | Failing in |",
           "|---|---:|---:|---:|---|"]
    for cid, _fw, title in view.controls:
        counts = view.control_counts(cid)
        failing = view.failing(cid)
        out.append(f"| {md(cid)} {md(title, 60)} | {counts['fail']} | {counts['not-checked']} "
                   f"| {counts['pass']} | {_names(failing) or 'none'} |")
    if not view.controls:
        out.append("| (no report has control results) | | | | |")
    return [*out, ""]


def _advisories(view: OrgView) -> list[str]:
    out = ["## Advisories by repositories hit", ""]
    if not view.advisories:
        return [*out, "None.", ""]
    out += ["| Advisory | Package | Severity | Repositories | Fixed in |", "|---|---|---|---:|---|"]
    for a in view.advisories[:MAX_ROWS]:
        out.append(f"| {md(a.advisory)} | {md(a.ecosystem)} {md(a.package, 60)} "
                   f"{md(', '.join(a.versions), 60)} | {md(a.severity)} | "
                   f"{len(a.repositories)}: {_names(a.repositories)} | "
                   f"{md(', '.join(a.fix_versions)) or 'no fix yet'} |")
    return [*out, *_more(len(view.advisories), "advisories"), ""]


def _waivers(view: OrgView) -> list[str]:
    out = [f"## Waivers expiring within {view.within_days} days (or expired)", ""]
    if not view.expiring:
        return [*out, "None.", ""]
    out += ["| Owner | Expires | Repository | Waiver | Findings | Reason |",
            "|---|---|---|---|---:|---|"]
    for w in view.expiring[:MAX_ROWS]:
        when = f"{w.expires} ({'expired' if w.days < 0 else f'in {w.days} days'})"
        out.append(f"| {md(w.owner, 60)} | {when} | {md(w.repository, 60)} | {md(w.id, 60)} "
                   f"| {w.findings} | {md(w.reason, 120)} |")
    return [*out, *_more(len(view.expiring), "waivers"), ""]


def _problems(view: OrgView) -> list[str]:
    out = ["## Verdicts that mean less", ""]
    if not view.problems:
        return [*out, "None: every scanner ran and the advisory data was fresh.", ""]
    out += [f"- **{md(p.repository, 80)}** {md(p.kind)}: {md(p.detail, 200)}"
            for p in view.problems[:MAX_ROWS]]
    return [*out, *_more(len(view.problems), "problems"), ""]
