"""A small OSV-compatible query server over an offline advisory database.

Air-gapped sites cannot reach api.osv.dev, but pip-audit can be pointed at any endpoint
that answers OSV's ``POST /v1/query``. This serves a directory of OSV records (YAML or
JSON, e.g. a PyPA advisory-database checkout) or an osv.dev ``all.zip`` from memory, on
127.0.0.1 only, for the length of one scan.

Records are served as the database holds them, with three corrections clients rely on:
timestamps become RFC 3339 ``...Z`` strings (YAML loads them as datetimes, and pip-audit
parses only ``%Y-%m-%dT%H:%M:%S[.%f]Z``); version strings in ``affected`` stay strings (a
YAML float would lose ``2.10``'s trailing zero); and PyPI package names are canonicalised
(pip-audit matches ``affected[].package.name`` against the canonical name to find the
fixed versions). Withdrawn records are not served.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import yaml
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

PYPI = "PyPI"
SUFFIXES = (".json", ".yaml", ".yml")
MAX_RECORD_BYTES = 32 * 1024 * 1024  # one advisory; bounds what a corrupt zip can do
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_BATCH = 1000  # osv.dev's own limit per querybatch

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TIMESTAMP = re.compile(
    r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?\s*(Z|[+-]\d\d:?\d\d)?$", re.IGNORECASE
)
_TIMESTAMP_FIELDS = ("modified", "published", "withdrawn")


class AdvisoryDBError(Exception):
    """The advisory database cannot be loaded; auditing against it would be untrustworthy."""


@dataclass
class AdvisoryIndex:
    """Every record of the database, by id and by (ecosystem, package name)."""

    source: str
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_package: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    files: int = 0
    withdrawn: int = 0
    load_seconds: float = 0.0

    @classmethod
    def load(cls, path: Path | str) -> AdvisoryIndex:
        """Read a directory tree, an ``all.zip`` or one file of OSV records. Any record
        that cannot be parsed fails the load: a silently missing advisory is a false
        "no known vulnerabilities"."""
        started = time.perf_counter()
        root = Path(path)
        index = cls(source=str(root))
        for name, data in _documents(root):
            index.files += 1
            try:
                if name.lower().endswith(".json"):
                    doc = json.loads(data)
                else:
                    doc = yaml.load(data, Loader=_Loader)  # noqa: S506 - a safe loader
            except (ValueError, yaml.YAMLError) as exc:
                raise AdvisoryDBError(f"{name}: not valid JSON/YAML ({exc})") from None
            for record in doc if isinstance(doc, list) else [doc]:
                index._add(name, record)
        if not index.records:
            raise AdvisoryDBError(f"{root}: no OSV records found")
        index.load_seconds = time.perf_counter() - started
        return index

    def _add(self, name: str, record: object) -> None:
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise AdvisoryDBError(f"{name}: not an OSV record (no 'id')")
        if record.get("withdrawn"):
            self.withdrawn += 1
            return
        served = _served(record)
        vuln_id = served["id"]
        self.records[vuln_id] = served
        keys = {
            _package_key(pkg.get("ecosystem"), pkg.get("name"))
            for affected in served.get("affected") or []
            if isinstance(affected, dict) and isinstance(pkg := affected.get("package"), dict)
        }
        for key in keys:
            if key is not None:
                self.by_package.setdefault(key, []).append(vuln_id)

    def query(self, ecosystem: str, name: str, version: str | None) -> list[dict[str, Any]]:
        """The records affecting ``name`` at ``version`` (all of the package's records
        when no version is given), in id order."""
        key = _package_key(ecosystem, name)
        if key is None:
            return []
        found = []
        for vuln_id in sorted(self.by_package.get(key, ())):
            record = self.records[vuln_id]
            if version is None or _affects(record, key, version):
                found.append(record)
        return found


def _documents(root: Path) -> Iterator[tuple[str, bytes]]:
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
    return value


def rfc3339(value: datetime | date | str) -> str:
    """A timestamp as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` in UTC, the form pip-audit parses.
    Strings in other shapes it cannot read are returned unchanged."""
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


@lru_cache(maxsize=65536)
def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _affects(record: Mapping[str, Any], key: tuple[str, str], version: str) -> bool:
    """OSV matching: the version is listed in ``versions``, or falls in an ECOSYSTEM /
    SEMVER range (compared with PEP 440 for PyPI; other ecosystems match by list only).
    GIT ranges are ignored: the ``versions`` list is their ecosystem rendering."""
    wanted = _version(version) if key[0] == PYPI else None
    for affected in record.get("affected") or []:
        if not isinstance(affected, dict):
            continue
        pkg = affected.get("package")
        if not isinstance(pkg, dict) or _package_key(pkg.get("ecosystem"), pkg.get("name")) != key:
            continue
        for listed in affected.get("versions") or []:
            if listed == version or (wanted is not None and _version(listed) == wanted):
                return True
        if wanted is None:
            continue
        for rng in affected.get("ranges") or []:
            if (isinstance(rng, dict) and rng.get("type") in ("ECOSYSTEM", "SEMVER")
                    and _in_range(rng.get("events") or [], wanted)):
                return True
    return False


def _in_range(events: list[Any], version: Version) -> bool:
    """The OSV schema's evaluation: walk events in version order; 'introduced' opens,
    'fixed' (v >= fixed) and 'last_affected' (v > last) close, 'limit' bounds."""
    parsed: list[tuple[Version | None, str]] = []
    for event in events:
        if not isinstance(event, dict):
            continue
        for kind in ("introduced", "fixed", "last_affected", "limit"):
            if kind in event:
                raw = str(event[kind])
                if kind == "introduced" and raw == "0":
                    parsed.append((None, kind))
                elif (v := _version(raw)) is not None:
                    parsed.append((v, kind))
                elif kind == "introduced":
                    return False  # cannot place the range; the versions list still applies
    parsed.sort(key=lambda e: (e[0] is not None, e[0] or Version("0")))
    limits = [v for v, kind in parsed if kind == "limit" and v is not None]
    if any(version >= limit for limit in limits):
        return False
    affected = False
    for v, kind in parsed:
        if kind == "introduced" and (v is None or version >= v):
            affected = True
        elif v is not None and (
            (kind == "fixed" and version >= v) or (kind == "last_affected" and version > v)
        ):
            affected = False
    return affected


class _BadQuery(Exception):
    pass


def _package_query(index: AdvisoryIndex, query: object) -> list[dict[str, Any]]:
    if not isinstance(query, dict):
        raise _BadQuery("query is not an object")
    pkg = query.get("package")
    version = query.get("version")
    if not isinstance(pkg, dict):
        raise _BadQuery("only package queries are supported (no 'package' object)")
    name, ecosystem = pkg.get("name"), pkg.get("ecosystem")
    if "purl" in pkg and name is None:
        raise _BadQuery("purl queries are not supported; send name and ecosystem")
    if not isinstance(name, str) or not isinstance(ecosystem, str):
        raise _BadQuery("package needs string 'name' and 'ecosystem'")
    if version is not None and not isinstance(version, str):
        raise _BadQuery("'version' must be a string")
    return index.query(ecosystem, name, version)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    index: AdvisoryIndex


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: pip-audit sends one request per package
    server_version = "policy-gate-osv/1"

    def do_POST(self) -> None:
        index = cast(_Server, self.server).index
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(413 if length > 0 else 411, _error("bad or missing Content-Length"))
            return
        body = self.rfile.read(length)
        try:
            payload = json.loads(body or b"null")
            route = self.path.split("?", 1)[0]
            if route == "/v1/query":
                vulns = _package_query(index, payload)
                self._send(200, {"vulns": vulns} if vulns else {})
            elif route == "/v1/querybatch":
                queries = payload.get("queries") if isinstance(payload, dict) else None
                if not isinstance(queries, list) or len(queries) > MAX_BATCH:
                    raise _BadQuery(f"'queries' must be a list of at most {MAX_BATCH}")
                results = []
                for q in queries:
                    found = _package_query(index, q)
                    results.append(
                        {"vulns": [{"id": v["id"], "modified": v.get("modified")} for v in found]}
                        if found else {}
                    )
                self._send(200, {"results": results})
            else:
                self._send(404, _error(f"no such endpoint: {route}", code=5))
        except (ValueError, _BadQuery) as exc:
            self._send(400, _error(str(exc)))

    def do_GET(self) -> None:
        index = cast(_Server, self.server).index
        route = self.path.split("?", 1)[0]
        if route.startswith("/v1/vulns/"):
            record = index.records.get(route.removeprefix("/v1/vulns/"))
            if record is not None:
                self._send(200, record)
                return
        self._send(404, _error("not found", code=5))

    def _send(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a scan's terminal output is the gate's, not an access log."""


def _error(message: str, code: int = 3) -> dict[str, object]:
    return {"code": code, "message": message}  # the shape osv.dev errors have


class OSVServer:
    """Serve an index on 127.0.0.1 at an ephemeral port, from a daemon thread."""

    def __init__(self, index: AdvisoryIndex, host: str = "127.0.0.1", port: int = 0) -> None:
        self.index = index
        self._httpd = _Server((host, port), _Handler)
        self._httpd.index = index
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def query_url(self) -> str:
        """What pip-audit's ``--osv-url`` wants."""
        return f"{self.base_url}/v1/query"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="policy-gate-osv", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> OSVServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


@contextmanager
def serve_advisories(source: Path | str | AdvisoryIndex) -> Iterator[str]:
    """``--advisories PATH``: load the database, serve it for the block, yield the
    query URL to hand to pip-audit (``ScanContext.osv_url``)."""
    index = source if isinstance(source, AdvisoryIndex) else AdvisoryIndex.load(source)
    with OSVServer(index) as server:
        yield server.query_url
