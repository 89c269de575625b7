"""The Docker image's entrypoint: the GitHub Action (``action.yml``), and the plain CLI.

With arguments (``docker run IMAGE scan . --format sarif --output x.sarif``) it is exactly
``policy-gate``. Without arguments it is the GitHub Action: each input arrives as an
environment variable named ``INPUT_`` + the input id upper-cased, spaces replaced by ``_``
and hyphens **kept** (``fail-on-violations`` → ``INPUT_FAIL-ON-VIOLATIONS``; a POSIX shell
cannot even read that name, which is why this is Python). The underscore spelling
(``INPUT_FAIL_ON_VIOLATIONS``) is accepted too, for ``docker run -e`` and shell wrappers.

The inputs are checked, mapped to a ``policy-gate scan`` argv and run in this process (no
shell). Reports go to ``output-dir`` inside the workspace, and the step outputs (verdict,
exit-code, counts, report paths relative to the workspace) are appended to
``$GITHUB_OUTPUT``. Exit codes are the CLI's: 0 pass, 1 violations, 2 usage or policy
error, 3 scanner failure; ``fail-on-violations: false`` turns 1 (and only 1) into 0.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn

from policy_gate.exit_codes import EXIT_INTERNAL, EXIT_PASS, EXIT_USAGE, EXIT_VIOLATIONS

#: Every input action.yml declares, with the default used when it is unset or empty
#: (``None``: no default). Keep in step with action.yml (tests/test_action_metadata.py).
INPUT_DEFAULTS: dict[str, str | None] = {
    "path": ".",
    "policy": "builtin:mojaloop",
    "formats": "sarif,json",
    "output-dir": "policy-gate-results",
    "scanners": None,
    "advisories": None,
    "osv-url": None,
    "diff-base": None,
    "full-scan": "false",
    "baseline": None,
    "pr-comment": "false",
    "github-token": None,
    "fail-on-violations": "true",
    "jobs": None,
    "cache-dir": None,
    "category": None,
    "aggregate": None,
    "expected": None,
    "expiring-within": "30",
}

#: Report format → file name inside output-dir.
REPORT_FILES: dict[str, str] = {
    "sarif": "policy-gate.sarif",
    "json": "policy-gate.json",
    "junit": "policy-gate.junit.xml",
    "markdown": "policy-gate.md",
    "cyclonedx": "policy-gate.cdx.json",
    "openvex": "policy-gate.vex.json",
    "compliance": "policy-gate.compliance.md",  # and policy-gate.compliance.html beside it
}

_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_SPLIT = re.compile(r"[,\n]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ActionError(Exception):
    """A bad input: reported as a GitHub error annotation, exit 2."""


@dataclass(frozen=True)
class CliCapabilities:
    """What the installed ``policy-gate scan`` accepts (read from its click definition)."""

    formats: frozenset[str]
    scanners: frozenset[str]
    options: frozenset[str]  # long option names, e.g. "--github"


@dataclass
class ActionPlan:
    """The checked inputs: the CLI argv and what to do around it."""

    argv: list[str]
    fail_on_violations: bool
    reports: dict[str, str]  # format → path relative to the workspace (POSIX)
    env: dict[str, str] = field(default_factory=dict)  # extra environment for the scan


def input_env_name(name: str) -> str:
    """The variable GitHub sets for input ``name``: ``INPUT_`` + upper-cased, spaces → ``_``."""
    return "INPUT_" + name.replace(" ", "_").upper()


def read_input(env: Mapping[str, str], name: str) -> str:
    """An input's value, stripped; the action.yml default when unset or blank."""
    primary = input_env_name(name)
    alias = primary.replace("-", "_")
    values = {n: env[n].strip() for n in dict.fromkeys((primary, alias)) if env.get(n, "").strip()}
    if len(set(values.values())) > 1:
        raise ActionError(
            f"input '{name}' is given twice with different values ({primary} and {alias}); "
            "set only one"
        )
    if values:
        return next(iter(values.values()))
    return INPUT_DEFAULTS.get(name) or ""


def unknown_inputs(env: Mapping[str, str]) -> list[str]:
    """``INPUT_*`` variables that match no declared input (a typo in ``with:``)."""
    known = {input_env_name(n) for n in INPUT_DEFAULTS}
    known |= {n.replace("-", "_") for n in known}
    return sorted(n for n in env if n.startswith("INPUT_") and n not in known)


def split_list(value: str) -> list[str]:
    """Split a comma- and/or newline-separated input; blanks dropped, order kept, no repeats."""
    items = (item.strip() for item in _SPLIT.split(value))
    return list(dict.fromkeys(item for item in items if item))


def parse_bool(name: str, value: str) -> bool:
    """YAML 1.2 core booleans only (what GitHub's own inputs accept): anything else is an error."""
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ActionError(f"input '{name}' must be true or false, not {value!r}")


def confine(workspace: Path, name: str, value: str, *, must_exist: bool) -> str:
    """``value`` as a POSIX path relative to ``workspace``; an error if it leaves the workspace.

    Relative paths are taken from the workspace; an absolute path is allowed only inside
    it. ``..`` that climbs out, and symlinks that point out, are refused.
    """
    if _CONTROL.search(value):
        raise ActionError(f"input '{name}' contains control characters")
    root = workspace.resolve()
    candidate = Path(os.path.normpath(workspace / value))  # lexical: catches '..' before I/O
    if not _inside(candidate, workspace) and not _inside(candidate, root):
        raise ActionError(
            f"input '{name}' ({value!r}) is outside the workspace ({workspace}); give a path "
            "inside the repository, relative to its root"
        )
    real = candidate.resolve()
    if not _inside(real, root):
        raise ActionError(
            f"input '{name}' ({value!r}) leads outside the workspace through a symbolic link"
        )
    if must_exist and not real.exists():
        raise ActionError(f"input '{name}': {value!r} does not exist in the workspace")
    rel = real.relative_to(root)
    return PurePosixPath(*rel.parts).as_posix() if rel.parts else "."


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def plan(env: Mapping[str, str], workspace: Path, caps: CliCapabilities) -> ActionPlan:
    """Check the inputs in ``env`` and map them to a ``policy-gate scan`` argv. The inputs
    are checked in the order of the argv, so the first bad one is the one reported."""
    _reject_unknown_inputs(env)
    argv = ["scan", _scan_path(env, workspace),
            "--policy", _policy(workspace, read_input(env, "policy"))]
    reports = _reports(env, workspace, caps)
    for fmt, target in reports.items():
        argv += ["--format", fmt, "--output", target]
    argv += _scanner_args(env, caps)
    argv += _advisory_args(env, workspace)
    argv += _jobs_args(env)
    argv += _scope_args(env, workspace, caps)
    argv += _cache_args(env, workspace, caps)
    argv += _category_args(env, caps)
    if env.get("GITHUB_ACTIONS") == "true" and "--github" in caps.options:
        argv.append("--github")
    comment_args, extra_env = _pr_comment(env, caps)
    return ActionPlan(
        argv=argv + comment_args,
        fail_on_violations=parse_bool(
            "fail-on-violations", read_input(env, "fail-on-violations")
        ),
        reports=reports,
        env=extra_env,
    )


def _reject_unknown_inputs(env: Mapping[str, str]) -> None:
    """A misspelt input in ``with:`` would otherwise be ignored silently."""
    unknown = unknown_inputs(env)
    if unknown:
        names = ", ".join(n.removeprefix("INPUT_").lower() for n in unknown)
        raise ActionError(
            f"unknown input(s): {names}; the inputs are: {', '.join(INPUT_DEFAULTS)}"
        )


def _scan_path(env: Mapping[str, str], workspace: Path) -> str:
    """The directory to scan, inside the workspace."""
    path = confine(workspace, "path", read_input(env, "path"), must_exist=True)
    if not (workspace / path).is_dir():
        raise ActionError(f"input 'path': {path!r} is not a directory")
    return path


def _reports(env: Mapping[str, str], workspace: Path, caps: CliCapabilities) -> dict[str, str]:
    """Format → report path in output-dir. JSON is written even when not asked for if
    fail-on-violations is false: its verdict decides the step (final_exit_code)."""
    formats = _formats(env, caps)
    out_dir = _output_dir(env, workspace)
    if "json" not in formats and not parse_bool(
        "fail-on-violations", read_input(env, "fail-on-violations")
    ):
        formats.append("json")  # the verdict: `review` must fail even so (final_exit_code)
    return {f: f"{out_dir}/{REPORT_FILES[f]}" for f in formats}


def _formats(env: Mapping[str, str], caps: CliCapabilities) -> list[str]:
    """The report formats asked for: ones the action knows and this CLI can write."""
    formats = split_list(read_input(env, "formats"))
    if not formats:
        raise ActionError("input 'formats' is empty; give e.g. 'sarif,json'")
    bad = [f for f in formats if f not in REPORT_FILES]
    if bad:
        raise ActionError(
            f"input 'formats': unknown format(s) {', '.join(map(repr, bad))}; "
            f"allowed: {', '.join(REPORT_FILES)}"
        )
    missing = [f for f in formats if f not in caps.formats]
    if missing:
        raise ActionError(
            f"input 'formats': this policy-gate version cannot write "
            f"{', '.join(map(repr, missing))} yet (it writes: {', '.join(sorted(caps.formats))})"
        )
    return formats


def _output_dir(env: Mapping[str, str], workspace: Path) -> str:
    """output-dir: a directory below the workspace root, apart from the repository's files."""
    out_dir = confine(workspace, "output-dir", read_input(env, "output-dir"), must_exist=False)
    if (workspace / out_dir).exists() and not (workspace / out_dir).is_dir():
        raise ActionError(f"input 'output-dir': {out_dir!r} exists and is not a directory")
    if out_dir == ".":
        raise ActionError(
            "input 'output-dir' must be a directory below the workspace root, e.g. "
            "'policy-gate-results' (reports are kept apart from the repository's files)"
        )
    return out_dir


def _scanner_args(env: Mapping[str, str], caps: CliCapabilities) -> list[str]:
    """``--scanner`` for each scanner named (none: all the policy enables)."""
    scanners = split_list(read_input(env, "scanners"))
    bad = [s for s in scanners if s not in caps.scanners]
    if bad:
        raise ActionError(
            f"input 'scanners': unknown scanner(s) {', '.join(map(repr, bad))}; "
            f"known: {', '.join(sorted(caps.scanners))} (leave it empty for all the policy "
            "enables)"
        )
    return [arg for scanner in scanners for arg in ("--scanner", scanner)]


def _advisory_args(env: Mapping[str, str], workspace: Path) -> list[str]:
    """Where the dependency audit reads advisories: an offline database in the workspace
    and/or an http(s) OSV endpoint."""
    argv: list[str] = []
    advisories = read_input(env, "advisories")
    if advisories:
        argv += ["--advisories", confine(workspace, "advisories", advisories, must_exist=True)]
    osv_url = read_input(env, "osv-url")
    if osv_url:
        if _CONTROL.search(osv_url) or not re.match(r"https?://[^\s/]+", osv_url):
            raise ActionError(f"input 'osv-url' must be an http(s) URL, not {osv_url!r}")
        argv += ["--osv-url", osv_url]
    return argv


def _jobs_args(env: Mapping[str, str]) -> list[str]:
    """``--jobs``: the cores the scanners may use, as the CLI accepts them (1 to 256)."""
    jobs = read_input(env, "jobs")
    if not jobs:
        return []
    if not jobs.isdigit() or not 1 <= int(jobs) <= 256:
        raise ActionError(f"input 'jobs' must be a whole number from 1 to 256, not {jobs!r}")
    return ["--jobs", str(int(jobs))]


def _scope_args(env: Mapping[str, str], workspace: Path, caps: CliCapabilities) -> list[str]:
    """What may fail: only what the change since diff-base adds, or (full-scan) the whole
    tree; findings recorded in a baseline never do."""
    argv: list[str] = []
    diff_base = read_input(env, "diff-base")
    if diff_base:
        if "--diff-base" not in caps.options:
            raise ActionError(
                "input 'diff-base' is not supported by this policy-gate version yet (pull "
                "request diff mode is coming); remove it to scan the whole tree"
            )
        if _CONTROL.search(diff_base) or diff_base.startswith("-"):
            raise ActionError(f"input 'diff-base' is not a git revision: {diff_base!r}")
        argv += ["--diff-base", diff_base]
    if parse_bool("full-scan", read_input(env, "full-scan")):
        if diff_base:
            raise ActionError("inputs 'diff-base' and 'full-scan' contradict each other")
        argv.append("--full-scan")
    baseline = read_input(env, "baseline")
    if baseline:
        argv += ["--baseline", confine(workspace, "baseline", baseline, must_exist=True)]
    return argv


def _cache_args(env: Mapping[str, str], workspace: Path, caps: CliCapabilities) -> list[str]:
    """``--cache-dir`` as the container sees it (container_cache_dir), if one is given."""
    cache_dir = read_input(env, "cache-dir")
    if not cache_dir:
        return []
    if "--cache-dir" not in caps.options:
        raise ActionError("input 'cache-dir' is not supported by this policy-gate version")
    return ["--cache-dir", container_cache_dir(env, workspace, cache_dir)]


def _category_args(env: Mapping[str, str], caps: CliCapabilities) -> list[str]:
    """``--sarif-category``: the code scanning category of the SARIF report's runs (the
    upload action's own ``category`` input cannot set it: it applies only to runs that
    have none, and every run of the gate's SARIF has one)."""
    category = read_input(env, "category")
    if not category:
        return []
    if "--sarif-category" not in caps.options:
        raise ActionError("input 'category' is not supported by this policy-gate version")
    if _CONTROL.search(category) or not category.strip("/"):
        raise ActionError(f"input 'category' must be printable text such as "
                          f"'policy-gate/services/api', not {category!r}")
    return ["--sarif-category", category]


def _pr_comment(env: Mapping[str, str], caps: CliCapabilities) -> tuple[list[str], dict[str, str]]:
    """``--pr-comment`` and the environment it needs: the token, handed back as
    GITHUB_TOKEN only now (SCRUBBED_ENV removes every credential from the scan's)."""
    if not parse_bool("pr-comment", read_input(env, "pr-comment")):
        return [], {}
    if "--pr-comment" not in caps.options:
        raise ActionError("input 'pr-comment' is not supported by this policy-gate version")
    token = read_input(env, "github-token")
    if not token:
        raise ActionError(
            "input 'pr-comment' is true but 'github-token' is empty; pass "
            "github-token: ${{ github.token }} and grant 'pull-requests: write'"
        )
    return ["--pr-comment"], {"GITHUB_TOKEN": token}


#: The action's container sees the runner's ``${{ runner.temp }}/_github_home`` here (and
#: as $HOME): the one place outside the workspace that a step before it (actions/cache)
#: can fill and a step after it can save.
CONTAINER_HOME = "/github/home"
HOST_HOME = "_github_home"  # below $RUNNER_TEMP on the runner


def container_cache_dir(env: Mapping[str, str], workspace: Path, value: str) -> str:
    """The cache directory as the container sees it. Never inside the workspace (a pull
    request could commit forged entries there); it must be below the home directory the
    runner mounts, given either as the runner's path (``${{ runner.temp }}/_github_home/x``)
    or as the container's (``/github/home/x``)."""
    if _CONTROL.search(value):
        raise ActionError("input 'cache-dir' contains control characters")
    where = ("put it under ${{ runner.temp }}/_github_home, e.g. "
             "${{ runner.temp }}/_github_home/policy-gate-cache (docs/caching.md)")
    candidate = Path(os.path.normpath(workspace / value))  # relative: from the workspace
    if _inside(candidate, workspace) or _inside(candidate.resolve(), workspace.resolve()):
        raise ActionError(
            f"input 'cache-dir' ({value!r}) is inside the workspace, where a pull request "
            f"could commit forged scanner answers; {where}"
        )
    home = Path(env.get("HOME") or CONTAINER_HOME)
    temp = env.get("RUNNER_TEMP")
    if temp and _inside(candidate, Path(temp) / HOST_HOME):
        candidate = home / candidate.relative_to(Path(temp) / HOST_HOME)
    if candidate == home or not _inside(candidate, home):
        raise ActionError(
            f"input 'cache-dir' ({value!r}) is not where the action's container can keep it; "
            f"{where}"
        )
    return str(candidate)


def _policy(workspace: Path, ref: str) -> str:
    if ref.startswith("builtin:"):
        return ref
    return confine(workspace, "policy", ref, must_exist=True)


def final_exit_code(code: int, fail_on_violations: bool, verdict: str | None = None) -> int:
    """``fail-on-violations: false`` passes the step on violations (1) only; never on 2 or 3,
    and never on the ``review`` verdict: that input is the pull request's to change, and
    whether a change to the gate's inputs fails is the base policy's call."""
    if code == EXIT_VIOLATIONS and not fail_on_violations and verdict != "review":
        return EXIT_PASS
    return code


def step_outputs(
    code: int, report: Mapping[str, Any] | None, reports: Mapping[str, str]
) -> dict[str, str]:
    """The action's outputs, from the scan's exit code and (if asked for) its JSON report.

    In GitHub mode the CLI also writes ``verdict``, ``exit-code``, ``violations`` and
    ``findings`` (and more); those it wrote are not written again (write_outputs), the
    others are, so the declared outputs exist even when the CLI stopped early (exit 2).
    ``violations`` and ``findings`` are left to the CLI when there is no JSON report to
    read them from.
    """
    outputs = {
        "verdict": {EXIT_PASS: "pass", EXIT_VIOLATIONS: "fail"}.get(code, "error"),
        "exit-code": str(code),
    }
    if report is not None:
        outputs["verdict"] = str(report.get("verdict") or outputs["verdict"])
        summary = report.get("summary")
        if isinstance(summary, Mapping):
            by_status = summary.get("by_status")
            if isinstance(by_status, Mapping):
                outputs["violations"] = str(by_status.get("violation", 0))
            if summary.get("findings") is not None:
                outputs["findings"] = str(summary["findings"])
    outputs["sarif-file"] = reports.get("sarif", "")
    outputs["json-file"] = reports.get("json", "")
    outputs["summary-file"] = reports.get("markdown", "")
    return outputs


def write_outputs(path: str, outputs: Mapping[str, str]) -> dict[str, str]:
    """Append to ``$GITHUB_OUTPUT`` the outputs the CLI has not written itself (in GitHub
    mode it writes ``verdict``, ``exit-code``, ``violations`` and ``findings`` when the
    scan finished), so that each output is written once; returns what was appended.
    Read and written as the runner and @actions/core do (github.read_outputs and
    write_outputs)."""
    from policy_gate import github

    try:
        written = github.read_outputs(path)
    except FileNotFoundError:  # the runner makes it; a wrapper may not have
        written = {}
    except ValueError:  # an entry the runner could not parse either: nothing counts
        written = {}
    missing = {name: value for name, value in outputs.items() if name not in written}
    github.write_outputs(path, missing)
    return missing


def escape_command(text: str) -> str:
    """Escape a message for a GitHub workflow command (``::error::…``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def capabilities() -> CliCapabilities:
    """Read what the installed CLI accepts from its click definition."""
    import click

    from policy_gate.cli import scan
    from policy_gate.scanners import registry

    formats: frozenset[str] = frozenset()
    options: set[str] = set()
    for param in scan.params:
        if isinstance(param, click.Option):
            options.update(o for o in param.opts if o.startswith("--"))
            if "--format" in param.opts and isinstance(param.type, click.Choice):
                formats = frozenset(str(c) for c in param.type.choices)
    return CliCapabilities(
        formats=formats, scanners=frozenset(registry()), options=frozenset(options)
    )


#: Credentials GitHub hands every Docker action that the scan never needs: removed from
#: the environment so that no scanner (reading hostile code) inherits them. The token for
#: the PR comment is passed back as GITHUB_TOKEN only when pr-comment is true.
SCRUBBED_ENV = (
    "INPUT_GITHUB-TOKEN",
    "INPUT_GITHUB_TOKEN",
    "GITHUB_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_RUNTIME_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_CACHE_URL",
    "ACTIONS_RESULTS_URL",
)


def _run_cli(argv: Sequence[str], extra_env: Mapping[str, str]) -> int:
    from policy_gate import cli

    for name in SCRUBBED_ENV:
        os.environ.pop(name, None)
    os.environ.update(extra_env)
    saved = sys.argv
    sys.argv = ["policy-gate", *argv]
    try:
        cli.main()
    except SystemExit as exc:
        return _code(exc.code)
    finally:
        sys.argv = saved
    return EXIT_PASS


def _code(code: object) -> int:
    if code is None:
        return EXIT_PASS
    if isinstance(code, int):
        return code
    # sys.exit("message") (Python would print it and exit 1): an error, never a verdict
    print(f"policy-gate action: {str(code).splitlines()[0] if str(code) else code}",
          file=sys.stderr)
    return EXIT_INTERNAL if code else EXIT_PASS


# The likely cause of a workspace the container cannot write, and the cure.
USER_HINT = (
    "run the container as the workspace's owner: docker run --user \"$(id -u):$(id -g)\" "
    "(GitHub-hosted runners use uid 1001, as the image does; docs/github-action.md)"
)


def _fail(message: str, annotate: bool, code: int = EXIT_USAGE) -> NoReturn:
    if annotate:
        print(f"::error title=policy-gate::{escape_command(message)}", flush=True)
    print(f"policy-gate action: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def run_action(env: Mapping[str, str]) -> int:
    """Run the action with the inputs in ``env``; returns the step's exit code."""
    annotate = env.get("GITHUB_ACTIONS") == "true"
    workspace = Path(env.get("GITHUB_WORKSPACE") or Path.cwd())
    if not workspace.is_dir():
        _fail(f"GITHUB_WORKSPACE {str(workspace)!r} is not a directory", annotate)
    try:
        os.chdir(workspace)
    except OSError as exc:
        _fail(f"cannot enter GITHUB_WORKSPACE {str(workspace)!r}: {exc.strerror}", annotate,
              EXIT_INTERNAL)
    if read_input(env, "aggregate"):
        return _run_aggregate(env, workspace, annotate)
    try:
        action = plan(env, workspace, capabilities())
    except ActionError as exc:
        _fail(str(exc), annotate)
    from policy_gate.cli_output import OutputError

    try:  # before the scan: a run that cannot write its results never starts
        _prepare_output_dir(workspace, action.reports)
        _check_step_files(env)
    except OutputError as exc:
        if exc.code == EXIT_INTERNAL:  # the container's user and the workspace's differ
            exc.cure = USER_HINT
        _fail(str(exc), annotate, exc.code)
    print(f"policy-gate {' '.join(_shown(action.argv))}", file=sys.stderr, flush=True)
    code = _run_cli(action.argv, action.env)
    outputs = step_outputs(code, _load_json(workspace, action.reports.get("json")), action.reports)
    if env.get("GITHUB_OUTPUT"):
        try:
            write_outputs(env["GITHUB_OUTPUT"], outputs)
        except OSError as exc:  # changed during the scan: one line, never a pass
            _fail(f"cannot write GITHUB_OUTPUT: {exc.strerror or exc}", annotate, EXIT_INTERNAL)
    final = final_exit_code(code, action.fail_on_violations, outputs.get("verdict"))
    if final != code:
        count = f" ({outputs['violations']})" if outputs.get("violations") else ""
        message = (
            f"policy violations found{count}; the step passes because fail-on-violations "
            "is false"
        )
        if annotate:
            print(f"::notice title=policy-gate::{escape_command(message)}", flush=True)
        else:
            print(f"policy-gate action: {message}", file=sys.stderr, flush=True)
    return final


AGGREGATE_FILES = {"json": "policy-gate-org.json", "html": "policy-gate-org.html",
                   "markdown": "policy-gate-org.md"}
SCAN_ONLY_INPUTS = ("policy", "formats", "scanners", "advisories", "osv-url", "diff-base",
                    "category",
                    "full-scan", "baseline", "pr-comment", "cache-dir")


def aggregate_plan(env: Mapping[str, str], workspace: Path) -> tuple[list[str], str]:
    """The ``policy-gate aggregate`` argv of the organisation fan-in, and output-dir: the
    reports in the ``aggregate`` directory (each in its own folder, named by it) into
    output-dir, the Markdown also into the job summary. A scan input given with it is an
    error (it would be ignored)."""
    _reject_unknown_inputs(env)
    given = [n for n in SCAN_ONLY_INPUTS if read_input(env, n) != (INPUT_DEFAULTS.get(n) or "")]
    if given:
        raise ActionError(f"input 'aggregate' reads reports and scans nothing: remove "
                          f"{', '.join(map(repr, given))}")
    reports = confine(workspace, "aggregate", read_input(env, "aggregate"), must_exist=True)
    if not (workspace / reports).is_dir():
        raise ActionError(f"input 'aggregate': {reports!r} is not a directory")
    days = read_input(env, "expiring-within")
    if not days.isdigit() or int(days) > 3650:
        raise ActionError(f"input 'expiring-within': {days!r} is not a number of days (0-3650)")
    out_dir = _output_dir(env, workspace)
    argv = ["aggregate", reports, "--expiring-within", days]
    if read_input(env, "expected"):
        argv += ["--expect", confine(workspace, "expected", read_input(env, "expected"),
                                     must_exist=True)]
    for fmt, name in AGGREGATE_FILES.items():
        argv += [f"--{fmt}", f"{out_dir}/{name}"]
    return argv, out_dir


def _run_aggregate(env: Mapping[str, str], workspace: Path, annotate: bool) -> int:
    try:
        argv, out_dir = aggregate_plan(env, workspace)
    except ActionError as exc:
        _fail(str(exc), annotate)
    (workspace / out_dir).mkdir(parents=True, exist_ok=True)
    print(f"policy-gate {' '.join(argv)}", file=sys.stderr, flush=True)
    code = _run_cli(argv, {})
    summary = env.get("GITHUB_STEP_SUMMARY")
    markdown = workspace / out_dir / AGGREGATE_FILES["markdown"]
    if code == EXIT_PASS and summary and markdown.is_file():
        try:
            with Path(summary).open("a", encoding="utf-8") as fh:
                fh.write(markdown.read_text("utf-8"))
        except OSError as exc:
            _fail(f"cannot write GITHUB_STEP_SUMMARY: {exc.strerror or exc}", annotate,
                  EXIT_INTERNAL)
    return code


def _prepare_output_dir(workspace: Path, reports: Mapping[str, str]) -> None:
    """Create output-dir; remove reports of an earlier run (a reused self-hosted workspace)
    so that the scan, which may cover output-dir, never reads the gate's own old output.
    Raises OutputError (2: a file or directory of the repository is in the way; 3: the
    workspace cannot be written) instead of failing after the scan."""
    from policy_gate.cli_output import OutputError, check_output

    first = next(iter(reports.values()))
    out_rel = PurePosixPath(first).parent.as_posix()
    out_dir = workspace / out_rel
    names = (*REPORT_FILES.values(), "policy-gate.compliance.html")
    for name in names:
        if (out_dir / name).is_dir() and not (out_dir / name).is_symlink():
            raise OutputError(
                EXIT_USAGE,
                f"{out_rel}/{name} is a directory (committed to the repository?), where the "
                "gate writes a report; remove it or choose another output-dir",
            )
    check_output(workspace / first, "report")  # a file in the way, or a read-only workspace
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            EXIT_INTERNAL, f"output-dir {out_rel} cannot be created: {exc.strerror or exc}"
        ) from None
    for name in names:
        old = out_dir / name
        try:
            old.unlink(missing_ok=True)
        except OSError as exc:
            raise OutputError(
                EXIT_INTERNAL,
                f"{out_rel}/{name} (a report of an earlier run) cannot be removed: "
                f"{exc.strerror or exc}",
            ) from None
    for rel in reports.values():
        check_output(workspace / rel, "report")


def _check_step_files(env: Mapping[str, str]) -> None:
    """``$GITHUB_OUTPUT``, which this entrypoint appends to after the scan, must be
    writable before it (the CLI checks the job summary and its own outputs itself)."""
    from policy_gate.cli_output import check_output

    if env.get("GITHUB_OUTPUT"):
        check_output(Path(env["GITHUB_OUTPUT"]), "GITHUB_OUTPUT")


def _shown(argv: Iterable[str]) -> list[str]:
    return [a if a and not _CONTROL.search(a) and " " not in a else repr(a) for a in argv]


def _load_json(workspace: Path, path: str | None) -> dict[str, Any] | None:
    if not path:
        return None
    try:
        data = json.loads((workspace / path).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args:  # the plain CLI: `docker run IMAGE scan . …`
        from policy_gate import cli

        sys.argv = ["policy-gate", *args]
        cli.main()
        return
    sys.exit(run_action(os.environ))


if __name__ == "__main__":  # pragma: no cover
    main()
