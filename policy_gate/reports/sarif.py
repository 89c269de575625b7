"""SARIF 2.1.0 for GitHub code scanning (and any other SARIF consumer): the document and
its runs, cut to GitHub's upload limits. What a result says (its level, suppressions,
locations) is in sarif_results.py, what a rule says in sarif_rules.py.

Layout
------
* One run per scanner that ran (status ``ok``), named after the scanner and its version,
  with ``automationDetails.id = "<category>/<scanner>/"`` so that every run in the file has
  its own tool and category (GitHub rejects two runs with the same tool and category).
  ``<category>`` is ``--sarif-category``, else ``policy-gate`` plus the scanned directory's
  path in the repository: two directories of one repository never share a category, and
  upload-sarif's own ``category`` input (applied only to runs without automationDetails)
  is not needed.
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
  ``<category>/<scanner>/diff/``. Under the full scan's category such a partial analysis
  would mark every alert in an unchanged file fixed. Dependency audits always read every
  manifest and keep their category.

Limits and output
-----------------
Nothing is dropped except to respect GitHub's upload limits (at most 20 runs, 25,000
results per run, 10 MB gzipped), and then the most severe results are kept and the cut is
recorded in the run (``properties.truncated`` and a warning notification). Output is
deterministic; it is indented unless it holds more than PRETTY_MAX_RESULTS results, when it
is written compact and ASCII-only (other characters as ``\\u`` escapes), results written
as text rather than built as dicts.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from policy_gate import __version__
from policy_gate.catalogue import BY_NAME
from policy_gate.policy.evaluate import Decision, Notice, Status
from policy_gate.reports.interface import ReportData, notice_repo_path
from policy_gate.reports.sarif_results import (
    FINGERPRINT_KEY,
    SRCROOT,
    ResultWriter,
    Texts,
    ascii_json,
    file_location,
)
from policy_gate.reports.sarif_rules import descriptor
from policy_gate.results import HISTORY, ScannerRun

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
GATE_TOOL = "policy-gate"
GATE_URI = "https://github.com/mojaloop/policy-gate"

# GitHub code scanning's hard limits on an uploaded SARIF file (anything above is rejected).
# Module constants so tests can lower them.
MAX_RUNS = 20
MAX_RESULTS_PER_RUN = 25_000
MAX_GZIP_BYTES = 10_000_000  # "10 MB" gzipped; decimal megabytes, to be safe
PRETTY_MAX_RESULTS = 2_000  # larger files are written compact

INFORMATION_URI: dict[str, str] = {
    "bandit": "https://bandit.readthedocs.io/",
    "semgrep": "https://semgrep.dev/",
    "detect-secrets": "https://github.com/Yelp/detect-secrets",
    "kingfisher": "https://github.com/mongodb/kingfisher",
    "pip-audit": "https://github.com/pypa/pip-audit",
    "safety": "https://github.com/pyupio/safety",
    HISTORY: "https://github.com/Yelp/detect-secrets",
}

def utc(timestamp: float) -> str:
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# --------------------------------------------------------------------------- writing


def serialize(doc: dict[str, Any]) -> str:
    """Indented for reading when small; compact (and several times faster to write) once
    the file is big enough that nobody reads it without a viewer. A run's ``results`` may
    be ``Texts``, written as they are."""
    parts: list[str] = []
    count = 0
    for key, value in doc.items():
        parts.append(("," if parts else "{") + ascii_json(key) + ":")
        if key != "runs":
            parts.append(ascii_json(value))
            continue
        parts.append("[")
        for i, run in enumerate(value):
            sep = ",{" if i else "{"
            for name, item in run.items():
                parts.append(sep + ascii_json(name) + ":")
                sep = ","
                if isinstance(item, Texts):
                    parts.append("[")
                    parts += item.pieces
                    parts.append("]")
                    count += item.count
                else:
                    parts.append(ascii_json(item))
                    if name == "results":
                        count += len(item)
            parts.append("}" if sep == "," else "{}")
        parts.append("]")
    parts.append("}\n")
    text = "".join(parts)
    if count <= PRETTY_MAX_RESULTS:
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
    return text


_GZIP_OVERHEAD = 64  # gzip header and trailer, and the last block's end, with room to spare
_STORED_BLOCK = 65_535  # deflate stores incompressible data in blocks of at most this many
_PROBE_BYTES = 1 << 20  # compressed at a time when checking that the file fits


def _too_big(text: str) -> bool:
    """Whether ``text`` gzipped (level 6, as the upload compresses it) is over
    MAX_GZIP_BYTES, without compressing all of a big file at level 6 (0.1 s for 15 MB):
    its leading megabytes are compressed at level 1 until they, plus the rest as stored
    blocks, fit the limit. Level 6 compresses JSON text better than level 1 and never
    worse than storing it, so the file then fits. Only when that bound does not settle it
    is the whole file compressed at level 6."""
    limit = MAX_GZIP_BYTES
    is_ascii = text.isascii()  # then a character is a byte (and encoding it a copy)
    if is_ascii and len(text) <= limit:
        return False
    data = None if is_ascii else text.encode("utf-8")
    size = len(text) if data is None else len(data)
    if size <= limit:
        return False
    packer = zlib.compressobj(1, zlib.DEFLATED, -15)  # raw deflate: gzip's, minus its header
    packed = 0
    for start in range(0, size, _PROBE_BYTES):
        end = start + _PROBE_BYTES
        chunk = text[start:end].encode("ascii") if data is None else data[start:end]
        packed += len(packer.compress(chunk)) + len(packer.flush(zlib.Z_SYNC_FLUSH))
        rest = max(size - end, 0)
        stored = rest + 5 * (rest // _STORED_BLOCK + 1)
        if packed + stored + _GZIP_OVERHEAD <= limit:
            return False
    whole = text.encode("ascii") if data is None else data
    return len(gzip.compress(whole, compresslevel=6)) > limit


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


@dataclass
class _Layout:
    """The runs of the file: the scanners' plans (at most MAX_RUNS - 1), the scanners
    left out for want of room, and the gate's own plan."""

    scanners: list[_Plan]
    omitted: list[str]
    own: _Plan


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


def category_base(data: ReportData) -> str:
    """What every run's ``automationDetails.id`` starts with: ``--sarif-category``, else
    ``policy-gate`` plus the scanned directory's path in the repository, so that scans of
    two directories of one repository never share a category (a scan of the top keeps the
    ids of earlier versions, and so its alerts)."""
    if data.sarif_category:
        return data.sarif_category
    prefix = data.path_prefix.strip("/")
    return f"{GATE_TOOL}/{prefix}" if prefix else GATE_TOOL


def _category(name: str, data: ReportData) -> str:
    """The run's ``automationDetails.id``, ``<base>/<scanner>/``: GitHub takes all before
    the last slash as the category, and upload-sarif's own ``category`` input applies only
    to a run without one. A partial analysis (diff mode, a scanner that read only the
    changed files) gets its own, so it cannot close the full scan's alerts."""
    base = category_base(data)
    if data.changes is not None and _reads_changed_files_only(name):
        return f"{base}/{name}/diff/"
    return f"{base}/{name}/"


def _reads_changed_files_only(name: str) -> bool:
    if name == GATE_TOOL:
        return True  # inline suppression comments are looked for in the files scanned
    scanner = BY_NAME.get(name)
    return scanner is not None and scanner.file_local


def _contents(
    plan: _Plan, data: ReportData, writer: ResultWriter
) -> tuple[list[dict[str, Any]], Texts, list[dict[str, Any]], dict[str, Any]]:
    """A plan's rules, results, truncation notifications and truncation properties."""
    kept = plan.decisions[: plan.keep]
    by_rule: dict[str, list[Decision]] = {}
    for d in kept:
        by_rule.setdefault(d.finding.rule_id, []).append(d)
    rule_ids = sorted(by_rule)
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    rules = [descriptor(rule_id, by_rule[rule_id]) for rule_id in rule_ids]
    results = writer.write(kept, index)
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


def _run(
    data: ReportData,
    name: str,
    tool: dict[str, Any],
    successful: bool,
    notifications: list[dict[str, Any]],
    results: Texts,
    properties: dict[str, Any],
) -> dict[str, Any]:
    """A run, the scanners' and the gate's alike: its category, the root its URIs are
    relative to, and how its invocation went, around its results."""
    invocation: dict[str, Any] = {"executionSuccessful": successful, **_invocation_times(data)}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "tool": tool,
        "automationDetails": {"id": _category(name, data)},
        "originalUriBaseIds": _base_ids(data),
        "invocations": [invocation],
        "results": results,
        "properties": properties,
    }


def _scanner_run(plan: _Plan, data: ReportData, writer: ResultWriter) -> dict[str, Any]:
    """A scanner's run: its findings, its own notes, and what was cut to fit the limits."""
    run = plan.run
    rules, results, cut, truncated = _contents(plan, data, writer)
    notifications: list[dict[str, Any]] = [
        {"level": "note", "message": {"text": note}}
        for note in (run.output.notes if run.output else [])
    ]
    notifications += cut
    notifications += _unhashed(plan, data, writer)
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
    # Every run names its tool's version (Multitool SARIF2005): a scanner that runs no
    # tool, and the search of the change's commits (whose engine may have had nothing to
    # read), are the gate's own code, so theirs is the gate's; the engine's is a property.
    own = run.name == HISTORY or not run.version
    driver: dict[str, Any] = {
        "name": run.name,
        "version": __version__ if own else run.version,
        "informationUri": INFORMATION_URI.get(run.name, GATE_URI),
        "rules": rules,
    }
    if run.name == HISTORY and run.version:
        properties["scanner"]["engineVersion"] = run.version
    tool = {
        "driver": driver,
        "extensions": [{"name": GATE_TOOL, "version": __version__, "informationUri": GATE_URI}],
    }
    return _run(data, run.name, tool, True, notifications, results, properties)


def _unhashed(plan: _Plan, data: ReportData, writer: ResultWriter) -> list[dict[str, Any]]:
    """Why results of this run have no ``primaryLocationLineHash``: their file could not
    be read (gone, a link, too big). upload-sarif could not compute one either; code
    scanning matches them by the gate's own fingerprint."""
    missing = writer.unhashed(plan.decisions[: plan.keep])
    if not missing:
        return []
    shown = sorted(missing.items())[:5]
    listed = "; ".join(f"{data.repo_path(path)}: {why}" for path, why in shown)
    more = f"; and {len(missing) - len(shown)} more" if len(missing) > len(shown) else ""
    return [
        {
            "level": "note",
            "message": {
                "text": f"no primaryLocationLineHash for the results in {len(missing)} "
                f"file(s) that could not be read ({listed}{more}): they are matched by "
                f"{FINGERPRINT_KEY} alone"
            },
            "properties": {"lineHashOmitted": len(missing)},
        }
    ]


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


# --------------------------------------------------------------------------- the gate's run


def _gate_run(data: ReportData, layout: _Layout, writer: ResultWriter) -> dict[str, Any]:
    """The gate's own run: its findings (inline comments that name no rule), as
    notifications every notice and whatever did not run or was left out, and in its
    properties the verdict and what the decisions rested on."""
    rules, results, cut, truncated = _contents(layout.own, data, writer)
    notifications = [
        *(_notice_notification(n, data) for n in data.notices()),
        *_not_run_notifications(data),
        *_left_out_notifications(layout),
        *cut,
        *_unhashed(layout.own, data, writer),
    ]
    successful = not any(r.status in ("failed", "skipped") for r in data.result.runs)
    tool = {
        "driver": {
            "name": GATE_TOOL,
            "version": __version__,
            "informationUri": GATE_URI,
            "rules": rules,
        }
    }
    properties = {**_outcome_properties(data), **_gate_properties(data), **truncated}
    return _run(data, GATE_TOOL, tool, successful, notifications, results, properties)


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
        note["locations"] = [file_location(path, notice.line)]
    return note


_NOTIFY_LEVEL = {"failed": "error", "skipped": "warning", "disabled": "note"}
_NOT_RUN = {
    "failed": "failed, so its checks were not applied (the gate's verdict is error)",
    "skipped": "failed and is optional, so its checks were not applied",
    "disabled": "did not run",
}


def _not_run_notifications(data: ReportData) -> list[dict[str, Any]]:
    """Every scanner that did not run, and why: such a scanner has no run of its own (its
    earlier alerts stay open), so this is where its failure is seen."""
    notifications: list[dict[str, Any]] = []
    for run in sorted(data.result.runs, key=lambda r: r.name):
        if run.status == "ok":
            continue
        what = _NOT_RUN.get(run.status, f"ended as {run.status}")
        notifications.append(
            {
                "level": _NOTIFY_LEVEL.get(run.status, "warning"),
                "message": {"text": f"{run.name} {what}: {run.reason or 'no reason given'}"},
                "properties": {"scanner": run.name, "status": run.status},
            }
        )
    return notifications


def _left_out_notifications(layout: _Layout) -> list[dict[str, Any]]:
    """What GitHub's limits left out of the file: whole runs past MAX_RUNS, then the
    results cut from each scanner's run."""
    notifications: list[dict[str, Any]] = [
        {
            "level": "warning",
            "message": {
                "text": f"the {name} run was left out: a SARIF file may hold at most "
                f"{MAX_RUNS} runs; see the JSON report for its findings"
            },
            "properties": {"scanner": name, "status": "omitted"},
        }
        for name in layout.omitted
    ]
    for plan in layout.scanners:
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
    return notifications


def _outcome_properties(data: ReportData) -> dict[str, Any]:
    """The policy, the verdict, how each scanner ended, the findings by status and the
    budgets exceeded: the run's outcome, for a consumer that reads no other report."""
    evaluation = data.evaluation
    by_status = Counter(d.status for d in evaluation.decisions)  # evaluation.count(), at once
    return {
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
        "byStatus": {s.value: by_status.get(s, 0) for s in Status},
        "budgetsExceeded": [
            {
                "category": b.category,
                "severity": b.severity.label,
                "allowed": b.allowed,
                "found": b.found,
            }
            for b in evaluation.budgets
        ],
    }


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


# --------------------------------------------------------------------------- document


def _layout(data: ReportData) -> _Layout:
    """Each finding in the run of the scanner that leads it, and the runs that fit."""
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
    return _Layout(plans[:room], omitted, _new_plan(ScannerRun(GATE_TOOL, "ok"), own))


def _new_plan(run: ScannerRun, decisions: list[Decision]) -> _Plan:
    plan = _Plan(run, decisions, min(len(decisions), MAX_RESULTS_PER_RUN))
    if plan.dropped:
        plan.reasons.append(f"GitHub accepts at most {MAX_RESULTS_PER_RUN} results per run")
    return plan


def _document(data: ReportData, layout: _Layout, writer: ResultWriter) -> dict[str, Any]:
    """The SARIF document; each run's ``results`` are ``Texts`` (see ``serialize``)."""
    runs = [_scanner_run(p, data, writer) for p in layout.scanners]
    runs.append(_gate_run(data, layout, writer))
    runs.sort(key=lambda r: r["tool"]["driver"]["name"])
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": runs}


def build(data: ReportData) -> dict[str, Any]:
    """The SARIF document, cut (most severe results kept) to fit GitHub's limits: the
    file ``render`` writes, parsed."""
    doc: dict[str, Any] = json.loads(render(data))
    return doc


def render(data: ReportData) -> str:
    layout = _layout(data)
    writer = ResultWriter(data)
    text = serialize(_document(data, layout, writer))
    while _too_big(text):
        runs = [*layout.scanners, layout.own]
        largest = max(runs, key=lambda p: (p.keep, p.run.name), default=None)
        if largest is None or largest.keep == 0:
            break  # nothing left to cut: the file is as small as it gets
        largest.keep //= 2
        reason = f"the gzipped SARIF file must be at most {MAX_GZIP_BYTES} bytes"
        if reason not in largest.reasons:
            largest.reasons.append(reason)
        text = serialize(_document(data, layout, writer))
    return text


__all__ = [
    "MAX_GZIP_BYTES",
    "MAX_RESULTS_PER_RUN",
    "MAX_RUNS",
    "build",
    "render",
]
