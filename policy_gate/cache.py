"""The results cache: what a scanner said about content it has already seen.

A directory (``--cache-dir``; ``actions/cache`` can keep it between runs) of JSON entries,
each addressed by a SHA-256 key over everything the answer depends on:

* the entry format and policy-gate's version (the adapters that parse the tool's output);
* the scanner, the tool's version, the scanner's settings from the policy (options, file
  size limit) and what else the scanner names (semgrep: the bytes of every rule file;
  the audits: the bytes of the advisory database; the licence check: the policy's
  licence section; card-number hashing: a digest of its key);
* and the content: for a scanner whose answer about a file depends on that file alone
  (``Scanner.file_local``) one entry per file, keyed by its path and SHA-256, so a change
  to one file rescans that file only; for the others one entry per run, keyed by the path
  and SHA-256 of every file the scanner reads (its ``targets``).

A scanner that depends on more than it can name (an online advisory service; coverage
reports that describe other files) says so with ``Scanner.cacheable`` and always runs.

Entries are written atomically and carry a digest of their payload: a corrupt or foreign
entry is a miss, never a result. The cache is an input the workflow trusts, like the
policy: restore it from runs of the protected branch (see docs/caching.md), so that a pull
request cannot seed answers for its own files.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from policy_gate.advisories.database import DatabaseInfo, documents
from policy_gate.dependencies.inventory import Package
from policy_gate.fileset import TreeFileError, read_tree_file
from policy_gate.findings import Confidence, DependencyInfo, Finding, SecretInfo, Severity, Source
from policy_gate.process import find_tool
from policy_gate.scanners.interface import DEFAULT_MAX_FILE_BYTES, ScanContext, Scanner, ScanOutput

FORMAT = 1


@dataclass
class CacheUse:
    """How a scanner's answer was obtained, for every report (the JSON `cache` field)."""

    files_from_cache: int = 0
    files_scanned: int = 0
    run_from_cache: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "files_from_cache": self.files_from_cache,
            "files_scanned": self.files_scanned,
            "run_from_cache": self.run_from_cache,
        }


class ResultsCache:
    """A directory of content-addressed entries; every method is safe from many threads
    (each entry is its own file, replaced atomically)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.root = directory / f"v{FORMAT}"
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Content digests of this run, shared by every scanner that reads the same file.
        self._digests: dict[tuple[Path, int], str | None] = {}
        self._lock = threading.Lock()

    def digest(self, path: Path, limit: int) -> str | None:
        with self._lock:
            if (path, limit) in self._digests:
                return self._digests[(path, limit)]
        value = file_digest(path, limit)
        with self._lock:
            self._digests[(path, limit)] = value
        return value

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.json"

    def get(self, kind: str, key: str) -> Any | None:
        try:
            entry = json.loads(self._path(kind, key).read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        payload = entry.get("payload")
        if entry.get("digest") != _digest(payload):
            return None
        return payload

    def put(self, kind: str, key: str, payload: Any) -> None:
        path = self._path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {"key": key, "digest": _digest(payload), "payload": payload}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entry, handle, separators=(",", ":"))
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def advisory_info(self, digest: str) -> DatabaseInfo | None:
        """What the advisory database with this content says about itself (its age decides
        whether it may be used at all), without loading it."""
        data = self.get("advisory-info", digest)
        if not isinstance(data, dict):
            return None
        try:
            newest = data["newest"]
            return DatabaseInfo(
                source=str(data["source"]),
                records=int(data["records"]),
                withdrawn=int(data["withdrawn"]),
                newest=datetime.fromisoformat(newest) if newest else None,
            )
        except (KeyError, TypeError, ValueError):
            return None

    def put_advisory_info(self, digest: str, info: DatabaseInfo) -> None:
        self.put("advisory-info", digest, {
            "source": info.source,
            "records": info.records,
            "withdrawn": info.withdrawn,
            "newest": info.newest.isoformat() if info.newest else None,
        })

    def database_digest(self, path: Path) -> str:
        """The advisory database's content digest, read again only when a file in it
        changed (name, size, mtime or ctime): hashing 14 MB of YAML would otherwise be
        most of a warm run."""
        try:
            stats = _stat_listing(path)
        except OSError:
            return tree_digest(documents(path))  # let reading it fail, or succeed, as usual
        key = sha256_json(["advisory-db", str(path.resolve()), stats])
        known = self.get("advisory-db", key)
        if isinstance(known, str) and len(known) == 64:
            return known
        digest = tree_digest(documents(path))
        self.put("advisory-db", key, digest)
        return digest

    def tool_version(self, scanner: Scanner, ctx: ScanContext) -> str:
        """The tool's version without starting it when the executable is unchanged since
        it was last asked (semgrep's `--version` alone costs ~1.5 CPU-s)."""
        exe = find_tool(scanner.executable) if scanner.executable else None
        if exe is None:
            return scanner.version(ctx)  # in-process, or missing: let it fail as usual
        try:
            real = Path(exe).resolve()
            st = real.stat()
        except OSError:
            return scanner.version(ctx)
        key = sha256_json(["version", scanner.name, str(real), st.st_size, st.st_mtime_ns])
        known = self.get("version", key)
        if isinstance(known, str) and known:
            return known
        version = scanner.version(ctx)
        self.put("version", key, version)
        return version


@dataclass(frozen=True)
class _Keys:
    version: str
    base: str  # everything but the content
    targets: tuple[str, ...]
    digests: dict[str, str | None]  # target -> SHA-256, None if unreadable
    run: str


def _keys(cache: ResultsCache, scanner: Scanner, ctx: ScanContext) -> _Keys:
    version = cache.tool_version(scanner, ctx)
    base = sha256_json({
        "format": FORMAT,
        "gate": gate_digest(),
        "scanner": scanner.name,
        "version": version,
        "options": dict(ctx.settings.options),
        "inputs": dict(scanner.cache_inputs(ctx)),
        "advisories": ctx.advisory_digest,
    })
    targets = scanner.targets(ctx.fileset)
    limit = int(ctx.settings.options.get("max_file_bytes", DEFAULT_MAX_FILE_BYTES))
    digests = {rel: cache.digest(ctx.root / rel, limit) for rel in targets}
    run = sha256_json([base, sorted(digests.items(), key=lambda kv: kv[0])])
    return _Keys(version, base, targets, digests, run)


def has_run(cache: ResultsCache, scanner: Scanner, ctx: ScanContext) -> bool:
    """Whether the whole answer for ``ctx`` is in the cache (then what it needs, such as
    the advisory database, need not be loaded)."""
    return cache.get("run", _keys(cache, scanner, ctx).run) is not None


def cached_scan(
    cache: ResultsCache, scanner: Scanner, ctx: ScanContext, use: CacheUse
) -> ScanOutput:
    """The scanner's answer for ``ctx``, from the cache where the inputs are unchanged and
    from the scanner for the rest; what the scanner says is stored for next time."""
    keys = _keys(cache, scanner, ctx)
    version, base, targets, digests, run_key = (
        keys.version, keys.base, keys.targets, keys.digests, keys.run
    )
    stored = cache.get("run", run_key)
    if stored is not None:
        try:
            output = decode_output(stored)
        except (KeyError, TypeError, ValueError):
            output = None
        if output is not None:
            use.run_from_cache = True
            use.files_from_cache = len(targets)
            return output
    if not scanner.file_local:
        output = scanner.scan(ctx)
        use.files_scanned = len(targets)
        cache.put("run", run_key, encode_output(output))
        return output

    file_keys = {rel: sha256_json([base, rel, d]) for rel, d in digests.items() if d}
    hits: dict[str, dict[str, Any]] = {}
    for rel, key in file_keys.items():
        entry = cache.get("file", key)
        if isinstance(entry, dict):
            hits[rel] = entry
    misses = tuple(rel for rel in targets if rel not in hits)
    if not misses and targets:
        new = ScanOutput([], version, 0, 0)  # every file known: the tool need not start
    else:
        new = scanner.scan(replace(ctx, fileset=ctx.fileset.only(misses)) if hits else ctx)
    use.files_from_cache, use.files_scanned = len(hits), len(misses)
    by_path: dict[str, list[Finding]] = {rel: [] for rel in misses}
    attributable = new.files_scanned == len(misses) - len(set(new.unread))
    for finding in new.findings:
        if finding.path not in by_path:
            attributable = False  # a finding about no file of this run: cannot be split up
            break
        by_path[finding.path].append(finding)
    if attributable:
        unread = set(new.unread)
        for rel in misses:
            if rel in file_keys:
                cache.put("file", file_keys[rel], {
                    "findings": [encode_finding(f) for f in by_path[rel]],
                    "read": rel not in unread,
                    "note": new.file_notes.get(rel),
                })
    try:
        from_cache = [decode_finding(f) for entry in hits.values() for f in entry["findings"]]
    except (KeyError, TypeError, ValueError):  # an entry of another shape: scan everything
        hits = {}
        new = scanner.scan(ctx)
        use.files_from_cache, use.files_scanned = 0, len(targets)
        from_cache = []
    output = ScanOutput(
        findings=[*from_cache, *new.findings],
        version=new.version,
        raw_results=new.raw_results + sum(len(f.sources) for f in from_cache),
        files_scanned=new.files_scanned + sum(1 for e in hits.values() if e.get("read")),
        notes=list(new.notes),
        inventory=list(new.inventory),
        not_checked=new.not_checked,
        unread=(*new.unread, *(rel for rel, e in hits.items() if not e.get("read"))),
        file_notes={
            **{rel: e["note"] for rel, e in hits.items() if isinstance(e.get("note"), str)},
            **new.file_notes,
        },
    )
    if attributable:
        cache.put("run", run_key, encode_output(output))
    return output


@functools.cache
def gate_digest() -> str:
    """policy-gate's own code and data (adapters, rules): a changed adapter must not be
    answered from what the old one parsed, whatever the version number says."""
    package = Path(__file__).resolve().parent
    files = sorted(p for p in package.rglob("*") if p.is_file() and p.suffix != ".pyc")
    return tree_digest((str(p.relative_to(package)), p.read_bytes()) for p in files)


def summarise_file_notes(file_notes: Mapping[str, str]) -> list[str]:
    """'1212 binary files not scanned for secrets …': one note per kind, with a count."""
    return [f"{count} {text}" for text, count in sorted(Counter(file_notes.values()).items())]


def file_digest(path: Path, limit: int) -> str | None:
    """SHA-256 of a regular file of the tree (never through a link); None when it cannot be
    read within the limit, so that the scanner itself decides and reports on it."""
    try:
        return hashlib.sha256(read_tree_file(path, limit)).hexdigest()
    except TreeFileError:
        return None


def _stat_listing(root: Path) -> list[tuple[str, int, int, int]]:
    """(relative name, size, mtime, ctime) of a file or of every file under a directory
    (links not followed), in a stable order."""
    def entry(path: Path, name: str) -> tuple[str, int, int, int]:
        st = path.lstat()
        return (name, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    if not root.is_dir():
        return [entry(root, root.name)]
    listing = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(dirpath, filename)
            listing.append(entry(path, path.relative_to(root).as_posix()))
    return listing


def tree_digest(entries: Iterable[tuple[str, bytes]]) -> str:
    """One SHA-256 over named documents (an advisory database, a rule directory)."""
    digest = hashlib.sha256()
    for name, data in entries:
        digest.update(name.encode("utf-8", "surrogateescape") + b"\x00")
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def sha256_json(value: Any) -> str:
    return hashlib.sha256(
        json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def _digest(payload: Any) -> str:
    return sha256_json(payload)


# --- entries: ScanOutput, Finding and Package as JSON, losslessly ---------------------------


def encode_output(output: ScanOutput) -> dict[str, Any]:
    return {
        "findings": [encode_finding(f) for f in output.findings],
        "version": output.version,
        "raw_results": output.raw_results,
        "files_scanned": output.files_scanned,
        "notes": list(output.notes),
        "inventory": [_plain(p) for p in output.inventory],
        "not_checked": output.not_checked,
        "unread": list(output.unread),
        "file_notes": dict(output.file_notes),
    }


def decode_output(data: dict[str, Any]) -> ScanOutput:
    return ScanOutput(
        findings=[decode_finding(f) for f in data["findings"]],
        version=str(data["version"]),
        raw_results=int(data["raw_results"]),
        files_scanned=int(data["files_scanned"]),
        notes=[str(n) for n in data["notes"]],
        inventory=[_package(p) for p in data["inventory"]],
        not_checked=str(data["not_checked"]),
        unread=tuple(str(u) for u in data["unread"]),
        file_notes={str(k): str(v) for k, v in data["file_notes"].items()},
    )


def encode_finding(finding: Finding) -> dict[str, Any]:
    data = _plain(finding)
    data["sources"] = [
        {
            **_plain(s),
            "severity": s.severity.name if s.severity is not None else None,
            "confidence": s.confidence.name if s.confidence is not None else None,
        }
        for s in finding.sources
    ]
    return data


def decode_finding(data: dict[str, Any]) -> Finding:
    values = dict(data)
    values["sources"] = tuple(
        Source(
            scanner=s["scanner"],
            rule_id=s["rule_id"],
            severity=Severity[s["severity"]] if s["severity"] is not None else None,
            confidence=Confidence[s["confidence"]] if s["confidence"] is not None else None,
            message=s["message"],
        )
        for s in data["sources"]
    )
    values["cwe"] = tuple(data["cwe"])
    if data["secret"] is not None:
        values["secret"] = SecretInfo(**data["secret"])
    if data["dependency"] is not None:
        dep = dict(data["dependency"])
        for name in ("fixed_versions", "aliases", "path"):
            dep[name] = tuple(dep[name])
        values["dependency"] = DependencyInfo(**dep)
    return Finding(**values)


def _package(data: dict[str, Any]) -> Package:
    return Package(**{**data, "path": tuple(data["path"])})


def _plain(obj: Any) -> dict[str, Any]:
    """A slotted dataclass's fields, nested dataclasses as dicts, tuples as lists."""
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if hasattr(value, "__dataclass_fields__"):
            value = _plain(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


__all__ = [
    "CacheUse",
    "ResultsCache",
    "cached_scan",
    "file_digest",
    "has_run",
    "sha256_json",
    "summarise_file_notes",
    "tree_digest",
]
