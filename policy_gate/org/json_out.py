"""The organisation view as JSON: everything the Markdown and HTML pages show, in full."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from policy_gate import __version__
from policy_gate.org.reader import RepoReport
from policy_gate.org.view import OrgView

AGGREGATE_SCHEMA_VERSION = "1.0"


def build(view: OrgView) -> dict[str, Any]:
    """The document; lists are complete (the pages shorten, this does not)."""
    return {
        "kind": "policy-gate-aggregate",
        "schema_version": AGGREGATE_SCHEMA_VERSION,
        "tool": {"name": "policy-gate", "version": __version__},
        "as_of": view.as_of.isoformat(),
        "expiring_within_days": view.within_days,
        "summary": {
            "repositories": len(view.repos),
            "verdicts": dict(view.verdicts),
            "violations": sum(r.by_status.get("violation", 0) for r in view.repos),
            "advisories": len(view.advisories),
            "expiring_waivers": len(view.expiring),
            "problems": len(view.problems),
            "without_report": sum(p.kind == "no-report" for p in view.problems),
        },
        "repositories": [_repo(view, r) for r in view.repos],
        "controls": [
            {"id": cid, "framework": fw, "title": title,
             "counts": {s: n for s, n in view.control_counts(cid).items()},
             "failing": view.failing(cid)}
            for cid, fw, title in view.controls
        ],
        "advisories": [asdict(a) for a in view.advisories],
        "expiring_waivers": [asdict(w) for w in view.expiring],
        "problems": [asdict(p) for p in view.problems],
    }


def _repo(view: OrgView, r: RepoReport) -> dict[str, Any]:
    return {
        "name": r.name, "report": r.path, "verdict": r.verdict, "headline": r.headline,
        "exit_code": r.exit_code, "commit": r.commit, "generated_at": r.generated_at,
        "gate_version": r.gate_version, "schema_version": r.schema_version,
        "policy": r.policy, "findings": r.findings, "by_status": r.by_status,
        "violations": r.violations,
        "controls": None if r.controls is None else {
            c.id: {"status": c.status, "why": c.why, "violations": c.violations}
            for c in r.controls},
        "failures": r.failures,
    }


def render(view: OrgView) -> str:
    return json.dumps(build(view), indent=1, ensure_ascii=False) + "\n"

