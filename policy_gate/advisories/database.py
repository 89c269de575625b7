"""The offline advisory database: OSV records loaded once, matched against packages.

One piece serves both audits: pip-audit reads it through the local OSV query server
(:mod:`policy_gate.osv.server`), and the ``osv`` scanner (npm lockfiles) matches against
it in-process. It loads a directory of OSV records (JSON or YAML, e.g. a PyPA
advisory-database checkout) or an osv.dev ``all.zip``.

Records are kept as JSON-ready data with three corrections clients rely on: timestamps
become RFC 3339 ``...Z`` strings (YAML loads them as datetimes, and pip-audit parses only
``%Y-%m-%dT%H:%M:%S[.%f]Z``); version strings in ``affected`` stay strings (a YAML float
would lose ``2.10``'s trailing zero); and PyPI package names are canonicalised. Withdrawn
records are counted, never served or matched.

Matching follows the OSV schema: a version is affected when it is in ``versions`` or in
an ``ECOSYSTEM``/``SEMVER`` range (``introduced``/``fixed``/``last_affected``/``limit``).
Versions compare as PEP 440 (``packaging``) for PyPI and as Semantic Versioning 2.0
(``semver``) for npm, prereleases included (``1.0.0-rc.1 < 1.0.0``), build metadata
ignored.

Records describing one flaw under several ids (a GHSA and its CVE; a PYSEC and its GHSA)
are merged into one :class:`Advisory`: records whose id or aliases overlap are unioned,
and the primary id is a GHSA id for npm, a PYSEC id for PyPI, else the lowest id.
Severity comes from CVSS v3/v4 vectors (computed with ``cvss``) or, failing that, the
record's ``database_specific.severity``; with neither it stays ``None`` and the policy's
``default_severity`` grades it.
"""

from __future__ import annotations

import json
import os
import re
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import semver
import yaml
from cvss import CVSS3, CVSS4
from cvss.exceptions import CVSSError
from packaging.utils import canonicalize_name
from packaging.version import Version

from policy_gate.findings import Severity
from policy_gate.packages import NPM, PYPI
from policy_gate.results import DatabaseInfo, EcosystemInfo

SUFFIXES = (".json", ".yaml", ".yml")
MAX_RECORD_BYTES = 32 * 1024 * 1024  # one advisory; bounds what a corrupt zip can do

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TIMESTAMP = re.compile(
    r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?\s*(Z|[+-]\d\d:?\d\d)?$", re.IGNORECASE
)
_TIMESTAMP_FIELDS = ("modified", "published", "withdrawn")
_GHSA_SEVERITY = {
    "LOW": Severity.LOW,
    "MODERATE": Severity.MEDIUM,
    "MEDIUM": Severity.MEDIUM,
    "HIGH": Severity.HIGH,
    "CRITICAL": Severity.CRITICAL,
}


class AdvisoryDBError(Exception):
    """The advisory database cannot be loaded; auditing against it would be untrustworthy."""


@dataclass(frozen=True, slots=True)
class Advisory:
    """One flaw affecting one package version: every record that describes it, merged."""

    id: str  # the primary id
    aliases: tuple[str, ...]  # every other id, sorted
    summary: str
    details: str
    severity: Severity | None  # None: the database does not grade it
    score: float | None  # the CVSS base score it was graded from, when it was
    fixed: tuple[str, ...]  # versions of this package that fix it ('fixed' events)
    records: tuple[str, ...]  # ids of the records merged into it
    modified: str

    @property
    def description(self) -> str:
        return self.summary or self.details

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)


# Where to get data that covers an ecosystem, for the message that says it is missing.
_DATA_HINTS = {
    NPM: "osv.dev's all.zip (https://osv-vulnerabilities.storage.googleapis.com/all.zip) "
         "or its npm/all.zip",
    PYPI: "osv.dev's all.zip (https://osv-vulnerabilities.storage.googleapis.com/all.zip), "
          "its PyPI/all.zip, or a checkout of https://github.com/pypa/advisory-database",
}


def coverage_reason(
    info: DatabaseInfo, ecosystem: str, max_age_days: float | None,
    now: datetime | None = None,
) -> str:
    """Why the data cannot audit ``ecosystem`` (M4a), or '' when it can: it must hold
    records for it, and (when the policy limits the age) its newest record of that
    ecosystem must be recent enough. Fresh PyPI data says nothing about npm."""
    eco = info.ecosystem(ecosystem)
    hint = _DATA_HINTS.get(ecosystem, "osv.dev's all.zip, which covers every ecosystem")
    fix = f"Give data that covers {ecosystem}: {hint}, with --advisories or the policy's " \
          "advisories.database"
    if eco.records == 0:
        held = ", ".join(f"{n} {e.records}" for n, e in sorted(info.ecosystems.items())
                         if e.records) or "nothing"
        return (f"advisory database {info.source} has no {ecosystem} records (it holds: "
                f"{held}), so the {ecosystem} dependencies cannot be audited against it: "
                f"every package would pass as having no known vulnerability. {fix} (M4a)")
    if max_age_days is None:
        return ""
    age = eco.age_days(now)
    if age is None:
        return (f"advisory database {info.source}: its {ecosystem} records have no "
                f"'modified' timestamps, so their age is unknown; the policy allows "
                f"{max_age_days:g} days (M4a). {fix}")
    if age <= max_age_days:
        return ""
    newest = eco.newest.strftime("%Y-%m-%d") if eco.newest else "?"
    return (f"advisory database {info.source}: its newest {ecosystem} record ({newest}) is "
            f"{int(age)} days old; the policy allows {max_age_days:g} (M4a). Refresh it: "
            f"{hint}")


@dataclass
class AdvisoryIndex:
    """Every record of the database, by id and by (ecosystem, package name)."""

    source: str
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_package: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    files: int = 0
    withdrawn: int = 0
    load_seconds: float = 0.0
    newest: datetime | None = None
    ecosystems: dict[str, EcosystemInfo] = field(default_factory=dict)
    _groups: dict[str, str] = field(default_factory=dict, repr=False)  # id -> group root

    @classmethod
    def load(cls, path: Path | str) -> AdvisoryIndex:
        """Read a directory tree, an ``all.zip`` or one file of OSV records. Any record
        that cannot be parsed fails the load: a silently missing advisory is a false
        "no known vulnerabilities"."""
        started = time.perf_counter()
        root = Path(path)
        index = cls(source=str(root))
        for name, data in documents(root):
            index.files += 1
            try:
                if name.lower().endswith(".json"):
                    doc = json.loads(data)
                else:
                    doc = yaml.load(data, Loader=_Loader)  # noqa: S506 - a safe loader
            except (ValueError, yaml.YAMLError) as exc:
                raise AdvisoryDBError(f"{name}: not valid JSON/YAML ({exc})") from None
            for record in doc if isinstance(doc, list) else [doc]:
                index.add(record, name)
        if not index.records:
            raise AdvisoryDBError(f"{root}: no OSV records found")
        index.load_seconds = time.perf_counter() - started
        return index

    @classmethod
    def from_records(cls, records: Iterable[object], source: str) -> AdvisoryIndex:
        index = cls(source=source)
        for record in records:
            index.add(record, source)
        return index

    def add(self, record: object, name: str = "") -> None:
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise AdvisoryDBError(f"{name}: not an OSV record (no 'id')")
        _check_shape(record, name)
        served = _served(record)
        modified = _parse_time(served.get("modified"))
        if modified is not None and (self.newest is None or modified > self.newest):
            self.newest = modified
        if served["id"] not in self.records:  # a record listed twice counts once
            self._count(served, modified, withdrawn=bool(record.get("withdrawn")))
        if record.get("withdrawn"):
            self.withdrawn += 1
            return
        vuln_id = served["id"]
        self.records[vuln_id] = served
        self._groups.clear()
        keys = {
            _package_key(pkg.get("ecosystem"), pkg.get("name"))
            for affected in served.get("affected") or []
            if isinstance(affected, dict) and isinstance(pkg := affected.get("package"), dict)
        }
        for key in keys:
            if key is not None:
                self.by_package.setdefault(key, []).append(vuln_id)

    # `_add` was the name before the database moved here.
    _add = add

    def _count(self, record: Mapping[str, Any], modified: datetime | None,
               withdrawn: bool) -> None:
        """Per ecosystem the record affects: one more record, and its freshness. A
        withdrawn record is not counted, but its date still shows the data was updated."""
        names = {
            pkg["ecosystem"]
            for affected in record.get("affected") or []
            if isinstance(affected, Mapping) and isinstance(pkg := affected.get("package"),
                                                             Mapping)
            and isinstance(pkg.get("ecosystem"), str)
        }
        for name in names:
            eco = self.ecosystems.get(name) or EcosystemInfo()
            newest = eco.newest
            if modified is not None and (newest is None or modified > newest):
                newest = modified
            self.ecosystems[name] = EcosystemInfo(eco.records + (not withdrawn), newest)

    @property
    def info(self) -> DatabaseInfo:
        return DatabaseInfo(self.source, len(self.records), self.withdrawn, self.newest,
                            dict(self.ecosystems))

    def query(self, ecosystem: str, name: str, version: str | None) -> list[dict[str, Any]]:
        """The records affecting ``name`` at ``version`` (all of the package's records
        when no version is given), in id order."""
        key = _package_key(ecosystem, name)
        if key is None:
            return []
        found = []
        for vuln_id in sorted(set(self.by_package.get(key, ()))):
            record = self.records[vuln_id]
            if version is None or affects(record, key, version):
                found.append(record)
        return found

    def advisories(self, ecosystem: str, name: str, version: str) -> list[Advisory]:
        """The flaws affecting ``name`` at ``version``, aliases merged, by primary id."""
        return self.merge(ecosystem, name, self.query(ecosystem, name, version))

    def merge(
        self, ecosystem: str, name: str, hits: Sequence[Mapping[str, Any]]
    ) -> list[Advisory]:
        groups = self._alias_groups()
        by_group: dict[str, list[Mapping[str, Any]]] = {}
        for record in hits:
            root = groups.get(str(record["id"]), str(record["id"]))
            by_group.setdefault(root, []).append(record)
        key = _package_key(ecosystem, name)
        merged = [_merge(ecosystem, key, records) for records in by_group.values()]
        return sorted(merged, key=lambda a: a.id)

    def _alias_groups(self) -> dict[str, str]:
        """Union-find over every record's id and aliases (in both directions)."""
        if self._groups or not self.records:
            return self._groups
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            parent.setdefault(x, x)
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for vuln_id, record in self.records.items():
            for alias in _aliases(record):
                a, b = find(vuln_id), find(alias)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        self._groups = {vuln_id: find(vuln_id) for vuln_id in self.records}
        return self._groups


# Where the OSV schema has a list, and matching iterates one: anything else there is not an
# OSV record, and a record that cannot be read must fail the load, never be half-matched.
_RECORD_LISTS = ("aliases", "affected", "severity")
_AFFECTED_LISTS = ("versions", "ranges", "severity")


def _check_shape(record: Mapping[str, Any], name: str) -> None:
    def refuse(where: str, value: object) -> None:
        raise AdvisoryDBError(
            f"{name}: OSV record {str(record['id'])[:80]!r}: {where} must be a list, "
            f"not {type(value).__name__}"
        )

    for key in _RECORD_LISTS:
        if record.get(key) is not None and not isinstance(record[key], list):
            refuse(key, record[key])
    for i, affected in enumerate(record.get("affected") or []):
        if not isinstance(affected, Mapping):
            continue
        for key in _AFFECTED_LISTS:
            if affected.get(key) is not None and not isinstance(affected[key], list):
                refuse(f"affected[{i}].{key}", affected[key])
        for j, rng in enumerate(affected.get("ranges") or []):
            if isinstance(rng, Mapping) and rng.get("events") is not None and not isinstance(
                rng["events"], list
            ):
                refuse(f"affected[{i}].ranges[{j}].events", rng["events"])


def _aliases(record: Mapping[str, Any]) -> list[str]:
    aliases = record.get("aliases") or []
    return [str(a) for a in aliases if isinstance(a, str)] if isinstance(aliases, list) else []


def primary_id(ecosystem: str, ids: Iterable[str]) -> str:
    """GHSA for npm, PYSEC for PyPI, else the lowest id."""
    unique = sorted(set(ids))
    prefix = {NPM: "GHSA-", PYPI: "PYSEC-"}.get(ecosystem)
    preferred = [i for i in unique if prefix and i.startswith(prefix)]
    return (preferred or unique)[0]


def _merge(
    ecosystem: str, key: tuple[str, str] | None, records: Sequence[Mapping[str, Any]]
) -> Advisory:
    ids = {str(r["id"]) for r in records} | {a for r in records for a in _aliases(r)}
    primary = primary_id(ecosystem, ids)
    records = sorted(records, key=lambda r: (str(r["id"]) != primary, str(r["id"])))
    graded = [g for r in records if (g := severity_of(r, key)) is not None]
    best = max(graded, key=lambda g: (g[0], g[1] or 0.0)) if graded else None
    fixed = sorted(
        {v for r in records for v in fixed_versions(r, key)}, key=version_sort_key(ecosystem)
    )
    return Advisory(
        id=primary,
        aliases=tuple(sorted(ids - {primary})),
        summary=next((str(r["summary"]) for r in records if r.get("summary")), ""),
        details=next((str(r["details"]) for r in records if r.get("details")), ""),
        severity=best[0] if best else None,
        score=best[1] if best else None,
        fixed=tuple(fixed),
        records=tuple(str(r["id"]) for r in records),
        modified=max((str(r.get("modified") or "") for r in records), default=""),
    )


def severity_of(
    record: Mapping[str, Any], key: tuple[str, str] | None = None
) -> tuple[Severity, float | None] | None:
    """The highest grade CVSS v3/v4 vectors give (record-level and, for the package,
    ``affected[].severity``), else ``database_specific.severity``; None when neither."""
    vectors: list[Mapping[str, Any]] = [
        s for s in record.get("severity") or [] if isinstance(s, Mapping)
    ]
    for affected in record.get("affected") or []:
        if isinstance(affected, Mapping) and (key is None or _affected_key(affected) == key):
            vectors += [s for s in affected.get("severity") or [] if isinstance(s, Mapping)]
    scores = [score for s in vectors if (score := cvss_score(s.get("type"), s.get("score")))
              is not None]
    if scores:
        best = max(scores)
        return grade(best), best
    specific = record.get("database_specific")
    label = specific.get("severity") if isinstance(specific, Mapping) else None
    if isinstance(label, str) and label.strip().upper() in _GHSA_SEVERITY:
        return _GHSA_SEVERITY[label.strip().upper()], None
    return None


def cvss_score(kind: object, vector: object) -> float | None:
    """The base score of a CVSS v3.x or v4.0 vector; None for other kinds or bad vectors."""
    if not isinstance(vector, str):
        return None
    try:
        if kind == "CVSS_V3" or vector.startswith("CVSS:3."):
            return float(CVSS3(vector).scores()[0])
        if kind == "CVSS_V4" or vector.startswith("CVSS:4."):
            return float(CVSS4(vector).base_score)
    except (CVSSError, ValueError, KeyError, IndexError):
        return None
    return None


def grade(score: float) -> Severity:
    """CVSS qualitative rating: critical >= 9, high >= 7, medium >= 4, low > 0."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0:
        return Severity.LOW
    return Severity.INFO


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(rfc3339(value).split(".")[0].rstrip("Z"),
                                 "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def documents(root: Path) -> Iterator[tuple[str, bytes]]:
    if root.is_dir():
        for dirpath, dirnames, filenames in os.walk(root):  # does not follow links
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for filename in sorted(filenames):
                if filename.lower().endswith(SUFFIXES) and not filename.startswith("."):
                    path = Path(dirpath, filename)
                    yield str(path.relative_to(root)), path.read_bytes()
    elif root.is_file() and zipfile.is_zipfile(root):
        with zipfile.ZipFile(root) as archive:
            for info in archive.infolist():
                if info.is_dir() or not info.filename.lower().endswith(SUFFIXES):
                    continue
                if info.file_size > MAX_RECORD_BYTES:
                    raise AdvisoryDBError(f"{info.filename}: larger than an advisory can be")
                yield info.filename, archive.read(info)
    elif root.is_file() and root.name.lower().endswith(SUFFIXES):
        yield root.name, root.read_bytes()
    else:
        raise AdvisoryDBError(f"{root}: not a directory, zip archive or OSV file")


def _package_key(ecosystem: object, name: object) -> tuple[str, str] | None:
    if not isinstance(ecosystem, str) or not isinstance(name, str):
        return None
    return (ecosystem, canonicalize_name(name) if ecosystem == PYPI else name)


def _served(record: dict[str, Any]) -> dict[str, Any]:
    """The record as JSON-ready data (see the module docstring for what changes)."""
    out = cast(dict[str, Any], _jsonable(record))
    for key in _TIMESTAMP_FIELDS:
        if isinstance(out.get(key), str):
            out[key] = rfc3339(out[key])
    for affected in out.get("affected") or []:
        if not isinstance(affected, dict):
            continue
        pkg = affected.get("package")
        name = pkg.get("name") if isinstance(pkg, dict) else None
        if isinstance(pkg, dict) and isinstance(name, str) and pkg.get("ecosystem") == PYPI:
            pkg["name"] = canonicalize_name(name)
        if isinstance(affected.get("versions"), list):
            affected["versions"] = [str(v) for v in affected["versions"]]
        for rng in affected.get("ranges") or []:
            if isinstance(rng, dict) and isinstance(rng.get("events"), list):
                rng["events"] = [
                    {k: str(v) for k, v in event.items()} if isinstance(event, dict) else event
                    for event in rng["events"]
                ]
    return out


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return rfc3339(value)
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)  # e.g. YAML's !!binary bytes: the local OSV server must serve JSON


def rfc3339(value: datetime | date | str) -> str:
    """A timestamp as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` in UTC, the form pip-audit parses.
    Strings in other shapes it cannot read (or naming no real time: month 13, an offset
    of 99 hours) are returned unchanged, and so is a time that UTC cannot hold."""
    try:
        return _rfc3339(value)
    except (ValueError, OverflowError):
        return value if isinstance(value, str) else value.isoformat()


def _rfc3339(value: datetime | date | str) -> str:
    if isinstance(value, str):
        match = _TIMESTAMP.match(value.strip())
        if not match:
            return value
        day, clock, fraction, zone = match.groups()
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        parsed = datetime.fromisoformat(f"{day}T{clock}").replace(microsecond=micro)
        if zone and zone.upper() != "Z":
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            parsed = parsed.replace(tzinfo=timezone(sign * offset))
        value = parsed
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if value.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return value.strftime(fmt)


# --- versions and ranges ------------------------------------------------------------

Parsed = Any  # Version | semver.Version


@lru_cache(maxsize=65536)
def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except ValueError:  # InvalidVersion, or a number of more digits than Python converts
        return None


@lru_cache(maxsize=65536)
def _semver(text: str) -> semver.Version | None:
    """An npm version as Semantic Versioning 2.0 (build metadata dropped: it does not
    order). npm accepts a leading 'v' / '='; so does this."""
    raw = text.strip().lstrip("=v")
    try:
        return semver.Version.parse(raw).replace(build=None)
    except (ValueError, TypeError):
        return None


def parser_for(ecosystem: str) -> Callable[[str], Parsed | None] | None:
    if ecosystem == PYPI:
        return _version
    if ecosystem == NPM:
        return _semver
    return None


def version_sort_key(ecosystem: str) -> Callable[[str], tuple[int, Any, str]]:
    parse = parser_for(ecosystem)

    def key(text: str) -> tuple[int, Any, str]:
        parsed = parse(text) if parse else None
        return (0, parsed, text) if parsed is not None else (1, 0, text)

    return key


def _affected_key(affected: Mapping[str, Any]) -> tuple[str, str] | None:
    pkg = affected.get("package")
    if not isinstance(pkg, Mapping):
        return None
    return _package_key(pkg.get("ecosystem"), pkg.get("name"))


def _entries(record: Mapping[str, Any], key: tuple[str, str] | None) -> Iterator[Mapping[str, Any]]:
    for affected in record.get("affected") or []:
        if isinstance(affected, Mapping) and (key is None or _affected_key(affected) == key):
            yield affected


def fixed_versions(record: Mapping[str, Any], key: tuple[str, str] | None) -> list[str]:
    """Every 'fixed' event of the record's ranges for the package."""
    return [
        str(event["fixed"])
        for affected in _entries(record, key)
        for rng in affected.get("ranges") or []
        if isinstance(rng, Mapping) and rng.get("type") in ("ECOSYSTEM", "SEMVER")
        for event in rng.get("events") or []
        if isinstance(event, Mapping) and "fixed" in event
    ]


def affects(record: Mapping[str, Any], key: tuple[str, str], version: str) -> bool:
    """OSV matching: the version is listed in ``versions``, or falls in an ECOSYSTEM /
    SEMVER range (PEP 440 for PyPI, semver for npm; other ecosystems match by list only).
    GIT ranges are ignored: the ``versions`` list is their ecosystem rendering."""
    parse = parser_for(key[0])
    wanted = parse(version) if parse else None
    for affected in _entries(record, key):
        for listed in affected.get("versions") or []:
            if listed == version or (
                wanted is not None and parse is not None and parse(str(listed)) == wanted
            ):
                return True
        if wanted is None or parse is None:
            continue
        for rng in affected.get("ranges") or []:
            if (isinstance(rng, Mapping) and rng.get("type") in ("ECOSYSTEM", "SEMVER")
                    and _in_range(rng.get("events") or [], wanted, parse)):
                return True
    return False


# The name before the database moved here (tests and the server use it).
_affects = affects


def _in_range(
    events: list[Any], version: Parsed, parse: Callable[[str], Parsed | None] = _version
) -> bool:
    """The OSV schema's evaluation: walk events in version order; 'introduced' opens,
    'fixed' (v >= fixed) and 'last_affected' (v > last) close, 'limit' bounds."""
    parsed: list[tuple[Parsed | None, str]] = []
    for event in events:
        if not isinstance(event, Mapping):
            continue
        for kind in ("introduced", "fixed", "last_affected", "limit"):
            if kind in event:
                raw = str(event[kind])
                if kind == "introduced" and raw == "0":
                    parsed.append((None, kind))
                elif kind == "limit" and raw == "*":
                    continue
                elif (v := parse(raw)) is not None:
                    parsed.append((v, kind))
                elif kind == "introduced":
                    return False  # cannot place the range; the versions list still applies
    order = {"introduced": 1, "fixed": 0, "last_affected": 2, "limit": 0}
    zero = [e for e in parsed if e[0] is None]
    rest = sorted((e for e in parsed if e[0] is not None), key=lambda e: (e[0], order[e[1]]))
    limits = [v for v, kind in rest if kind == "limit"]
    if any(version >= limit for limit in limits):
        return False
    affected = False
    for v, kind in [*zero, *rest]:
        if kind == "introduced" and (v is None or version >= v):
            affected = True
        elif v is not None and (
            (kind == "fixed" and version >= v) or (kind == "last_affected" and version > v)
        ):
            affected = False
    return affected


def fix_version(
    ecosystem: str, name: str, version: str, advisories: Sequence[Advisory],
    index: AdvisoryIndex | None = None,
) -> str | None:
    """The lowest version that fixes every advisory on (name, version): a version from
    the advisories' 'fixed' events, above the installed one, that none of them affects.
    None when an advisory has no fixed version, or no candidate fixes them all.

    With ``index``, "affected" is decided by the advisories' records; without, a
    candidate must be at or above some fixed version of every advisory."""
    if not advisories or any(not a.fixed for a in advisories):
        return None
    parse = parser_for(ecosystem)
    if parse is None or (current := parse(version)) is None:
        return None
    key = _package_key(ecosystem, name)
    candidates = sorted(
        {v for a in advisories for v in a.fixed if (p := parse(v)) is not None and p > current},
        key=version_sort_key(ecosystem),
    )
    for candidate in candidates:
        c = parse(candidate)
        if index is not None and key is not None:
            records = [index.records[r] for a in advisories for r in a.records
                       if r in index.records]
            if not any(affects(r, key, candidate) for r in records):
                return candidate
        elif all(any((p := parse(f)) is not None and c >= p for f in a.fixed)
                  for a in advisories):
            return candidate
    return None
