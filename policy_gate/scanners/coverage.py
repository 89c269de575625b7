"""Unit-test coverage (M7): enforce the policy's total and per-file thresholds on the
coverage reports a CI job left in the tree.

The gate does not run the tests; it reads what nyc/istanbul or coverage.py wrote:

* Cobertura XML (``cobertura-coverage.xml``, ``coverage.xml``, ``cobertura.xml``);
* lcov (``lcov.info``);
* istanbul json-summary (``coverage-summary.json``).

Reports are found by those names anywhere in the tree, or by the policy's ``reports``
patterns, including inside excluded directories (the Mojaloop policy excludes
``coverage/``, where nyc writes them), but never inside dependency or VCS directories and
never through a symlink. A report is hostile input: it is size-capped, read without
following links, and XML is parsed with defusedxml with entity declarations and external
references refused. See docs/coverage.md.

Rules (category ``coverage``, medium / high confidence): ``per-file-<metric>`` per file and
metric below ``per_file``; ``total-<metric>`` per report and metric below ``total``. A
metric with nothing to cover (0 of 0) counts as 100 %, as istanbul does. No report: no
findings and a note saying coverage was not checked. A report that cannot be read or
parsed: an ``unscanned`` finding on it.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import posixpath
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import ElementTree as SafeET  # type: ignore[import-untyped,unused-ignore]
from defusedxml.common import (  # type: ignore[import-untyped,unused-ignore]
    DefusedXmlException,
)

from policy_gate import __version__
from policy_gate.base import jsontext
from policy_gate.base.fileset import FileSet
from policy_gate.base.patterns import compile_patterns
from policy_gate.base.treefile import TreeFileError, read_tree_file
from policy_gate.catalogue import COVERAGE_CHECK
from policy_gate.findings import (
    COVERAGE,
    Confidence,
    Finding,
    Severity,
    Source,
    content_key,
    sha256_hex,
)
from policy_gate.results import ScanOutput
from policy_gate.scanners.interface import ScanContext, Scanner, unscanned_finding

METRICS = ("lines", "statements", "functions", "branches")
# Basenames of the reports nyc (cobertura, lcov, json-summary reporters) and coverage.py
# (`coverage xml`, `coverage lcov`) write by default.
DEFAULT_REPORT_NAMES = frozenset(
    {"cobertura-coverage.xml", "coverage.xml", "cobertura.xml", "lcov.info",
     "coverage-summary.json"}
)
# Never searched for reports: third-party code and VCS internals (a dependency's own
# coverage report says nothing about this repository).
SKIPPED_DIRS = frozenset(
    {"node_modules", "bower_components", ".venv", "venv", "site-packages", ".tox",
     "__pycache__", ".nyc_output", ".git", ".hg", ".svn"}
)
# Reports can legitimately exceed the policy's max_file_bytes (lcov of a large service);
# this caps what a hostile one can make us hold in memory.
MAX_REPORT_BYTES = 64 * 1024 * 1024
# Entries visited when searching excluded directories: a bound on a hostile tree.
MAX_WALK_ENTRIES = 200_000
MAX_SHOWN_PATH = 200
# Bounds on path matching, so a hostile report cannot make it quadratic.
MAX_SOURCES = 32
MAX_PATH_PARTS = 64
NO_REPORT_NOTE = "no coverage report found; coverage not checked"
HELP_URL = "https://github.com/istanbuljs/nyc#coverage-thresholds"
COBERTURA, LCOV, JSON_SUMMARY = "Cobertura", "lcov", "json-summary"

_CONDITION = re.compile(r"\((\d+)\s*/\s*(\d+)\)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class ReportError(Exception):
    """A report that cannot be trusted: becomes an ``unscanned`` finding, never a pass."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass(frozen=True, slots=True)
class Count:
    covered: int
    total: int

    def __add__(self, other: Count) -> Count:
        return Count(self.covered + other.covered, self.total + other.total)

    @property
    def pct(self) -> Decimal:
        """istanbul's percentage: floored to two decimals, and 100 when nothing to cover
        (istanbul-lib-coverage ``percent()``), so that we fail exactly where nyc does."""
        if self.total <= 0:
            return Decimal(100)
        return Decimal(self.covered * 10_000 // self.total) / 100

    @property
    def shown(self) -> str:
        """One decimal, floored: a file at 89.96 % must not read as 90.0 %."""
        if self.total <= 0:
            return "100"
        tenths = self.covered * 1000 // self.total
        return f"{tenths // 10}.{tenths % 10}"


@dataclass(frozen=True)
class FileCoverage:
    reported: str  # the path as the report names it (joined with a <source> for Cobertura)
    metrics: Mapping[str, Count]


@dataclass(frozen=True)
class Report:
    rel: str  # the report's path relative to the root
    fmt: str
    files: tuple[FileCoverage, ...]
    sources: tuple[str, ...] = ()  # Cobertura <source> elements

    def total(self, metric: str) -> Count:
        return sum((f.metrics[metric] for f in self.files), Count(0, 0))


# -- finding the reports --------------------------------------------------------------


def _skipped(rel: str) -> bool:
    return any(part in SKIPPED_DIRS for part in rel.split("/"))


def find_reports(fileset: FileSet, patterns: Iterable[str] = ()) -> tuple[str, ...]:
    """Coverage reports in the tree: scanned files, and excluded ones too (walked here,
    without following links), since policies exclude ``coverage/`` from scanning and git
    ignores the reports a CI job writes."""
    pattern_list = [str(p) for p in patterns]
    spec = compile_patterns(pattern_list) if pattern_list else None

    def wanted(rel: str) -> bool:
        if _skipped(rel):
            return False
        if spec is not None:
            return bool(spec.match_file(rel))
        return rel.rsplit("/", 1)[-1] in DEFAULT_REPORT_NAMES

    found = {rel for rel in fileset.files if wanted(rel)}
    budget = [MAX_WALK_ENTRIES]
    # excluded by the policy, or untracked files git ignores (a CI job's reports)
    for entry in (*fileset.excluded, *fileset.unselected):
        if entry.endswith("/"):
            rel_dir = entry.rstrip("/")
            if not _skipped(rel_dir):
                found.update(r for r in _walk(fileset.root, rel_dir, budget) if wanted(r))
        elif wanted(entry) and _regular_file(fileset.root / entry):
            found.add(entry)
    return tuple(sorted(found))


def _regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _walk(root: Path, rel_dir: str, budget: list[int]) -> Iterator[str]:
    """Regular files under an excluded directory: links are never followed, dependency
    directories never entered, and at most ``budget`` entries are visited in all."""
    stack = [rel_dir]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(root / current) as it:
                entries = list(it)
        except OSError:
            continue
        for entry in entries:
            budget[0] -= 1
            if budget[0] < 0:
                return
            rel = f"{current}/{entry.name}"
            try:
                if entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in SKIPPED_DIRS:
                        stack.append(rel)
                elif entry.is_file(follow_symlinks=False):
                    yield rel
            except OSError:
                continue


def read_report(root: Path, rel: str, limit: int = MAX_REPORT_BYTES) -> bytes:
    """The report's bytes: a regular file inside the root, opened without following a
    link (O_NOFOLLOW; O_NONBLOCK so a FIFO cannot hang us), at most ``limit`` bytes."""
    path = root / rel
    try:
        parent = path.parent.resolve(strict=True)
    except OSError as exc:
        raise ReportError(f"unreadable: {exc.strerror or exc}") from None
    if parent != root.resolve() and root.resolve() not in parent.parents:
        raise ReportError("the report is outside the scanned tree")
    try:
        return read_tree_file(path, limit)
    except TreeFileError as exc:
        raise ReportError(str(exc)) from None


# -- parsing -------------------------------------------------------------------------


def sniff(rel: str, data: bytes) -> str:
    """The format: from the extension, else from the content (a `reports` pattern may name
    any file)."""
    name = rel.lower()
    if name.endswith(".xml"):
        return COBERTURA
    if name.endswith(".json"):
        return JSON_SUMMARY
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        return COBERTURA
    if head in (b"{", b"["):
        return JSON_SUMMARY
    return LCOV


def parse_report(rel: str, data: bytes) -> Report:
    fmt = sniff(rel, data)
    if fmt == COBERTURA:
        return parse_cobertura(rel, data)
    if fmt == JSON_SUMMARY:
        return parse_json_summary(rel, data)
    return parse_lcov(rel, data)


def _int(value: str | None, what: str, line: int | None = None) -> int:
    try:
        number = int((value or "").strip())
    except ValueError:
        raise ReportError(f"{what} is not a whole number: {_shown(value or '')!r}", line) from None
    if number < 0:
        raise ReportError(f"{what} is negative", line)
    return number


@dataclass
class _CoberturaFile:
    lines: dict[int, int] = field(default_factory=dict)  # line -> hits
    branches: dict[int, tuple[int, int]] = field(default_factory=dict)  # line -> (cov, total)
    methods: dict[tuple[str, str, int], bool] = field(default_factory=dict)

    def add_line(self, number: int, hits: int, branch: tuple[int, int] | None) -> None:
        self.lines[number] = max(hits, self.lines.get(number, 0))
        if branch is not None:
            seen = self.branches.get(number, (0, 0))
            self.branches[number] = (max(seen[0], branch[0]), max(seen[1], branch[1]))

    def metrics(self) -> dict[str, Count]:
        lines = Count(sum(1 for h in self.lines.values() if h > 0), len(self.lines))
        return {
            "lines": lines,
            "statements": lines,  # Cobertura has no statements; nyc's lines are close
            "functions": Count(sum(self.methods.values()), len(self.methods)),
            "branches": Count(
                sum(c for c, _ in self.branches.values()),
                sum(t for _, t in self.branches.values()),
            ),
        }


def _cobertura_line(el: Element) -> tuple[int, int, tuple[int, int] | None]:
    number = _int(el.get("number"), "a <line> number")
    hits = _int(el.get("hits"), f"hits of line {number}")
    condition = el.get("condition-coverage")
    if condition is not None:
        match = _CONDITION.search(condition)
        if not match:
            raise ReportError(f"line {number}: unreadable condition-coverage {_shown(condition)!r}")
        covered, total = int(match.group(1)), int(match.group(2))
        if covered > total:
            raise ReportError(f"line {number}: condition-coverage {covered}/{total}")
        return number, hits, (covered, total)
    if (el.get("branch") or "").strip().lower() == "true":
        # a branch line without counts: one decision, taken if the line ran
        return number, hits, (1 if hits > 0 else 0, 1)
    return number, hits, None


def parse_cobertura(rel: str, data: bytes) -> Report:
    """Cobertura XML as nyc's and coverage.py's reporters write it. Streamed, with each
    <class> dropped once counted, and entity declarations refused (billion laughs, XXE);
    the DOCTYPE nyc writes (a SYSTEM id, never fetched) is allowed."""
    files: dict[str, _CoberturaFile] = {}
    sources: list[str] = []
    root_seen = False
    try:
        events = SafeET.iterparse(
            io.BytesIO(data), events=("start", "end"),
            forbid_dtd=False, forbid_entities=True, forbid_external=True,
        )
        for event, el in events:
            if event == "start":
                if not root_seen:
                    root_seen = True
                    if el.tag != "coverage":
                        raise ReportError(
                            f"not a Cobertura report (root element <{_shown(str(el.tag))}>)")
                continue
            if el.tag == "source":
                sources.append((el.text or "").strip())
            elif el.tag == "class":
                filename = (el.get("filename") or "").strip()
                if not filename:
                    raise ReportError("a <class> has no filename")
                acc = files.setdefault(filename, _CoberturaFile())
                for line in el.iterfind("lines/line"):
                    acc.add_line(*_cobertura_line(line))
                for method in el.iterfind("methods/method"):
                    hit_lines = [_cobertura_line(x) for x in method.iterfind("lines/line")]
                    first = min((n for n, _, _ in hit_lines), default=0)
                    key = (method.get("name") or "", method.get("signature") or "", first)
                    covered = any(h > 0 for _, h, _ in hit_lines) or (
                        not hit_lines and _int(method.get("hits") or "0", "method hits") > 0
                    )
                    acc.methods[key] = acc.methods.get(key, False) or covered
                el.clear()
            elif el.tag == "package":
                el.clear()
    # (LookupError: an unknown encoding; ValueError: a count of more digits than Python reads)
    except (DefusedXmlException, ParseError, LookupError, ValueError) as exc:
        raise ReportError(f"unsafe or malformed XML: {_xml_reason(exc)}") from None
    if not root_seen:
        raise ReportError("empty XML document")
    found = tuple(FileCoverage(name, acc.metrics()) for name, acc in sorted(files.items()))
    return Report(rel, COBERTURA, found, tuple(s for s in sources if s))


def _xml_reason(exc: Exception) -> str:
    name = type(exc).__name__
    if name == "EntitiesForbidden":
        return "entity declarations are refused (entity expansion, external entities)"
    if name in ("ExternalReferenceForbidden", "DTDForbidden", "NotSupportedError"):
        return "external references are refused"
    return _shown(str(exc))


@dataclass
class _LcovRecord:
    source: str
    line: int
    lines: dict[int, int] = field(default_factory=dict)
    functions: dict[str, int] = field(default_factory=dict)
    branches: dict[tuple[str, str, str], int] = field(default_factory=dict)
    summary: dict[str, int] = field(default_factory=dict)  # LF, LH, FNF, FNH, BRF, BRH

    def count(self, metric: str) -> Count:
        """The tool's own totals (LF/LH…) when present, else counted from the records."""
        found, hit = {"lines": ("LF", "LH"), "functions": ("FNF", "FNH"),
                      "branches": ("BRF", "BRH")}[metric]
        detail = self.detail(metric)
        if found in self.summary:
            total, covered = self.summary[found], self.summary.get(hit, 0)
            if covered > total:
                raise ReportError(f"{hit} {covered} exceeds {found} {total}", self.line)
            return Count(covered, total)
        values: Iterable[int] = detail.values()
        return Count(sum(1 for v in values if v > 0), len(detail))

    def detail(self, metric: str) -> Mapping[Any, int]:
        if metric == "lines":
            return self.lines
        return self.functions if metric == "functions" else self.branches


def _merge_lcov(records: list[_LcovRecord]) -> dict[str, Count]:
    """One file's counts. Several records for one file (concatenated reports) are merged
    line by line when they all carry line data, else summed."""
    out: dict[str, Count] = {}
    for metric in ("lines", "functions", "branches"):
        if len(records) > 1 and all(r.detail(metric) for r in records):
            union: dict[Any, int] = {}
            for r in records:
                for key, hits in r.detail(metric).items():
                    union[key] = max(hits, union.get(key, 0))
            out[metric] = Count(sum(1 for v in union.values() if v > 0), len(union))
        else:
            out[metric] = sum((r.count(metric) for r in records), Count(0, 0))
    out["statements"] = out["lines"]  # lcov has no statements
    return {m: out[m] for m in METRICS}


def parse_lcov(rel: str, data: bytes) -> Report:
    """lcov tracefiles (nyc's lcov reporter, coverage.py's `coverage lcov`, lcov 1.x/2.x
    record forms). Unknown record types are skipped, as genhtml does."""
    text = data.decode("utf-8", "replace")
    records: dict[str, list[_LcovRecord]] = {}
    current: _LcovRecord | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        key, _, value = line.partition(":")
        if key == "end_of_record":
            if current is None:
                raise ReportError("end_of_record outside a record", number)
            records.setdefault(current.source, []).append(current)
            current = None
            continue
        if key == "SF":
            if current is not None:
                raise ReportError("SF inside a record (missing end_of_record)", number)
            if not value.strip():
                raise ReportError("SF with no path", number)
            current = _LcovRecord(value.strip(), number)
            continue
        if key in ("TN", "VER"):
            continue
        if key in ("DA", "FN", "FNDA", "FNF", "FNH", "LF", "LH", "BRDA", "BRF", "BRH"):
            if current is None:
                raise ReportError(f"{key} outside a record (no SF before it)", number)
            _lcov_field(current, key, value, number)
        elif current is None and not records:
            raise ReportError("not an lcov tracefile (no SF record)", number)
    if current is not None:
        raise ReportError("truncated: the last record has no end_of_record", current.line)
    files = tuple(FileCoverage(src, _merge_lcov(recs)) for src, recs in sorted(records.items()))
    return Report(rel, LCOV, files)


def _lcov_field(rec: _LcovRecord, key: str, value: str, number: int) -> None:
    if key in ("FNF", "FNH", "LF", "LH", "BRF", "BRH"):
        rec.summary[key] = _int(value, key, number)
    elif key == "DA":
        parts = value.split(",")
        if len(parts) < 2:
            raise ReportError("DA needs a line and a hit count", number)
        line = _int(parts[0], "DA line", number)
        rec.lines[line] = max(_int(parts[1], "DA hits", number), rec.lines.get(line, 0))
    elif key == "FNDA":
        hits, _, name = value.partition(",")
        rec.functions[name] = max(_int(hits, "FNDA hits", number), rec.functions.get(name, 0))
    elif key == "FN":
        # FN:<line>,<name> (lcov 1.x, nyc) or FN:<line>,<end>,<name> (lcov 2.x, coverage.py)
        parts = value.split(",")
        if len(parts) < 2:
            raise ReportError("FN needs a line and a name", number)
        _int(parts[0], "FN line", number)
        name = parts[-1] if len(parts) == 2 or not parts[1].strip().isdigit() else ",".join(
            parts[2:])
        rec.functions.setdefault(name, 0)
    elif key == "BRDA":
        # BRDA:<line>,<block>,<branch>,<taken>; taken '-' = never evaluated; coverage.py's
        # branch field is text ("jump to line 4")
        head = value.split(",", 2)
        if len(head) < 3 or "," not in head[2]:
            raise ReportError("BRDA needs line, block, branch and taken", number)
        branch, _, taken = head[2].rpartition(",")
        _int(head[0], "BRDA line", number)
        times = 0 if taken.strip() == "-" else _int(taken, "BRDA taken", number)
        key3 = (head[0].strip(), head[1].strip(), branch)
        rec.branches[key3] = max(times, rec.branches.get(key3, 0))


def parse_json_summary(rel: str, data: bytes) -> Report:
    """istanbul's json-summary: ``{"total": {...}, "<path>": {"lines": {"total",
    "covered", ...}, ...}}``. Counts are taken, the ``pct`` is recomputed (istanbul
    writes "Unknown" for an empty total)."""
    try:
        doc = jsontext.loads(data.decode("utf-8"))  # strict: no lone surrogate in a path
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise ReportError(f"not JSON: {reason}") from None
    if not isinstance(doc, dict):
        raise ReportError("not a json-summary report (top level is not an object)")
    files = []
    for path, entry in doc.items():
        metrics = _summary_entry(path, entry)
        if path != "total":
            files.append(FileCoverage(path, metrics))
    if not files and "total" not in doc:
        raise ReportError("not a json-summary report (no 'total' and no files)")
    return Report(rel, JSON_SUMMARY, tuple(sorted(files, key=lambda f: f.reported)))


def _summary_entry(path: str, entry: object) -> dict[str, Count]:
    where = "total" if path == "total" else _shown(path)
    if not isinstance(entry, dict):
        raise ReportError(f"entry {where!r} is not an object")
    out: dict[str, Count] = {}
    for metric in METRICS:
        value = entry.get(metric)
        if not isinstance(value, dict):
            raise ReportError(f"entry {where!r} has no '{metric}' object")
        total, covered = value.get("total"), value.get("covered")
        if (not isinstance(total, int) or not isinstance(covered, int)
                or isinstance(total, bool) or isinstance(covered, bool)
                or not 0 <= covered <= total):
            raise ReportError(f"entry {where!r}: {metric} total/covered are not valid counts")
        out[metric] = Count(covered, total)
    return out


# -- mapping report paths to the tree -------------------------------------------------


class PathMapper:
    """Report paths -> root-relative paths of scanned files. Reports from CI carry that
    machine's absolute paths (``/home/runner/work/svc/svc/src/a.js``): the longest path
    suffix that names a file in the tree wins, preferring the report's own project."""

    def __init__(self, fileset: FileSet, report_rel: str, sources: tuple[str, ...] = ()):
        self.files = frozenset(fileset.files)
        self.root = fileset.root.as_posix().rstrip("/")
        self.sources = sources[:MAX_SOURCES]
        bases: list[str] = []
        current = posixpath.dirname(report_rel)
        while current:
            bases.append(current)
            current = posixpath.dirname(current)
        bases.append("")
        self.bases = tuple(bases)  # the report's directory first, the root last

    def map(self, reported: str) -> str | None:
        path = reported.replace("\\", "/")
        if _absolute(path):
            return self._absolute(path)
        for base in self.bases:  # relative to the report (coverage.py lcov), then up
            hit = self._in_tree(posixpath.join(base, path) if base else path)
            if hit:
                return hit
        for source in self.sources:  # Cobertura: relative to a <source> directory
            joined = posixpath.join(source.replace("\\", "/"), path)
            hit = self._absolute(joined) if _absolute(joined) else self._suffix(joined)
            if hit:
                return hit
        return self._suffix(path)

    def _in_tree(self, candidate: str) -> str | None:
        norm = posixpath.normpath(candidate)
        return norm if norm in self.files else None

    def _absolute(self, path: str) -> str | None:
        if path.startswith(self.root + "/"):
            hit = self._in_tree(path[len(self.root) + 1:])
            if hit:
                return hit
        return self._suffix(path)

    def _suffix(self, path: str) -> str | None:
        parts = [p for p in posixpath.normpath(path).split("/") if p not in ("", ".", "..")]
        parts = parts[-MAX_PATH_PARTS:]
        for k in range(len(parts), 0, -1):
            suffix = "/".join(parts[-k:])
            for base in self.bases:
                candidate = f"{base}/{suffix}" if base else suffix
                if candidate in self.files:
                    return candidate
        return None


def _absolute(path: str) -> bool:
    return path.startswith("/") or bool(re.match(r"^[A-Za-z]:/", path))


def _shown(text: str) -> str:
    """A report's string as it may appear in a message: no control characters, bounded."""
    clean = _CONTROL.sub("?", text)
    return clean if len(clean) <= MAX_SHOWN_PATH else clean[: MAX_SHOWN_PATH - 1] + "…"


# -- the scanner ---------------------------------------------------------------------


def _thresholds(options: Mapping[str, Any], key: str) -> dict[str, Decimal]:
    section = options.get(key) or {}
    out: dict[str, Decimal] = {}
    for metric in METRICS:
        if metric in section and section[metric] is not None:
            try:
                out[metric] = Decimal(str(section[metric]))
            except InvalidOperation:
                continue
        # a metric the policy leaves out is not checked
    return out


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}"


class CoverageScanner(Scanner):
    info = COVERAGE_CHECK
    executable = ""  # in-process: reads the reports CI wrote

    def version(self, ctx: ScanContext) -> str:
        return f"{__version__} (defusedxml {importlib.metadata.version('defusedxml')})"

    def cacheable(self, ctx: ScanContext) -> bool:
        return False  # reports describe source files, and thresholds read the tree

    def targets(self, fileset: FileSet) -> tuple[str, ...]:
        return find_reports(fileset)

    def scan(self, ctx: ScanContext) -> ScanOutput:
        options = ctx.settings.options
        reports = find_reports(ctx.fileset, options.get("reports") or ())
        version = self.version(ctx)
        if not reports:
            return ScanOutput(
                [], version, 0, 0, [NO_REPORT_NOTE], not_checked="no coverage report found"
            )
        per_file = _thresholds(options, "per_file")
        total = _thresholds(options, "total")
        findings: list[Finding] = []
        notes: list[str] = []
        for rel in reports:
            ctx.progress(self.name, f"reading {rel}")
            try:
                report = parse_report(rel, read_report(ctx.root, rel))
            except ReportError as exc:
                findings.append(unscanned_finding(self.name, rel, exc.reason, exc.line))
                notes.append(f"{rel}: not read ({exc.reason}); coverage not checked from it")
                continue
            found, report_notes = self._check(ctx.fileset, report, per_file, total)
            findings += found
            notes += report_notes
        return ScanOutput(findings, version, len(findings), len(reports), notes)

    def _check(
        self,
        fileset: FileSet,
        report: Report,
        per_file: Mapping[str, Decimal],
        total: Mapping[str, Decimal],
    ) -> tuple[list[Finding], list[str]]:
        mapper = PathMapper(fileset, report.rel, report.sources)
        findings: list[Finding] = []
        unmapped = 0
        for fc in report.files:
            rel = mapper.map(fc.reported)
            unmapped += rel is None
            for metric, threshold in per_file.items():
                count = fc.metrics[metric]
                if count.pct < threshold:
                    findings.append(self._per_file(report, fc.reported, rel, metric, count,
                                                   threshold))
        totals = {m: report.total(m) for m in METRICS}
        for metric, threshold in total.items():
            if totals[metric].pct < threshold:
                findings.append(self._total(report, metric, totals[metric], threshold))
        summary = ", ".join(
            f"{m} {totals[m].shown} % ({totals[m].covered}/{totals[m].total})" for m in METRICS
        )
        notes = [f"{report.rel}: {report.fmt} report of {len(report.files)} files; {summary}"]
        empty = [m for m in METRICS if totals[m].total == 0]
        if empty and report.files:
            notes.append(
                f"{report.rel}: no {', '.join(empty)} recorded; 0 of 0 counts as 100 % "
                "(as nyc does), so these thresholds were not really tested"
            )
        if unmapped:
            notes.append(
                f"{report.rel}: {unmapped} of its files are not in the scanned tree; their "
                "findings are attached to the report"
            )
        return findings, notes

    def _per_file(
        self, report: Report, reported: str, rel: str | None, metric: str, count: Count,
        threshold: Decimal,
    ) -> Finding:
        rule = f"per-file-{metric}"
        shown = rel if rel is not None else _shown(reported)
        where = "" if rel is not None else f" (in {report.rel}; not found in the scanned tree)"
        message = (
            f"{shown}{where}: {metric} {count.shown} % ({count.covered}/{count.total}) is "
            f"below the policy's {_pct(threshold)} % per file (M7)"
        )
        flaw = f"{self.name}:{rule}"
        if rel is None:  # several unmapped files share the report's path: keep them apart
            flaw += ":" + sha256_hex(reported)[:16]
        return self._finding(
            rule, rel or report.rel, message, flaw, content_key(f"{rule} {shown}"),
            f"Add tests that cover the uncovered {metric} of {shown} until it reaches "
            f"{_pct(threshold)} %, then regenerate the coverage report ({report.rel}).",
        )

    def _total(self, report: Report, metric: str, count: Count, threshold: Decimal) -> Finding:
        rule = f"total-{metric}"
        message = (
            f"{report.rel}: total {metric} {count.shown} % ({count.covered}/{count.total}) "
            f"is below the policy's {_pct(threshold)} % total (M7)"
        )
        return self._finding(
            rule, report.rel, message, f"{self.name}:{rule}", content_key(rule),
            f"Add tests for the least-covered files (see the per-file findings) until total "
            f"{metric} coverage reaches {_pct(threshold)} %.",
        )

    def _finding(self, rule: str, path: str, message: str, flaw: str, key: str,
                 fix: str) -> Finding:
        return Finding(
            category=COVERAGE,
            sources=(Source(self.name, rule, Severity.MEDIUM, Confidence.HIGH, message),),
            path=path,
            start_line=None,
            end_line=None,
            message=message,
            flaw_key=flaw,
            content_key=key,
            title=f"Coverage below the policy: {rule}",
            help_url=HELP_URL,
            fix=fix,
        )
