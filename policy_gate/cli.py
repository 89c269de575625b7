"""Command line: ``policy-gate scan``, ``baseline create``, ``init``, ``explain`` and
``validate``.

Exit codes: 0 pass, 1 violations, 2 usage or policy error, 3 scanner or internal failure.
"""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import click
from rich.console import Console

from policy_gate import __version__
from policy_gate.cli_aggregate import aggregate
from policy_gate.cli_output import (
    FORMATS,
    OutputPath,
    ReportWriteError,
    check_outputs,
    report_module,
    scan_outputs,
    write_reports,
)
from policy_gate.exit_codes import EXIT_INTERNAL, EXIT_USAGE
from policy_gate.policy.loader import DEFAULT_POLICY, PolicyError, load_policy
from policy_gate.policy.model import Policy
from policy_gate.reports import terminal
from policy_gate.reports.interface import ReportData, printable

if TYPE_CHECKING:  # the scan's modules (runner: every scanner) load only when a command scans
    from policy_gate.base.fileset import FileSet
    from policy_gate.policy.baseline import Baseline
    from policy_gate.runner import Listener


def _console(stream: TextIO, *, force_plain: bool = False) -> Console:
    no_color = force_plain or "NO_COLOR" in os.environ
    return Console(
        file=stream,
        no_color=no_color,
        highlight=False,
        soft_wrap=True,
        emoji=False,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="policy-gate")
def cli() -> None:
    """Run SAST, dependency audit and secret scanning and enforce a security policy."""


def scan_options(func: Callable[..., None]) -> Callable[..., None]:
    """The options every command that scans takes (scan, baseline create, explain)."""
    options = [
        click.argument(
            "path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path)
        ),
        click.option(
            "--policy",
            "policy_ref",
            default=DEFAULT_POLICY,
            show_default=True,
            help="Policy file, or builtin:<name>.",
        ),
        click.option(
            "--scanner",
            "scanners",
            multiple=True,
            help="Run only these scanners (repeatable). Default: all the policy enables.",
        ),
        click.option(
            "--advisories",
            type=click.Path(exists=True, path_type=Path),
            help="Offline OSV database (a directory of OSV records or an all.zip): served "
            "to pip-audit on 127.0.0.1 instead of querying osv.dev.",
        ),
        click.option(
            "--osv-url", help="An OSV-compatible query endpoint, e.g. an internal mirror."
        ),
        click.option(
            "--jobs", type=click.IntRange(1, 256), help="Cores the scanners may use (default: all)."
        ),
        click.option(
            "--baseline",
            type=click.Path(dir_okay=False, path_type=Path),
            help="A baseline from `policy-gate baseline create`: findings recorded in it do "
            "not fail.",
        ),
        click.option(
            "--diff-base",
            metavar="REF",
            help="Pull-request diff mode: only what the change since REF adds can fail; the "
            "policy, waivers and baseline are read from REF. Default in GitHub Actions on "
            "pull_request events: the PR's base commit.",
        ),
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False, path_type=Path),
            envvar="POLICY_GATE_CACHE_DIR",
            help="Results cache: a scanner's answer for unchanged content (same tool version, "
            "rules and settings) is reused, so only changed files are rescanned. A directory "
            "outside the repository (one inside is refused); entries are authenticated with "
            "POLICY_GATE_CACHE_KEY (a CI secret) or a private key file beside it, so a "
            "poisoned or committed cache is never believed (docs/caching.md). "
            "[env: POLICY_GATE_CACHE_DIR]",
        ),
        click.option(
            "--full-scan",
            is_flag=True,
            help="Judge the whole tree even on a pull_request event (no diff mode).",
        ),
        click.option(
            "--github/--no-github",
            default=None,
            help="GitHub Actions mode: annotations, job summary and step outputs "
            "(default: on when GITHUB_ACTIONS=true).",
        ),
        click.option("--quiet", "-q", is_flag=True, help="Print only the verdict and violations."),
        click.option(
            "--all-files",
            is_flag=True,
            help="Read every file under PATH. Default in a git work tree: what git tracks and "
            "the untracked files it does not ignore (what CI's checkout has).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@dataclass(frozen=True)
class ScanArgs:
    path: Path
    policy_ref: str
    scanners: tuple[str, ...]
    advisories: Path | None
    osv_url: str | None
    jobs: int | None
    baseline: Path | None
    diff_base: str | None
    cache_dir: Path | None
    full_scan: bool
    github: bool | None
    quiet: bool
    all_files: bool = False

    @property
    def in_github(self) -> bool:
        if self.github is not None:
            return self.github
        return os.environ.get("GITHUB_ACTIONS") == "true"


def _reports_ahead(formats: Sequence[str], in_github: bool) -> Callable[[], None]:
    """Import the report modules (and load the compliance catalogue) a scan will write
    while its scanners run, rather than after the slowest of them has finished."""

    def prepare() -> None:
        for fmt in dict.fromkeys(formats):
            report_module(fmt)
        if in_github:
            importlib.import_module("policy_gate.github")
        if {"compliance", "json"} & set(formats):  # both show the controls' assessment
            from policy_gate.compliance.catalogue import load_catalogue, semgrep_rule_metadata

            load_catalogue()
            semgrep_rule_metadata()

    return prepare


def _gate(args: ScanArgs, err: Console, formats: Sequence[str] = (),
          outputs: Sequence[tuple[str, Path]] = (), prefix: str = "") -> ReportData:
    """Run the gate (never scanning the ``outputs`` it will write); a bad policy, waivers
    file, baseline or diff set-up exits 2. ``prefix``: where the scanned directory sits in
    its repository (:func:`_repo_prefix`)."""
    from policy_gate import gate
    from policy_gate.advisories.database import AdvisoryDBError
    from policy_gate.base.gitrun import GitError
    from policy_gate.cache import CacheError
    from policy_gate.policy.baseline import BaselineError
    from policy_gate.scanners import registry

    unknown = [s for s in args.scanners if s not in registry()]
    if unknown:
        from policy_gate.policy.problems import did_you_mean

        _usage(err, f"--scanner: unknown scanner {', '.join(map(repr, unknown))} "
               f"({did_you_mean(unknown[0], list(registry()))}known: {', '.join(registry())})")
    env = dict(os.environ)
    diff_base = args.diff_base
    if diff_base and args.full_scan:
        _usage(err, "--diff-base and --full-scan contradict each other")
    pr_base = None
    if args.in_github:  # the inputs come from the PR's base whatever the mode (gate.py)
        from policy_gate import github

        pr_base = github.base_sha_from_event(env.get("GITHUB_EVENT_PATH"))
    if diff_base is None and not args.full_scan:
        diff_base = pr_base
    listener, stop = _progress(err, args.quiet)
    try:
        run = gate.run(
            gate.GateOptions(
                root=args.path,
                policy_ref=args.policy_ref,
                only=list(args.scanners) or None,
                advisories=str(args.advisories) if args.advisories else None,
                osv_url=args.osv_url,
                jobs=args.jobs,
                listener=listener,
                baseline=args.baseline,
                diff_base=diff_base,
                pr_base=pr_base,
                today=_today(env),
                cache_dir=args.cache_dir,
                while_scanning=_reports_ahead(formats, args.in_github),
                all_files=args.all_files,
                outputs=tuple(p for _, p in outputs if str(p) != "-"),
            )
        )
    except PolicyError as exc:
        stop()
        _problems(err, "invalid policy input", exc.problems)
    except BaselineError as exc:
        stop()
        _problems(err, "invalid baseline", exc.problems)
    except GitError as exc:
        stop()
        _usage(err, f"diff mode: {printable(str(exc))}")
    except CacheError as exc:
        stop()
        _usage(err, printable(str(exc)), exc.code)
    except AdvisoryDBError as exc:
        stop()
        _usage(err, f"advisory database {printable(str(exc))} (give --advisories, or the "
               "policy's advisories.database, a directory of OSV records or an all.zip, e.g. "
               "osv.dev's PyPI/all.zip)")
    finally:
        stop()
    fs = run.result.fileset
    if not fs.files:  # a wrong path (or a checkout that did not happen) must not pass
        _usage(err, f"no files to scan in {printable(str(args.path))}: it is empty, or "
               f"everything in it is excluded ({len(fs.excluded)} excluded paths, "
               f"{len(fs.symlinks)} symbolic links not followed{_ignored_hint(fs)}); check "
               "the scan path and the policy's exclude list")
    # Everything made so far lives until exit: keep the collector from walking it again
    # while the reports are written (a full pass costs ~0.1 s with 10,000 findings).
    gc.freeze()
    return ReportData(run.result, run.policy, run.evaluation, path_prefix=prefix)


def _ignored_hint(fs: FileSet) -> str:
    """In a git work tree: how many untracked entries git ignores, which are not read."""
    if not fs.unselected:
        return ""
    return (f", {len(fs.unselected)} untracked entries git ignores, not read: "
            "--all-files reads them")


def _today(env: dict[str, str]) -> dt.date | None:
    """POLICY_GATE_TODAY pins the date waivers are judged on (reproducible runs, tests)."""
    value = env.get("POLICY_GATE_TODAY")
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.UsageError(f"POLICY_GATE_TODAY={value!r} is not an ISO date") from None


@cli.command()
@scan_options
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(FORMATS),
    help="Extra report format; give --output once per --format, in the same order. "
    "`compliance` writes Markdown to the output and a self-contained HTML page beside it.",
)
@click.option(
    "--output",
    "outputs",
    multiple=True,
    type=OutputPath(),
    help="Where to write the report of the matching --format ('-' for stdout).",
)
@click.option(
    "--pr-comment",
    is_flag=True,
    help="Create or update one policy-gate comment on the pull request "
    "(GitHub mode; needs GITHUB_TOKEN with pull-requests: write).",
)
@click.option(
    "--repo-root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The repository's top directory, which PATH is inside: SARIF URIs, JUnit file "
    "attributes and annotations name files relative to it, as GitHub resolves them. "
    "Default: the top of the git work tree around PATH (in GitHub mode, else the "
    "workspace), else PATH.",
)
@click.option(
    "--sarif-category",
    metavar="CATEGORY",
    callback=lambda _ctx, _param, value: _category(value),
    help="GitHub code scanning category of the SARIF report: each run's "
    "automationDetails.id is CATEGORY/<scanner>/, so scans of different directories "
    "(or a matrix) upload side by side instead of closing each other's alerts. Default: "
    "policy-gate, plus the scanned directory's path in the repository (policy-gate/"
    "services/api).",
)
def scan(
    formats: tuple[str, ...],
    outputs: tuple[Path, ...],
    pr_comment: bool,
    repo_root: Path | None,
    sarif_category: str,
    **kwargs: Any,
) -> None:
    """Scan PATH (default: the current directory) and enforce the policy."""
    args = ScanArgs(**kwargs)
    err = _console(sys.stderr)
    out = _console(sys.stdout)
    if len(formats) != len(outputs):
        _usage(
            err, f"give one --output per --format ({len(formats)} formats, {len(outputs)} outputs)"
        )
    written_to = scan_outputs(formats, outputs, args.in_github)
    check_outputs(written_to, err)
    prefix = _repo_prefix(args.path, repo_root, args.in_github, err)
    data = replace(_gate(args, err, formats, written_to, prefix), sarif_category=sarif_category)
    env = dict(os.environ)
    summary = None if "-" in map(str, outputs) else partial(
        terminal.render, data, out, quiet=args.quiet,
        reports={fmt: str(path) for fmt, path in zip(formats, outputs, strict=True)},
    )
    try:
        written = write_reports(data, list(zip(formats, outputs, strict=True)), summary,
                                in_github=args.in_github)
    except ReportWriteError as exc:
        err.print(f"policy-gate: internal error: {printable(str(exc))}", markup=False)
        sys.exit(EXIT_INTERNAL)
    if args.in_github:
        try:
            _github(data, env, written, pr_comment, err)
        except OSError as exc:  # changed since check_outputs: still one line, never a pass
            err.print(f"policy-gate: cannot write a GitHub step file: {printable(str(exc))}",
                      markup=False)
            sys.exit(EXIT_INTERNAL)
    elif pr_comment:
        err.print("policy-gate: --pr-comment needs GitHub mode (--github)", markup=False)
    sys.exit(data.evaluation.verdict.exit_code)


@cli.group()
def baseline() -> None:
    """Record the current findings so that only new ones fail (`scan --baseline`)."""


@baseline.command("create")
@scan_options
@click.option(
    "--output",
    "-o",
    required=True,
    type=OutputPath(),
    help="Where to write the baseline (JSON).",
)
def baseline_create(output: Path, **kwargs: Any) -> None:
    """Scan PATH and record every finding in a baseline file. A scan with a failed scanner
    writes nothing (exit 3): a baseline must not hide what was never looked at."""
    from policy_gate.policy import baseline as baselines

    args = ScanArgs(**kwargs)
    err = _console(sys.stderr)
    check_outputs([("--output", output)], err)
    created = _record(args, err)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(baselines.dumps(created), "utf-8")
    except OSError as exc:
        err.print(f"policy-gate: cannot write the baseline: {printable(str(exc))}", markup=False)
        sys.exit(EXIT_INTERNAL)
    click.echo(f"policy-gate: baseline of {len(created.entries)} finding(s) written to {output}")


def _record(args: ScanArgs, err: Console) -> Baseline:
    """Scan and record every finding (`baseline create`, `init`); exit 3 when a scanner
    failed, so that no baseline hides what was never looked at."""
    from policy_gate.policy import baseline as baselines

    data = _gate(args, err)
    failed = [r for r in data.result.runs if r.status == "failed"]
    if failed:
        for r in failed:
            err.print(f"policy-gate: {r.name} failed: {printable(r.reason)}", markup=False)
        err.print("policy-gate: no baseline written", markup=False)
        sys.exit(EXIT_INTERNAL)
    return baselines.create(
        data.result.findings, policy_sha256=data.policy.sha256, created=data.generated_at
    )


@cli.command("init")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--ci", type=click.Choice(["github", "circleci"]), default="github",
              show_default=True, help="The CI system to write the job for.")
@click.option("--action-ref", help="GitHub: OWNER/REPO@COMMIT of the policy-gate action "
              "(full 40-hex commit; the commit alone means mojaloop/policy-gate).")
@click.option("--image", help="CircleCI: the policy-gate image, NAME@sha256:DIGEST.")
@click.option("--extends", default=DEFAULT_POLICY, show_default=True,
              help="The policy the repository's policy extends (builtin:<name> or a path "
              "relative to .github/).")
@click.option("--branch", help="The default branch (default: main, or master if only "
              "that exists).")
@click.option("--advisories", metavar="DIR", help="Offline OSV database inside the "
              "repository (relative to its top), written into the policy.")
@click.option("--force", is_flag=True, help="Overwrite the policy, waivers, baseline and "
              "workflow if they exist (a CircleCI config is never rewritten).")
@click.option("--jobs", type=click.IntRange(1, 256), help="Cores the scanners may use.")
def init(jobs: int | None, **kwargs: Any) -> None:
    """Adopt the gate in the git repository at PATH: write its policy, an empty waivers
    file, the CI job and a baseline of today's findings, so the repository passes and
    only new findings fail; then print the next steps. Exit 2 if PATH is not the top of
    a repository, a file exists (without --force) or cannot be written."""
    from policy_gate import init_repo
    from policy_gate.policy import baseline as baselines

    err = _console(sys.stderr)

    def record(root: Path, policy: Path) -> tuple[str, list[str]]:
        args = ScanArgs(path=root, policy_ref=str(policy), scanners=(), advisories=None,
                        osv_url=None, jobs=jobs, baseline=None, diff_base=None,
                        cache_dir=None, full_scan=True, github=False, quiet=True)
        created = _record(args, err)
        return baselines.dumps(created), [e.category for e in created.entries]

    try:
        init_repo.run(init_repo.InitOptions(**kwargs), record, click.echo)
    except init_repo.InitError as exc:
        _usage(err, str(exc))


@cli.command()
@click.argument("finding")
@scan_options
@click.option(
    "--report",
    "report_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Explain from a JSON report instead of scanning again.",
)
def explain(finding: str, report_path: Path | None, **kwargs: Any) -> None:
    """Why FINDING (a fingerprint, or a unique prefix of one, or PATH:LINE) is or is not a
    violation: every threshold, override, suppression, waiver, baseline and diff decision
    that applied, in order."""
    from policy_gate.reports import explain as explainer

    err = _console(sys.stderr)
    out = _console(sys.stdout)
    if report_path is not None:
        try:
            entries = explainer.from_report(report_path.read_text("utf-8"))
        except (ValueError, OSError) as exc:
            _usage(err, f"cannot read report {report_path}: {printable(str(exc))}")
    else:
        args = ScanArgs(**{**kwargs, "quiet": True})
        entries = explainer.from_data(_gate(args, err))
    matches = explainer.select(entries, finding)
    if not matches:
        _usage(err, f"no finding matches {finding!r}")
    if len(matches) > 1:
        err.print(f"policy-gate: {finding!r} matches {len(matches)} findings:", markup=False)
        for m in matches[:20]:
            err.print(f"  {m.fingerprint}  {printable(m.location)}  {printable(m.title)}",
                      markup=False)
        sys.exit(EXIT_USAGE)
    out.print(explainer.render(matches[0]), markup=False, highlight=False)


def _repo_prefix(path: Path, repo_root: Path | None, in_github: bool, err: Console) -> str:
    """Where the scanned directory sits in its repository ("services/api/"; "" at its top),
    so that SARIF, JUnit, annotations and links name files as GitHub resolves them, from
    the repository root: ``--repo-root``, else the top of the git work tree around it,
    else (GitHub mode) the workspace, else the directory itself. Checked before the scan:
    a ``--repo-root`` that does not hold the directory exits 2."""
    from policy_gate.base.git import work_tree_top

    root = path.resolve()
    if repo_root is not None:
        top = repo_root.resolve()
        if not root.is_relative_to(top):
            _usage(err, f"--repo-root {printable(str(repo_root))} does not contain the scanned "
                   f"directory {printable(str(path))}")
    else:
        top = work_tree_top(root) or _workspace(root, in_github) or root
    rel = root.relative_to(top).as_posix()
    return "" if rel == "." else rel + "/"


def _category(value: str | None) -> str:
    """``--sarif-category``, as automationDetails.id will start: without the trailing
    slash (the report adds ``/<scanner>/``); printable and not empty."""
    if value is None:
        return ""
    cleaned = value.strip().rstrip("/")
    if not cleaned or not cleaned.isprintable():
        raise click.BadParameter(
            f"{printable(value)!r}: give printable text such as 'policy-gate/services/api'")
    return cleaned


def _workspace(root: Path, in_github: bool) -> Path | None:
    """GitHub mode: the workspace, if it holds ``root`` (a checkout without ``.git``)."""
    workspace = os.environ.get("GITHUB_WORKSPACE") if in_github else None
    if not workspace:
        return None
    top = Path(workspace).resolve()
    return top if root.is_relative_to(top) else None


def _workspace_relative(path: str, env: dict[str, str]) -> str:
    workspace = env.get("GITHUB_WORKSPACE")
    if not workspace:
        return path
    try:
        return Path(path).resolve().relative_to(Path(workspace).resolve()).as_posix()
    except ValueError:
        return path


def _github(
    data: ReportData,
    env: dict[str, str],
    written: dict[str, str],
    pr_comment: bool,
    err: Console,
) -> None:
    """Annotations on stdout, the job summary, step outputs and the optional comment."""
    from policy_gate import github
    from policy_gate.reports import markdown

    lines, not_shown = github.annotations(data, path_prefix=data.path_prefix)
    for line in lines:
        sys.stdout.write(line + "\n")
    event = env.get("GITHUB_EVENT_PATH")
    links = markdown.LinkBuilder.from_env(env, sha=github.head_sha_from_event(event))
    if links is not None:
        links = replace(links, prefix=data.path_prefix)
    summary_path = env.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        github.write_step_summary(
            summary_path,
            markdown.render(data, links=links, annotations_not_shown=not_shown),
        )
        written.setdefault("summary", summary_path)
    output_path = env.get("GITHUB_OUTPUT")
    if output_path:
        # Paths as later steps see them: relative to the workspace (inside a Docker
        # action the workspace is mounted at another absolute path).
        relative = {fmt: _workspace_relative(path, env) for fmt, path in written.items()}
        github.write_outputs(output_path, github.gate_outputs(data, relative))
    if pr_comment:
        number = github.pr_number_from_event(event)
        token = env.get("GITHUB_TOKEN") or env.get("INPUT_GITHUB-TOKEN", "")
        if number is None:
            err.print("policy-gate: not a pull request event; no comment posted", markup=False)
            return
        body = github.comment_body(data, links=links, annotations_not_shown=not_shown)
        try:
            github.upsert_pr_comment(
                env.get("GITHUB_API_URL", "https://api.github.com"),
                env.get("GITHUB_REPOSITORY", ""),
                number,
                token,
                body,
            )
        except (github.GitHubAPIError, ValueError) as exc:
            # The verdict stands; a comment that cannot be posted is reported, not fatal.
            sys.stdout.write(github.command("warning", {}, f"policy-gate comment: {exc}") + "\n")


@cli.command()
@click.argument("policies", nargs=-1)
@click.option(
    "--waivers",
    "waiver_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also check a waivers file (repeatable).",
)
def validate(policies: tuple[str, ...], waiver_files: tuple[Path, ...]) -> None:
    """Check policy files (and what they extend) and waivers files without scanning.
    Exit 2 if any is bad."""
    from policy_gate.policy.waivers import load_waivers

    err = _console(sys.stderr)
    if not policies and not waiver_files:
        _usage(err, "give policy files to check, and/or --waivers FILE")
    from policy_gate.gate import MAX_INPUT_BYTES

    for path in waiver_files:
        try:
            with path.open("rb") as fh:  # at most what a scan would read (/dev/zero ends)
                data = fh.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            _usage(err, f"cannot read {printable(str(path))}: {exc.strerror or exc}")
        if len(data) > MAX_INPUT_BYTES:
            _usage(err, f"{printable(str(path))}: larger than {MAX_INPUT_BYTES} bytes")
        try:
            loaded = load_waivers(data, str(path))
        except PolicyError as exc:
            _problems(err, "invalid waivers", exc.problems)
        click.echo(f"{path}: OK ({len(loaded.waivers)} waiver(s))")
    for ref in policies:
        policy = _load(ref, err)
        click.echo(
            f"{ref}: OK (policy {policy.name}, sha256 {policy.sha256[:12]}, "
            f"from {' + '.join(policy.files)})"
        )


def _load(ref: str, err: Console) -> Policy:
    try:
        return load_policy(ref)
    except PolicyError as exc:
        _problems(err, "invalid policy", exc.problems)


def _problems(err: Console, what: str, problems: Sequence[object]) -> NoReturn:
    """One line for one problem; a count, then one line each, for several."""
    if len(problems) == 1:
        err.print(f"policy-gate: {what}: {printable(str(problems[0]))}", markup=False)
        sys.exit(EXIT_USAGE)
    err.print(f"policy-gate: {what} ({len(problems)} problems):", markup=False)
    for problem in problems:
        err.print(f"  {printable(str(problem))}", markup=False)
    sys.exit(EXIT_USAGE)


def _usage(err: Console, message: str, code: int = EXIT_USAGE) -> NoReturn:
    """One line on stderr, and the exit code: 2 (bad input) unless ``code`` says 3 (the
    environment's fault)."""
    err.print(f"policy-gate: {message}", markup=False)
    sys.exit(code)


# The shell's code for a run ended by Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130
# Set on Ctrl-C: the progress lines stop, so the interruption is the last word.
_INTERRUPTED = threading.Event()

# How often a log without a terminal (CI) says what is still running.
HEARTBEAT_SECONDS = 10.0


def _progress(err: Console, quiet: bool) -> tuple[Listener | None, Callable[[], None]]:
    """What is running, how far each scanner is (where it says), and the elapsed time: a
    live status line on a terminal; in a CI log, a line when a scanner starts and ends and
    one every HEARTBEAT_SECONDS while any is running."""
    if quiet:
        return None, lambda: None
    started = time.monotonic()
    lock = threading.Lock()
    running: dict[str, str] = {}  # scanner -> its latest progress message

    def elapsed() -> str:
        return f"[{time.monotonic() - started:6.1f}s]"

    def busy() -> str:
        return ", ".join(f"{n} ({d})" if d else n for n, d in running.items())

    def track(event: str, scanner: str, detail: str) -> None:
        detail = printable(detail)  # a reason may quote a tool's stderr: one line, no escapes
        if event == "start":
            running[scanner] = ""
        elif event == "progress" and scanner in running:
            running[scanner] = detail
        elif event == "done":
            running.pop(scanner, None)

    if err.is_terminal:
        status = err.status("starting scanners…")
        status.start()

        def live(event: str, scanner: str, detail: str) -> None:
            if _INTERRUPTED.is_set():
                return
            with lock:
                track(event, scanner, detail)
                if event == "done":
                    err.print(f"{elapsed()} {scanner}: {printable(detail)}", markup=False,
                              highlight=False)
                status.update(f"{elapsed()} running: {busy() or '…'}")

        return live, status.stop

    stopped = threading.Event()

    def heartbeat() -> None:
        while not stopped.wait(HEARTBEAT_SECONDS):
            with lock:
                if running:
                    err.print(f"{elapsed()} running: {busy()}", markup=False, highlight=False)

    def plain(event: str, scanner: str, detail: str) -> None:
        if _INTERRUPTED.is_set():
            return
        with lock:
            track(event, scanner, detail)
            if event == "done":
                err.print(f"{elapsed()} {scanner}: {printable(detail)}", markup=False,
                          highlight=False)

    threading.Thread(target=heartbeat, name="progress", daemon=True).start()
    return plain, stopped.set


def _usage_line(exc: click.UsageError) -> str:
    """A usage error in one line, with the command's help to read next (click's own form
    is three lines: usage, a hint, the error)."""
    names: list[str] = []
    ctx = exc.ctx
    while ctx is not None and ctx.parent is not None:
        names.insert(0, ctx.info_name or "")
        ctx = ctx.parent
    command = " ".join(["policy-gate", *names])
    where = f"{' '.join(names)}: " if names else ""
    return f"{where}{exc.format_message()} (see `{command} --help`)"


cli.add_command(aggregate)


def main() -> None:
    """The command line's entry point: every error is one line on stderr and an exit code
    (2 bad input, 3 environment or internal failure, 130 interrupted), never a traceback."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        print(f"policy-gate: {printable(_usage_line(exc))}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        print(f"policy-gate: {printable(exc.format_message())}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except (click.Abort, KeyboardInterrupt):
        from policy_gate.base.process import stop_all

        _INTERRUPTED.set()  # the scanners' last words are not news
        stop_all()
        print("policy-gate: interrupted; no verdict (exit 130)", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except SystemExit:
        raise
    except Exception as exc:  # never a traceback-and-pass: an internal error is exit 3
        print(
            f"policy-gate: internal error: {type(exc).__name__}: {printable(str(exc))} "
            "(a fault of policy-gate, not of the scanned code: please report it with the "
            "command line)",
            file=sys.stderr,
        )
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    main()
