"""The versioned JSON report: every finding with its decision, the policy and its hash,
scanner versions and timings, and per-scanner accounting (docs/report-format.md).

It is the complete record: whatever another format shortens (the Markdown summary, the
annotations) is here in full — what accepted each finding (waiver, inline comment,
baseline, diff mode), every notice, every inline suppression comment, and the inputs the
decisions rested on (the waivers file's hash, the baseline, the diff's base)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from importlib import resources
from typing import Any

from policy_gate import REPORT_SCHEMA_VERSION, REPOSITORY, __version__
from policy_gate.findings import DependencyInfo, Finding
from policy_gate.policy.evaluate import Decision, Notice, SuppressionUse
from policy_gate.reports.interface import ReportData, suppression_dict
from policy_gate.reports.json_encoding import JsonText, dumps, encode_str, flag, grade, number
from policy_gate.results import HISTORY

# The report's JSON Schema, shipped in the package; a report's "$schema" is its URL at the
# release tag of the gate that wrote it, a file that exists once that version is tagged.
_SCHEMA_PACKAGE = "policy_gate.reports"
SCHEMA_FILE = f"schema/report-{REPORT_SCHEMA_VERSION}.json"
SCHEMA_URL = (f"https://raw.githubusercontent.com/{REPOSITORY}/v{__version__}/"
              f"{_SCHEMA_PACKAGE.replace('.', '/')}/{SCHEMA_FILE}")
MAX_DIFF_FILES = 1000  # changed files listed; the count is always exact


def schema() -> dict[str, Any]:
    """The JSON Schema this version's reports follow (JSON Schema 2020-12), as shipped in
    the package: what a consumer validates a report with, offline."""
    text = resources.files(_SCHEMA_PACKAGE).joinpath(SCHEMA_FILE).read_text("utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def build(data: ReportData) -> dict[str, Any]:
    """The whole report as a dict (``render`` writes the same content, faster)."""
    return {**_header(data), "findings": [_finding(d, data.honoured(d)) for d in data.ordered()]}


def _header(data: ReportData) -> dict[str, Any]:
    """Everything but the findings, in the report's key order ("findings" comes last)."""
    result, policy, evaluation = data.result, data.policy, data.evaluation
    return {
        "$schema": SCHEMA_URL,
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
            "files": len(result.fileset.files), "selection": result.fileset.selection(),
            "excluded": list(result.fileset.excluded),
            # why each entry is excluded (policy pattern, or the evidence it is generated)
            "excluded_reasons": result.fileset.exclusions(),
            "generated_files": len(result.fileset.generated),
            "generated_not_searched_for_secrets": len(result.fileset.unsearched),
            "symlinks_not_followed": list(result.fileset.symlinks),
            "unreadable": list(result.fileset.unreadable),
            "advisory_database": result.advisories,
            "osv_url": result.osv_url,
            # Where the audits' vulnerability data came from and how old it is (M4a).
            "advisories": result.advisory_info.to_dict()
            if result.advisory_info is not None
            else None,
        },
        "scanners": _scanners(data),
        "summary": {
            "findings": len(evaluation.decisions),
            "by_status": {
                s.value: n for s, n in Counter(d.status for d in evaluation.decisions).items()
            },
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
        "compliance": _compliance(data),
    }


def _finding(d: Decision, honoured: bool | None) -> dict[str, Any]:
    """One finding as a dict: what ``_Findings.write`` writes (tests hold them equal)."""
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
        "waiver": _waiver(d),
        "suppression": None
        if d.suppression is None
        else {**suppression_dict(d.suppression), "honoured": honoured},
        "baselined": d.baseline is not None,
        "introduced": d.introduced,
    }


def _waiver(d: Decision) -> dict[str, Any] | None:
    w = d.waiver
    if w is None:
        return None
    return {
        "id": w.id,
        "file": w.file,
        "line": w.line,
        "owner": w.owner,
        "expires": w.expires.isoformat(),
        "reason": w.reason,
        "kind": w.kind,
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


def _scanners(data: ReportData) -> list[dict[str, Any]]:
    per_scanner = _per_scanner(data)
    return [
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
        for run in data.result.runs
    ]


def _compliance(data: ReportData) -> dict[str, Any]:
    """Each control's status, so one report (or `policy-gate aggregate` over many) answers
    "which controls fail" without the compliance page; the page has the evidence."""
    from policy_gate.compliance.assess import assessed

    assessment = assessed(data)
    return {
        "commit": assessment.evidence.commit,
        "commit_source": assessment.evidence.commit_source,
        "controls": [
            {
                "id": c.control.id,
                "framework": c.control.framework,
                "title": c.control.title,
                "status": c.status,
                "why": c.why,
                "violations": len(c.violations),
                "accepted": len(c.accepted),
                "fingerprints": sorted({d.finding.fingerprint for d in c.violations}),
            }
            for c in assessment.controls
        ],
    }


def _per_scanner(data: ReportData) -> Counter[str]:
    """Raw results in the report, per scanner run: a secret found in a commit of the
    change (diff mode) was found by the history run, not by the head's detect-secrets."""
    history = any(run.name == HISTORY for run in data.result.runs)
    counts: Counter[str] = Counter()
    for f in data.result.findings:
        for s in f.sources:
            counts[HISTORY if history and f.commit else s.scanner] += 1
    return counts


# --------------------------------------------------------------------------- writing
#
# The report is the same content as ``json.dumps(build(data))``, laid out for reading and
# for speed: each top-level key on its own line, each element of a top-level list (a
# scanner, a notice, a suppression comment, a finding) on its own line in compact JSON.
# CPython's indenting encoder is pure Python (about 1 s for 10,000 findings), and
# building each finding's dict only to encode it costs more than the budget for the whole
# report, so ``_Findings`` writes findings straight to JSON text, encoding every distinct
# string once (json_encoding.py): messages, rules, decision steps, rationales and paths
# repeat across thousands of findings. The text is ASCII (other characters as \u escapes):
# half the memory, faster to join and to encode, and a lone surrogate (an undecodable file
# name) cannot make it unwritable. tests/test_report_writers.py holds each finding's line
# equal to ``json.dumps(_finding(...))``.


class _Findings(JsonText):
    """Compact JSON for each finding, as ``dumps(_finding(d, honoured))`` writes it."""

    def __init__(self, data: ReportData) -> None:
        super().__init__()
        self.data = data
        self.sources: dict[tuple[Any, ...], tuple[str, str, str]] = {}
        self.decisions: dict[tuple[Any, ...], str] = {}

    def _sources(self, f: Finding) -> tuple[str, str, str]:
        """(scanner..rule_id, severity..confidence, sources) of Finding.to_dict: what
        depends on the finding's sources only."""
        sources = f.sources
        lead = sources[0]
        key: tuple[Any, ...] = sources
        if len(sources) == 1:  # its fields hash and compare faster than the dataclass
            key = (lead.scanner, lead.rule_id, lead.severity, lead.confidence, lead.message)
        try:
            return self.sources[key]
        except KeyError:
            pass
        head = (
            f',"scanner":{self.string(f.scanner)},"scanners":{self.array(f.scanners)}'
            f',"rule_id":{self.string(f.rule_id)}'
        )
        grades = f',"severity":{grade(f.severity)},"confidence":{grade(f.confidence)}'
        listed = self.sources_array(sources, "rule_id")
        out = self.sources[key] = (head, grades, f',"sources":{listed}')
        return out

    def _decision(self, d: Decision) -> str:
        """From "status" to "policy_sources": shared by the findings decided alike."""
        cat = d.category_policy
        key = (d.status, d.severity, d.confidence, d.reported, d.annotate, d.steps, id(cat))
        try:
            return self.decisions[key]
        except KeyError:
            pass
        out = self.decisions[key] = (
            f',"status":{self.string(d.status.value)}'
            f',"effective_severity":{grade(d.severity)}'
            f',"effective_confidence":{grade(d.confidence) if d.confidence else "null"}'
            f',"reported":{flag(d.reported)},"annotate":{flag(d.annotate)}'
            f',"decision":{self.array(d.steps)},"rationale":{self.string(cat.rationale)}'
            f',"policy_sources":{self.array(cat.sources)}'
        )
        return out

    def write(self, decisions: Iterable[Decision], out: list[str], sep: str) -> None:
        """Append each decision's finding to ``out``, ``sep`` between two findings: the
        pieces are joined once, with the rest of the report."""
        string = self.string
        get = self.strings.get  # inlined string(): a hit costs no Python call
        array = self.array
        honoured = self.data.honoured
        first = '{"fingerprint":'
        for d in decisions:
            f = d.finding
            head, grades, sources = self._sources(f)
            secret = f.secret
            dep = f.dependency
            fingerprint = f.fingerprint  # unique: not worth remembering
            start, end = f.start_line, f.end_line
            out += (
                first,
                encode_str(fingerprint) if type(fingerprint) is str else dumps(fingerprint),
                ',"category":',
                get(f.category) or string(f.category),
                head,
                ',"title":',
                get(f.title) or string(f.title),
                ',"message":',
                get(f.message) or string(f.message),
                grades,
                ',"path":',
                get(f.path) or string(f.path),
                ',"start_line":',
                str(start) if type(start) is int else number(start),
                ',"end_line":',
                str(end) if type(end) is int else number(end),
                ',"cwe":',
                array(f.cwe),
                ',"ids":',
                array(f.ids),
                ',"help_url":',
                get(f.help_url) or string(f.help_url),
                ',"fix":',
                get(f.fix) or string(f.fix),
                ',"commit":',
                get(f.commit) or string(f.commit),
                ',"secret":',
                "null"
                if secret is None
                else f'{{"kind":{string(secret.kind)},"preview":{string(secret.preview)}'
                f',"hash":{string(secret.hash)}}}',
                ',"dependency":',
                "null" if dep is None else self._dependency(dep),
                sources,
                self._decision(d),
                ',"waiver":',
                "null" if d.waiver is None else dumps(_waiver(d)),
                ',"suppression":',
                "null"
                if d.suppression is None
                else dumps({**suppression_dict(d.suppression), "honoured": honoured(d)}),
                ',"baselined":',
                "false" if d.baseline is None else "true",
                ',"introduced":',
                flag(d.introduced),
                "}",
            )
            first = sep + '{"fingerprint":'

    def _dependency(self, dep: DependencyInfo) -> str:
        s = self.string
        return (
            f'{{"ecosystem":{s(dep.ecosystem)},"package":{s(dep.package)}'
            f',"version":{s(dep.version)},"fixed_versions":{self.array(dep.fixed_versions)}'
            f',"advisory":{s(dep.advisory)},"aliases":{self.array(dep.aliases)}'
            f',"requirement":{s(dep.requirement)},"direct":{flag(dep.direct)}'
            f',"dev":{flag(dep.dev)},"path":{self.array(dep.path)}'
            f',"fix_version":{s(dep.fix_version)},"license":{s(dep.license)}'
            f',"packages":{self.array(dep.packages)}}}'
        )


def render(data: ReportData) -> str:
    """Top-level keys one per line; the elements of top-level lists one per line."""
    parts = ["{"]
    for key, value in _header(data).items():
        parts.append(f"\n  {dumps(key)}: ")
        if isinstance(value, list) and value:
            parts += ("[\n    ", ",\n    ".join(map(dumps, value)), "\n  ],")
        else:
            parts += (dumps(value), ",")
    parts.append('\n  "findings": ')
    decisions = data.ordered()
    if decisions:
        parts.append("[\n    ")
        _Findings(data).write(decisions, parts, ",\n    ")
        parts.append("\n  ]")
    else:
        parts.append("[]")
    parts.append("\n}\n")
    return "".join(parts)
