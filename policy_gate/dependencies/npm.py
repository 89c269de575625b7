"""npm dependency lockfiles, read as data: every installed package, direct or transitive.

Supported: ``package-lock.json`` / ``npm-shrinkwrap.json`` lockfileVersion 1, 2 and 3, and
``yarn.lock`` v1 (classic) and v2+ (berry, which is YAML). Nothing from the tree is run:
no npm, no yarn, no install scripts. ``package.json`` is read as JSON data only, to learn
which dependencies are direct (lockfile v1 and yarn.lock do not say).

Every lockfile is turned into one graph (nodes = installed package instances, edges =
"depends on, resolved to"), then into :class:`Package` records:

- ``direct``: the package is what the root (or a workspace) declares in ``dependencies``,
  ``devDependencies``, ``optionalDependencies`` or ``peerDependencies``;
- ``path``: the shortest chain of ``name@version`` from a direct dependency down to the
  package (breadth-first over the graph, so a hoisted package gets its shortest path);
  a package no direct dependency reaches gets its ``node_modules`` nesting chain;
- ``dev`` / ``optional`` / ``peer``: npm lockfiles v2+ record them; for v1 they come from
  the entry, and for yarn they are computed from the graph (dev = not reachable from a
  production dependency; optional = reachable only through optional edges).

npm's ``devOptional`` (a dev dependency that is also an optional dependency of a
production package) is reported as ``optional`` and **not** ``dev``: it can be installed
in production, so it must not get a dev-only leniency.

The yarn.lock v1 format has no maintained, typed parser on PyPI (``pyarn`` and
``yarnlock`` are small, untyped, rarely released), so this module parses it itself,
strictly: an indentation or syntax it does not know is an error, never a guess.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policy_gate.base import jsontext, yamlsafe
from policy_gate.base.fileset import FileSet
from policy_gate.base.treefile import TreeFileError, read_tree_file
from policy_gate.dependencies.npm_registry import declared_license
from policy_gate.packages import NPM, Package

PACKAGE_LOCK = "package-lock.json"
SHRINKWRAP = "npm-shrinkwrap.json"
YARN_LOCK = "yarn.lock"
LOCKFILE_NAMES = (PACKAGE_LOCK, SHRINKWRAP, YARN_LOCK)
PACKAGE_JSON = "package.json"
# Lockfiles of package managers this module cannot read: found, reported, never skipped.
UNSUPPORTED_LOCKFILES = {
    "pnpm-lock.yaml": "pnpm",
    "bun.lock": "bun",
    "bun.lockb": "bun",
}
MAX_LOCKFILE_BYTES = 256 * 1024 * 1024
DEP_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
_NM = "node_modules/"


class LockfileError(Exception):
    """A lockfile that cannot be read completely: auditing part of it would be a false
    "no known vulnerabilities", so the scanner reports it as ``unscanned``."""

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        super().__init__(f"{path}{f':{line}' if line else ''}: {reason}")
        self.path = path
        self.reason = reason
        self.line = line


def find_lockfiles(fileset: FileSet) -> tuple[str, ...]:
    """npm and yarn lockfiles in the file set, not inside ``node_modules``. Where a
    directory has both ``npm-shrinkwrap.json`` and ``package-lock.json``, npm uses the
    shrinkwrap and ignores the other, and so does this."""
    found = [
        f for f in fileset.named(LOCKFILE_NAMES)
        if "node_modules" not in f.split("/")[:-1]
    ]
    shrinkwrapped = {f.rsplit("/", 1)[0] if "/" in f else "" for f in found
                     if f.rsplit("/", 1)[-1] == SHRINKWRAP}
    return tuple(
        f for f in found
        if not (f.rsplit("/", 1)[-1] == PACKAGE_LOCK
                and (f.rsplit("/", 1)[0] if "/" in f else "") in shrinkwrapped)
    )


def _parent(rel: str) -> str:
    return rel.rsplit("/", 1)[0] if "/" in rel else ""


def _in_node_modules(rel: str) -> bool:
    return "node_modules" in rel.split("/")[:-1]


def find_manifests(fileset: FileSet) -> tuple[str, ...]:
    """Everything npm-shaped the audit must account for: the lockfiles it reads, and what
    it finds but cannot audit (a lockfile that is a symbolic link or of another package
    manager, a ``package.json`` that no lockfile in its directory or above pins)."""
    return tuple(sorted({*find_lockfiles(fileset), *(rel for rel, _r, _f in
                                                     unauditable(fileset)),
                         *lockless_manifests(fileset)}))


def unauditable(fileset: FileSet) -> list[tuple[str, str, str]]:
    """(path, why it cannot be audited, how to fix that) for each lockfile found that is
    not read: a symbolic link (never followed) or another package manager's format."""
    out = []
    for rel in fileset.symlinks:
        if rel.rsplit("/", 1)[-1] in LOCKFILE_NAMES and not _in_node_modules(rel):
            out.append((rel, "it is a symbolic link, and links are never followed",
                        "Commit the lockfile itself in place of the link."))
    for rel in (*fileset.named(UNSUPPORTED_LOCKFILES), *(
            f for f in fileset.symlinks if f.rsplit("/", 1)[-1] in UNSUPPORTED_LOCKFILES)):
        if _in_node_modules(rel):
            continue
        tool = UNSUPPORTED_LOCKFILES[rel.rsplit("/", 1)[-1]]
        out.append((rel, f"{tool} lockfiles are not supported (only package-lock.json, "
                         "npm-shrinkwrap.json and yarn.lock are read)",
                    f"Also commit a package-lock.json ({tool} can write one), or audit this "
                    "project with a tool that reads its lockfile."))
    return sorted(set(out))


def lockless_manifests(fileset: FileSet) -> tuple[str, ...]:
    """``package.json`` files (outside ``node_modules``) with no lockfile of any kind in
    their directory or a directory above it (a workspace's lockfile is at its root):
    what they declare is resolved at install time, and nothing pins it."""
    locked = {_parent(f) for f in (*fileset.named((*LOCKFILE_NAMES, *UNSUPPORTED_LOCKFILES)),
                                   *fileset.symlinks)
              if f.rsplit("/", 1)[-1] in (*LOCKFILE_NAMES, *UNSUPPORTED_LOCKFILES)}
    out = []
    for rel in fileset.named((PACKAGE_JSON,)):
        if _in_node_modules(rel):
            continue
        parts = rel.split("/")[:-1]
        if not any("/".join(parts[:i]) in locked for i in range(len(parts) + 1)):
            out.append(rel)
    return tuple(out)


def declared_dependencies(root: Path, rel: str) -> int:
    """How many dependencies a ``package.json`` declares (all four kinds). Raises
    LockfileError when it cannot be read."""
    manifest = _read_manifest(root, rel)
    return len(manifest.deps) if manifest is not None else 0


def read_text(root: Path, rel: str, limit: int = MAX_LOCKFILE_BYTES) -> str:
    """A file of the tree as npm reads it (:func:`jsontext.decode_like_node`), never
    through a symbolic link and never more than ``limit`` bytes. Raises LockfileError."""
    try:
        data = read_tree_file(root / rel, limit)
    except TreeFileError as exc:
        raise LockfileError(rel, f"cannot be read ({exc})") from None
    return jsontext.decode_like_node(data)


def parse_lockfile(root: Path, rel: str) -> list[Package]:
    """Every package the lockfile at ``root/rel`` installs. Raises LockfileError."""
    return _graph(root, rel).packages(rel)


def locate_lockfile(root: Path, rel: str) -> list[tuple[Package, str]]:
    """:func:`parse_lockfile`, each package with its ``node_modules`` location relative to
    the lockfile's directory (see ``_Graph.located``). Raises LockfileError."""
    return _graph(root, rel).located(rel)


def _graph(root: Path, rel: str) -> _Graph:
    text = read_text(root, rel)
    manifest = _sibling_manifest(root, rel)
    if rel.rsplit("/", 1)[-1] == YARN_LOCK:
        if _is_berry(text):
            graph = _yarn_berry(rel, text, manifest)
        else:
            graph = _yarn_classic(rel, text, manifest)
    else:
        graph = _package_lock(rel, text, manifest)
    return graph


# --- the common graph ---------------------------------------------------------------


@dataclass
class _Node:
    key: str  # node_modules location (npm) or resolution (yarn)
    name: str  # the real package name (npm aliases resolved)
    version: str
    line: int | None = None
    dev: bool = False
    optional: bool = False
    peer: bool = False
    license: str | None = None
    edges: list[tuple[str, str]] = field(default_factory=list)  # (key, edge kind)
    parent: str | None = None  # the node it is nested under (npm), for the fallback path

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass
class _Graph:
    nodes: dict[str, _Node]
    starts: list[str] | None  # direct dependency node keys; None: unknown
    # yarn: compute dev/optional/peer from the graph instead of trusting the entries
    infer_flags: bool = False
    dev_starts: frozenset[str] = frozenset()
    optional_starts: frozenset[str] = frozenset()
    peer_starts: frozenset[str] = frozenset()

    def packages(self, manifest: str) -> list[Package]:
        return [pkg for pkg, _key in self.located(manifest)]

    def located(self, manifest: str) -> list[tuple[Package, str]]:
        """Every package with where npm installs it, relative to the lockfile's directory
        (yarn does not say: the top-level ``node_modules/<name>`` is where it would be
        hoisted to)."""
        paths = self._shortest_paths()
        if self.infer_flags and self.starts is not None:
            self._infer_flags()
        direct = set(self.starts or ())
        out: list[tuple[Package, str]] = []
        for key in sorted(self.nodes, key=lambda k: (self.nodes[k].line or 0, k)):
            node = self.nodes[key]
            path = paths.get(key) or self._nesting_path(key)
            where = key if key.startswith(_NM) or ("/" + _NM) in key else _NM + node.name
            out.append((
                Package(
                    ecosystem=NPM,
                    name=node.name,
                    version=node.version,
                    manifest=manifest,
                    line=node.line,
                    direct=None if self.starts is None else key in direct,
                    dev=node.dev,
                    optional=node.optional,
                    peer=node.peer,
                    path=path,
                    license=node.license,
                ),
                where,
            ))
        return out

    def _shortest_paths(self) -> dict[str, tuple[str, ...]]:
        paths: dict[str, tuple[str, ...]] = {}
        queue: deque[str] = deque()
        for key in sorted(self.starts or (), key=lambda k: self.nodes[k].ref):
            if key not in paths:
                paths[key] = (self.nodes[key].ref,)
                queue.append(key)
        while queue:
            key = queue.popleft()
            for child, _kind in sorted(self.nodes[key].edges):
                if child not in paths:
                    paths[child] = (*paths[key], self.nodes[child].ref)
                    queue.append(child)
        return paths

    def _nesting_path(self, key: str) -> tuple[str, ...]:
        chain: list[str] = []
        current: str | None = key
        while current is not None and current in self.nodes and len(chain) < 1000:
            chain.append(self.nodes[current].ref)
            current = self.nodes[current].parent
        return tuple(reversed(chain))

    def _reach(self, starts: Iterable[str], kinds: frozenset[str] | None = None) -> set[str]:
        seen = set(starts)
        queue = deque(seen)
        while queue:
            for child, kind in self.nodes[queue.popleft()].edges:
                if child not in seen and (kinds is None or kind in kinds):
                    seen.add(child)
                    queue.append(child)
        return seen

    def _infer_flags(self) -> None:
        starts = set(self.starts or ())
        prod = self._reach(starts - self.dev_starts)
        required = self._reach(
            starts - self.dev_starts - self.optional_starts, frozenset({"dep", "peer"})
        )
        dev_required = self._reach(starts - self.optional_starts, frozenset({"dep", "peer"}))
        non_peer = self._reach(starts - self.peer_starts, frozenset({"dep", "optional"}))
        reached = self._reach(starts)  # once: per node it made a large lockfile quadratic
        for key, node in self.nodes.items():
            node.dev = key not in prod
            node.optional = key not in (dev_required if node.dev else required)
            node.peer = key not in non_peer and key in reached


# --- package-lock.json / npm-shrinkwrap.json ----------------------------------------


class _LineFinder:
    """Where ``"key": {`` first occurs at or after a cursor. Lockfiles are written in
    document order, so searching forward in traversal order finds each entry's line."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.cursor = 0

    def find(self, key: str) -> int | None:
        needle = json.dumps(key) + ":"
        for i in range(self.cursor, len(self.lines)):
            stripped = self.lines[i].lstrip()
            if stripped.startswith(needle) and stripped[len(needle):].lstrip().startswith("{"):
                self.cursor = i + 1
                return i + 1
        return None


def _json(rel: str, text: str) -> Any:
    """A JSON document from the tree; anything json refuses is the file's fault."""
    try:
        return jsontext.loads(text, surrogates="replace")  # as node's JSON.parse does
    except json.JSONDecodeError as exc:
        raise LockfileError(rel, f"not valid JSON ({exc.msg})", exc.lineno) from None
    except ValueError as exc:
        raise LockfileError(rel, f"not valid JSON ({exc})") from None


def _package_lock(rel: str, text: str, manifest: _Manifest | None) -> _Graph:
    doc = _json(rel, text)
    if not isinstance(doc, dict):
        raise LockfileError(rel, "not a JSON object")
    version = doc.get("lockfileVersion")
    if version == 1:
        return _lock_v1(rel, text, doc, manifest)
    if version in (2, 3):
        return _lock_v2(rel, text, doc)
    raise LockfileError(rel, f"unsupported lockfileVersion {version!r} (supported: 1, 2, 3)")


def _str_map(rel: str, obj: Any, where: str) -> dict[str, str]:
    if obj is None:
        return {}
    if not isinstance(obj, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in obj.items()
    ):
        raise LockfileError(rel, f"{where} is not a map of names to version ranges")
    return dict(obj)


def _bare_name(location: str) -> str:
    return location.rsplit(_NM, 1)[-1]


def _parent_location(location: str) -> str:
    """``node_modules/a/node_modules/b`` -> ``node_modules/a``; top level -> ``""``."""
    head, sep, _tail = location.rpartition("/" + _NM)
    if sep:
        return head
    if location.startswith(_NM):
        return ""
    return ""  # a workspace directory hangs off the root


def _resolve(nodes: Mapping[str, Any], location: str, name: str) -> str | None:
    """npm's lookup: ``<loc>/node_modules/<name>``, then each ancestor's, then the root's."""
    current = location
    while True:
        candidate = f"{current}/{_NM}{name}" if current else f"{_NM}{name}"
        if candidate in nodes:
            return candidate
        if not current:
            return None
        current = _parent_location(current)


def _lock_v2(rel: str, text: str, doc: dict[str, Any]) -> _Graph:
    packages = doc.get("packages")
    if not isinstance(packages, dict):
        raise LockfileError(rel, "lockfileVersion 2/3 without a 'packages' object")
    lines = _LineFinder(text)
    entries: dict[str, dict[str, Any]] = {}
    for location, entry in packages.items():
        if not isinstance(entry, dict):
            raise LockfileError(rel, f"packages[{location!r}] is not an object")
        entries[location] = entry
    # Workspaces: the root and every non-node_modules location are the project's own
    # code; their declared dependencies are the direct ones.
    workspaces = [loc for loc in entries if loc == "" or not (
        loc.startswith(_NM) or ("/" + _NM) in loc)]
    nodes: dict[str, _Node] = {}
    for location, entry in entries.items():
        line = lines.find(location) if location else None
        if location in workspaces or entry.get("link"):
            continue  # the project's own code, or a symlink to a workspace
        version = entry.get("version")
        if not isinstance(version, str) or not version:
            raise LockfileError(rel, f"packages[{location!r}] has no version", line)
        name = entry.get("name")
        nodes[location] = _Node(
            key=location,
            name=name if isinstance(name, str) and name else _bare_name(location),
            version=version,
            line=line,
            dev=entry.get("dev") is True,
            optional=entry.get("optional") is True or entry.get("devOptional") is True,
            peer=entry.get("peer") is True,
            license=declared_license(entry.get("license")),
            parent=_parent_location(location) or None,
        )
    # Links point at workspace dirs; a dependency resolved to a link is followed there.
    links = {
        loc: str(entry.get("resolved"))
        for loc, entry in entries.items() if entry.get("link") and loc not in workspaces
    }

    def target(location: str, dep: str) -> str | None:
        found = _resolve(entries, location, dep)
        return None if found is None else links.get(found, found)

    def edges(location: str, entry: Mapping[str, Any]) -> list[tuple[str, str]]:
        out = []
        for fld, kind in (("dependencies", "dep"), ("optionalDependencies", "optional"),
                          ("peerDependencies", "peer"), ("devDependencies", "dev")):
            if fld == "devDependencies" and location not in workspaces:
                continue  # an installed package's dev deps are not installed
            for dep in _str_map(rel, entry.get(fld), f"packages[{location!r}].{fld}"):
                found = target(location, dep)
                if found is not None and found in nodes:
                    out.append((found, kind))
                elif found in workspaces and found != location:
                    out.append((found, kind))  # via a workspace: expanded below
        return out

    for location, node in nodes.items():
        node.edges = edges(location, entries[location])
    starts: set[str] = set()
    pending, visited = [""], set()
    while pending:  # the root and the workspaces it reaches: their deps are direct
        current = pending.pop()
        if current in visited:
            continue
        visited.add(current)
        # (a lockfile without its root entry "" declares no direct dependency there)
        for key, _kind in edges(current, entries.get(current, {})):
            if key in workspaces:
                pending.append(key)
            else:
                starts.add(key)
    for ws in workspaces:  # workspaces not linked from the root are projects too
        if ws not in visited:
            starts.update(key for key, _kind in edges(ws, entries[ws]) if key in nodes)
    for node in nodes.values():
        node.edges = [(k, kind) for k, kind in node.edges if k in nodes]
    return _Graph(nodes, sorted(starts))


def _lock_v1(rel: str, text: str, doc: dict[str, Any], manifest: _Manifest | None) -> _Graph:
    """v1: nested ``dependencies`` mirror ``node_modules``; ``requires`` are the edges."""
    lines = _LineFinder(text)
    nodes: dict[str, _Node] = {}
    requires: dict[str, dict[str, str]] = {}
    entries: dict[str, object] = {}

    def visit(deps: object, parent: str, where: str) -> None:
        if deps is None:
            return
        if not isinstance(deps, dict):
            raise LockfileError(rel, f"{where} is not an object")
        for name, entry in deps.items():
            location = f"{parent}/{_NM}{name}" if parent else f"{_NM}{name}"
            line = lines.find(name)
            if not isinstance(entry, dict):
                raise LockfileError(rel, f"{where}[{name!r}] is not an object", line)
            version = entry.get("version")
            if not isinstance(version, str) or not version:
                raise LockfileError(rel, f"{where}[{name!r}] has no version", line)
            entries[location] = entry
            if not version.startswith("file:"):  # a local directory, not a package
                real = name
                if version.startswith("npm:"):  # an alias: npm:real-name@1.2.3
                    real, _, version = version[4:].rpartition("@")
                nodes[location] = _Node(
                    key=location, name=real or name, version=version, line=line,
                    dev=entry.get("dev") is True, optional=entry.get("optional") is True,
                    parent=parent or None,
                )
                requires[location] = _str_map(rel, entry.get("requires"),
                                              f"{where}[{name!r}].requires")
            visit(entry.get("dependencies"), location, f"{where}[{name!r}].dependencies")

    visit(doc.get("dependencies"), "", "dependencies")
    for location, reqs in requires.items():
        for dep in reqs:
            found = _resolve(entries, location, dep)
            if found in nodes:
                nodes[location].edges.append((found, "dep"))
    if manifest is None:
        return _Graph(nodes, None)
    starts = [f"{_NM}{name}" for name in manifest.deps if f"{_NM}{name}" in nodes]
    for name in manifest.peer:
        if f"{_NM}{name}" in nodes:
            nodes[f"{_NM}{name}"].peer = True
    return _Graph(nodes, sorted(starts))


# --- package.json -------------------------------------------------------------------


@dataclass(frozen=True)
class _Manifest:
    deps: dict[str, str]  # name -> range, all four kinds
    dev: frozenset[str]
    optional: frozenset[str]
    peer: frozenset[str]


def manifest_path(rel: str) -> str:
    """Where the package.json a lockfile is read with lies: beside it (an input of every
    answer about the lockfile, whether it exists or not)."""
    return rel.rsplit("/", 1)[0] + "/package.json" if "/" in rel else "package.json"


def _sibling_manifest(root: Path, rel: str) -> _Manifest | None:
    """The package.json next to the lockfile, read as JSON data (never run)."""
    return _read_manifest(root, manifest_path(rel))


def _read_manifest(root: Path, where: str) -> _Manifest | None:
    """A package.json (None when there is none, or it is a symbolic link: not followed)."""
    path = root / where
    if not path.is_file() or path.is_symlink():
        return None
    # never read whole beyond the lockfile's own limit (osv and licences both read it)
    doc = _json(where, read_text(root, where))
    if not isinstance(doc, dict):
        raise LockfileError(where, "not a JSON object")
    kinds = {f: _str_map(where, doc.get(f), f) for f in DEP_FIELDS}
    deps: dict[str, str] = {}
    for fld in ("peerDependencies", "devDependencies", "optionalDependencies",
                "dependencies"):  # later wins: dependencies is what gets installed
        deps.update(kinds[fld])
    prod = set(kinds["dependencies"]) | set(kinds["optionalDependencies"]) | set(
        kinds["peerDependencies"])
    return _Manifest(
        deps=deps,
        dev=frozenset(set(kinds["devDependencies"]) - prod),
        optional=frozenset(set(kinds["optionalDependencies"])
                           - set(kinds["dependencies"]) - set(kinds["peerDependencies"])),
        peer=frozenset(set(kinds["peerDependencies"])
                       - set(kinds["dependencies"]) - set(kinds["optionalDependencies"])
                       - set(kinds["devDependencies"])),
    )


# --- yarn.lock v1 -------------------------------------------------------------------

_YARN_KEY = re.compile(r"^\S.*:$")
_YARN_FIELD = re.compile(r'^("(?:[^"\\]|\\.)*"|[^\s"]+)(?:\s+("(?:[^"\\]|\\.)*"|\S+))?$')


def _unquote(token: str, rel: str, line: int) -> str:
    if token.startswith('"'):
        try:
            value = json.loads(token)
        except ValueError:
            value = None
        if not isinstance(value, str):
            raise LockfileError(rel, f"not a valid quoted string: {token[:80]!r}", line)
        return value
    return token


def _split_spec(spec: str) -> tuple[str, str]:
    """``@scope/name@^1.0`` -> (``@scope/name``, ``^1.0``)."""
    at = spec.find("@", 1)
    if at < 0:
        return spec, ""
    return spec[:at], spec[at + 1:]


@dataclass
class _YarnEntry:
    specs: list[str]
    line: int
    fields: dict[str, str] = field(default_factory=dict)
    maps: dict[str, dict[str, str]] = field(default_factory=dict)


def _yarn_entries(rel: str, text: str) -> list[_YarnEntry]:
    entries: list[_YarnEntry] = []
    current: _YarnEntry | None = None
    current_map: dict[str, str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()
        if "\t" in line[:indent + 1]:
            raise LockfileError(rel, "tab indentation is not yarn.lock v1", number)
        if indent == 0:
            if not _YARN_KEY.match(body):
                raise LockfileError(rel, f"not a yarn.lock v1 entry header: {body[:80]!r}",
                                    number)
            specs = [_unquote(s.strip(), rel, number) for s in _split_header(body[:-1])]
            if not specs or any(s.find("@", 1) < 0 for s in specs):
                raise LockfileError(rel, f"not a 'name@range' entry header: {body[:80]!r}",
                                    number)
            current = _YarnEntry(specs, number)
            current_map = None
            entries.append(current)
            continue
        if current is None:
            raise LockfileError(rel, "indented line before any entry", number)
        if indent == 2:
            if body.endswith(":") and " " not in body:
                current_map = {}
                current.maps[_unquote(body[:-1], rel, number)] = current_map
                continue
            match = _YARN_FIELD.match(body)
            if not match or match.group(2) is None:
                raise LockfileError(rel, f"not a 'key value' field: {body[:80]!r}", number)
            key, value = (_unquote(match.group(i), rel, number) for i in (1, 2))
            current.fields[key] = value
            current_map = None
        elif indent == 4 and current_map is not None:
            match = _YARN_FIELD.match(body)
            if not match or match.group(2) is None:
                raise LockfileError(rel, f"not a 'name range' line: {body[:80]!r}", number)
            key, value = (_unquote(match.group(i), rel, number) for i in (1, 2))
            current_map[key] = value
        else:
            raise LockfileError(rel, f"unexpected indentation ({indent} spaces)", number)
    return entries


def _split_header(body: str) -> list[str]:
    parts, buf, quoted, i = [], "", False, 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and quoted:
            buf += body[i:i + 2]
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append(buf)
            buf = ""
        else:
            buf += ch
        i += 1
    parts.append(buf)
    return [p.strip() for p in parts if p.strip()]


def _yarn_classic(rel: str, text: str, manifest: _Manifest | None) -> _Graph:
    entries = _yarn_entries(rel, text)
    by_spec: dict[str, str] = {}
    nodes: dict[str, _Node] = {}
    raw: dict[str, _YarnEntry] = {}
    for entry in entries:
        version = entry.fields.get("version")
        if not version:
            raise LockfileError(rel, "entry has no version", entry.line)
        name, rng = _split_spec(entry.specs[0])
        if rng.startswith("npm:"):  # alias@npm:real@range
            name = _split_spec(rng[4:])[0]
        key = f"{name}@{version}"
        if key in nodes:  # two headers resolving to one version (yarn merges; be safe)
            for spec in entry.specs:
                by_spec[spec] = key
            continue
        nodes[key] = _Node(key=key, name=name, version=version, line=entry.line)
        raw[key] = entry
        for spec in entry.specs:
            by_spec[spec] = key
    for key, entry in raw.items():
        for fld, kind in (("dependencies", "dep"), ("optionalDependencies", "optional")):
            for dep, rng in entry.maps.get(fld, {}).items():
                found = by_spec.get(f"{dep}@{rng}")
                if found is None and kind == "dep":
                    raise LockfileError(rel, f"{dep}@{rng} (needed by {key}) has no entry",
                                        entry.line)
                if found is not None:
                    nodes[key].edges.append((found, kind))
    return _manifest_graph(nodes, manifest, lambda name, rng: by_spec.get(f"{name}@{rng}"))


def _manifest_graph(
    nodes: dict[str, _Node], manifest: _Manifest | None, lookup: Any
) -> _Graph:
    if manifest is None:
        return _Graph(nodes, None)
    starts: dict[str, str] = {}
    for name, rng in manifest.deps.items():
        found = lookup(name, rng)
        if found is None:  # package.json edited after the lock: match by name when unique
            same = [k for k, n in nodes.items() if n.name == name]
            found = same[0] if len(same) == 1 else None
        if found is not None:
            starts[name] = found
    return _Graph(
        nodes,
        sorted(set(starts.values())),
        infer_flags=True,
        dev_starts=frozenset(v for k, v in starts.items() if k in manifest.dev),
        optional_starts=frozenset(v for k, v in starts.items() if k in manifest.optional),
        peer_starts=frozenset(v for k, v in starts.items() if k in manifest.peer),
    )


# --- yarn.lock v2+ (berry) ----------------------------------------------------------


def _is_berry(text: str) -> bool:
    return re.search(r"^__metadata:\s*$", text, re.MULTILINE) is not None


def _yarn_berry(rel: str, text: str, manifest: _Manifest | None) -> _Graph:
    """yarn 2+ lockfiles are YAML, read as yarn reads them (every scalar a string) with the
    policy loader's limits: no alias bomb, tag or duplicate key gets through, and a
    lockfile may be as large as any other (the node budget grows with the size)."""
    try:
        located = yamlsafe.load(text, failsafe=True, max_bytes=MAX_LOCKFILE_BYTES,
                                max_nodes=max(yamlsafe.MAX_NODES, len(text)))
    except yamlsafe.YamlProblem as exc:
        raise LockfileError(rel, f"not valid YAML ({exc.message})", exc.line) from None
    doc = located.data
    if not isinstance(doc, dict):
        raise LockfileError(rel, "not a YAML mapping")
    by_spec: dict[str, str] = {}
    nodes: dict[str, _Node] = {}
    deps_of: dict[str, dict[str, str]] = {}
    workspace_deps: dict[str, str] = {}
    for header, entry in doc.items():
        if header == "__metadata":
            continue
        line = located.where((header,))[0]
        if not isinstance(entry, dict):
            raise LockfileError(rel, f"entry {header!r} is not a mapping", line)
        resolution = entry.get("resolution")
        version = entry.get("version")
        if not isinstance(resolution, str) or not isinstance(version, str) or not version:
            raise LockfileError(rel, f"entry {header!r} has no resolution/version", line)
        deps = entry.get("dependencies") or {}
        if not isinstance(deps, dict) or not all(isinstance(v, str) for v in deps.values()):
            raise LockfileError(rel, f"entry {header!r}: dependencies is not a map of names to "
                                "ranges", line)
        specs = [s.strip() for s in header.split(",")]
        if "@workspace:" in resolution or entry.get("linkType") == "soft":
            if resolution.endswith("@workspace:."):
                workspace_deps.update(deps)
            continue  # the project's own code
        name = _split_spec(resolution)[0]
        key = f"{name}@{version}"
        nodes.setdefault(key, _Node(key=key, name=name, version=version, line=line))
        deps_of.setdefault(key, {}).update(deps)
        for spec in specs:
            by_spec[spec] = key
    def lookup(name: str, rng: str) -> str | None:
        for candidate in (f"{name}@{rng}", f"{name}@npm:{rng}"):
            if candidate in by_spec:
                return by_spec[candidate]
        return None

    for key, deps in deps_of.items():
        for dep, rng in deps.items():
            found = lookup(dep, rng)
            if found is not None:
                nodes[key].edges.append((found, "dep"))

    if manifest is None and workspace_deps:
        manifest = _Manifest(workspace_deps, frozenset(), frozenset(), frozenset())
    return _manifest_graph(nodes, manifest, lookup)


def versions_of(packages: Sequence[Package]) -> dict[str, set[str]]:
    """name -> every version installed (for reports and tests)."""
    out: dict[str, set[str]] = {}
    for p in packages:
        out.setdefault(p.name, set()).add(p.version)
    return out
