"""SARIF 2.1.0 for GitHub code scanning (and any other SARIF consumer).

Layout
------
* One run per scanner that ran (status ``ok``), named after the scanner, with
  ``automationDetails.id = "policy-gate/<scanner>/"`` so that every run in the file has its
  own tool and category (GitHub rejects two runs with the same tool and category).
* One extra run for the gate itself (tool ``policy-gate``) that records the verdict, the
  policy, and every scanner that did *not* run as a ``toolExecutionNotification`` (failed:
  error, skipped: warning, disabled: note), with ``executionSuccessful: false`` when a
  scanner failed or was skipped. A failed scanner deliberately gets no run of its own: a
  new analysis for a tool and category closes every open alert it does not report, so an
  empty run would mark real alerts fixed just because the scanner crashed. Without a run,
  its earlier alerts stay open. The gate's notices (a change to its own policy, waivers
  or baseline; expired, expiring, over-long and stale waivers) are notifications of this
  run too — ``error`` when the notice fails the build, else ``warning`` — located at the
  file (and line) they concern: they are about the run, not about code, so they never
  become alerts. The gate's own findings (an inline suppression comment that names no
  rule, category ``suppression``) are this run's results.
* A finding that several scanners reported appears once, in the run of its lead scanner
  (``Finding.scanner``); the other reports are in ``properties.sources`` and
  ``relatedLocations``. A secret found in a commit of the change (diff mode) is in the
  ``secrets-history`` run that found it, not in detect-secrets' run of the head.
* Diff mode: the scanners that read files one by one (bandit, semgrep, detect-secrets)
  and the gate's own check read only the changed files, so their runs use the category
  ``policy-gate/<scanner>/diff/``. Under the full scan's category such a partial analysis
  would mark every alert in an unchanged file fixed. Dependency audits always read every
  manifest and keep their category.

Statuses
--------
violation -> ``error``; below threshold -> ``warning`` when the policy annotates it, else
``note``; accepted (over the fail threshold, not failing this run) -> ``warning`` /
``note`` the same way, never ``error``: waived and baselined findings carry an
``external``/``accepted`` suppression (justification: the waiver's reason, located at the
waiver; "in baseline"), findings silenced by an inline comment the policy honours an
``inSource``/``accepted`` one (located at the comment), and pre-existing findings (diff
mode) none. Excluded / disabled -> ``none`` plus an ``external``/``accepted`` suppression
whose justification is the policy's decision. A violation never carries a suppression,
not even one the policy rejected (that is in ``properties.suppressionComment``), so no
consumer can hide it. ``baselineState`` is ``new`` / ``unchanged`` in diff mode (whether
the change introduces the finding) and, with a baseline file, ``unchanged`` for baselined
findings and ``new`` for the others. Nothing is dropped except to respect GitHub's
upload limits (at most 20 runs, 25,000 results per run, 10 MB gzipped), and then the
most severe results are kept and the cut is recorded in the run (``properties.truncated``
and a warning notification). Output is deterministic; it is indented unless it holds more
than PRETTY_MAX_RESULTS results, when it is written compact.

Locations are relative URIs (percent-encoded) against ``%SRCROOT%``, the repository root
(``ReportData.path_prefix`` is prepended when a subdirectory was scanned). A finding without a
known line gets no ``region`` (SARIF: the whole file) rather than an invented line 1; the
upload-sarif action skips line hashing for such results and keeps our own
``partialFingerprints``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from policy_gate import __version__
from policy_gate.findings import SECRET, Confidence, Finding, Severity
from policy_gate.policy.evaluate import ACCEPTED, Decision, Inputs, Notice, Status
from policy_gate.reports.interface import ReportData, notice_repo_path, suppression_dict
from policy_gate.runner import HISTORY, ScannerRun
from policy_gate.scanners import registry

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
GATE_TOOL = "policy-gate"
GATE_URI = "https://github.com/mojaloop/policy-gate"
FINGERPRINT_KEY = "policyGate/v1"
SRCROOT = "%SRCROOT%"

# GitHub code scanning's hard limits on an uploaded SARIF file (anything above is rejected).
# Module constants so tests can lower them.
MAX_RUNS = 20
MAX_RESULTS_PER_RUN = 25_000
MAX_GZIP_BYTES = 10_000_000  # "10 MB" gzipped; decimal megabytes, to be safe
MAX_TAGS_PER_RULE = 10  # 20 accepted, only 10 shown
MAX_DESCRIPTION_CHARS = 1024  # GitHub's limit on short/full descriptions
PRETTY_MAX_RESULTS = 2_000  # larger files are written compact

# GitHub maps security-severity > 9.0 to critical, 7.0-8.9 high, 4.0-6.9 medium,
# 0.1-3.9 low; 0.0 means "no security severity".
SECURITY_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.INFO: "0.0",
}

PRECISION: dict[Confidence | None, str] = {
    Confidence.HIGH: "high",
    Confidence.MEDIUM: "medium",
    Confidence.LOW: "low",
    None: "medium",  # the scanner did not say how sure it is
}

INFORMATION_URI: dict[str, str] = {
    "bandit": "https://bandit.readthedocs.io/",
    "semgrep": "https://semgrep.dev/",
    "detect-secrets": "https://github.com/Yelp/detect-secrets",
    "pip-audit": "https://github.com/pypa/pip-audit",
    "safety": "https://github.com/pyupio/safety",
    HISTORY: "https://github.com/Yelp/detect-secrets",
}

_NOTIFY_LEVEL = {"failed": "error", "skipped": "warning", "disabled": "note"}
_SURROGATE = re.compile("[\ud800-\udfff]")


# --------------------------------------------------------------------------- helpers


def level(decision: Decision) -> str:
    """The SARIF result level for a policy decision: ``error`` only for what fails."""
    if decision.status is Status.VIOLATION:
        return "error"
    if decision.status is Status.BELOW_THRESHOLD or decision.status in ACCEPTED:
        return "warning" if decision.annotate else "note"
    return "none"  # excluded or disabled: accepted by the policy


def suppressions(
    decision: Decision, inputs: Inputs | None = None, prefix: str = ""
) -> list[dict[str, Any]] | None:
    """Findings the policy, a waiver, the baseline or an honoured inline comment accepted
    are kept, suppressed with the reason; violations and pre-existing findings never are."""
    status = decision.status
    if status in (Status.EXCLUDED, Status.DISABLED):
        return [
            {
                "kind": "external",
                "status": "accepted",
                "justification": "; ".join(decision.steps) or status.value,
            }
        ]
    if status is Status.WAIVED and decision.waiver is not None:
        w = decision.waiver
        mark: dict[str, Any] = {
            "kind": "external",
            "status": "accepted",
            "justification": w.reason,
            "properties": {
                "waiver": {
                    "id": w.id,
                    "file": w.file,
                    "line": w.line,
                    "owner": w.owner,
                    "expires": w.expires.isoformat(),
                    "kind": w.kind,
                    "description": w.describe(),
                }
            },
        }
        if w.file:
            mark["location"] = _file_location(_repo_path(prefix, w.file), w.line)
        return [mark]
    if status is Status.BASELINED:
        source = inputs.baseline.source if inputs and inputs.baseline else ""
        return [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"in baseline {source}" if source else "in baseline",
            }
        ]
    if status is Status.SUPPRESSED and decision.suppression is not None:
        c = decision.suppression
        return [
            {
                "kind": "inSource",
                "status": "accepted",
                "justification": c.text,
                "location": _file_location(_repo_path(prefix, c.path), c.line),
            }
        ]
    return None


def baseline_state(decision: Decision, inputs: Inputs | None) -> str | None:
    """``new``/``unchanged`` against the diff's base, else against the baseline file."""
    if decision.introduced is not None:
        return "new" if decision.introduced else "unchanged"
    if inputs is not None and inputs.baseline is not None:
        return "unchanged" if decision.baseline is not None else "new"
    return None


def artifact_uri(path: str) -> str:
    """A relative URI for a POSIX path: spaces, '%', '#', ':', newlines and non-ASCII
    are percent-encoded (undecodable file-name bytes are kept as their original bytes)."""
    return quote(path.encode("utf-8", "surrogateescape"), safe="/")


def utc(timestamp: float) -> str:
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _clip(text: str, limit: int = MAX_DESCRIPTION_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(\s|$)", text.strip(), re.S)
    return (match.group(1) if match else text).strip()


def _humanise(rule_id: str) -> str:
    words = re.sub(r"[-_]+", " ", rule_id).strip()
    return words[:1].upper() + words[1:] if words else rule_id


def _common(values: Iterable[str]) -> str:
    """The value every finding agrees on, or '' when they differ (or none has one)."""
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else ""


def serialize(doc: dict[str, Any]) -> str:
    """Indented for reading when small; compact (and several times faster to write) once
    the file is big enough that nobody reads it without a viewer."""
    count = sum(len(run.get("results", [])) for run in doc["runs"])
    if count <= PRETTY_MAX_RESULTS:
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    else:
        text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n"
    # A lone surrogate (an undecodable file name in a message) cannot be written as UTF-8.
    return _SURROGATE.sub("\ufffd", text)


def gzipped_size(text: str) -> int:
    data = text.encode("utf-8")
    if len(data) <= MAX_GZIP_BYTES:  # gzip never grows JSON text past its own size here
        return len(data)
    return len(gzip.compress(data, compresslevel=6))


# --------------------------------------------------------------------------- rules


def _rule(rule_id: str, decisions: Sequence[Decision]) -> dict[str, Any]:
    """A reportingDescriptor built from the findings that carry this rule id."""
    findings = [d.finding for d in decisions]
    lead = decisions[0]
    cat = lead.category_policy
    title = _common(f.title for f in findings)
    message = _common(f.message for f in findings if f.category != SECRET)
    if title and " " in title:
        short = title  # a human title ("AWS Access Key in source")
    elif message:
        short = _first_sentence(message)  # titles like "blacklist" or the rule id
    else:
        short = _humanise(title or rule_id)
    full = message or short
    fix = _common(f.fix for f in findings if f.fix)
    fixes_vary = len({f.fix for f in findings if f.fix}) > 1
    help_uri = _common(f.help_url for f in findings if f.help_url)
    categories = sorted({f.category for f in findings})
    cwes = sorted({c for f in findings for c in f.cwe}, key=lambda c: (len(c), c))
    severity = max(d.severity for d in decisions)
    confidences = [d.confidence for d in decisions if d.confidence is not None]
    confidence = max(confidences) if confidences else None

    text = [full]
    markdown = [full]
    if cat.rationale:
        text += ["", f"Why it matters ({cat.name} policy): {cat.rationale}"]
        markdown += ["", f"**Why it matters ({cat.name} policy):** {cat.rationale}"]
    if fix:
        text += ["", f"How to fix: {fix}"]
        markdown += ["", f"**How to fix:** {fix}"]
    elif fixes_vary:
        text += ["", "How to fix: see each result (the fix depends on the finding)."]
        markdown += ["", "**How to fix:** see each result (the fix depends on the finding)."]
    if help_uri:
        text += ["", f"More information: {help_uri}"]
        markdown += ["", f"**More information:** <{help_uri}>"]
    if cat.sources:
        text += ["", "Standards: " + ", ".join(cat.sources)]
        markdown += ["", "**Standards:** " + ", ".join(cat.sources)]
    if cwes:
        text += ["", "Weaknesses: " + ", ".join(cwes)]
        markdown += ["", "**Weaknesses:** " + ", ".join(cwes)]

    tags = list(dict.fromkeys(["security", *categories, *cwes]))[:MAX_TAGS_PER_RULE]
    rule: dict[str, Any] = {
        "id": rule_id,
        "shortDescription": {"text": _clip(short)},
        "fullDescription": {"text": _clip(full)},
        "help": {"text": "\n".join(text), "markdown": "\n".join(markdown)},
        "properties": {
            "security-severity": SECURITY_SEVERITY[severity],
            "precision": PRECISION[confidence],
            "tags": tags,
            "category": lead.finding.category,
            "policySources": list(cat.sources),
        },
    }
    if help_uri:
        rule["helpUri"] = help_uri
    return rule


# --------------------------------------------------------------------------- results


def _repo_path(prefix: str, path: str) -> str:
    """A finding's path (relative to the scanned root) relative to the repository root,
    which is what GitHub resolves URIs against."""
    prefix = prefix.strip("/")
    return f"{prefix}/{path}" if prefix else path


def _file_location(repo_path: str, line: int | None) -> dict[str, Any]:
    """A location at a file (and line) of the repository: a waiver, a comment, a notice."""
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": artifact_uri(repo_path), "uriBaseId": SRCROOT}
    }
    if line is not None and line >= 1:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


def _location(
    finding: Finding, prefix: str, message: str | None = None, ident: int | None = None
) -> dict[str, Any]:
    uri = artifact_uri(_repo_path(prefix, finding.path))
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": SRCROOT}}
    if finding.start_line is not None and finding.start_line >= 1:
        region: dict[str, Any] = {"startLine": finding.start_line}
        if finding.end_line is not None and finding.end_line >= finding.start_line:
            region["endLine"] = finding.end_line
        physical["region"] = region
    location: dict[str, Any] = {"physicalLocation": physical}
    if ident is not None:
        location["id"] = ident
    if message:
        location["message"] = {"text": message}
    return location


def _result(decision: Decision, rule_index: int, data: ReportData) -> dict[str, Any]:
    f = decision.finding
    prefix, inputs = data.path_prefix, data.inputs
    properties: dict[str, Any] = {
        "category": f.category,
        "severity": decision.severity.label,
        "confidence": decision.confidence.label if decision.confidence else None,
        "status": decision.status.value,
        "reported": decision.reported,
        "annotate": decision.annotate,
        "ids": list(f.ids),
        "scanners": list(f.scanners),
        "decision": list(decision.steps),
        "sources": [
            {
                "scanner": s.scanner,
                "ruleId": s.rule_id,
                "severity": s.severity.label if s.severity is not None else None,
                "confidence": s.confidence.label if s.confidence is not None else None,
                "message": s.message,
            }
            for s in f.sources
        ],
    }
    if f.title:
        properties["title"] = f.title
    if f.fix:
        properties["fix"] = f.fix
    if f.help_url:
        properties["helpUri"] = f.help_url
    if f.secret is not None:
        properties["secret"] = {"kind": f.secret.kind, "preview": f.secret.preview}
    if f.commit:
        properties["commit"] = f.commit
    if decision.waiver is not None:
        properties["waiver"] = decision.waiver.describe()
    if decision.suppression is not None:
        properties["suppressionComment"] = {
            **suppression_dict(decision.suppression),
            "honoured": data.honoured(decision),
        }
    if decision.baseline is not None:
        properties["baselined"] = True
    if decision.introduced is not None:
        properties["introduced"] = decision.introduced
    if f.dependency is not None:
        dep = f.dependency
        properties["dependency"] = {
            "ecosystem": dep.ecosystem,
            "package": dep.package,
            "version": dep.version,
            "fixedVersions": list(dep.fixed_versions),
            "advisory": dep.advisory,
            "aliases": list(dep.aliases),
        }
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": level(decision),
        "message": {"text": f.message or f.title or f.rule_id},
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": properties,
    }
    if f.path:
        result["locations"] = [_location(f, prefix)]
    others = f.sources[1:]
    if f.path and others:
        result["relatedLocations"] = [
            _location(
                f, prefix, f"Also reported by {s.scanner} ({s.rule_id}): {s.message}", i + 1
            )
            for i, s in enumerate(others)
        ]
    state = baseline_state(decision, inputs)
    if state is not None:
        result["baselineState"] = state
    marks = suppressions(decision, inputs, prefix)
    if marks:
        result["suppressions"] = marks
    return result


# --------------------------------------------------------------------------- runs


@dataclass
class _Plan:
    """What goes into one scanner's run, and how much of it is kept."""

    run: ScannerRun
    decisions: list[Decision]  # most important first
    keep: int
    reasons: list[str] = field(default_factory=list)

    @property
    def dropped(self) -> int:
        return len(self.decisions) - self.keep


def _invocation_times(data: ReportData) -> dict[str, str]:
    started = data.result.started
    return {"startTimeUtc": utc(started), "endTimeUtc": utc(started + data.result.seconds)}


def _policy_properties(data: ReportData) -> dict[str, Any]:
    info = data.result.advisory_info
    return {
        "name": data.policy.name,
        "sha256": data.policy.sha256,
        "files": list(data.policy.files),
        # the advisory data's age, stated wherever results are (M4a)
        "advisories": info.to_dict() if info is not None else None,
    }


def _category(name: str, data: ReportData) -> str:
    """The run's ``automationDetails.id``; a partial analysis (diff mode, a scanner that
    read only the changed files) gets its own, so it cannot close the full scan's alerts."""
    if data.changes is not None and _reads_changed_files_only(name):
        return f"{GATE_TOOL}/{name}/diff/"
    return f"{GATE_TOOL}/{name}/"


def _reads_changed_files_only(name: str) -> bool:
    if name == GATE_TOOL:
        return True  # inline suppression comments are looked for in the files scanned
    scanner = registry().get(name)
    return scanner is not None and scanner.file_local


def _contents(
    plan: _Plan, data: ReportData
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """A plan's rules, results, truncation notifications and truncation properties."""
    kept = plan.decisions[: plan.keep]
    by_rule: dict[str, list[Decision]] = {}
    for d in kept:
        by_rule.setdefault(d.finding.rule_id, []).append(d)
    rule_ids = sorted(by_rule)
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    rules = [_rule(rule_id, by_rule[rule_id]) for rule_id in rule_ids]
    results = [_result(d, index[d.finding.rule_id], data) for d in kept]
    notifications: list[dict[str, Any]] = []
    properties: dict[str, Any] = {}
    if plan.dropped:
        dropped_violations = sum(1 for d in plan.decisions[plan.keep :] if d.is_violation)
        reason = "; ".join(plan.reasons)
        properties["truncated"] = {
            "dropped": plan.dropped,
            "kept": plan.keep,
            "total": len(plan.decisions),
            "droppedViolations": dropped_violations,
            "reason": reason,
        }
        notifications.append(
            {
                "level": "warning",
                "message": {
                    "text": (
                        f"{plan.dropped} of {len(plan.decisions)} results were left out of this "
                        f"SARIF run ({dropped_violations} of them violations) to stay within "
                        f"GitHub's upload limits: {reason}. The most severe {plan.keep} are "
                        "kept; the JSON report lists every finding."
                    )
                },
                "properties": {"dropped": plan.dropped, "kept": plan.keep},
            }
        )
    return rules, results, notifications, properties


def _scanner_run(plan: _Plan, data: ReportData) -> dict[str, Any]:
    run = plan.run
    rules, results, cut, truncated = _contents(plan, data)
    notifications: list[dict[str, Any]] = [
        {"level": "note", "message": {"text": note}}
        for note in (run.output.notes if run.output else [])
    ]
    notifications += cut
    properties: dict[str, Any] = {
        "policy": _policy_properties(data),
        "scanner": {
            "status": run.status,
            "seconds": round(run.seconds, 3),
            "filesScanned": run.output.files_scanned if run.output else 0,
            "rawResults": run.output.raw_results if run.output else 0,
        },
        **truncated,
    }
    driver: dict[str, Any] = {
        "name": run.name,
        "informationUri": INFORMATION_URI.get(run.name, GATE_URI),
        "rules": rules,
    }
    if run.version:
        driver["version"] = run.version
    invocation: dict[str, Any] = {"executionSuccessful": True, **_invocation_times(data)}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "tool": {
            "driver": driver,
            "extensions": [
                {"name": GATE_TOOL, "version": __version__, "informationUri": GATE_URI}
            ],
        },
        "automationDetails": {"id": _category(run.name, data)},
        "originalUriBaseIds": _base_ids(data),
        "invocations": [invocation],
        "results": results,
        "properties": properties,
    }


def _base_ids(data: ReportData) -> dict[str, Any]:
    """%SRCROOT% is the repository root: the scanned root, or its ancestor when only a
    part of the repository was scanned (``path_prefix``). Its absolute URI is given when
    it is known (GitHub ignores it; local SARIF viewers use it)."""
    base: dict[str, Any] = {"description": {"text": "The root of the scanned repository."}}
    root = Path(data.result.root)
    prefix = PurePosixPath(data.path_prefix.strip("/"))
    parts = prefix.parts if str(prefix) != "." else ()
    if root.is_absolute() and (not parts or root.parts[-len(parts) :] == parts):
        for _ in parts:
            root = root.parent
        uri = root.as_uri()
        base["uri"] = uri if uri.endswith("/") else uri + "/"
    return {SRCROOT: base}


def _notice_notification(notice: Notice, data: ReportData) -> dict[str, Any]:
    """A gate notice as a notification: ``error`` when it fails the build."""
    note: dict[str, Any] = {
        "level": "error" if notice.fails else "warning",
        "message": {"text": notice.message},
        "descriptor": {"id": f"{GATE_TOOL}/{notice.kind}"},
        "properties": {"notice": notice.kind, "fails": notice.fails},
    }
    path = notice_repo_path(notice, data.path_prefix)
    if path:
        note["locations"] = [_file_location(path, notice.line)]
    return note


def _gate_properties(data: ReportData) -> dict[str, Any]:
    """What the decisions rested on besides the policy: waivers, baseline, diff scope,
    and the inline suppression comments found."""
    inputs = data.inputs
    changes = data.changes
    found, honoured = data.suppression_counts()
    return {
        "reviewRequired": data.evaluation.policy_change is not None,
        "notices": [
            {"kind": n.kind, "fails": n.fails, "file": n.file, "line": n.line, "message": n.message}
            for n in data.notices()
        ],
        "inlineSuppressions": {"found": found, "honoured": honoured},
        "waivers": None
        if inputs is None or inputs.waivers is None
        else {
            "file": inputs.waivers.file,
            "sha256": inputs.waivers.sha256,
            "count": len(inputs.waivers.waivers),
            "asOf": inputs.today.isoformat(),
        },
        "baseline": None
        if inputs is None or inputs.baseline is None
        else {"source": inputs.baseline.source, "entries": len(inputs.baseline.entries)},
        "diff": None
        if changes is None
        else {
            "baseRef": changes.base_ref,
            "base": changes.base,
            "head": changes.head,
            "changedFiles": len(changes.files),
        },
    }


def _gate_run(
    data: ReportData, plans: Sequence[_Plan], omitted: Sequence[str], own: _Plan
) -> dict[str, Any]:
    evaluation = data.evaluation
    rules, results, cut, truncated = _contents(own, data)
    notifications: list[dict[str, Any]] = [_notice_notification(n, data) for n in data.notices()]
    for run in sorted(data.result.runs, key=lambda r: r.name):
        if run.status == "ok":
            continue
        what = {
            "failed": "failed, so its checks were not applied (the gate's verdict is error)",
            "skipped": "failed and is optional, so its checks were not applied",
            "disabled": "did not run",
        }.get(run.status, f"ended as {run.status}")
        notifications.append(
            {
                "level": _NOTIFY_LEVEL.get(run.status, "warning"),
                "message": {"text": f"{run.name} {what}: {run.reason or 'no reason given'}"},
                "properties": {"scanner": run.name, "status": run.status},
            }
        )
    for name in omitted:
        notifications.append(
            {
                "level": "warning",
                "message": {
                    "text": f"the {name} run was left out: a SARIF file may hold at most "
                    f"{MAX_RUNS} runs; see the JSON report for its findings"
                },
                "properties": {"scanner": name, "status": "omitted"},
            }
        )
    for plan in plans:
        if plan.dropped:
            notifications.append(
                {
                    "level": "warning",
                    "message": {
                        "text": f"{plan.dropped} {plan.run.name} results were left out of this "
                        "SARIF file to stay within GitHub's upload limits"
                    },
                    "properties": {"scanner": plan.run.name, "dropped": plan.dropped},
                }
            )
    notifications += cut
    successful = not any(r.status in ("failed", "skipped") for r in data.result.runs)
    invocation: dict[str, Any] = {"executionSuccessful": successful, **_invocation_times(data)}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "tool": {
            "driver": {
                "name": GATE_TOOL,
                "version": __version__,
                "informationUri": GATE_URI,
                "rules": rules,
            }
        },
        "automationDetails": {"id": _category(GATE_TOOL, data)},
        "originalUriBaseIds": _base_ids(data),
        "invocations": [invocation],
        "results": results,
        "properties": {
            "policy": _policy_properties(data),
            "verdict": evaluation.verdict.value,
            "headline": evaluation.verdict.headline,
            "exitCode": evaluation.verdict.exit_code,
            "scanners": [
                {
                    "name": r.name,
                    "status": r.status,
                    "reason": r.reason,
                    "version": r.version,
                    "seconds": round(r.seconds, 3),
                }
                for r in sorted(data.result.runs, key=lambda r: r.name)
            ],
            "findings": len(evaluation.decisions),
            "byStatus": {s.value: evaluation.count(s) for s in Status},
            "budgetsExceeded": [
                {
                    "category": b.category,
                    "severity": b.severity.label,
                    "allowed": b.allowed,
                    "found": b.found,
                }
                for b in evaluation.budgets
            ],
            **_gate_properties(data),
            **truncated,
        },
    }


# --------------------------------------------------------------------------- document


def _plans(data: ReportData) -> tuple[list[_Plan], list[str], _Plan]:
    """The scanners' plans (at most MAX_RUNS - 1), the runs left out, and the gate's own."""
    ok_runs = sorted((r for r in data.result.runs if r.status == "ok"), key=lambda r: r.name)
    by_scanner: dict[str, list[Decision]] = {r.name: [] for r in ok_runs}
    own: list[Decision] = []
    for d in data.ordered():
        # A finding exists only because an ok scanner (or the gate itself) reported it; its
        # lead scanner decides its run — a secret found in a commit of the change belongs
        # to the history run. Should the lead somehow not be an ok run, keep it with the
        # first one that is rather than losing it.
        home = d.finding.scanner
        if d.finding.commit and HISTORY in by_scanner:
            home = HISTORY
        if home == GATE_TOOL:
            own.append(d)
            continue
        if home not in by_scanner:
            home = next((s for s in d.finding.scanners if s in by_scanner), home)
        by_scanner.setdefault(home, []).append(d)
    runs_by_name = {r.name: r for r in data.result.runs if r.name != GATE_TOOL}
    plans: list[_Plan] = []
    for name in sorted(by_scanner):
        if name == GATE_TOOL:
            continue  # a scanner run cannot take the gate's own tool and category
        run = runs_by_name.get(name) or ScannerRun(name, "ok")
        plans.append(_new_plan(run, by_scanner[name]))
    room = max(MAX_RUNS - 1, 0)  # one run is the gate's own
    omitted = [p.run.name for p in plans[room:]]
    return plans[:room], omitted, _new_plan(ScannerRun(GATE_TOOL, "ok"), own)


def _new_plan(run: ScannerRun, decisions: list[Decision]) -> _Plan:
    plan = _Plan(run, decisions, min(len(decisions), MAX_RESULTS_PER_RUN))
    if plan.dropped:
        plan.reasons.append(f"GitHub accepts at most {MAX_RESULTS_PER_RUN} results per run")
    return plan


def _document(
    data: ReportData, plans: Sequence[_Plan], omitted: Sequence[str], own: _Plan
) -> dict[str, Any]:
    runs = [_scanner_run(p, data) for p in plans]
    runs.append(_gate_run(data, plans, omitted, own))
    runs.sort(key=lambda r: r["tool"]["driver"]["name"])
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": runs}


def build(data: ReportData) -> dict[str, Any]:
    """The SARIF document, cut (most severe results kept) to fit GitHub's limits."""
    doc, _text = _build(data)
    return doc


def _build(data: ReportData) -> tuple[dict[str, Any], str]:
    plans, omitted, own = _plans(data)
    doc = _document(data, plans, omitted, own)
    text = serialize(doc)
    while gzipped_size(text) > MAX_GZIP_BYTES:
        largest = max([*plans, own], key=lambda p: (p.keep, p.run.name), default=None)
        if largest is None or largest.keep == 0:
            break  # nothing left to cut: the file is as small as it gets
        largest.keep //= 2
        reason = f"the gzipped SARIF file must be at most {MAX_GZIP_BYTES} bytes"
        if reason not in largest.reasons:
            largest.reasons.append(reason)
        doc = _document(data, plans, omitted, own)
        text = serialize(doc)
    return doc, text


def render(data: ReportData) -> str:
    return _build(data)[1]


__all__ = [
    "MAX_GZIP_BYTES",
    "MAX_RESULTS_PER_RUN",
    "MAX_RUNS",
    "SECURITY_SEVERITY",
    "artifact_uri",
    "baseline_state",
    "build",
    "level",
    "render",
    "suppressions",
]
