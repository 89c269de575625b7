"""The versioned JSON report: every finding with its decision, the policy and its hash,
scanner versions and timings, and per-scanner accounting (docs/report-format.md)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from policy_gate import REPORT_SCHEMA_VERSION, __version__
from policy_gate.reports.interface import ReportData

SCHEMA_ID = "https://github.com/mojaloop/policy-gate/report.schema.json"


def build(data: ReportData) -> dict[str, Any]:
    result, policy, evaluation = data.result, data.policy, data.evaluation
    per_scanner: Counter[str] = Counter(s.scanner for f in result.findings for s in f.sources)
    return {
        "$schema": SCHEMA_ID,
        "schema_version": REPORT_SCHEMA_VERSION,
        "tool": {"name": "policy-gate", "version": __version__},
        "generated_at": data.generated_at,
        "verdict": evaluation.verdict.value,
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
        "findings": [
            {
                **d.finding.to_dict(),
                "status": d.status.value,
                "effective_severity": d.severity.label,
                "effective_confidence": d.confidence.label if d.confidence else None,
                "reported": d.reported,
                "annotate": d.annotate,
                "decision": list(d.steps),
                "rationale": d.category_policy.rationale,
                "policy_sources": list(d.category_policy.sources),
            }
            for d in data.ordered()
        ],
    }


def render(data: ReportData) -> str:
    return json.dumps(build(data), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
