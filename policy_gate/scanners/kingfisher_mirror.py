"""kingfisher's input: a private mirror of the gate's scope (see policy_gate.scanners.kingfisher).

Given thousands of files one by one, kingfisher treats each as a repository of its own, and
given the tree it decides for itself what to read (ignore files, links, ``.git``, names its
embedded rules skip). So the files of the shared walk are copied, as the gate reads them,
into a directory that holds nothing else; a file kingfisher would skip by its name goes in
under a neutral one; binary files and zip archives are listed, not copied.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from policy_gate.base.process import ScannerError
from policy_gate.base.treefile import BINARY_SNIFF, TreeFileError, is_binary, open_tree_file
from policy_gate.catalogue import KINGFISHER
from policy_gate.scanners.filetext import as_text
from policy_gate.scanners.interface import LeftOut

BINARY_NOTE = "binary files not scanned for secrets (NUL byte found)"
ARCHIVE_NOTE = "zip archives not scanned for secrets (their members are not extracted)"
RENAMED_NOTE = (
    "files scanned under a neutral name: the Betterleaks rules kingfisher embeds skip "
    "their paths by name, and nothing is exempt by its name in the gate"
)
# The mirror's two parts: the files under their own relative paths, and the renamed ones.
TREE, RENAMED = "tree", "renamed"
# kingfisher is given INPUT (relative to its working directory, the mirror's) before a
# file is copied; the mirror is made in BUILD and renamed to INPUT/DONE when complete, so
# kingfisher lists either all of it or none of it.
INPUT, BUILD, DONE = "in", "build", "m"

# The Betterleaks global prefilter embedded in kingfisher 2.14 (betterleaks.toml,
# `prefilter`): a path matching any of these is skipped before any rule, custom rules
# included, runs on it. Go regexp syntax, which Python reads the same way here.
PREFILTERED = tuple(re.compile(p) for p in (
    r"gitleaks\.toml",
    r"(?i)\.(?:bmp|gif|jpe?g|png|svg|tiff?)$",
    r"(?i)\.(?:eot|[ot]tf|woff2?)$",
    r"go\.(?:mod|sum|work(?:\.sum)?)$",
    r"(?:^|/)vendor/modules\.txt$",
    r"(?:^|/)vendor/(?:github\.com|golang\.org/x|google\.golang\.org|gopkg\.in|istio\.io"
    r"|k8s\.io|sigs\.k8s\.io)(?:/.*)?$",
    r"(?:^|/)gradlew(?:\.bat)?$",
    r"(?:^|/)gradle\.lockfile$",
    r"(?:^|/)mvnw(?:\.cmd)?$",
    r"(?:^|/)\.mvn/wrapper/MavenWrapperDownloader\.java$",
    r"(?:^|/)node_modules(?:/.*)?$",
    r"(?:^|/)(?:deno\.lock|npm-shrinkwrap\.json|package-lock\.json|pnpm-lock\.yaml"
    r"|yarn\.lock)$",
    r"(?:^|/)bower_components(?:/.*)?$",
    r"(?:^|/)(?:angular|bootstrap|jquery(?:-?ui)?|plotly|swagger-?ui)[a-zA-Z0-9.-]*"
    r"(?:\.min)?\.js(?:\.map)?$",
    r"(?:^|/)javascript\.json$",
    r"(?:^|/)(?:Pipfile|poetry)\.lock$",
    r"(?i)(?:^|/)(?:v?env|virtualenv)/lib(?:64)?(?:/.*)?$",
    r"(?i)(?:^|/)(?:lib(?:64)?/python[23](?:\.\d{1,2})+|python/[23](?:\.\d{1,2})+"
    r"/lib(?:64)?)(?:/.*)?$",
    r"(?i)(?:^|/)[a-z0-9_.]+-[0-9.]+\.dist-info(?:/.+)?$",
    r"(?:^|/)vendor/(?:bundle|ruby)(?:/.*?)?$",
    r"\.gem$",
    r"verification-metadata\.xml",
    r"Database.refactorlog",
))


# A literal every path a pattern above matches holds (lower case), in pattern order: a
# path with none of them is not skipped, without running the 23 expressions on it.
PREFILTER_HINTS = (
    "gitleaks.toml", ".bmp", ".gif", ".jpg", ".jpeg", ".png", ".svg", ".tif", ".eot", ".otf",
    ".ttf", ".woff", "go.mod", "go.sum", "go.work", "vendor/", "gradlew", "gradle.lockfile",
    "mvnw", ".mvn/", "node_modules", "deno.lock", "npm-shrinkwrap.json", "package-lock.json",
    "pnpm-lock.yaml", "yarn.lock", "bower_components", "angular", "bootstrap", "jquery",
    "plotly", "swagger", "javascript.json", "pipfile.lock", "poetry.lock", "env/lib",
    "python", ".dist-info", ".gem", "verification-metadata.xml", "refactorlog",
)


def prefiltered(path: str) -> bool:
    """Whether kingfisher's embedded Betterleaks prefilter skips ``path`` (as kingfisher
    is given it) without running a rule on it."""
    lower = path.lower()
    if not any(hint in lower for hint in PREFILTER_HINTS):
        return False
    return any(p.search(path) for p in PREFILTERED)


# With --no-extract-archives, kingfisher 2.14 skips (reads nothing of) a file named like an
# archive, whatever it holds (a PEM private key called server.key), and a file that starts
# like a zip archive. The first are scanned under a neutral name; the second are left out
# as binary files are (a zip's members are not extracted: its bytes say nothing).
ARCHIVE_SUFFIXES = (
    ".aab", ".apk", ".bz2", ".bzip2", ".docx", ".ear", ".egg", ".epub", ".gz", ".gzip",
    ".ipa", ".jar", ".key", ".numbers", ".nupkg", ".odp", ".ods", ".odt", ".pages", ".pptx",
    ".tar", ".tgz", ".vsix", ".war", ".xlsx", ".xpi", ".xz", ".zip", ".zipx",
)
ZIP_MAGIC = b"PK\x03\x04"


def archive_name(path: str) -> bool:
    """Whether kingfisher takes ``path`` for an archive by its name (and so skips it)."""
    return path.lower().endswith(ARCHIVE_SUFFIXES)



# ---------------------------------------------------------------------------- the mirror


@dataclass
class Mirror:
    """The scope, copied for kingfisher: what it is given and what it is not."""

    work: Path  # kingfisher's working directory: INPUT and BUILD under it
    scanner: str
    # the path as kingfisher reports it ("./in/m/tree/a.py") -> the file's path in the tree
    names: dict[str, str] = field(default_factory=dict)
    binary: list[str] = field(default_factory=list)
    archives: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    left_out: LeftOut = field(init=False)
    _numbered: int = 0

    def __post_init__(self) -> None:
        self.left_out = LeftOut(self.scanner)

    inputs = (f"./{INPUT}",)

    @staticmethod
    def reported(place: str) -> str:
        """How kingfisher names the file at ``place`` (relative to BUILD) once it is done."""
        return f"./{INPUT}/{DONE}/{place}"

    def mirror_path(self, rel: str) -> str:
        """Where ``rel`` goes in the mirror, relative to BUILD: its own path, or a
        numbered neutral one that keeps its name where kingfisher would read that."""
        own = f"{TREE}/{rel}"
        if _plain(self.reported(own)):
            return own
        self._numbered += 1
        n = f"{RENAMED}/{self._numbered:06d}"
        name = rel.rsplit("/", 1)[-1]
        for candidate in (f"{n}/{name}", f"{n}/{name}.txt"):
            if _plain(self.reported(candidate)):
                return candidate
        return f"{n}/file"

    def record(self, root: Path, rel: str, place: str, outcome: str | TreeFileError) -> None:
        """What became of one file (``_place``)."""
        if isinstance(outcome, TreeFileError):
            self.left_out.unreadable(root, rel, outcome, "secrets")
        elif outcome == BINARY:
            self.binary.append(rel)
        elif outcome == ARCHIVE:
            self.archives.append(rel)
        else:
            self.names[self.reported(place)] = rel
            if place.startswith(f"{RENAMED}/"):
                self.renamed.append(rel)

    def file_notes(self) -> dict[str, str]:
        notes = {rel: BINARY_NOTE for rel in self.binary}
        notes.update((rel, ARCHIVE_NOTE) for rel in self.archives)
        notes.update((rel, RENAMED_NOTE) for rel in self.renamed)
        return notes


def _plain(path: str) -> bool:
    """A mirror path kingfisher reads and names back as it is: not skipped by the
    prefilter nor taken for an archive, not `.git` (which makes kingfisher look for a
    repository), and UTF-8 (kingfisher prints a name that is not with U+FFFD in it)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not (prefiltered(path) or archive_name(path) or path.endswith("/.git"))


BINARY, ARCHIVE, COPIED = "binary", "archive", "copied"
_WRITE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
COPY_CHUNK = 1 << 20


def _place(src: str, rel: str, target: str, limit: int, made: set[str]
           ) -> str | TreeFileError:
    """Copy one file of the tree to ``target`` as the gate reads files
    (base.treefile.open_tree_file: a regular file, never through a link, at most
    ``limit`` bytes), unless it is binary (filetext.as_text, detect-secrets' test) or a
    zip archive. Copies what was opened, so a file swapped for another after the walk is
    not read in its stead. (Not a hard link: that would change the tree's files'
    metadata, which git reads.)"""
    try:
        fd, _size = open_tree_file(src, limit)
    except TreeFileError as exc:
        return exc
    try:
        head = os.pread(fd, BINARY_SNIFF, 0)
        if is_binary(head) and as_text(head, rel) is None:
            return BINARY
        if head.startswith(ZIP_MAGIC):
            return ARCHIVE
        parent = target.rpartition("/")[0]
        if parent not in made:
            Path(parent).mkdir(parents=True, exist_ok=True)
            made.add(parent)
        return _copy(fd, head, target, limit)
    except OSError as exc:
        if exc.filename is not None and str(exc.filename) == target:
            raise ScannerError(KINGFISHER.name, f"cannot write its input copy: "
                                                f"{exc.strerror or exc}") from None
        return TreeFileError(f"could not be read ({exc.strerror or exc})")
    finally:
        os.close(fd)


def _copy(fd: int, head: bytes, target: str, limit: int) -> str | TreeFileError:
    """The rest of the open file after ``head``, into a new file at ``target`` (removed
    again when the file turns out to be larger than ``limit``)."""
    try:
        out = os.open(target, _WRITE, 0o600)
    except OSError as exc:
        raise ScannerError(KINGFISHER.name, f"cannot write its input copy: "
                                            f"{exc.strerror or exc}") from None
    try:
        total, chunk = 0, head
        while chunk:
            total += len(chunk)
            if total > limit:  # grown since it was measured
                os.unlink(target)  # noqa: PTH108
                return TreeFileError(f"larger than {limit} bytes")
            view = memoryview(chunk)
            while view:
                view = view[os.write(out, view):]
            # a head shorter than asked for is the whole file: no read to find its end
            chunk = os.pread(fd, COPY_CHUNK, total) if len(head) == BINARY_SNIFF else b""
        return COPIED
    finally:
        os.close(out)


def plan_mirror(files: tuple[str, ...], work: Path) -> tuple[Mirror, list[tuple[str, str]]]:
    """The mirror of ``files`` in ``work`` and where each file goes (relative to BUILD);
    its INPUT directory is made, so kingfisher can be started before a file is copied."""
    mirror = Mirror(work, KINGFISHER.name)
    places = [(rel, mirror.mirror_path(rel)) for rel in files]
    for part in (INPUT, BUILD):
        (work / part).mkdir(mode=0o700, parents=True, exist_ok=True)
    return mirror, places


def fill_mirror(mirror: Mirror, places: list[tuple[str, str]], *, root: Path, limit: int,
                threads: int = 4) -> Mirror:
    """Each text file of ``places`` copied into BUILD (``_place``) on ``threads`` threads
    (creating thousands of small files waits on the file system, not the CPU), then BUILD
    renamed to INPUT/DONE in one step; binary files and zip archives listed, not copied;
    files that cannot be read, or are too large, left out as unscanned findings."""
    made: set[str] = set()  # directories created (a thread may create one twice: harmless)
    top, out = f"{root}/", f"{mirror.work}/{BUILD}/"

    def place(share: list[tuple[str, str]]) -> list[str | TreeFileError]:
        return [_place(top + rel, rel, out + where, limit, made) for rel, where in share]

    parts = max(1, min(threads, len(places) // 64 + 1))
    with ThreadPoolExecutor(max_workers=parts) as pool:
        shares = list(pool.map(place, [places[i::parts] for i in range(parts)]))
    outcomes = {(rel, where): outcome for i, share in enumerate(shares)
                for (rel, where), outcome in zip(places[i::parts], share, strict=True)}
    for rel, where in places:
        mirror.record(root, rel, where, outcomes[rel, where])
    try:
        (mirror.work / BUILD).rename(mirror.work / INPUT / DONE)
    except OSError as exc:
        raise ScannerError(KINGFISHER.name, f"cannot write its input copy: "
                                            f"{exc.strerror or exc}") from None
    return mirror


def build_mirror(root: Path, files: tuple[str, ...], limit: int, work: Path) -> Mirror:
    """The mirror of ``files`` in ``work``, planned and filled."""
    return fill_mirror(*plan_mirror(files, work), root=root, limit=limit)


# A memory file system for the mirror when it has room to spare: making and removing
# thousands of small files on a busy disk's journal took seconds (Django 4.2: 5-9 s for
# what tmpfs does in 1 s); the files are in memory for the seconds of the scan only.
MEMORY_FS = Path("/dev/shm")  # noqa: S108 - a private mkdtemp directory is made in it
MEMORY_FS_SPARE = 256 * 1024 * 1024


def mirror_place(root: Path, files: tuple[str, ...], limit: int, work: Path | None
                 ) -> Path | None:
    """Where to make the mirror: MEMORY_FS when it is there, writable and would keep
    MEMORY_FS_SPARE free after twice the files' size; else ``work`` (the scanner's own
    directory)."""
    try:
        free = os.statvfs(MEMORY_FS)
        if not os.access(MEMORY_FS, os.W_OK | os.X_OK):
            return work
    except OSError:
        return work
    size, top = 0, f"{root}/"
    for rel in files:  # str paths: a Path per file cost more than the lstat
        try:
            size += min(os.lstat(top + rel).st_size, limit)
        except OSError:
            continue
    room = free.f_bavail * free.f_frsize
    return MEMORY_FS if room - 2 * size > MEMORY_FS_SPARE else work


def remove_mirror(work: Path, threads: int) -> None:
    """Delete the mirror: with ``rm -r`` (a C loop; Python's took twice as long on
    Django's 2,400 files), never crossing into another file system; with Python's own
    walk when rm is not there or leaves something behind. Nothing's permissions are
    changed to remove it."""
    rm = shutil.which("rm")
    if rm is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run([rm, "-rf", "--one-file-system", "--", str(work)],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=300, check=False)
        if not os.path.lexists(work):
            return
    files: list[str] = []
    dirs: list[str] = []
    for top, subdirs, names in os.walk(work, topdown=True, followlinks=False):
        files.extend(os.path.join(top, n) for n in names)  # noqa: PTH118
        dirs.extend(os.path.join(top, d) for d in subdirs)  # noqa: PTH118
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        list(pool.map(_remove, files, chunksize=64))
    for path in [*sorted(dirs, key=len, reverse=True), str(work)]:
        with contextlib.suppress(OSError):
            os.rmdir(path)  # noqa: PTH106


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)  # noqa: PTH108
