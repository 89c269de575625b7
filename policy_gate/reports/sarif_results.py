"""SARIF results: one per finding, with its level, message, fingerprint, locations and
whatever accepted it; written as JSON text (``ResultWriter``), since a SARIF file holds up
to 25,000 results a run (sarif.py writes the runs around them).

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
findings and ``new`` for the others.

Locations
---------
Relative URIs (percent-encoded) against ``%SRCROOT%``, the repository root
(``ReportData.path_prefix`` is prepended when a subdirectory was scanned: ``repo_path``,
which JUnit and the annotations use too). A region has the lines and the columns the
scanner gave; a finding without a known line gets no ``region`` (SARIF: the whole file)
rather than an invented line 1. ``partialFingerprints`` holds the gate's own
``policyGate/v1`` and, for a result with a line in a file that can be read, GitHub's
``primaryLocationLineHash`` as upload-sarif computes it (line_hash.py; upload-sarif keeps
one that is there and skips results without a line). The other scanners that reported a
finding are its ``relatedLocations``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from policy_gate.findings import DependencyInfo, Finding, Source
from policy_gate.policy.evaluate import ACCEPTED, Decision, Inputs, Status
from policy_gate.reports.interface import ReportData, artifact_uri, repo_path, suppression_dict
from policy_gate.reports.json_encoding import JsonText, dumps, encode_str, flag, number
from policy_gate.reports.line_hash import Hasher

FINGERPRINT_KEY = "policyGate/v1"
LINE_HASH_KEY = "primaryLocationLineHash"  # GitHub's, as upload-sarif computes it (line_hash)
SRCROOT = "%SRCROOT%"

_SURROGATE = re.compile("[\ud800-\udfff]")


# --------------------------------------------------------------------------- JSON text

# Big files are written compact and ASCII-only (other characters as \u escapes): the
# text is then half the memory, and joining, encoding and compressing it is faster.
_dumps_unicode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _clean(text: str) -> str:
    """A lone surrogate (an undecodable file name in a message) cannot be written as
    UTF-8: it becomes U+FFFD, wherever it is in the file."""
    if not text.isascii():
        try:
            text.encode("utf-8")  # fails on a surrogate only; faster than searching
        except UnicodeEncodeError:
            return _SURROGATE.sub("\ufffd", text)
    return text


def ascii_json(value: Any) -> str:
    """Compact ASCII JSON of ``value``, with every lone surrogate in it made U+FFFD."""
    text = _dumps_unicode(value)
    if text.isascii():
        return text
    return dumps(json.loads(_clean(text)))


@dataclass
class Texts:
    """The elements of a JSON array (a run's results), already written: ``pieces``
    joined make ``count`` elements separated by commas."""

    pieces: list[str]
    count: int


# --------------------------------------------------------------------------- statuses


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
            mark["location"] = file_location(repo_path(prefix, w.file), w.line)
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
                "location": file_location(repo_path(prefix, c.path), c.line),
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


# --------------------------------------------------------------------------- locations


def file_location(path: str, line: int | None) -> dict[str, Any]:
    """A location at a file (``path`` relative to the repository root) and line: a
    waiver, a comment, a notice."""
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": artifact_uri(path), "uriBaseId": SRCROOT}
    }
    if line is not None and line >= 1:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


# --------------------------------------------------------------------------- results


class ResultWriter(JsonText):
    """Writes results as compact JSON text without building their dicts: 10,000 results
    make 15 MB, and building dicts to encode them costs several times the text itself.
    Every distinct string (a message, a rule, a decision step, a path) is encoded once,
    and what results of a rule decided alike share is written once. Each result is what
    ``json.dumps`` writes for its dict (tests/test_report_writers.py holds them equal)."""

    def __init__(self, data: ReportData) -> None:
        super().__init__(clean=_clean, encode=ascii_json)
        self.data = data
        self.prefix = data.path_prefix
        self.inputs = data.inputs
        self.baselined = data.inputs is not None and data.inputs.baseline is not None
        self.fingerprint = ',"partialFingerprints":{' + ascii_json(FINGERPRINT_KEY) + ":"
        self.line_hash = "," + ascii_json(LINE_HASH_KEY) + ":"
        self.hasher = Hasher(data.result.root, _lines_by_path(data.evaluation.decisions))
        self.srcroot = ascii_json(SRCROOT)
        self.sources: dict[tuple[Source, ...], tuple[str, str]] = {}
        self.heads: dict[tuple[Any, ...], tuple[str, str]] = {}
        self.properties: dict[tuple[Any, ...], tuple[str, str]] = {}
        self.places: dict[str, str] = {}

    def write(self, decisions: Sequence[Decision], index: dict[str, int]) -> Texts:
        """The results of ``decisions``; ``index``: rule id -> ruleIndex. Each result is
        written in its keys' order, one step after the other."""
        out: list[str] = []
        rules = {
            rule_id: f',{{"ruleId":{self.string(rule_id)},"ruleIndex":{number(i)},"level":'
            for rule_id, i in index.items()
        }
        for d in decisions:
            self._opening(d, rules, out)
            self._details(d, out)
            self._locations(d.finding, out)
            self._acceptance(d, out)
        if out:
            out[0] = out[0][1:]  # no comma before the first result
        return Texts(out, len(decisions))

    def _opening(self, d: Decision, rules: dict[str, str], out: list[str]) -> None:
        """From "ruleId" to the properties the results of a rule decided alike share: which
        rule, how it is judged, the message and the fingerprint GitHub tracks it by."""
        f = d.finding
        rule_id = f.sources[0].rule_id
        level_json, properties = self._properties(d)
        message = f.message or f.title or rule_id
        fp = f.fingerprint
        out += (
            rules[rule_id],
            level_json,
            ',"message":{"text":',
            self.strings.get(message) or self.string(message),
            "}",
            self.fingerprint,
            encode_str(fp) if type(fp) is str and fp.isascii() else self.string(fp),
        )
        line = f.start_line
        if f.path and type(line) is int and line >= 1:
            hashed = self.hasher.get(f.path, line)
            if hashed is not None:
                out += (self.line_hash, encode_str(hashed))
        out += ("}", properties)

    def unhashed(self, decisions: Sequence[Decision]) -> dict[str, str]:
        """Files of these results that could not be read for their line hash, and why."""
        why = self.hasher.why
        return {d.finding.path: why[d.finding.path] for d in decisions
                if d.finding.path in why}

    def _details(self, d: Decision, out: list[str]) -> None:
        """The properties this finding alone has: the secret (masked), the commit it was
        found in, what accepted or rejected it, whether the change introduced it, and the
        dependency."""
        f = d.finding
        string = self.string
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
            out += (',"suppressionComment":', ascii_json(comment))
        if d.baseline is not None:
            out.append(',"baselined":true')
        if d.introduced is not None:
            out += (',"introduced":', flag(d.introduced))
        if f.dependency is not None:
            out.append(self._dependency(f.dependency))

    def _dependency(self, dep: DependencyInfo) -> str:
        string, array = self.string, self.array
        return (
            f',"dependency":{{"ecosystem":{string(dep.ecosystem)}'
            f',"package":{string(dep.package)},"version":{string(dep.version)}'
            f',"fixedVersions":{array(dep.fixed_versions)},"advisory":{string(dep.advisory)}'
            f',"aliases":{array(dep.aliases)}}}'
        )

    def _locations(self, f: Finding, out: list[str]) -> None:
        """Ends the properties; then where the finding is, and where each other scanner
        that reported it saw it (a finding of no file has neither)."""
        if not f.path:
            out.append("}")  # properties
            return
        start, end = f.start_line, f.end_line
        if f.start_column is not None or f.end_column is not None:
            region = self._region(f) + "}"
        elif type(start) is int and type(end) is int and 1 <= start <= end:
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
                out += (sep, place, ',"id":', number(i), ',"message":{"text":')
                out += (self.string(text), "}}")
                sep = ","
            out.append("]")

    def _acceptance(self, d: Decision, out: list[str]) -> None:
        """Ends the result with whether it is new (``baselineState``) and what accepted
        it (``suppressions``)."""
        if d.introduced is not None or self.baselined:
            state = baseline_state(d, self.inputs)
            if state is not None:
                out += (',"baselineState":', self.string(state))
        if d.status not in _NEVER_SUPPRESSED:
            marks = suppressions(d, self.inputs, self.prefix)
            if marks:
                out += (',"suppressions":', ascii_json(marks))
        out.append("}")

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
            f',"status":{self.string(d.status.value)},"reported":{flag(d.reported)}'
            f',"annotate":{flag(d.annotate)}',
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
        out = self.sources[sources] = (
            f',"scanners":{self.array(f.scanners)}',
            f',"sources":{self.sources_array(sources, "ruleId")}',
        )
        return out

    def _place(self, path: str) -> str:
        """The start of a location at this path, up to its artifactLocation."""
        try:
            return self.places[path]
        except KeyError:
            uri = artifact_uri(repo_path(self.prefix, path))
            out = self.places[path] = (
                f'{{"physicalLocation":{{"artifactLocation":{{"uri":{self.string(uri)}'
                f',"uriBaseId":{self.srcroot}}}'
            )
            return out

    @staticmethod
    def _region(f: Finding) -> str:
        region = region_dict(f)
        return f',"region":{ascii_json(region)}' if region else ""


def region_dict(f: Finding) -> dict[str, int] | None:
    """A finding's region: its lines, and the columns (1-based) its scanner gave; None
    without a line (SARIF: the whole file) rather than an invented line 1."""
    start, end = f.start_line, f.end_line
    if start is None or start < 1:
        return None
    region = {"startLine": start}
    if f.start_column is not None:
        region["startColumn"] = f.start_column
    if end is not None and end >= start:
        region["endLine"] = end
        if f.end_column is not None:
            region["endColumn"] = f.end_column
    return region


def _lines_by_path(decisions: Sequence[Decision]) -> dict[str, set[int]]:
    """path -> the lines results are on: each file is read and hashed once, for all."""
    out: dict[str, set[int]] = {}
    for d in decisions:
        f = d.finding
        if f.path and type(f.start_line) is int and f.start_line >= 1:
            out.setdefault(f.path, set()).add(f.start_line)
    return out
