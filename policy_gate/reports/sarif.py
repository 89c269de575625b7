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
than PRETTY_MAX_RESULTS results, when it is written compact and ASCII-only (other
characters as ``\\u`` escapes), results written as text rather than built as dicts.

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
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter
from pathlib import Path, PurePosixPath
from typing import Any

from policy_gate import __version__
from policy_gate.findings import SECRET, Confidence, Finding, Severity, Source
from policy_gate.policy.evaluate import ACCEPTED, Decision, Inputs, Notice, Status
from policy_gate.reports.interface import (
    ReportData,
    artifact_uri,
    notice_repo_path,
    suppression_dict,
)
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


# Statuses whose results never carry a suppression (``suppressions`` returns None).
_NEVER_SUPPRESSED = frozenset({Status.VIOLATION, Status.BELOW_THRESHOLD, Status.PRE_EXISTING})


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


# Big files are written compact and ASCII-only (other characters as \u escapes): the
# text is then half the memory, and joining, encoding and compressing it is faster.
_dumps = json.JSONEncoder(separators=(",", ":")).encode
_dumps_unicode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_encode_str = json.encoder.encode_basestring_ascii  # what _dumps writes for a str


def _clean(text: str) -> str:
    """A lone surrogate (an undecodable file name in a message) cannot be written as
    UTF-8: it becomes U+FFFD, wherever it is in the file."""
    if not text.isascii():
        try:
            text.encode("utf-8")  # fails on a surrogate only; faster than searching
        except UnicodeEncodeError:
            return _SURROGATE.sub("\ufffd", text)
    return text


def _json(value: Any) -> str:
    """Compact ASCII JSON of ``value``, with every lone surrogate in it made U+FFFD."""
    text = _dumps_unicode(value)
    if text.isascii():
        return text
    return _dumps(json.loads(_clean(text)))


@dataclass
class _Texts:
    """The elements of a JSON array (a run's results), already written: ``pieces``
    joined make ``count`` elements separated by commas."""

    pieces: list[str]
    count: int


def serialize(doc: dict[str, Any]) -> str:
    """Indented for reading when small; compact (and several times faster to write) once
    the file is big enough that nobody reads it without a viewer. A run's ``results`` may
    be ``_Texts``, written as they are."""
    parts: list[str] = []
    count = 0
    for key, value in doc.items():
        parts.append(("," if parts else "{") + _json(key) + ":")
        if key != "runs":
            parts.append(_json(value))
            continue
        parts.append("[")
        for i, run in enumerate(value):
            sep = ",{" if i else "{"
            for name, item in run.items():
                parts.append(sep + _json(name) + ":")
                sep = ","
                if isinstance(item, _Texts):
                    parts.append("[")
                    parts += item.pieces
                    parts.append("]")
                    count += item.count
                else:
                    parts.append(_json(item))
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


# --------------------------------------------------------------------------- rules


_FINDING = attrgetter("finding")
_CATEGORY = attrgetter("category")
_TITLE = attrgetter("title")
_MESSAGE = attrgetter("message")
_FIX = attrgetter("fix")
_HELP_URL = attrgetter("help_url")
_CWE = attrgetter("cwe")
_SEVERITY = attrgetter("severity")
_CONFIDENCE = attrgetter("confidence")


def _rule(rule_id: str, decisions: Sequence[Decision]) -> dict[str, Any]:
    """A reportingDescriptor built from the findings that carry this rule id."""
    findings = list(map(_FINDING, decisions))
    lead = decisions[0]
    cat = lead.category_policy
    kinds = set(map(_CATEGORY, findings))
    title = _common(map(_TITLE, findings))
    if SECRET in kinds:
        message = _common(f.message for f in findings if f.category != SECRET)
    else:
        message = _common(map(_MESSAGE, findings))
    if title and " " in title:
        short = title  # a human title ("AWS Access Key in source")
    elif message:
        short = _first_sentence(message)  # titles like "blacklist" or the rule id
    else:
        short = _humanise(title or rule_id)
    full = message or short
    fixes = set(map(_FIX, findings)) - {"", None}
    fix = _common(fixes)
    fixes_vary = len(fixes) > 1
    help_uri = _common(set(map(_HELP_URL, findings)) - {"", None})
    categories = sorted(kinds)
    cwes = sorted(set(chain.from_iterable(map(_CWE, findings))), key=lambda c: (len(c), c))
    severity = max(map(_SEVERITY, decisions))
    confidences = set(map(_CONFIDENCE, decisions)) - {None}
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


_SEVERITY_JSON = {s: _dumps(s.label) for s in Severity}
_CONFIDENCE_JSON = {c: _dumps(c.label) for c in Confidence}
_BOOL = {True: "true", False: "false"}


class _Results:
    """Writes results as compact JSON text without building their dicts: 10,000 results
    make 15 MB, and building dicts to encode them costs several times the text itself.
    Every distinct string (a message, a rule, a decision step, a path) is encoded once,
    and what results of a rule decided alike share is written once. Each result is what
    ``json.dumps`` writes for its dict (tests/test_report_writers.py holds them equal)."""

    def __init__(self, data: ReportData) -> None:
        self.data = data
        self.prefix = data.path_prefix
        self.inputs = data.inputs
        self.fingerprint_key = _json(FINGERPRINT_KEY)
        self.srcroot = _json(SRCROOT)
        # str -> its JSON; only str keys are added, so 1 never finds True's entry
        self.strings: dict[object, str] = {None: "null"}
        self.arrays: dict[tuple[str, ...], str] = {}
        self.sources: dict[tuple[Source, ...], tuple[str, str]] = {}
        self.heads: dict[tuple[Any, ...], tuple[str, str]] = {}
        self.properties: dict[tuple[Any, ...], tuple[str, str]] = {}
        self.places: dict[str, str] = {}

    def string(self, value: object) -> str:
        try:
            return self.strings[value]
        except (KeyError, TypeError):
            pass
        if type(value) is str:
            out = self.strings[value] = _encode_str(_clean(value))
            return out
        return _json(value)

    def array(self, values: tuple[str, ...]) -> str:
        try:
            return self.arrays[values]
        except KeyError:
            out = self.arrays[values] = "[" + ",".join(map(self.string, values)) + "]"
            return out

    def _head(self, d: Decision) -> tuple[str, str]:
        """(level, properties from "category" to "annotate"): alike for many results."""
        key = (d.finding.category, d.status, d.severity, d.confidence, d.reported, d.annotate)
        try:
            return self.heads[key]
        except KeyError:
            pass
        confidence = d.confidence.label if d.confidence else None
        out = self.heads[key] = (
            self.string(level(d)),
            f',"properties":{{"category":{self.string(d.finding.category)}'
            f',"severity":{self.string(d.severity.label)},"confidence":{self.string(confidence)}'
            f',"status":{self.string(d.status.value)},"reported":{_flag(d.reported)}'
            f',"annotate":{_flag(d.annotate)}',
        )
        return out

    def _properties(self, d: Decision) -> tuple[str, str]:
        """(level, properties from "category" to "helpUri"): what a result says about its
        rule and decision, shared by the results of a rule decided alike."""
        f = d.finding
        src = f.sources
        if len(src) == 1:  # its fields hash and compare faster than the dataclass
            lead = src[0]
            sources: Any = (lead.scanner, lead.rule_id, lead.severity, lead.confidence)
            sources += (lead.message,)
        else:
            sources = src
        key = (
            f.category,
            d.status,
            d.severity,
            d.confidence,
            d.reported,
            d.annotate,
            d.steps,
            f.ids,
            sources,
            f.title,
            f.fix,
            f.help_url,
        )
        try:
            return self.properties[key]
        except KeyError:
            pass
        level_json, head = self._head(d)
        scanners, listed = self._sources(f)
        parts = [head, ',"ids":', self.array(f.ids), scanners, ',"decision":']
        parts += (self.array(d.steps), listed)
        if f.title:
            parts += (',"title":', self.string(f.title))
        if f.fix:
            parts += (',"fix":', self.string(f.fix))
        if f.help_url:
            parts += (',"helpUri":', self.string(f.help_url))
        out = self.properties[key] = (level_json, "".join(parts))
        return out

    def _sources(self, f: Finding) -> tuple[str, str]:
        """(scanners, sources) of the properties: they depend on the sources only."""
        sources = f.sources
        try:
            return self.sources[sources]
        except KeyError:
            pass
        s = self.string
        scanners = f.scanners
        listed = ",".join(
            f'{{"scanner":{s(x.scanner)},"ruleId":{s(x.rule_id)}'
            f',"severity":{_grade(x.severity)},"confidence":{_grade(x.confidence)}'
            f',"message":{s(x.message)}}}'
            for x in sources
        )
        out = self.sources[sources] = (
            f',"scanners":{self.array(scanners)}',
            f',"sources":[{listed}]',
        )
        return out

    def _place(self, path: str) -> str:
        """The start of a location at this path, up to its artifactLocation."""
        try:
            return self.places[path]
        except KeyError:
            uri = artifact_uri(_repo_path(self.prefix, path))
            out = self.places[path] = (
                f'{{"physicalLocation":{{"artifactLocation":{{"uri":{self.string(uri)}'
                f',"uriBaseId":{self.srcroot}}}'
            )
            return out

    def write(self, decisions: Sequence[Decision], index: dict[str, int]) -> _Texts:
        """The results of ``decisions``; ``index``: rule id -> ruleIndex."""
        out: list[str] = []
        string = self.string
        get = self.strings.get  # inlined string(): a hit costs no Python call
        array = self.array
        inputs, prefix = self.inputs, self.prefix
        baselined = inputs is not None and inputs.baseline is not None
        fingerprint = ',"partialFingerprints":{' + self.fingerprint_key + ":"
        rules = {
            rule_id: f',{{"ruleId":{string(rule_id)},"ruleIndex":{_number(i)},"level":'
            for rule_id, i in index.items()
        }
        for d in decisions:
            f = d.finding
            rule_id = f.sources[0].rule_id
            level_json, properties = self._properties(d)
            message = f.message or f.title or rule_id
            fp = f.fingerprint
            out += (
                rules[rule_id],
                level_json,
                ',"message":{"text":',
                get(message) or string(message),
                "}",
                fingerprint,
                _encode_str(fp) if type(fp) is str and fp.isascii() else string(fp),
                "}",
                properties,
            )
            if f.secret is not None:
                out += (
                    ',"secret":{"kind":',
                    string(f.secret.kind),
                    ',"preview":',
                    string(f.secret.preview),
                    "}",
                )
            if f.commit:
                out += (',"commit":', string(f.commit))
            if d.waiver is not None:
                out += (',"waiver":', string(d.waiver.describe()))
            if d.suppression is not None:
                comment = {**suppression_dict(d.suppression), "honoured": self.data.honoured(d)}
                out += (',"suppressionComment":', _json(comment))
            if d.baseline is not None:
                out.append(',"baselined":true')
            if d.introduced is not None:
                out += (',"introduced":', _flag(d.introduced))
            if f.dependency is not None:
                dep = f.dependency
                out += (
                    ',"dependency":{"ecosystem":',
                    string(dep.ecosystem),
                    ',"package":',
                    string(dep.package),
                    ',"version":',
                    string(dep.version),
                    ',"fixedVersions":',
                    array(dep.fixed_versions),
                    ',"advisory":',
                    string(dep.advisory),
                    ',"aliases":',
                    array(dep.aliases),
                    "}",
                )
            if f.path:
                start, end = f.start_line, f.end_line
                if type(start) is int and type(end) is int and 1 <= start <= end:
                    region = f',"region":{{"startLine":{start},"endLine":{end}}}}}'
                else:
                    region = self._region(f) + "}"
                place = self._place(f.path) + region
                out += ('},"locations":[', place, "}]")  # properties end here
                others = f.sources[1:]
                if others:
                    sep = ',"relatedLocations":['
                    for i, s in enumerate(others, 1):
                        text = f"Also reported by {s.scanner} ({s.rule_id}): {s.message}"
                        out += (sep, place, ',"id":', _number(i), ',"message":{"text":')
                        out += (string(text), "}}")
                        sep = ","
                    out.append("]")
            else:
                out.append("}")  # properties
            if d.introduced is not None or baselined:
                state = baseline_state(d, inputs)
                if state is not None:
                    out += (',"baselineState":', string(state))
            if d.status not in _NEVER_SUPPRESSED:
                marks = suppressions(d, inputs, prefix)
                if marks:
                    out += (',"suppressions":', _json(marks))
            out.append("}")
        if out:
            out[0] = out[0][1:]  # no comma before the first result
        return _Texts(out, len(decisions))

    @staticmethod
    def _region(f: Finding) -> str:
        start, end = f.start_line, f.end_line
        if start is None or start < 1:
            return ""
        if end is not None and end >= start:
            return f',"region":{{"startLine":{_number(start)},"endLine":{_number(end)}}}'
        return f',"region":{{"startLine":{_number(start)}}}'


def _grade(grade: Severity | Confidence | None) -> str:
    """``grade.label`` (or None) as JSON."""
    if type(grade) is Severity:
        return _SEVERITY_JSON[grade]
    if type(grade) is Confidence:
        return _CONFIDENCE_JSON[grade]
    return "null" if grade is None else _json(grade.label)


def _flag(value: object) -> str:
    if value is True or value is False:
        return _BOOL[value]
    return _json(value)


def _number(value: object) -> str:
    return int.__repr__(value) if type(value) is int else _json(value)


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
    plan: _Plan, data: ReportData, writer: _Results
) -> tuple[list[dict[str, Any]], _Texts, list[dict[str, Any]], dict[str, Any]]:
    """A plan's rules, results, truncation notifications and truncation properties."""
    kept = plan.decisions[: plan.keep]
    by_rule: dict[str, list[Decision]] = {}
    for d in kept:
        by_rule.setdefault(d.finding.rule_id, []).append(d)
    rule_ids = sorted(by_rule)
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    rules = [_rule(rule_id, by_rule[rule_id]) for rule_id in rule_ids]
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


def _scanner_run(plan: _Plan, data: ReportData, writer: _Results) -> dict[str, Any]:
    run = plan.run
    rules, results, cut, truncated = _contents(plan, data, writer)
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
    data: ReportData,
    plans: Sequence[_Plan],
    omitted: Sequence[str],
    own: _Plan,
    writer: _Results,
) -> dict[str, Any]:
    evaluation = data.evaluation
    by_status = Counter(d.status for d in evaluation.decisions)  # evaluation.count(), at once
    rules, results, cut, truncated = _contents(own, data, writer)
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
    data: ReportData,
    plans: Sequence[_Plan],
    omitted: Sequence[str],
    own: _Plan,
    writer: _Results,
) -> dict[str, Any]:
    """The SARIF document; each run's ``results`` are ``_Texts`` (see ``serialize``)."""
    runs = [_scanner_run(p, data, writer) for p in plans]
    runs.append(_gate_run(data, plans, omitted, own, writer))
    runs.sort(key=lambda r: r["tool"]["driver"]["name"])
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": runs}


def build(data: ReportData) -> dict[str, Any]:
    """The SARIF document, cut (most severe results kept) to fit GitHub's limits: the
    file ``render`` writes, parsed."""
    doc: dict[str, Any] = json.loads(render(data))
    return doc


def render(data: ReportData) -> str:
    plans, omitted, own = _plans(data)
    writer = _Results(data)
    text = serialize(_document(data, plans, omitted, own, writer))
    while _too_big(text):
        largest = max([*plans, own], key=lambda p: (p.keep, p.run.name), default=None)
        if largest is None or largest.keep == 0:
            break  # nothing left to cut: the file is as small as it gets
        largest.keep //= 2
        reason = f"the gzipped SARIF file must be at most {MAX_GZIP_BYTES} bytes"
        if reason not in largest.reasons:
            largest.reasons.append(reason)
        text = serialize(_document(data, plans, omitted, own, writer))
    return text


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
