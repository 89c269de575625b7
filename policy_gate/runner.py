"""Run the enabled scanners concurrently, then normalise: scan -> merge -> (evaluate).

Every scanner ends in exactly one state: ok, failed (the gate exits 3), skipped (it
failed but the policy marks it optional; every report says why) or disabled.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path

from policy_gate.advisories.database import (
    NPM,
    PYPI,
    AdvisoryDBError,
    AdvisoryIndex,
    DatabaseInfo,
    coverage_reason,
)
from policy_gate.base.fileset import FileSet, walk
from policy_gate.base.git import ChangeSet, GitError, Repo
from policy_gate.base.process import ScannerError
from policy_gate.cache import (
    CacheUse,
    ResultsCache,
    cached_scan,
    has_run,
    summarise_file_notes,
)
from policy_gate.dependencies import submodules
from policy_gate.findings import Finding, merge_findings
from policy_gate.history import drop_history_duplicates, scan_history
from policy_gate.policy.evaluate import ScannerOutcome
from policy_gate.policy.model import Policy
from policy_gate.policy.suppressions import Suppression, bare_findings, find_suppressions
from policy_gate.scanners import registry
from policy_gate.scanners.interface import (
    Progress,
    ScanContext,
    Scanner,
    ScanOutput,
    no_progress,
)


@dataclass
class ScannerRun:
    name: str
    status: str  # ok | failed | skipped | disabled
    reason: str = ""
    version: str = ""
    seconds: float = 0.0
    output: ScanOutput | None = None
    # How the answer was obtained when a results cache was given (None: no cache, or the
    # scanner always runs).
    cache: CacheUse | None = None

    @property
    def outcome(self) -> ScannerOutcome:
        return ScannerOutcome(self.name, self.status, self.reason)

    @property
    def findings(self) -> list[Finding]:
        return self.output.findings if self.output else []


@dataclass
class ScanResult:
    root: Path
    fileset: FileSet
    runs: list[ScannerRun]
    findings: list[Finding]  # merged
    started: float
    seconds: float
    osv_url: str | None = None
    advisories: str | None = None
    notes: list[str] = field(default_factory=list)
    # The offline advisory data the audits used (source, records, newest, age), if any.
    advisory_info: DatabaseInfo | None = None
    # True when the offline database was not read: the tree has nothing to audit.
    advisories_unread: bool = False
    # Inline suppression comments in the files the file-local scanners read.
    suppressions: list[Suppression] = field(default_factory=list)
    # Diff mode: what the change touched (None on a full scan).
    changes: ChangeSet | None = None
    # Diff mode: the files given to the file-local scanners (SAST, secrets).
    changed_files: tuple[str, ...] = ()


# (event, scanner, detail): event is "start", "progress", "done"
Listener = Callable[[str, str, str], None]


def scan(
    root: Path,
    policy: Policy,
    *,
    only: list[str] | None = None,
    osv_url: str | None = None,
    advisories: str | None = None,
    listener: Listener | None = None,
    jobs: int | None = None,
    changes: ChangeSet | None = None,
    repo: Repo | None = None,
    cache: ResultsCache | None = None,
    while_scanning: Callable[[], None] | None = None,
) -> ScanResult:
    """Scan ``root``. With ``changes`` (diff mode), the file-local scanners read only the
    changed files, and with ``repo`` every commit of the change is searched for secrets.
    With ``cache``, what the scanners said about unchanged content is reused.
    ``while_scanning`` runs on this thread once every scanner has started: whatever the
    caller will need afterwards (report modules, catalogues) costs nothing there."""
    started_wall = time.time()
    started = time.monotonic()
    notify = listener or (lambda _e, _s, _d: None)
    fileset = walk(root, policy.exclude, skip=[cache.directory] if cache else [],
                   generated=policy.generated, limit=policy.max_file_bytes)
    # generated content is out of code analysis, but the secret scanners read it too
    fileset, searched = _secret_scope(fileset, changes)
    local_fileset, local_searched = fileset, searched
    if changes is not None:
        local_fileset = fileset.only(f for f in fileset.files if changes.is_changed(f))
        local_searched = searched.only(f for f in searched.files if changes.is_changed(f))
    jobs = jobs or os.cpu_count() or 1
    adv = advisories or policy.advisories.database
    osv = osv_url or policy.advisories.osv_url
    scanners = registry()
    wanted = [n for n in scanners if only is None or n in only]

    audits = [n for n in AUDIT_SCANNERS
              if n in wanted and n in policy.scanners and policy.scanners[n].enabled]
    info: DatabaseInfo | None = None
    unread = False  # an offline database that was not needed

    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="policy-gate-")))
        runs: dict[str, ScannerRun] = {}
        contexts: dict[str, ScanContext] = {}
        for name in scanners:
            settings = policy.scanners[name]
            if name not in wanted:
                runs[name] = ScannerRun(name, "disabled", "not selected on the command line")
                continue
            if not settings.enabled:
                runs[name] = ScannerRun(name, "disabled", "disabled by the policy")
                continue
            options = {
                "max_file_bytes": policy.max_file_bytes,
                **settings.options,
            }
            (work / name).mkdir()
            whole, local = (searched, local_searched) if name in READS_GENERATED else (
                fileset, local_fileset)
            contexts[name] = ScanContext(
                fileset=local if scanners[name].file_local else whole,
                settings=replace(settings, options=options),
                jobs=jobs,
                progress=_progress(notify),
                osv_url=osv,
                work_dir=work / name,
                licenses=policy.licenses,
            )
            runs[name] = ScannerRun(name, "running")
        threads: list[threading.Thread] = []
        # Scanners that run no tool have no process timeout to end them: the policy's
        # timeout is kept on their thread instead (name -> thread, deadline, timeout).
        watched: dict[str, tuple[threading.Thread, float, float]] = {}

        def start(name: str, ctx: ScanContext) -> None:
            scan_fn = scanners[name].scan
            if cache is not None and _cacheable(scanners[name], ctx):
                use = runs[name].cache = CacheUse()
                scan_fn = partial(cached_scan, cache, scanners[name], use=use)
            thread = threading.Thread(
                target=_run_one,
                args=(scan_fn, ctx, runs[name], notify),
                name=f"scan-{name}",
                daemon=True,
            )
            threads.append(thread)
            thread.start()
            if not scanners[name].executable:
                timeout = ctx.settings.timeout
                watched[name] = (thread, time.monotonic() + timeout, timeout)

        # Everything but the audits starts now; the advisory database loads meanwhile.
        for name, ctx in contexts.items():
            if name not in AUDIT_SCANNERS:
                start(name, ctx)
        # diff mode: the change's commits are searched whenever the head is (whether or
        # not its thread, already started, has finished by now)
        if repo is not None and changes is not None and "detect-secrets" in contexts:
            (work / HISTORY).mkdir()
            history_ctx = ScanContext(
                fileset=fileset,
                settings=replace(policy.scanners["detect-secrets"], options={
                    "max_file_bytes": policy.max_file_bytes,
                    **policy.scanners["detect-secrets"].options,
                }),
                jobs=jobs,
                progress=_progress(notify),
                work_dir=work / HISTORY,
            )
            runs[HISTORY] = ScannerRun(HISTORY, "running")
            thread = threading.Thread(
                target=_run_one,
                args=(partial(scan_history, repo, changes, policy.exclude,
                              at_head=local_searched.files), history_ctx,
                      runs[HISTORY], notify),
                name="scan-history",
                daemon=True,
            )
            threads.append(thread)
            thread.start()
        # (An unreadable database raises here, without waiting for the scanners already
        # running: the gate stops with that error, and they are daemon threads.)
        audit_contexts = {n: contexts[n] for n in audits if n in contexts}
        index: AdvisoryIndex | None = None
        # With no manifest or lockfile in the tree there is nothing to audit: the
        # database is not read (a second or more of YAML), only checked to be there.
        audited = {n for n, ctx in audit_contexts.items() if scanners[n].targets(ctx.fileset)}
        if adv and audit_contexts and not audited:
            if not Path(str(adv)).exists():
                raise AdvisoryDBError(f"{adv}: not a directory, zip archive or OSV file")
            unread = True
        elif adv and audit_contexts:
            index, info, osv = _advisories(
                Path(str(adv)), policy, cache, scanners, audit_contexts, audited, runs, osv,
                stack,
            )
        for name, ctx in audit_contexts.items():
            if runs[name].status == "running":
                start(name, replace(ctx, osv_url=osv, advisory_db=index))
        # The gate's own look at the same files, while the scanners run.
        suppressions = find_suppressions(
            local_fileset.root, local_fileset.files, policy.max_file_bytes
        )
        if while_scanning is not None:
            while_scanning()
        _join(threads, watched, runs, notify)

    ordered = [runs[n] for n in (*scanners, HISTORY) if n in runs]
    for run in ordered:
        settings = policy.scanners.get(run.name) or policy.scanners["detect-secrets"]
        if run.status == "failed" and settings.optional:
            run.status = "skipped"
    raw = [f for run in ordered if run.status == "ok" for f in run.findings]
    raw += bare_findings(suppressions)
    # Submodules whose code is not in the tree: nothing above saw it (a gate-level check).
    raw += submodules.findings(fileset, changes.new_dirs if changes is not None else ())
    if HISTORY in runs:
        raw = drop_history_duplicates(raw)
    merged = merge_findings(raw)
    return ScanResult(
        root=fileset.root,
        fileset=fileset,
        runs=ordered,
        findings=merged,
        started=started_wall,
        seconds=time.monotonic() - started,
        osv_url=osv if not adv else None,
        advisories=str(adv) if adv else None,
        advisory_info=info,
        advisories_unread=unread,
        suppressions=suppressions,
        changes=changes,
        changed_files=local_fileset.files if changes is not None else (),
    )


# Diff mode's search of every commit of the change for secrets: a run of its own.
HISTORY = "secrets-history"
# The scanners that read generated and installed content too: a credential (or card
# number) is a leak wherever it sits in the repository.
READS_GENERATED = ("detect-secrets", "data-protection")


def _secret_scope(fileset: FileSet, changes: ChangeSet | None) -> tuple[FileSet, FileSet]:
    """(the inventory, noting the generated files not searched for secrets; what the
    READS_GENERATED scanners read). On a full scan of a git work tree, generated files git
    ignores and does not track are not read: an install's or a test run's output, not in
    the repository. Diff mode reads only changed files, which git tracks or does not
    ignore. Outside git every generated file is read."""
    if not fileset.generated or changes is not None:
        return fileset, fileset.secret_scope(None)
    try:
        paths = Repo.open(fileset.root).ignored()
    except GitError:
        return fileset, fileset.secret_scope(None)
    dirs = tuple(p for p in paths if p.endswith("/"))

    def ignored(rel: str) -> bool:
        return rel in paths or rel.startswith(dirs)

    unsearched = tuple(f for f in fileset.generated if ignored(f))
    return replace(fileset, unsearched=unsearched), fileset.secret_scope(ignored)

# The scanners that audit dependencies against advisory data.
AUDIT_SCANNERS = ("pip-audit", "osv")
# The ecosystem each audit reads: the advisory data must cover it (coverage_reason).
AUDIT_ECOSYSTEMS = {"pip-audit": PYPI, "osv": NPM}


def stale_reason(
    info: DatabaseInfo, max_age_days: float | None, now: datetime | None = None
) -> str:
    """Why the data is too old to audit with (M4a), or '' when it is fresh enough."""
    if max_age_days is None:
        return ""
    age = info.age_days(now)
    if age is None:
        return (f"advisory database {info.source} has no 'modified' timestamps, so its age "
                f"is unknown; the policy allows {max_age_days:g} days (M4a)")
    if age <= max_age_days:
        return ""
    newest = info.newest.strftime("%Y-%m-%d") if info.newest else "?"
    return (f"advisory database {info.source} is stale: newest record {newest} is "
            f"{int(age)} days old; the policy allows {max_age_days:g} (M4a)")


def _advisories(
    path: Path,
    policy: Policy,
    cache: ResultsCache | None,
    scanners: Mapping[str, Scanner],
    contexts: dict[str, ScanContext],
    audited: set[str],
    runs: dict[str, ScannerRun],
    osv: str | None,
    stack: contextlib.ExitStack,
) -> tuple[AdvisoryIndex | None, DatabaseInfo, str | None]:
    """The offline advisory database for the audits: (index, what it is, OSV URL).

    Too old, it fails every audit (M4a). It is loaded, and served to pip-audit, only if an
    audit will read it: with a warm cache and unchanged manifests, none does; pip-audit
    only when it is among the ``audited`` (those with a manifest or lockfile to read). The
    audits' contexts get its digest (their cache key depends on it)."""
    index: AdvisoryIndex | None = None
    info: DatabaseInfo | None = None
    digest = ""
    if cache is not None:
        digest = cache.database_digest(path)
        info = cache.advisory_info(digest)
    if info is None:
        index = AdvisoryIndex.load(path)  # once, for pip-audit and osv
        info = index.info
        if cache is not None:
            cache.put_advisory_info(digest, info)
    stale = stale_reason(info, policy.advisories.max_age_days)
    for name, ctx in contexts.items():
        # never audit stale data, nor an ecosystem the data has no (fresh) records of
        reason = stale or (coverage_reason(info, AUDIT_ECOSYSTEMS[name],
                                           policy.advisories.max_age_days)
                           if name in audited else "")
        if reason:
            runs[name].status, runs[name].reason = "failed", reason
        else:
            contexts[name] = replace(ctx, advisory_digest=digest)
    if stale:
        return None, info, osv
    reading = [n for n, ctx in contexts.items()
               if runs[n].status == "running" and not _answered(cache, scanners[n], ctx)]
    if reading and index is None:
        index = AdvisoryIndex.load(path)
    if index is not None and "pip-audit" in reading and "pip-audit" in audited:
        from policy_gate.osv.server import serve_advisories

        osv = stack.enter_context(serve_advisories(index))
    return index, info, osv


def _answered(cache: ResultsCache | None, scanner: Scanner, ctx: ScanContext) -> bool:
    """Whether the cache holds the scanner's whole answer (a scanner that cannot even say
    its version is not: its own run then fails as usual)."""
    if cache is None or not _cacheable(scanner, ctx):
        return False
    try:
        return has_run(cache, scanner, ctx)
    except ScannerError:
        return False


def _cacheable(scanner: Scanner, ctx: ScanContext) -> bool:
    """An audit against an online service answers differently as advisories are published:
    only an audit of a known offline database, or of no manifest at all, is cached."""
    if scanner.name in AUDIT_SCANNERS and not ctx.advisory_digest:
        return not scanner.targets(ctx.fileset)
    return scanner.cacheable(ctx)


def _progress(notify: Listener) -> Progress:
    def progress(scanner: str, message: str) -> None:
        notify("progress", scanner, message)

    return progress


def _run_one(
    scan_fn: Callable[[ScanContext], ScanOutput],
    ctx: ScanContext,
    run: ScannerRun,
    notify: Listener,
) -> None:
    notify("start", run.name, "")
    started = time.monotonic()
    try:
        output = scan_fn(ctx)
        output.notes = [*output.notes, *summarise_file_notes(output.file_notes)]
        counted = sum(len(f.sources) for f in output.findings)
        if counted != output.raw_results:
            raise ScannerError(
                run.name,
                f"internal accounting error: {output.raw_results} results reported but "
                f"{counted} findings produced",
            )
        run.output = output
        run.version = output.version
        run.status = "ok"
    except ScannerError as exc:
        run.status = "failed"
        run.reason = exc.reason
    # An adapter bug must fail closed, never pass; so must a library's sys.exit(), which
    # would otherwise end this thread silently and leave the run "running".
    except BaseException as exc:
        run.status = "failed"
        run.reason = f"internal error in the {run.name} adapter: {type(exc).__name__}: {exc}"
    run.seconds = time.monotonic() - started
    notify("done", run.name, _outcome_line(run))


def _join(
    threads: list[threading.Thread],
    watched: Mapping[str, tuple[threading.Thread, float, float]],
    runs: dict[str, ScannerRun],
    notify: Listener,
) -> None:
    """Wait for every scanner. One that runs no tool and outlives its policy timeout fails
    and is left behind (a daemon thread, writing to a run no report reads); a run whose
    thread ended without an outcome fails too. Neither is ever a pass."""
    own = {thread for thread, _, _ in watched.values()}
    for thread in threads:
        if thread not in own:
            thread.join()  # a tool's process times out by itself
    for name, (thread, deadline, timeout) in watched.items():
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            reason = f"timed out after {timeout:g} s (policy timeout)"
            runs[name] = ScannerRun(name, "failed", reason, seconds=timeout)
            notify("done", name, _outcome_line(runs[name]))
    for run in runs.values():
        if run.status == "running":
            run.status, run.reason = "failed", "ended without an outcome (internal error)"


def _outcome_line(run: ScannerRun) -> str:
    """'ok in 12.3 s: 871 files, 288 results (870 files from the cache)', for progress."""
    line = f"{run.status} in {run.seconds:.1f} s"
    if run.output is not None:
        line += f": {run.output.files_scanned} files, {run.output.raw_results} results"
    if run.cache is not None and run.status == "ok":
        line += (" (all from the cache)" if run.cache.run_from_cache
                 else f" ({run.cache.files_from_cache} files from the cache)")
    elif run.reason:
        line += f": {run.reason}"
    return line



__all__ = ["ScanResult", "ScannerRun", "no_progress", "scan"]
