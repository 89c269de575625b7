"""Python dependency manifests: which exact versions a repository pins, and which
requirements it leaves unpinned.

Every manifest is read as text, TOML or JSON and nothing else. Nothing from the scanned
tree is ever installed, built or executed: ``setup.py`` is not read, a pyproject's build
backend is never invoked, and unpinned requirements are never resolved (resolving would
download sdists and run their build backends). A requirement that cannot be pinned is
reported as such, so that what was not audited stays visible.
"""

from __future__ import annotations

import codecs
import configparser
import json
import posixpath
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from policy_gate.base import jsontext
from policy_gate.base.fileset import FileSet
from policy_gate.base.redact import redact_urls
from policy_gate.base.treefile import TreeFileError, read_tree_file

# A manifest larger than this is not a manifest anyone wrote by hand; refuse, visibly.
MAX_MANIFEST_BYTES = 20 * 1024 * 1024

URL_REASON = "cannot be audited: a direct URL / VCS / local path"

REQUIREMENTS = "requirements"
PYPROJECT = "pyproject"
SETUP_CFG = "setup.cfg"
SETUP_PY = "setup.py"
POETRY_LOCK = "poetry.lock"
PIPFILE_LOCK = "Pipfile.lock"
UV_LOCK = "uv.lock"
PYLOCK = "pylock"
LOCKFILE_KINDS = frozenset({POETRY_LOCK, PIPFILE_LOCK, UV_LOCK, PYLOCK})

_REQUIREMENTS_NAME = re.compile(
    r"^(?:.*[-_.])?(?:requirements|constraints)(?:[-_.].*)?\.txt$", re.IGNORECASE
)
_PYLOCK_NAME = re.compile(r"^pylock\.(?:[^/]+\.)?toml$")
# PEP 508 names. Lockfile names go into the requirements file pip-audit reads, so a name
# must never smuggle in anything else (a newline, an option).
_NAME = re.compile(r"^(?:[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
# pip's comment rule: '#' at the start of a line or after whitespace.
_COMMENT = re.compile(r"(^|\s+)#.*$")
_LONG_OPTION = re.compile(r"^(--[A-Za-z0-9-]+)(?:=|\s+)?(.*)$")
_SHORT_OPTION = re.compile(r"^(-[A-Za-z])\s*(.*)$")
_URL_START = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_NAME_KEY = re.compile(r"^\s*name\s*=")
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9._-]+)")
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")
_INCLUDE_OPTIONS = frozenset({"-r", "--requirement", "-c", "--constraint"})
_EDITABLE_OPTIONS = frozenset({"-e", "--editable"})


@dataclass(frozen=True, slots=True)
class PinnedDependency:
    """One exact version a manifest pins: what gets audited."""

    name: str  # canonical (PEP 503) name
    version: str  # normalised PEP 440 version, as pip-audit prints it
    manifest_path: str  # POSIX, relative to the scanned root
    line: int | None
    marker: str | None = None  # recorded, not evaluated: every pin is audited


@dataclass(frozen=True, slots=True)
class UnpinnedRequirement:
    """A requirement that names no single auditable version."""

    name: str
    requirement_text: str  # as written, with URL credentials masked
    manifest_path: str
    line: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class ManifestError:
    """A manifest (or an include in it) that could not be read: becomes ``unscanned``."""

    path: str
    line: int | None
    reason: str
    fix: str = ""  # what to change so that it can be audited


@dataclass
class ManifestScan:
    manifests: list[str] = field(default_factory=list)  # every file parsed, includes too
    pinned: list[PinnedDependency] = field(default_factory=list)
    unpinned: list[UnpinnedRequirement] = field(default_factory=list)
    errors: list[ManifestError] = field(default_factory=list)


class _Unreadable(Exception):
    """A manifest that cannot be parsed as a whole; the message is the reason."""


def manifest_kind(rel: str) -> str | None:
    """Which manifest format a path is, by name alone (contents are never guessed at)."""
    parts = rel.rsplit("/", 2)
    base = parts[-1]
    parent = parts[-2] if len(parts) > 1 else ""
    if base.lower().endswith(".txt") and (
        _REQUIREMENTS_NAME.match(base) or parent.lower() == "requirements"
    ):
        return REQUIREMENTS
    if base == "pyproject.toml":
        return PYPROJECT
    if base in (SETUP_CFG, SETUP_PY):
        return base
    if base in (POETRY_LOCK, PIPFILE_LOCK, UV_LOCK):
        return base
    if _PYLOCK_NAME.match(base):
        return PYLOCK
    return None


def find_manifests(fileset: FileSet) -> tuple[str, ...]:
    """The Python manifests among the walked files (includes are found when parsing),
    and symbolic links named like one: never followed, but reported as not audited."""
    return tuple(sorted(f for f in (*fileset.files, *fileset.symlinks)
                        if manifest_kind(f) is not None))


def parse_manifests(fileset: FileSet) -> ManifestScan:
    """Parse every manifest in the file set, following ``-r``/``-c`` includes."""
    return _Parser(fileset).run()


def pinned_version(spec: SpecifierSet) -> tuple[str | None, str]:
    """(normalised version, '') when the specifiers allow exactly one version, else
    (None, why not). Only ``==X`` (no wildcard) and ``===X`` pin."""
    exact = [
        s for s in spec
        if s.operator == "===" or (s.operator == "==" and not s.version.endswith(".*"))
    ]
    if not exact:
        if any(s.operator == "==" for s in spec):
            return None, "pins a wildcard (==X.*), not one exact version"
        if not spec:
            return None, "has no version constraint at all"
        return None, f"is a range ('{spec}'), not one exact version (==)"
    if len({s.version for s in exact}) > 1:
        return None, "has conflicting exact pins"
    raw = exact[0].version
    try:
        version = Version(raw)
        contained = spec.contains(version, prereleases=True)
    except ValueError:  # InvalidVersion, or a number of more digits than Python converts
        return None, f"pins '{_cut(raw)}', which is not a PEP 440 version an advisory can match"
    if not contained:
        return None, "has specifiers that exclude its own pinned version"
    return str(version), ""


def _cut(text: str, limit: int = 60) -> str:
    """A value quoted in a message, cut to a readable length."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


# pip's requirements-file decoding (pip._internal.utils.encoding.auto_decode), in pip's
# order: a BOM, else a PEP 263 coding comment on one of the first two lines, else the
# locale's encoding, which on the runners the gate serves is UTF-8.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF32, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
)
_CODING = re.compile(rb"coding[:=]\s*([-\w.]+)")


def decode_requirements(data: bytes) -> str:
    """A requirements file's text, decoded as pip decodes it (UTF-16 with a BOM, Latin-1
    declared by a ``# -*- coding: latin-1 -*-`` line...): a file pip installs from must
    be audited, not refused. Raises ValueError naming the encoding pip would fail on."""
    encoding, body, named_by = "utf-8", data, ""
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding, body, named_by = name, data[len(bom):], "its byte-order mark"
            break
    else:
        for line in data.split(b"\n")[:2]:
            if line[:1] == b"#" and (match := _CODING.search(line)):
                encoding, named_by = match.group(1).decode("ascii"), "its coding line"
                break
    try:
        return body.decode(encoding)
    except LookupError:
        raise ValueError(f"declares the encoding '{_cut(encoding)}', which is not a text "
                         "encoding Python (and so pip) knows") from None
    except UnicodeDecodeError as exc:
        where = f"byte {exc.start}"
        if encoding == "utf-8":
            raise ValueError(f"is not UTF-8 text ({where}); pip decodes a requirements file "
                             "as UTF-8 unless it starts with a BOM or declares its encoding "
                             "(# -*- coding: latin-1 -*-)") from None
        raise ValueError(f"is not {encoding} text ({where}), the encoding {named_by} "
                         "names") from None


class _Locator:
    """Line numbers for TOML/JSON entries, found by searching the text. Repeated
    searches for the same needle move on to the next occurrence."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self._last: dict[tuple[str, ...], int] = {}

    def find(self, *needles: str) -> int | None:
        start = self._last.get(needles, -1) + 1
        for begin in (start, 0):
            for i in range(begin, len(self.lines)):
                if any(n in self.lines[i] for n in needles):
                    self._last[needles] = i
                    return i + 1
        return None

    def find_key(self, key: str) -> int | None:
        """The line of ``key = ...`` (bare or quoted key)."""
        pattern = re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""")
        for i, line in enumerate(self.lines):
            if pattern.match(line):
                return i + 1
        return None

    def find_package(self, name: str, version: str | None) -> int | None:
        """The ``name = "x"`` line of a lockfile entry, preferring the one whose
        following lines carry the given version (a lock may list a name twice)."""
        pattern = re.compile(rf"""^\s*name\s*=\s*["']{re.escape(name)}["']""")
        hits = [i for i, line in enumerate(self.lines) if pattern.match(line)]
        if version is not None:
            wanted = re.compile(rf"""^\s*version\s*=\s*["']{re.escape(version)}["']""")
            for i in hits:
                for line in self.lines[i + 1 :]:
                    if line.lstrip().startswith("[") or _NAME_KEY.match(line):
                        break  # the next entry (or a sub-table) begins
                    if wanted.match(line):
                        return i + 1
        return hits[0] + 1 if hits else None


class _Parser:
    def __init__(self, fileset: FileSet) -> None:
        self.fileset = fileset
        self.files = frozenset(fileset.files)
        self.out = ManifestScan()
        self._done: set[str] = set()
        self._queue: list[tuple[str, str]] = []
        # directories whose pyproject or setup.cfg declares the dependencies as data
        self._declared: set[str] = set()

    def run(self) -> ManifestScan:
        self._queue = [(rel, kind) for rel in self.fileset.files
                       if (kind := manifest_kind(rel)) is not None]
        for link in self.fileset.symlinks:
            if manifest_kind(link) is not None:
                self._error(link, None, "is a symbolic link, and links are never followed",
                            fix="Commit the file itself in place of the link.")
        while self._queue:
            rel, kind = self._queue.pop(0)
            if rel in self._done:
                continue  # included twice, or an include cycle: parse each file once
            self._done.add(rel)
            self.out.manifests.append(rel)
            if kind == SETUP_PY:
                continue  # code, never read: judged once every other manifest is parsed
            try:
                text = self._read(rel, kind)
                if kind == REQUIREMENTS:
                    self._queue.extend((inc, REQUIREMENTS)
                                       for inc in self._requirements(rel, text))
                elif kind == PYPROJECT:
                    self._pyproject(rel, text)
                elif kind == SETUP_CFG:
                    self._setup_cfg(rel, text)
                elif kind == PIPFILE_LOCK:
                    self._pipfile_lock(rel, text)
                else:
                    self._toml_lock(rel, text, kind)
            except _Unreadable as exc:
                self.out.errors.append(ManifestError(rel, None, str(exc)))
        self._setup_py()
        self._drop_locked_ranges()
        return self.out

    def _setup_py(self) -> None:
        """A ``setup.py`` is code: the dependencies it declares are known only by running
        it, which the gate never does. It is reported unless its directory declares them
        as data the gate reads: a pyproject ``[project]`` table, setup.cfg's
        ``install_requires``, a lockfile, or a requirements file (assumed to be what the
        setup.py installs, as it commonly reads it)."""
        for rel in self.fileset.files:
            if manifest_kind(rel) != SETUP_PY:
                continue
            here = posixpath.dirname(rel)
            if here in self._declared or any(
                    posixpath.dirname(m) == here and manifest_kind(m) in (
                        REQUIREMENTS, *LOCKFILE_KINDS) for m in self.out.manifests):
                continue
            self.out.manifests.append(rel)
            self._error(rel, None, "is code, and the gate never runs it: the dependencies "
                        "it declares (install_requires) are known only by running it",
                        fix="Declare them as data: [project] dependencies in pyproject.toml "
                            "or install_requires in setup.cfg, or commit a lockfile or a "
                            "pinned requirements file beside it.")

    # -- reading -------------------------------------------------------------------

    def _read(self, rel: str, kind: str) -> str:
        """The manifest's text: a requirements file decoded as pip decodes it, the TOML
        and JSON formats as UTF-8 (their specifications say so)."""
        try:
            data = read_tree_file(self.fileset.path(rel), MAX_MANIFEST_BYTES)
        except TreeFileError as exc:
            raise _Unreadable(f"cannot be read ({exc})") from None
        if kind == REQUIREMENTS:
            try:
                return decode_requirements(data)
            except ValueError as exc:
                raise _Unreadable(str(exc)) from None
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _Unreadable("is not UTF-8 text") from None

    @staticmethod
    def _toml(text: str) -> dict[str, Any]:
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise _Unreadable(f"is not valid TOML ({exc})") from None
        except RecursionError:
            raise _Unreadable("is not valid TOML (nested too deeply)") from None
        except ValueError as exc:  # e.g. an integer of more digits than Python converts
            raise _Unreadable(f"is not valid TOML ({str(exc).splitlines()[0][:100]})") from None

    # -- results -------------------------------------------------------------------

    def _pin(self, rel: str, line: int | None, name: str, version: str,
             marker: str | None) -> None:
        pin = PinnedDependency(canonicalize_name(name), version, rel, line, marker)
        self.out.pinned.append(pin)

    def _unpinned(self, rel: str, line: int | None, name: str, text: str, reason: str,
                  guessed: bool = False) -> None:
        canonical = name if guessed or not _NAME.match(name) else canonicalize_name(name)
        self.out.unpinned.append(
            UnpinnedRequirement(canonical, redact_urls(text), rel, line, reason)
        )

    def _error(self, rel: str, line: int | None, reason: str, fix: str = "") -> None:
        self.out.errors.append(ManifestError(rel, line, reason, fix))

    def _from_requirement(self, rel: str, line: int | None, req: Requirement, text: str) -> None:
        marker = str(req.marker) if req.marker is not None else None
        if req.url:
            self._unpinned(rel, line, req.name, text, URL_REASON)
            return
        version, reason = pinned_version(req.specifier)
        if version is None:
            self._unpinned(rel, line, req.name, text, reason)
        else:
            self._pin(rel, line, req.name, version, marker)

    def _locked(self, rel: str, line: int | None, name: object, version: object,
                marker: object = None, url_source: bool = False) -> None:
        """One lockfile entry: pinned by construction, unless it has no usable version
        or comes from a URL / VCS / path rather than an index."""
        if not isinstance(name, str) or not _NAME.match(name):
            self._error(rel, line, f"lockfile entry has an invalid package name {name!r}")
            return
        text = f"{name} {version}" if version is not None else name
        if url_source:
            self._unpinned(rel, line, name, text, URL_REASON)
            return
        if not isinstance(version, str) or not version:
            self._unpinned(rel, line, name, text, "the lockfile records no version for it")
            return
        try:
            normalised = str(Version(version))
        except ValueError:  # InvalidVersion, or a number of more digits than Python converts
            self._unpinned(rel, line, name, text,
                           f"'{_cut(version)}' is not a PEP 440 version an advisory can match")
            return
        self._pin(rel, line, name, normalised, marker if isinstance(marker, str) else None)

    # -- requirements files --------------------------------------------------------

    def _requirements(self, rel: str, text: str) -> list[str]:
        """Parse one requirements file; return the in-tree files it includes."""
        includes: list[str] = []
        for line, logical in _logical_lines(text):
            content = _COMMENT.sub("", logical).strip()
            if not content:
                continue
            if content.startswith("-"):
                name, value = _split_option(content)
                if name in _INCLUDE_OPTIONS and value:
                    target = self._include(rel, line, value)
                    if target is not None:
                        includes.append(target)
                elif name in _EDITABLE_OPTIONS and value:
                    self._unpinned(rel, line, _guess_name(value), content,
                                   f"is editable: {URL_REASON}", guessed=True)
                # every other option (--index-url, --hash, --pre, ...) says nothing
                # about which versions are installed
                continue
            self._requirement_line(rel, line, _strip_options(content))
        return includes

    def _include(self, rel: str, line: int, target: str) -> str | None:
        target = target.strip().strip("'\"")
        joined, reason, fix = self._in_tree(rel, target)
        if joined is not None:
            return joined
        self._error(rel, line, f"include '{_cut(target)}' {reason}; its requirements were not "
                    "audited", fix)
        return None

    def _in_tree(self, rel: str, target: str) -> tuple[str | None, str, str]:
        """A path a manifest names, relative to the manifest: (the scanned file, '', '')
        or (None, why it cannot be read, how to fix that)."""
        norm = target.replace("\\", "/")
        if _URL_START.match(norm) or norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
            return None, "is an absolute path or URL outside the repository", \
                "Vendor the file into the repository and name it by a relative path."
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(rel), norm))
        if joined == ".." or joined.startswith("../"):
            return None, "escapes the repository root", \
                "Name a file inside the scanned tree."
        if joined in self.files:
            return joined, "", ""
        if joined in self.fileset.symlinks:
            return None, "is a symbolic link, and links are never followed", \
                "Name the file the link points to, or commit it in place of the link."
        if any(e == joined or (e.endswith("/") and joined.startswith(e))
               for e in self.fileset.excluded):
            return None, "is excluded by the policy", \
                "Stop excluding it, or stop installing from it."
        return None, "does not exist in the scanned tree", "Add it, or remove the reference."

    def _requirement_line(self, rel: str, line: int, text: str) -> None:
        lowered = text.lower().split(";", 1)[0].strip()
        if (_URL_START.match(text) or lowered.startswith((".", "/", "~"))
                or lowered.endswith(_ARCHIVE_SUFFIXES)):
            self._unpinned(rel, line, _guess_name(text), text, URL_REASON, guessed=True)
            return
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            if "/" in lowered or "\\" in lowered:
                self._unpinned(rel, line, _guess_name(text), text, URL_REASON, guessed=True)
            else:
                first = str(exc).splitlines()[0]
                self._unpinned(rel, line, text.split()[0], text,
                               f"cannot be parsed as a requirement ({first})")
            return
        self._from_requirement(rel, line, req, text)

    # -- pyproject.toml ------------------------------------------------------------

    def _pyproject(self, rel: str, text: str) -> None:
        data = self._toml(text)
        where = _Locator(text)
        project = data.get("project")
        if isinstance(project, dict):
            self._declared.add(posixpath.dirname(rel))
            own = project.get("name")
            own_name = canonicalize_name(own) if isinstance(own, str) else None
            groups: list[tuple[str, object]] = [("project.dependencies",
                                                 project.get("dependencies", []))]
            optional = project.get("optional-dependencies", {})
            if isinstance(optional, dict):
                groups += [(f"project.optional-dependencies.{k}", v) for k, v in optional.items()]
            dependency_groups = data.get("dependency-groups", {})  # PEP 735
            if isinstance(dependency_groups, dict):
                groups += [(f"dependency-groups.{k}", v) for k, v in dependency_groups.items()]
            for label, entries in groups:
                if not isinstance(entries, list):
                    self._error(rel, None, f"{label} is not a list")
                    continue
                for entry in entries:
                    if isinstance(entry, dict):  # {include-group = "..."}
                        continue
                    if not isinstance(entry, str):
                        self._error(rel, None, f"{label} has a non-string entry {entry!r}")
                        continue
                    self._pep508(rel, where, entry, own_name)
            self._dynamic(rel, where, data, project)
        tool = data.get("tool")
        poetry = tool.get("poetry") if isinstance(tool, dict) else None
        if isinstance(poetry, dict):
            for label, table in _poetry_tables(poetry):
                if not isinstance(table, dict):
                    self._error(rel, None, f"[{label}] is not a table")
                    continue
                for key, value in table.items():
                    if key.lower() == "python":
                        continue
                    self._poetry(rel, where.find_key(key), key, value)

    def _dynamic(self, rel: str, where: _Locator, data: Mapping[str, Any],
                 project: Mapping[str, Any]) -> None:
        """PEP 621 ``dynamic`` dependencies are computed by the build backend, which never
        runs here. Where they can still be read as data they are: setuptools' ``file``
        lists (parsed as requirements files, as setuptools does), Poetry's own tables
        (parsed below), or a lockfile beside the pyproject (it pins what gets installed).
        Anything else is reported as not audited."""
        dynamic = project.get("dynamic")
        fields = [f for f in ("dependencies", "optional-dependencies")
                  if isinstance(dynamic, list) and f in dynamic]
        if not fields:
            return
        tool = _table(data, "tool")
        declared = _table(_table(tool, "setuptools"), "dynamic")
        poetry = _table(tool, "poetry")
        here = posixpath.dirname(rel)
        locked = any(posixpath.dirname(f) == here and manifest_kind(f) in LOCKFILE_KINDS
                     for f in self.fileset.files)
        line = where.find_key("dynamic")
        for name in fields:
            spec = declared.get(name)
            entries = ([spec] if name == "dependencies" else
                       list(spec.values()) if isinstance(spec, dict) else [])
            files = [e["file"] for e in entries if isinstance(e, dict) and "file" in e]
            if files and len(files) == len(entries):
                for listed in files:
                    self._dynamic_files(rel, line, listed)
            elif not (locked or (name == "dependencies" and "dependencies" in poetry)):
                self._error(
                    rel, line, f"declares project.{name} dynamic: the build backend computes "
                    "them, and the gate never runs a build backend",
                    fix="List them in [project], or commit a lockfile beside it (uv.lock, "
                        "poetry.lock, pylock.toml) that pins what gets installed.")

    def _dynamic_files(self, rel: str, line: int | None, names: object) -> None:
        """setuptools' ``{file = [...]}``: requirements files, relative to the pyproject."""
        listed: list[object] = [names] if isinstance(names, str) else \
            list(names) if isinstance(names, list) else [None]
        for name in listed:
            if not isinstance(name, str):
                self._error(rel, line, f"dynamic dependencies name a file list it cannot "
                            f"read ({_cut(repr(names))})")
                continue
            joined, reason, fix = self._in_tree(rel, name)
            if joined is None:
                self._error(rel, line, f"dynamic dependencies file '{_cut(name)}' {reason}",
                            fix)
            else:
                self._queue.append((joined, REQUIREMENTS))

    def _setup_cfg(self, rel: str, text: str) -> None:
        """setuptools' declarative config: ``[options] install_requires`` and
        ``[options.extras_require]``, split as setuptools splits them (one requirement a
        line, or ``;``-separated on one line), ``file:`` directives followed."""
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(text, rel)
        except configparser.Error as exc:
            raise _Unreadable(f"is not valid setup.cfg syntax "
                              f"({str(exc).splitlines()[0][:100]})") from None
        where = _Locator(text)
        values = []
        if parser.has_option("options", "install_requires"):
            self._declared.add(posixpath.dirname(rel))
            values.append(parser.get("options", "install_requires"))
        if parser.has_section("options.extras_require"):
            values += [v for _k, v in parser.items("options.extras_require")]
        for value in values:
            value = value.strip()
            if value.startswith("file:"):
                self._dynamic_files(rel, where.find("file:"),
                                    [f.strip() for f in value[5:].split(",") if f.strip()])
                continue
            entries = value.splitlines() if "\n" in value else value.split(";")
            for entry in (e.strip() for e in entries):
                if entry and not entry.startswith("#"):
                    self._pep508(rel, where, entry, None, quoted=False)

    def _pep508(self, rel: str, where: _Locator, entry: str, own_name: str | None,
                quoted: bool = True) -> None:
        line = where.find(f'"{entry}"', f"'{entry}'") if quoted else where.find(entry)
        try:
            req = Requirement(entry)
        except InvalidRequirement as exc:
            first = str(exc).splitlines()[0]
            self._unpinned(rel, line, entry.split()[0] if entry.split() else entry, entry,
                           f"cannot be parsed as a requirement ({first})")
            return
        if own_name is not None and canonicalize_name(req.name) == own_name:
            return  # "myproject[extra]": the project itself, not a dependency
        self._from_requirement(rel, line, req, entry)

    def _poetry(self, rel: str, line: int | None, key: str, value: object) -> None:
        entries = value if isinstance(value, list) else [value]
        for entry in entries:
            text = f"{key} = {json.dumps(entry, default=str)}"
            if isinstance(entry, str):
                constraint: object = entry
                marker = None
            elif isinstance(entry, dict):
                if any(k in entry for k in ("git", "path", "url", "file")):
                    self._unpinned(rel, line, key, text, URL_REASON)
                    continue
                constraint = entry.get("version")
                marker = entry.get("markers") if isinstance(entry.get("markers"), str) else None
            else:
                self._error(rel, line, f"Poetry dependency {key!r} has an unexpected value")
                continue
            if not isinstance(constraint, str):
                self._unpinned(rel, line, key, text, "has no version constraint at all")
                continue
            version, reason = _poetry_pin(constraint)
            if version is None:
                self._unpinned(rel, line, key, text, reason)
            elif not _NAME.match(key):
                self._error(rel, line, f"Poetry dependency has an invalid name {key!r}")
            else:
                self._pin(rel, line, key, version, marker)

    def _drop_locked_ranges(self) -> None:
        """A pyproject range is fine when a lockfile beside it pins that package: the
        lockfile's version is what gets installed, and it is audited."""
        locked = {
            (posixpath.dirname(p.manifest_path), p.name)
            for p in self.out.pinned
            if manifest_kind(p.manifest_path) in LOCKFILE_KINDS
        }
        self.out.unpinned = [
            u for u in self.out.unpinned
            if not (manifest_kind(u.manifest_path) in (PYPROJECT, SETUP_CFG)
                    and (posixpath.dirname(u.manifest_path), u.name) in locked)
        ]

    # -- lockfiles -----------------------------------------------------------------

    def _toml_lock(self, rel: str, text: str, kind: str) -> None:
        data = self._toml(text)
        where = _Locator(text)
        key = "packages" if kind == PYLOCK else "package"
        packages = data.get(key, [])
        if not isinstance(packages, list):
            raise _Unreadable(f"'{key}' is not an array of tables")
        for pkg in packages:
            if not isinstance(pkg, dict):
                self._error(rel, None, f"'{key}' has an entry that is not a table")
                continue
            name, version = pkg.get("name"), pkg.get("version")
            line = (where.find_package(name, version if isinstance(version, str) else None)
                    if isinstance(name, str) else None)
            source = pkg.get("source")
            source = source if isinstance(source, dict) else {}
            if kind == POETRY_LOCK:
                url_source = source.get("type") in ("git", "directory", "file", "url")
                self._locked(rel, line, name, version, url_source=url_source)
            elif kind == UV_LOCK:
                if "editable" in source or "virtual" in source:
                    continue  # a workspace member: the scanned code itself, not a dependency
                url_source = any(k in source for k in ("git", "url", "path", "directory"))
                self._locked(rel, line, name, version, url_source=url_source)
            else:
                url_source = any(k in pkg for k in ("vcs", "directory", "archive"))
                self._locked(rel, line, name, version, pkg.get("marker"), url_source)

    def _pipfile_lock(self, rel: str, text: str) -> None:
        try:
            data = jsontext.loads(text, surrogates="replace")  # as pipenv's json reads it
        except json.JSONDecodeError as exc:
            raise _Unreadable(f"is not valid JSON ({exc.msg} at line {exc.lineno})") from None
        except ValueError as exc:
            raise _Unreadable(f"is not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise _Unreadable("is not a JSON object")
        where = _Locator(text)
        for section, entries in data.items():
            if section == "_meta" or not isinstance(entries, dict):
                continue
            for name, entry in entries.items():
                line = where.find(f'"{name}": {{', f'"{name}":{{')
                if not isinstance(entry, dict):
                    self._error(rel, line, f"entry {name!r} in '{section}' is not an object")
                    continue
                url_source = any(k in entry for k in ("git", "hg", "svn", "bzr", "path",
                                                      "file", "editable"))
                spec = entry.get("version")
                version: str | None = None
                reason = "the lockfile records no version for it"
                if isinstance(spec, str):
                    try:
                        version, reason = pinned_version(SpecifierSet(spec))
                    except InvalidSpecifier:
                        reason = f"'{spec}' is not a version specifier"
                if url_source or version is not None:
                    self._locked(rel, line, name, version, entry.get("markers"), url_source)
                else:
                    self._unpinned(rel, line, name, f"{name}{spec or ''}", reason)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Join backslash continuations the way pip does; yield (first line number, text)."""
    pending: list[str] = []
    first = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not line.endswith("\\") or _COMMENT.match(line):
            if _COMMENT.match(line):
                line = " " + line
            if pending:
                pending.append(line)
                yield first, "".join(pending)
                pending = []
            else:
                yield number, line
        else:
            if not pending:
                first = number
            pending.append(line.rstrip("\\"))
    if pending:
        yield first, "".join(pending)


def _split_option(content: str) -> tuple[str, str]:
    """'--opt=value', '--opt value', '-rvalue' or '-r value' -> (option, value)."""
    pattern = _LONG_OPTION if content.startswith("--") else _SHORT_OPTION
    match = pattern.match(content)
    if match is None:
        return content, ""
    return match.group(1), match.group(2).strip()


def _strip_options(content: str) -> str:
    """Cut per-requirement options ('--hash=...') off a requirement, as pip does."""
    args: list[str] = []
    for token in content.split(" "):
        if token.startswith("-"):
            break
        args.append(token)
    return " ".join(args).strip()


def _guess_name(text: str) -> str:
    """A readable name for a URL / path requirement: its #egg= or the last path part."""
    egg = _EGG.search(text)
    if egg:
        return egg.group(1)
    head = text.split(";", 1)[0].strip().split("#", 1)[0].rstrip("/")
    tail = head.rsplit("/", 1)[-1] or head
    return tail or text


def _poetry_pin(constraint: str) -> tuple[str | None, str]:
    """Poetry constraints: a bare version means exactly that version; '^', '~' and '*'
    are ranges; PEP 440 specifiers mean what they say."""
    constraint = constraint.strip()
    try:
        spec = SpecifierSet(constraint)
    except InvalidSpecifier:
        try:
            return str(Version(constraint)), ""
        except ValueError:  # InvalidVersion, or a number of more digits than Python converts
            return None, f"is a range ('{_cut(constraint)}'), not one exact version"
    return pinned_version(spec)


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``data[key]`` when it is a table, else an empty one (TOML from the tree may put any
    type anywhere)."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _poetry_tables(poetry: Mapping[str, Any]) -> Iterable[tuple[str, object]]:
    yield "tool.poetry.dependencies", poetry.get("dependencies", {})
    if "dev-dependencies" in poetry:
        yield "tool.poetry.dev-dependencies", poetry["dev-dependencies"]
    groups = poetry.get("group", {})
    if isinstance(groups, dict):
        for name, group in groups.items():
            deps = group.get("dependencies", {}) if isinstance(group, dict) else None
            yield f"tool.poetry.group.{name}.dependencies", deps
