"""Read policy-gate JSON reports into the little an organisation view needs of each.

A report can hold tens of thousands of findings; only a summary of each is kept (its counts,
controls, advisories, waivers and failures), so memory grows with the number of reports, not
their size. Reports are read in worker processes, one at a time each. A file that is not a
policy-gate report, or is of a schema version this gate does not read, is refused by name.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

READABLE_MAJOR = "1"  # schema versions 1.x: fields are only ever added within a major
MAX_REPORT_BYTES = 512 * 1024 * 1024
# The gate's other JSON outputs, which a results directory holds beside the report: skipped
# in a directory (any other JSON file there is refused, not skipped).
OTHER_OUTPUTS = (".cdx.json", ".vex.json", "policy-gate-org.json")


class ReportError(Exception):
    """A file given to `aggregate` that cannot be read as a policy-gate report (exit 2)."""


@dataclass(frozen=True)
class Advisory:
    """One vulnerable package version a repository depends on."""

    advisory: str
    ecosystem: str
    package: str
    version: str
    fix_version: str
    severity: str
    status: str


@dataclass(frozen=True)
class WaiverUse:
    """A waiver that accepted findings in a repository, once per waiver."""

    id: str
    owner: str
    expires: str  # ISO date
    reason: str
    file: str
    findings: int


@dataclass(frozen=True)
class ControlStatus:
    id: str
    framework: str
    title: str
    status: str  # pass | fail | not-checked | not-covered
    why: str
    violations: int


@dataclass
class RepoReport:
    """What the organisation view keeps of one report."""

    name: str
    path: str
    schema_version: str
    gate_version: str
    generated_at: str
    verdict: str
    headline: str
    exit_code: int
    commit: str | None
    policy: str
    findings: int
    by_status: dict[str, int]
    violations: dict[str, dict[str, int]]  # category -> severity -> violations
    controls: list[ControlStatus] | None  # None: a report from before schema 1.1
    advisories: list[Advisory] = field(default_factory=list)
    waivers: list[WaiverUse] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # "scanner: status: reason"
    advisory_age_days: float | None = None
    advisory_max_age_days: float | None = None

    @property
    def by_severity(self) -> dict[str, int]:
        """Violations per severity, over every category."""
        total: dict[str, int] = {}
        for counts in self.violations.values():
            for severity, n in counts.items():
                total[severity] = total.get(severity, 0) + n
        return total


def report_files(paths: Iterable[Path]) -> list[tuple[str, Path]]:
    """(repository name, report file) for each file given, and each ``*.json`` below each
    directory given (but the gate's SBOM, VEX and organisation view), named by its folder
    relative to that directory (a fan-out job's artifact folder) or by its file name when it
    lies in the directory itself."""
    found: list[tuple[str, Path]] = []
    for given in paths:
        if given.is_dir():
            for file in sorted(given.rglob("*.json")):
                if file.is_symlink() or not file.is_file() or file.name.endswith(OTHER_OUTPUTS):
                    continue
                rel = file.relative_to(given)
                found.append((str(rel.parent) if rel.parent != Path() else rel.stem, file))
        else:
            found.append((given.stem, given))
    return found


def read_all(named: Sequence[tuple[str, Path]], jobs: int | None = None) -> list[RepoReport]:
    """Every report summarised, in the order given; the first unreadable one raises."""
    workers = max(1, min(jobs or os.cpu_count() or 1, len(named) or 1))
    if workers == 1 or len(named) < 4:
        return [summarise(name, path) for name, path in named]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_summarise_pair, named, chunksize=max(1, len(named) // (4 * workers))))


def _summarise_pair(pair: tuple[str, Path]) -> RepoReport:
    return summarise(*pair)


def summarise(name: str, path: Path) -> RepoReport:
    """One report file read and reduced to its summary."""
    doc = _load(path)
    try:
        return _summary(name, path, doc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReportError(f"{path}: not a complete policy-gate report "
                          f"({type(exc).__name__}: {exc})") from None


# The gate writes the report's top-level keys one per line and one finding per line
# (reports/json_report.py), each finding's `,"dependency":` and `,"waiver":` null or an
# object, and its `,"status":` just before `,"effective_severity":`. JSON text cannot hold a
# raw quote or newline inside a string, so these byte sequences occur only as those keys.
_FINDINGS_KEY = b'\n  "findings": '
_NEEDED = (b',"dependency":{', b',"waiver":{')
_DECODER = json.JSONDecoder()


def _load(path: Path) -> dict[str, Any]:
    """The report's header and the findings the view reads (those with an advisory or a
    waiver). In the gate's own layout only those findings' lines are found and decoded;
    any other layout (re-indented by another tool) is parsed whole."""
    try:
        if path.stat().st_size > MAX_REPORT_BYTES:
            raise ReportError(f"{path}: over {MAX_REPORT_BYTES // 2**20} MiB; not read")
        raw = path.read_bytes()
    except OSError as exc:
        raise ReportError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        doc = _gate_layout(raw)
        if doc is None:
            doc = json.loads(raw)
    except (ValueError, RecursionError):
        raise ReportError(f"{path}: not JSON; give the JSON report of `policy-gate scan "
                          "--format json`") from None
    _check_report(path, doc)
    return doc


def _gate_layout(raw: bytes) -> dict[str, Any] | None:
    """The report with only the needed findings, or None if it is not in the gate's layout."""
    cut = raw.find(_FINDINGS_KEY)
    body = cut + len(_FINDINGS_KEY)
    tail = raw[-16:].rstrip()
    if cut < 0 or not ((raw.startswith(b"[]", body) and tail.endswith(b"[]\n}"))
                       or (raw.startswith(b'[\n    {"fingerprint":', body)
                           and tail.endswith(b"\n  ]\n}"))):
        return None
    header: dict[str, Any] = json.loads(raw[:cut] + b'\n  "findings": []\n}')
    if not isinstance(header, dict):
        return None
    lines: set[tuple[int, int]] = set()
    for key in _NEEDED:
        at = raw.find(key, body)
        while at >= 0:
            end = raw.find(b"\n", at)
            lines.add((raw.rfind(b"\n", 0, at) + 1, end))
            at = raw.find(key, end)
    findings = []
    for start, end in sorted(lines):
        line = raw[start:end].strip().removesuffix(b",")
        if not (line.startswith(b"{") and line.endswith(b"}")):
            return None
        findings.append(_needed_fields(line.decode("utf-8")))
    header["findings"] = findings
    return header


def _needed_fields(line: str) -> dict[str, Any]:
    """A finding's fields the view reads, each decoded where its key stands."""
    out: dict[str, Any] = {}
    for key in ("dependency", "waiver", "effective_severity"):
        at = line.find(f',"{key}":')
        if at < 0:
            raise ValueError(f"a finding without {key}")
        out[key] = _DECODER.raw_decode(line, at + len(key) + 4)[0]
    status = line.rfind(',"status":', 0, line.find(',"effective_severity":'))
    out["status"] = _DECODER.raw_decode(line, status + 10)[0] if status >= 0 else ""
    return out


def _check_report(path: Path, doc: Any) -> None:
    tool = doc.get("tool") if isinstance(doc, dict) else None
    if not isinstance(tool, dict) or tool.get("name") != "policy-gate":
        raise ReportError(f"{path}: not a policy-gate report (no \"tool\": {{\"name\": "
                          "\"policy-gate\"}); give the JSON report of `policy-gate scan "
                          "--format json`")
    version = str(doc.get("schema_version", ""))
    if version.split(".")[0] != READABLE_MAJOR:
        raise ReportError(f"{path}: report schema version {version or 'missing'} (policy-gate "
                          f"{tool.get('version', '?')}); this gate reads {READABLE_MAJOR}.x: "
                          "aggregate it with a gate of that version")


def _summary(name: str, path: Path, doc: dict[str, Any]) -> RepoReport:
    summary = doc["summary"]
    compliance = doc.get("compliance")
    advisories = doc["scan"].get("advisories") or {}
    policy_doc = doc["policy"].get("document") or {}
    return RepoReport(
        name=name, path=str(path),
        schema_version=str(doc["schema_version"]),
        gate_version=str(doc["tool"].get("version", "")),
        generated_at=str(doc["generated_at"]),
        verdict=str(doc["verdict"]), headline=str(doc["headline"]),
        exit_code=int(doc["exit_code"]),
        commit=compliance.get("commit") if isinstance(compliance, dict) else None,
        policy=str(doc["policy"].get("name", "")),
        findings=int(summary["findings"]),
        by_status={str(k): int(v) for k, v in summary["by_status"].items()},
        violations={
            cat: per_severity
            for cat, sevs in summary["by_category"].items()
            if (per_severity := {sev: int(counts["violation"]) for sev, counts in sevs.items()
                                 if counts.get("violation")})
        },
        controls=None if not isinstance(compliance, dict) else [
            ControlStatus(str(c["id"]), str(c["framework"]), str(c["title"]),
                          str(c["status"]), str(c["why"]), int(c["violations"]))
            for c in compliance["controls"]
        ],
        advisories=list(_advisories(doc["findings"])),
        waivers=_waivers(doc["findings"]),
        failures=[f"{s['name']}: {s['status']}: {s['reason']}" for s in doc["scanners"]
                  if s["status"] in ("failed", "skipped")],
        advisory_age_days=advisories.get("age_days"),
        advisory_max_age_days=(policy_doc.get("advisories") or {}).get("max_age_days"),
    )


def _advisories(findings: list[dict[str, Any]]) -> Iterator[Advisory]:
    seen: set[tuple[str, str, str, str]] = set()
    for f in findings:
        dep = f.get("dependency")
        if not dep or not dep.get("advisory"):
            continue
        key = (dep["advisory"], dep["ecosystem"], dep["package"], dep.get("version") or "")
        if key in seen:
            continue
        seen.add(key)
        yield Advisory(*key, fix_version=dep.get("fix_version") or "",
                       severity=str(f.get("effective_severity") or f.get("severity") or ""),
                       status=str(f["status"]))


def _waivers(findings: list[dict[str, Any]]) -> list[WaiverUse]:
    uses: dict[str, list[Any]] = {}
    for f in findings:
        w = f.get("waiver")
        if not w:
            continue
        # A waiver's id is optional: its place in the waivers file names it then.
        name = str(w.get("id") or f"{w.get('file', '')}:{w.get('line', '')}")
        entry = uses.setdefault(name, [w, 0])
        entry[1] += 1
    return [WaiverUse(name, str(w.get("owner", "")), str(w["expires"]),
                      str(w.get("reason", "")), str(w.get("file", "")), n)
            for name, (w, n) in uses.items()]


def expected_names(path: Path) -> list[str]:
    """Repository names from a JSON list of strings, or one per line (``#`` comments)."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read it ({exc})") from None
    if text.lstrip().startswith("["):
        try:
            names = json.loads(text)
        except ValueError:
            names = None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ReportError(f"{path}: not a JSON list of repository names")
        return [n.strip() for n in names if n.strip()]
    return [n for line in text.splitlines() if (n := line.split("#", 1)[0].strip())]


def days_until(expires: str, today: dt.date) -> int | None:
    """Days from ``today`` to an ISO date (negative: already expired); None if unreadable."""
    try:
        return (dt.date.fromisoformat(expires) - today).days
    except ValueError:
        return None
