"""Command line: ``policy-gate scan`` and ``policy-gate validate``.

Exit codes: 0 pass, 1 violations, 2 usage or policy error, 3 scanner or internal failure.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import NoReturn, TextIO

import click
from rich.console import Console

from policy_gate import __version__
from policy_gate.policy.evaluate import evaluate
from policy_gate.policy.loader import DEFAULT_POLICY, PolicyError, load_policy
from policy_gate.policy.model import Policy
from policy_gate.reports import json_report, terminal
from policy_gate.reports.interface import ReportData, printable
from policy_gate.runner import Listener
from policy_gate.runner import scan as run_scan

EXIT_USAGE = 2
EXIT_INTERNAL = 3
FORMATS = ("json", "sarif", "junit", "markdown", "cyclonedx")


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


@cli.command()
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--policy",
    "policy_ref",
    default=DEFAULT_POLICY,
    show_default=True,
    help="Policy file, or builtin:<name>.",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(FORMATS),
    help="Extra report format; give --output once per --format, in the same order.",
)
@click.option(
    "--output",
    "outputs",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the report of the matching --format ('-' for stdout).",
)
@click.option(
    "--scanner",
    "scanners",
    multiple=True,
    help="Run only these scanners (repeatable). Default: all the policy enables.",
)
@click.option(
    "--advisories",
    type=click.Path(exists=True, path_type=Path),
    help="Offline OSV database (a directory of OSV records or an all.zip): served "
    "to pip-audit on 127.0.0.1 instead of querying osv.dev.",
)
@click.option("--osv-url", help="An OSV-compatible query endpoint, e.g. an internal mirror.")
@click.option(
    "--jobs", type=click.IntRange(1, 256), help="Cores the scanners may use (default: all)."
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the verdict line and violations.")
@click.option(
    "--github/--no-github",
    default=None,
    help="GitHub Actions mode: annotations, job summary and step outputs "
    "(default: on when GITHUB_ACTIONS=true).",
)
@click.option(
    "--pr-comment",
    is_flag=True,
    help="Create or update one policy-gate comment on the pull request "
    "(GitHub mode; needs GITHUB_TOKEN with pull-requests: write).",
)
def scan(
    path: Path,
    policy_ref: str,
    formats: tuple[str, ...],
    outputs: tuple[Path, ...],
    scanners: tuple[str, ...],
    advisories: Path | None,
    osv_url: str | None,
    jobs: int | None,
    quiet: bool,
    github: bool | None,
    pr_comment: bool,
) -> None:
    """Scan PATH (default: the current directory) and enforce the policy."""
    err = _console(sys.stderr)
    out = _console(sys.stdout)
    if len(formats) != len(outputs):
        _usage(
            err, f"give one --output per --format ({len(formats)} formats, {len(outputs)} outputs)"
        )
    policy = _load(policy_ref, err)
    from policy_gate.scanners import registry

    unknown = [s for s in scanners if s not in registry()]
    if unknown:
        _usage(
            err, f"unknown scanner {', '.join(map(repr, unknown))}; known: {', '.join(registry())}"
        )

    listener, stop = _progress(err, quiet)
    try:
        result = run_scan(
            path,
            policy,
            only=list(scanners) or None,
            advisories=str(advisories) if advisories else None,
            osv_url=osv_url,
            listener=listener,
            jobs=jobs,
        )
    finally:
        stop()
    evaluation = evaluate(policy, result.findings, (r.outcome for r in result.runs))
    data = ReportData(result, policy, evaluation)
    env = dict(os.environ)
    in_github = github if github is not None else env.get("GITHUB_ACTIONS") == "true"
    prefix = _repo_prefix(result.root, env) if in_github else ""
    data = ReportData(result, policy, evaluation, path_prefix=prefix)
    written: dict[str, str] = {}
    for fmt, target in zip(formats, outputs, strict=True):
        text = render_format(fmt, data)
        if str(target) == "-":
            sys.stdout.write(text)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, "utf-8")
            written[fmt] = str(target)
    if "-" not in map(str, outputs):
        terminal.render(data, out)
    if in_github:
        _github(data, env, written, pr_comment, err)
    elif pr_comment:
        err.print("policy-gate: --pr-comment needs GitHub mode (--github)", markup=False)
    sys.exit(evaluation.verdict.exit_code)


def render_format(fmt: str, data: ReportData) -> str:
    """One report as text; each format is a module in policy_gate.reports."""
    if fmt == "json":
        return json_report.render(data)
    if fmt == "sarif":
        from policy_gate.reports import sarif

        return sarif.render(data)
    if fmt == "junit":
        from policy_gate.reports import junit

        return junit.render(data)
    if fmt == "markdown":
        from policy_gate.reports import markdown

        return markdown.render(data)
    if fmt == "cyclonedx":
        from policy_gate.reports import cyclonedx

        return cyclonedx.render(data)
    raise click.UsageError(f"unknown format {fmt!r}")


def _repo_prefix(root: Path, env: dict[str, str]) -> str:
    """Where the scanned root sits in the checked-out repository, so annotations, links
    and SARIF locations point at repository paths when a subdirectory is scanned."""
    workspace = env.get("GITHUB_WORKSPACE")
    if not workspace:
        return ""
    try:
        rel = root.resolve().relative_to(Path(workspace).resolve())
    except ValueError:
        return ""
    return "" if str(rel) == "." else rel.as_posix() + "/"


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
@click.argument("policies", nargs=-1, required=True)
def validate(policies: tuple[str, ...]) -> None:
    """Check policy files (and what they extend) without scanning. Exit 2 if any is bad."""
    err = _console(sys.stderr)
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
        err.print(f"policy-gate: invalid policy ({len(exc.problems)} problem(s)):", markup=False)
        for problem in exc.problems:
            err.print(f"  {printable(str(problem))}", markup=False)
        sys.exit(EXIT_USAGE)


def _usage(err: Console, message: str) -> NoReturn:
    err.print(f"policy-gate: {message}", markup=False)
    sys.exit(EXIT_USAGE)


def _progress(err: Console, quiet: bool) -> tuple[Listener | None, Callable[[], None]]:
    """Live status on a TTY; a line per finished scanner otherwise (CI logs)."""
    state: dict[str, str] = {}
    started = time.monotonic()
    lock = threading.Lock()
    if quiet:
        return None, lambda: None
    if err.is_terminal:
        status = err.status("starting scanners…")
        status.start()

        def refresh() -> None:
            parts = [f"{n}: {s}" for n, s in state.items()]
            status.update(f"[{time.monotonic() - started:5.1f}s] " + " | ".join(parts))

        def listener(event: str, scanner: str, detail: str) -> None:
            with lock:
                state[scanner] = {"start": "running", "done": detail}.get(event, detail)
                refresh()

        return listener, status.stop

    def plain(event: str, scanner: str, detail: str) -> None:
        if event == "done":
            with lock:
                err.print(f"[{time.monotonic() - started:6.1f}s] {scanner}: {detail}", markup=False)

    return plain, lambda: None


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # never a traceback-and-pass: an internal error is exit 3
        print(
            f"policy-gate: internal error: {type(exc).__name__}: {printable(str(exc))}",
            file=sys.stderr,
        )
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    main()
