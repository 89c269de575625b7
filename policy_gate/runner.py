"""Run the enabled scanners concurrently, then normalise: ``scan`` plans (which scanners,
which files), launches (a thread each, the audits once the advisory database is there),
collects every run in its final state and merges their findings; the gate evaluates them.

Every scanner ends in exactly one state: ok, failed (the gate exits 3), skipped (it
failed but the policy marks it optional; every report says why) or disabled.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path

from policy_gate.advisories.database import AdvisoryDBError, AdvisoryIndex, coverage_reason
from policy_gate.base.fileset import FileSet, Selection, walk
from policy_gate.base.git import Repo
from policy_gate.base.gitdiff import ChangeSet
from policy_gate.base.process import ScannerError, timeout_reason
from policy_gate.cache import (
    ResultsCache,
    cached_scan,
    has_run,
    metadata_cache,
    summarise_file_notes,
)
from policy_gate.catalogue import AUDIT_ECOSYSTEMS, AUDIT_SCANNERS, ScannerSettings
from policy_gate.dependencies import submodules
from policy_gate.findings import Finding, merge_findings
from policy_gate.history import drop_history_duplicates, scan_history, secret_engine
from policy_gate.policy.model import Policy
from policy_gate.policy.suppressions import bare_findings, find_suppressions
from policy_gate.results import (
    HISTORY,
    CacheUse,
    DatabaseInfo,
    ScannerRun,
    ScanOutput,
    ScanResult,
    Suppression,
)
from policy_gate.scanners import registry
from policy_gate.scanners.interface import (
    EarlyStart,
    Progress,
    ScanContext,
    Scanner,
    no_progress,
)

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
    selection: Selection | None = None,
    outputs: Sequence[Path] = (),
) -> ScanResult:
    """Scan ``root``: the files ``selection`` lists (in a git work tree, what a checkout
    has; None: every file), never the gate's own ``outputs``. With ``changes`` (diff
    mode), the file-local scanners read only the
    changed files, and with ``repo`` every commit of the change is searched for secrets.
    With ``cache``, what the scanners said about unchanged content is reused.
    ``while_scanning`` runs on this thread once every scanner has started: whatever the
    caller will need afterwards (report modules, catalogues) costs nothing there."""
    started_wall = time.time()
    started = time.monotonic()
    notify = listener or (lambda _e, _s, _d: None)
    # The stack holds the scanners' scratch directory and, when pip-audit reads an offline
    # database, the local OSV endpoint serving it: both outlive every scanner's thread.
    with contextlib.ExitStack() as stack:
        early = _start_early(root, policy, stack, only=only, jobs=jobs)
        plan = _plan(root, policy, stack, notify, only=only, osv_url=osv_url,
                     advisories=advisories, jobs=jobs, changes=changes, repo=repo, cache=cache,
                     early=early, selection=selection, outputs=outputs)
        launched, database = _launch(plan, policy, cache, notify, stack)
        # The gate's own look at the same files, while the scanners run.
        suppressions = find_suppressions(
            plan.local_fileset.root, plan.local_fileset.files, policy.max_file_bytes
        )
        if while_scanning is not None:
            while_scanning()
        runs = _collect(launched, policy)
    findings = _merge(runs, suppressions, plan.fileset, changes)
    adv = plan.advisories
    return ScanResult(
        root=plan.fileset.root,
        fileset=plan.fileset,
        runs=runs,
        findings=findings,
        started=started_wall,
        seconds=time.monotonic() - started,
        osv_url=plan.osv_url if not adv else None,
        advisories=str(adv) if adv else None,
        advisory_info=database.info,
        advisories_unread=database.unread,
        suppressions=suppressions,
        changes=changes,
        changed_files=plan.local_fileset.files if changes is not None else (),
    )


# The scanners that read generated and installed content too: a credential (or card
# number) is a leak wherever it sits in the repository.
READS_GENERATED = ("detect-secrets", "kingfisher", "data-protection")


@dataclass(frozen=True)
class _Plan:
    """Everything decided before a thread starts, so that launching is only starting and
    no scanner waits on a decision another one's start has to make."""

    scanners: Mapping[str, Scanner]  # every scanner, in catalogue order
    fileset: FileSet  # the inventory every report counts
    local_fileset: FileSet  # what file-local scanners read: in diff mode the changed files
    contexts: dict[str, ScanContext]  # the scanners to run, in catalogue order
    disabled: dict[str, str]  # the others: name -> why
    # diff mode with a repository: the search of the change's commits for secrets
    history: tuple[Callable[[ScanContext], ScanOutput], ScanContext] | None
    advisories: str | None  # the offline advisory database, when one is given
    osv_url: str | None  # an OSV endpoint other than the public one, when given


def _selected(policy: Policy, only: list[str] | None) -> dict[str, str]:
    """The scanners that are not to run, and why."""
    out: dict[str, str] = {}
    for name in registry():
        if only is not None and name not in only:
            out[name] = "not selected on the command line"
        elif not policy.scanners[name].enabled:
            out[name] = "disabled by the policy"
    return out


def _start_early(root: Path, policy: Policy, stack: contextlib.ExitStack, *,
                 only: list[str] | None, jobs: int | None) -> dict[str, EarlyStart]:
    """The tools of the scanners that run which start before the walk
    (``Scanner.start_early``); each is abandoned when the scan ends, if its scanner did
    not take it up (a failure, or an answer from the results cache)."""
    disabled = _selected(policy, only)
    started: dict[str, EarlyStart] = {}
    for name, scanner in registry().items():
        if name in disabled:
            continue
        early = scanner.start_early(root.resolve(), policy.scanners[name],
                                    jobs or os.cpu_count() or 1)
        if early is not None:
            stack.callback(early.abandon)
            started[name] = early
    return started


def _plan(
    root: Path,
    policy: Policy,
    stack: contextlib.ExitStack,
    notify: Listener,
    *,
    only: list[str] | None,
    osv_url: str | None,
    advisories: str | None,
    jobs: int | None,
    changes: ChangeSet | None,
    repo: Repo | None,
    cache: ResultsCache | None,
    early: Mapping[str, EarlyStart],
    selection: Selection | None,
    outputs: Sequence[Path],
) -> _Plan:
    """Which scanners run, on which files, with which settings and scratch directory. The
    command line's choices (``only``, the database, the OSV URL) win over the policy's."""
    fileset = walk(root, policy.exclude, skip=[cache.directory] if cache else [],
                   generated=policy.generated, limit=policy.max_file_bytes,
                   selection=selection, outputs=outputs)
    # generated content is out of code analysis, but the secret scanners read it too
    searched = fileset.secret_scope()
    local_fileset, local_searched = fileset, searched
    if changes is not None:
        local_fileset = fileset.only(f for f in fileset.files if changes.is_changed(f))
        local_searched = searched.only(f for f in searched.files if changes.is_changed(f))
    jobs = jobs or os.cpu_count() or 1
    osv = osv_url or policy.advisories.osv_url
    scanners = registry()
    work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="policy-gate-")))
    # registry answers (licences) outlive the run: in the results cache, else the user's
    store = cache if cache is not None else (
        metadata_cache(root) if "licenses" not in _selected(policy, only) else None)

    def context(name: str, settings: ScannerSettings, files: FileSet) -> ScanContext:
        (work / name).mkdir()
        return ScanContext(
            early=early.get(name),
            fileset=files,
            settings=replace(settings, options={
                "max_file_bytes": policy.max_file_bytes,
                **settings.options,
            }),
            jobs=jobs,
            progress=_progress(notify),
            osv_url=osv,
            work_dir=work / name,
            licenses=policy.licenses,
            metadata_store=store,
        )

    contexts: dict[str, ScanContext] = {}
    disabled = _selected(policy, only)
    for name, scanner in scanners.items():
        if name not in disabled:
            whole, local = (searched, local_searched) if name in READS_GENERATED else (
                fileset, local_fileset)
            contexts[name] = context(name, policy.scanners[name],
                                     local if scanner.file_local else whole)
    history = None
    # diff mode: the change's commits are searched whenever the head is, by its engine
    engine = secret_engine(contexts)
    if repo is not None and changes is not None and engine is not None:
        (work / HISTORY).mkdir()
        history = (
            partial(scan_history, repo, changes, policy.exclude, at_head=local_searched.files,
                    engine=engine),
            ScanContext(fileset=fileset, settings=contexts[engine].settings,
                        jobs=jobs, progress=_progress(notify), work_dir=work / HISTORY),
        )
    return _Plan(scanners, fileset, local_fileset, contexts, disabled, history,
                 advisories or policy.advisories.database, osv)


@dataclass
class _Launched:
    """The scanners' threads as they start, and every run. Waiting for them (``join``) is
    where a scanner that hangs or crashes becomes a failure (exit 3), never a pass."""

    scanners: Mapping[str, Scanner]
    cache: ResultsCache | None
    notify: Listener
    runs: dict[str, ScannerRun]
    threads: list[threading.Thread] = field(default_factory=list)
    # Scanners that run no tool have no process timeout to end them: the policy's
    # timeout is kept on their thread instead (name -> thread, deadline, timeout).
    watched: dict[str, tuple[threading.Thread, float, float]] = field(default_factory=dict)

    def start(self, name: str, ctx: ScanContext) -> None:
        """Start a scanner, through the results cache when its answer may be reused."""
        scanner = self.scanners[name]
        scan_fn = scanner.scan
        if self.cache is not None and _cacheable(scanner, ctx):
            use = self.runs[name].cache = CacheUse()
            scan_fn = partial(cached_scan, self.cache, scanner, use=use)
        thread = self._thread(name, scan_fn, ctx, f"scan-{name}")
        if not scanner.executable:
            timeout = ctx.settings.timeout
            self.watched[name] = (thread, time.monotonic() + timeout, timeout)

    def start_history(self, scan_fn: Callable[[ScanContext], ScanOutput],
                      ctx: ScanContext) -> None:
        """Start the search of the change's commits for secrets (a run of its own)."""
        self.runs[HISTORY] = ScannerRun(HISTORY, "running")
        self._thread(HISTORY, scan_fn, ctx, "scan-history")

    def _thread(self, name: str, scan_fn: Callable[[ScanContext], ScanOutput],
                ctx: ScanContext, label: str) -> threading.Thread:
        """A daemon thread: one left behind cannot keep the gate from exiting."""
        thread = threading.Thread(
            target=_run_one,
            args=(scan_fn, ctx, self.runs[name], self.notify),
            name=label,
            daemon=True,
        )
        self.threads.append(thread)
        thread.start()
        return thread

    def join(self) -> None:
        """Wait for every scanner. One that runs no tool and outlives its policy timeout
        fails and is left behind (a daemon thread, writing to a run no report reads); a run
        whose thread ended without an outcome fails too. Neither is ever a pass."""
        own = {thread for thread, _, _ in self.watched.values()}
        for thread in self.threads:
            if thread not in own:
                thread.join()  # a tool's process times out by itself
        for name, (thread, deadline, timeout) in self.watched.items():
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                reason = timeout_reason(name, timeout)
                self.runs[name] = ScannerRun(name, "failed", reason, seconds=timeout)
                self.notify("done", name, _outcome_line(self.runs[name]))
        for run in self.runs.values():
            if run.status == "running":
                run.status, run.reason = "failed", "ended without an outcome (internal error)"


@dataclass(frozen=True)
class _Database:
    """The advisory database as the audits use it and every report describes it."""

    index: AdvisoryIndex | None = None  # loaded, when an audit reads it
    info: DatabaseInfo | None = None
    unread: bool = False  # an offline database that was not needed
    osv_url: str | None = None  # the audits' OSV endpoint (a local one serving the database)


def _launch(
    plan: _Plan,
    policy: Policy,
    cache: ResultsCache | None,
    notify: Listener,
    stack: contextlib.ExitStack,
) -> tuple[_Launched, _Database]:
    """Start every scanner, the audits last: the advisory database loads while the others
    already run. (An unreadable database raises here, without waiting for the scanners
    already running: the gate stops with that error, and they are daemon threads.)"""
    launched = _Launched(plan.scanners, cache, notify, runs={
        name: ScannerRun(name, "disabled", plan.disabled[name]) if name in plan.disabled
        else ScannerRun(name, "running")
        for name in plan.scanners
    })
    for name, ctx in plan.contexts.items():
        if name not in AUDIT_SCANNERS:
            launched.start(name, ctx)
    # diff mode: the change's commits are searched whenever the head is (whether or not
    # its thread, already started, has finished by now)
    if plan.history is not None:
        launched.start_history(*plan.history)
    audits, database = _database(plan, policy, cache, launched.runs, stack)
    for name, ctx in audits.items():
        if launched.runs[name].status == "running":
            launched.start(name, replace(ctx, osv_url=database.osv_url,
                                         advisory_db=database.index))
    return launched, database


def _database(
    plan: _Plan,
    policy: Policy,
    cache: ResultsCache | None,
    runs: dict[str, ScannerRun],
    stack: contextlib.ExitStack,
) -> tuple[dict[str, ScanContext], _Database]:
    """The audits to start (their contexts), and the offline database they read: only
    checked to be there when no audit has a manifest or lockfile to read, else loaded
    (or not, see ``_advisories``); with none given, the OSV endpoint is theirs."""
    audits = {n: plan.contexts[n] for n in AUDIT_SCANNERS if n in plan.contexts}
    adv = plan.advisories
    # With no manifest or lockfile in the tree there is nothing to audit: the
    # database is not read (a second or more of YAML), only checked to be there.
    audited = {n for n, ctx in audits.items() if plan.scanners[n].targets(ctx.fileset)}
    if adv and audits and not audited:
        if not Path(str(adv)).exists():
            raise AdvisoryDBError(f"{adv}: not a directory, zip archive or OSV file")
        return audits, _Database(unread=True, osv_url=plan.osv_url)
    if adv and audits:
        index, info, osv = _advisories(
            Path(str(adv)), policy, cache, plan.scanners, audits, audited, runs,
            plan.osv_url, stack,
        )
        return audits, _Database(index, info, osv_url=osv)
    return audits, _Database(osv_url=plan.osv_url)


def _collect(launched: _Launched, policy: Policy) -> list[ScannerRun]:
    """Every run in its final state, in catalogue order (the history search last). A
    failed scanner the policy marks optional is skipped (every report says why): the
    gate fails closed (exit 3) on every other failure."""
    launched.join()
    runs = launched.runs
    ordered = [runs[n] for n in (*launched.scanners, HISTORY) if n in runs]
    engine = secret_engine([n for n, r in runs.items() if r.status != "disabled"])
    for run in ordered:
        settings = policy.scanners.get(run.name) or policy.scanners[engine or "detect-secrets"]
        if run.status == "failed" and settings.optional:
            run.status = "skipped"
    return ordered


def _merge(
    runs: list[ScannerRun],
    suppressions: list[Suppression],
    fileset: FileSet,
    changes: ChangeSet | None,
) -> list[Finding]:
    """The scan's findings, each problem once: every answering scanner's, a finding for
    each bare suppression comment, and submodules whose code is not in the tree (nothing
    else saw it: a gate-level check); a secret is one leak however many commits hold it."""
    raw = [f for run in runs if run.status == "ok" for f in run.findings]
    raw += bare_findings(suppressions)
    raw += submodules.findings(fileset, changes.new_dirs if changes is not None else ())
    if any(run.name == HISTORY for run in runs):
        raw = drop_history_duplicates(raw)
    return merge_findings(raw)


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


__all__ = ["Listener", "no_progress", "scan"]
