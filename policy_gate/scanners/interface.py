"""The abstract scanner: given the file inventory and its settings, run one tool and turn
its output into Findings. One module per tool implements it."""

from __future__ import annotations

import json
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from policy_gate.advisories.database import AdvisoryIndex
from policy_gate.base.fileset import FileSet
from policy_gate.base.process import (
    Completed,
    ScannerError,
    console_script,
    find_tool,
    run_tool,
    stderr_tail,
)
from policy_gate.base.treefile import TreeFileError, within_limit
from policy_gate.catalogue import DEFAULT_MAX_FILE_BYTES, ScannerInfo, ScannerSettings
from policy_gate.dependencies.license_lookup import MetadataStore
from policy_gate.findings import UNSCANNED, Confidence, Finding, Severity, Source, content_key
from policy_gate.results import ScanOutput
from policy_gate.scanners.filetext import binary_asset

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


# (scanner name, message) -> None. Scanners call it with what they are doing ("42/300
# files"); the terminal shows it on long runs.
Progress = Callable[[str, str], None]


def no_progress(_scanner: str, _message: str) -> None:
    return None


class EarlyStart(ABC):
    """A scanner's tool started before the tree is walked (``Scanner.start_early``): the
    scanner takes it up in ``scan``; whatever it did not take up is abandoned when the
    scan ends."""

    @abstractmethod
    def abandon(self) -> None:
        """Stop the tool and remove what was made for it (harmless once taken up)."""


@dataclass(frozen=True)
class ScanContext:
    fileset: FileSet
    settings: ScannerSettings
    jobs: int = 1  # cores this scanner may use
    progress: Progress = no_progress
    osv_url: str | None = None  # an OSV-compatible query endpoint, when not the public one
    work_dir: Path | None = None  # a private temporary directory for this scanner
    advisory_db: AdvisoryIndex | None = None  # the offline advisory database, when loaded
    # The policy's validated `licenses` section (allow, deny, unknown_severity, exceptions),
    # for the licence check.
    licenses: Mapping[str, Any] = field(default_factory=dict)
    # SHA-256 over the offline advisory database's documents, when one is used and a
    # results cache is on (the audits' answers depend on it).
    advisory_digest: str = ""
    # What the scanner started before the walk (``Scanner.start_early``), if anything.
    early: EarlyStart | None = None
    # Where registry answers (licences of published versions) are kept between runs: the
    # results cache, or the user's own cache directory; None: not kept.
    metadata_store: MetadataStore | None = None

    @property
    def root(self) -> Path:
        return self.fileset.root

    @property
    def max_file_bytes(self) -> int:
        """The largest file a scanner reads, or hands to its tool (the policy's
        ``max_file_bytes``): a larger one is an unscanned finding, never skipped."""
        return int(self.settings.options.get("max_file_bytes", DEFAULT_MAX_FILE_BYTES))


class Scanner(ABC):
    # The scanner's entry in the catalogue: its name, categories, description and whether
    # it is file-local are read from there (every layer reads the same entry).
    info: ClassVar[ScannerInfo]
    name: ClassVar[str]
    categories: ClassVar[tuple[str, ...]]
    description: ClassVar[str]
    # True when what it reports about a file depends on that file alone (SAST per file,
    # secrets): in diff mode such a scanner is given only the changed files.
    file_local: ClassVar[bool] = False
    executable: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "info" in cls.__dict__:
            cls.name = cls.info.name
            cls.categories = cls.info.categories
            cls.description = cls.info.description
            cls.file_local = cls.info.file_local

    # The first dotted number a tool's `--version` prints is its version (bandit prints the
    # Python version after its own; semgrep only the number).
    version_args: ClassVar[tuple[str, ...]] = ("--version",)
    _VERSION: ClassVar[re.Pattern[str]] = re.compile(r"(\d+\.\d+(?:\.\d+)*[^\s,]*)")

    # The Python distribution whose console script `executable` is, if it is one.
    distribution: ClassVar[str] = ""

    def version(self, ctx: ScanContext) -> str:
        """The tool's version, recorded in every report. From the package metadata when the
        executable is pip's console script for this gate's own interpreter (starting
        semgrep just to ask costs ~1.5 CPU-s); otherwise by asking the tool, which is also
        a first check that it runs at all."""
        exe = find_tool(self.executable) if self.distribution else None
        script = console_script(exe) if exe else None
        if script is not None and script.runs_here():
            try:
                return metadata.version(self.distribution)
            except metadata.PackageNotFoundError:
                pass
        argv = [self.executable, *self.version_args]
        completed = run_tool(self.name, argv, timeout=120, cwd=ctx.root)
        match = self._VERSION.search(completed.stdout)
        if completed.returncode != 0 or not match:
            raise ScannerError(self.name, f"`{' '.join(argv)}` failed{stderr_tail(completed)}")
        return match.group(1)

    def cacheable(self, ctx: ScanContext) -> bool:
        """Whether the answer depends only on the tool, its settings, what `cache_inputs`
        names and the content of `targets` (policy_gate.cache); False makes it always run."""
        return True

    def start_early(self, root: Path, settings: ScannerSettings, jobs: int
                    ) -> EarlyStart | None:
        """Start the tool before the tree is walked, when it takes long to start and can
        be given its input afterwards (kingfisher loads its rules for most of a second);
        the runner hands it back in ``ScanContext.early``. Most scanners start nothing."""
        return None

    def cache_inputs(self, ctx: ScanContext) -> Mapping[str, Any]:
        """What else the answer depends on, for the results cache's key."""
        return {}

    def cache_files(self, ctx: ScanContext) -> tuple[str, ...]:
        """Every file of the tree a whole-run answer (``file_local`` False) depends on, for
        the results cache's key: the targets and whatever they make the scanner read (an
        include, the package.json beside a lockfile), present or not. A file left out
        here would let a changed answer be served from the cache."""
        return self.targets(ctx.fileset)

    @abstractmethod
    def targets(self, fileset: FileSet) -> tuple[str, ...]:
        """The files this scanner should look at (it may look at none)."""

    @abstractmethod
    def scan(self, ctx: ScanContext) -> ScanOutput:
        """Run the tool. Raise ScannerError when it cannot give a trustworthy answer."""


def parse_json(scanner: str, text: str) -> Any:
    """Parse a scanner's JSON output, failing closed with a readable reason."""
    stripped = text.strip()
    if not stripped:
        raise ScannerError(scanner, "printed no output (expected a JSON report)")
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as exc:
        preview = stripped[:120].replace("\n", " ")
        raise ScannerError(
            scanner, f"printed output that is not JSON ({exc.msg} at char {exc.pos}): {preview!r}"
        ) from None
    except (ValueError, RecursionError) as exc:  # a number beyond Python's digits, deep nesting
        reason = str(exc).splitlines()[0][:100] or type(exc).__name__
        raise ScannerError(scanner, f"printed JSON that cannot be read ({reason})") from None


def parse_report(scanner: str, completed: Completed) -> Any:
    """parse_json of a tool run's stdout; when that is no report, the reason also gives the
    exit status and the end of stderr, where a crashed tool says what happened."""
    try:
        return parse_json(scanner, completed.stdout)
    except ScannerError as exc:
        raise ScannerError(
            scanner, f"{exc.reason} (exit status {completed.returncode}){stderr_tail(completed)}"
        ) from None


class _NotRun(Exception):
    """A batch not started because another had failed."""


def map_batches(run: Callable[[_Item], _Result], batches: Sequence[_Item], workers: int
                ) -> list[_Result]:
    """``run`` over ``batches`` on ``workers`` threads, results in order. After a failure
    no further batch starts, and the first failure is raised: a tool that crashed or timed
    out must not then be given a timeout's worth of time for every batch left."""
    failed = threading.Event()

    def guarded(batch: _Item) -> _Result:
        if failed.is_set():
            raise _NotRun
        try:
            return run(batch)
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(guarded, batch) for batch in batches]
    for future in futures:
        error = future.exception()
        if error is not None and not isinstance(error, _NotRun):
            raise error
    return [future.result() for future in futures]


def require(scanner: str, obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """Fetch a field a scanner's output format promises, or fail closed naming it."""
    if not isinstance(obj, dict):
        raise ScannerError(scanner, f"unexpected output: {where} is not an object")
    if key not in obj:
        raise ScannerError(scanner, f"unexpected output: {where} has no '{key}' field")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ScannerError(scanner, f"unexpected output: {where}.{key} is {type(value).__name__}")
    return value


# The rule ids of `unscanned` findings: what a policy can re-grade.
NOT_ANALYSED = "file-not-analysed"  # code, configuration, a manifest or other text: high
BINARY_NOT_ANALYSED = "binary-file-not-analysed"  # a binary asset: medium


def unscanned_finding(
    scanner: str, path: str, reason: str, line: int | None = None, *, kind: str | None = None,
    binary: bool = False,
) -> Finding:
    """A file a scanner could not analyse (syntax error, too large…): shown, never silent.
    Its identity is the ``kind`` of problem when given ("Timeout"), else the reason: a
    reason that names what happened to time out first would change from run to run.

    Unchecked code, configuration, manifests and text are graded high: a policy that stops
    when data is unavailable (Mojaloop's M4a) fails on them. Only a ``binary`` asset (the
    caller read it as binary by content: filetext.binary_asset) is graded medium."""
    severity, rule = (Severity.MEDIUM, BINARY_NOT_ANALYSED) if binary else (
        Severity.HIGH, NOT_ANALYSED)
    return Finding(
        category=UNSCANNED,
        sources=(Source(scanner, rule, severity, Confidence.HIGH, reason),),
        path=path,
        start_line=line,
        end_line=line,
        message=f"{scanner} could not analyse this file: {reason}",
        flaw_key=f"{scanner}:unscanned",
        content_key=content_key(reason if kind is None else kind),
        title="Binary file not analysed" if binary else "File not analysed",
    )


@dataclass
class LeftOut:
    """The targets a scanner did not analyse (too large, unreadable, gone since the walk):
    an unscanned finding each, so none is skipped silently, and their paths for
    ``ScanOutput.unread``, so the results cache can tell a file read from one left out."""

    scanner: str
    findings: list[Finding] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def add(self, rel: str, reason: str, *, binary: bool = False) -> Finding:
        """Record ``rel`` as left out, and return its unscanned finding."""
        finding = unscanned_finding(self.scanner, rel, reason, binary=binary)
        self.findings.append(finding)
        self.paths.append(rel)
        return finding

    def unreadable(self, root: Path, rel: str, error: TreeFileError, purpose: str) -> Finding:
        """A file the gate reads itself (read_tree_file) but could not: graded as a binary
        asset when its content says it is one (filetext.binary_asset)."""
        return self.add(rel, f"{error}; not scanned for {purpose}",
                        binary=binary_asset(root / rel, rel))

    @property
    def unread(self) -> tuple[str, ...]:
        return tuple(self.paths)

    def only(self, version: str) -> ScanOutput:
        """The whole answer when no target is left for the tool: the left-out files."""
        return ScanOutput(list(self.findings), version, len(self.findings), 0,
                          unread=self.unread)


def sized_targets(scanner: Scanner, ctx: ScanContext, limit: int
                  ) -> tuple[tuple[str, ...], LeftOut]:
    """For a tool that reads each file whole itself (bandit, semgrep): the targets of at
    most ``limit`` bytes to hand over, and the rest left out (base.treefile.within_limit)."""
    files, too_large = within_limit(ctx.root, scanner.targets(ctx.fileset), limit)
    left_out = LeftOut(scanner.name)
    for rel, why in too_large:
        left_out.add(rel, why)
    return files, left_out


def columns(start: object, end: object, base: int, one_line: bool,
            text: str = "") -> tuple[int | None, int | None]:
    """A tool's start and end columns as SARIF counts them (1-based, in UTF-16 code units;
    the end is the column after the region), ``base`` being the tool's first column
    (bandit's AST offsets: 0). Whatever is not a whole number is left out, and so is an
    end column that does not come after the start on a one-line region. ``text``: the
    flagged lines; tools count bytes or characters where SARIF counts UTF-16 units, which
    agree on ASCII only, so on other text no column is given rather than a wrong one."""
    if not text.isascii():
        return None, None
    first = start + 1 - base if type(start) is int and start >= base else None
    last = end + 1 - base if type(end) is int and end >= base else None
    if one_line and first is not None and last is not None and last <= first:
        last = None
    return first, last


def tree_path(reported: str) -> str:
    """A scanner's path for a file we passed as ``./rel`` back to ``rel`` (bandit reports
    ``././rel``; semgrep reports ``rel``)."""
    while reported.startswith("./"):
        reported = reported[2:]
    return reported


def chunked(items: tuple[str, ...], max_chars: int = 100_000) -> list[list[str]]:
    """Split a file list into argv-sized batches (Linux caps one argv near 2 MB)."""
    batches: list[list[str]] = []
    current: list[str] = []
    size = 0
    for item in items:
        if current and size + len(item) + 1 > max_chars:
            batches.append(current)
            current, size = [], 0
        current.append(item)
        size += len(item) + 1
    if current:
        batches.append(current)
    return batches


def split_evenly(items: tuple[str, ...], parts: int) -> list[tuple[str, ...]]:
    parts = max(1, min(parts, len(items)))
    return [items[i::parts] for i in range(parts)] if items else []
