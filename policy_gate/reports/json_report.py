"""The versioned JSON report: every finding with its decision, the policy and its hash,
scanner versions and timings, and per-scanner accounting (docs/report-format.md).

It is the complete record: whatever another format shortens (the Markdown summary, the
annotations) is here in full — what accepted each finding (waiver, inline comment,
baseline, diff mode), every notice, every inline suppression comment, and the inputs the
decisions rested on (the waivers file's hash, the baseline, the diff's base)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from policy_gate import REPORT_SCHEMA_VERSION, __version__
from policy_gate.policy.evaluate import Decision, Notice, SuppressionUse
from policy_gate.reports.interface import ReportData, suppression_dict
from policy_gate.runner import HISTORY

SCHEMA_ID = "https://github.com/mojaloop/policy-gate/report.schema.json"
MAX_DIFF_FILES = 1000  # changed files listed; the count is always exact


def build(data: ReportData) -> dict[str, Any]:
    result, policy, evaluation = data.result, data.policy, data.evaluation
    per_scanner = _per_scanner(data)
    return {
        "$schema": SCHEMA_ID,
        "schema_version": REPORT_SCHEMA_VERSION,
        "tool": {"name": "policy-gate", "version": __version__},
        "generated_at": data.generated_at,
        "verdict": evaluation.verdict.value,
        "headline": evaluation.verdict.headline,
        "exit_code": evaluation.verdict.exit_code,
        "root": str(result.root),
        "policy": {
            "name": policy.name,
            "files": list(policy.files),
            "sha256": policy.sha256,
            "document": policy.document,
        },
        "scan": {
            "seconds": round(result.seconds, 3),
            "files": len(result.fileset.files),
            "excluded": list(result.fileset.excluded),
            "symlinks_not_followed": list(result.fileset.symlinks),
            "unreadable": list(result.fileset.unreadable),
            "advisory_database": result.advisories,
            "osv_url": result.osv_url,
            # Where the audits' vulnerability data came from and how old it is (M4a).
            "advisories": result.advisory_info.to_dict()
            if result.advisory_info is not None
            else None,
        },
        "scanners": [
            {
                "name": run.name,
                "status": run.status,
                "reason": run.reason,
                "version": run.version,
                "seconds": round(run.seconds, 3),
                "files_scanned": run.output.files_scanned if run.output else 0,
                "raw_results": run.output.raw_results if run.output else 0,
                "results_in_report": per_scanner.get(run.name, 0),
                "notes": run.output.notes if run.output else [],
                # With --cache-dir: how much of the answer came from the results cache.
                "cache": run.cache.to_dict() if run.cache is not None else None,
            }
            for run in result.runs
        ],
        "summary": {
            "findings": len(evaluation.decisions),
            "by_status": dict(Counter(d.status.value for d in evaluation.decisions)),
            "by_category": {
                cat: {sev: dict(counts) for sev, counts in sevs.items() if counts}
                for cat, sevs in data.table().items()
            },
            "budgets_exceeded": [
                {
                    "category": b.category,
                    "severity": b.severity.label,
                    "allowed": b.allowed,
                    "found": b.found,
                }
                for b in evaluation.budgets
            ],
        },
        "review_required": _notice(evaluation.policy_change)
        if evaluation.policy_change is not None
        else None,
        "notices": [_notice(n) for n in data.notices()],
        "suppressions": [_suppression_use(u) for u in evaluation.suppressions],
        "diff": _diff(data),
        "waivers": _waivers(data),
        "baseline": _baseline(data),
        "findings": [_finding(d, data.honoured(d)) for d in data.ordered()],
    }


def _finding(d: Decision, honoured: bool | None) -> dict[str, Any]:
    w = d.waiver
    return {
        **d.finding.to_dict(),
        "status": d.status.value,
        "effective_severity": d.severity.label,
        "effective_confidence": d.confidence.label if d.confidence else None,
        "reported": d.reported,
        "annotate": d.annotate,
        "decision": list(d.steps),
        "rationale": d.category_policy.rationale,
        "policy_sources": list(d.category_policy.sources),
        "waiver": None
        if w is None
        else {
            "id": w.id,
            "file": w.file,
            "line": w.line,
            "owner": w.owner,
            "expires": w.expires.isoformat(),
            "reason": w.reason,
            "kind": w.kind,
        },
        "suppression": None
        if d.suppression is None
        else {**suppression_dict(d.suppression), "honoured": honoured},
        "baselined": d.baseline is not None,
        "introduced": d.introduced,
    }


def _suppression_use(u: SuppressionUse) -> dict[str, Any]:
    return {
        **suppression_dict(u.suppression),
        "honoured": u.honoured,
        "why": u.why,
        "covered": u.covered,
    }


def _notice(n: Notice) -> dict[str, Any]:
    return {"kind": n.kind, "message": n.message, "fails": n.fails, "file": n.file, "line": n.line}


def _diff(data: ReportData) -> dict[str, Any] | None:
    changes = data.changes
    if changes is None:
        return None
    files = sorted(changes.files)
    return {
        "base_ref": changes.base_ref,
        "base": changes.base,
        "head": changes.head,
        "changed_files": len(files),
        "files": files[:MAX_DIFF_FILES],
        "files_truncated": len(files) > MAX_DIFF_FILES,
        "deleted": len(changes.deleted),
        "scanned_files": len(data.result.changed_files),
    }


def _waivers(data: ReportData) -> dict[str, Any] | None:
    inputs = data.inputs
    if inputs is None or inputs.waivers is None:
        return None
    ws = inputs.waivers
    return {
        "file": ws.file,
        "sha256": ws.sha256,
        "count": len(ws.waivers),
        "as_of": inputs.today.isoformat(),
    }


def _baseline(data: ReportData) -> dict[str, Any] | None:
    inputs = data.inputs
    if inputs is None or inputs.baseline is None:
        return None
    return {"source": inputs.baseline.source, "entries": len(inputs.baseline.entries)}


def _per_scanner(data: ReportData) -> Counter[str]:
    """Raw results in the report, per scanner run: a secret found in a commit of the
    change (diff mode) was found by the history run, not by the head's detect-secrets."""
    history = any(run.name == HISTORY for run in data.result.runs)
    counts: Counter[str] = Counter()
    for f in data.result.findings:
        for s in f.sources:
            counts[HISTORY if history and f.commit else s.scanner] += 1
    return counts


def render(data: ReportData) -> str:
    return json.dumps(build(data), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
