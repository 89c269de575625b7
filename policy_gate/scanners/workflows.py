"""GitHub Actions workflows and action definitions, audited by zizmor (offline), plus one
check of the gate's own.

How zizmor is run, and why:

* ``--offline``, the minimal scanner environment (no ``GH_TOKEN``/``GITHUB_TOKEN``): the
  audit never calls GitHub and never holds a token;
* ``--no-config``: a ``zizmor.yml`` in the scanned repository (or ``ZIZMOR_CONFIG``)
  could relax ``unpinned-uses`` or disable audits; the pull request under review must not
  configure its own auditor;
* ``--no-ignores``: ``# zizmor: ignore[...]`` comments are written by whoever writes the
  workflow, including the pull request; every result is reported (the gate's own waivers
  and suppressions decide, as for ``# nosec``);
* explicit ``./``-prefixed file paths, ``--strict-collection``: zizmor audits exactly the
  files the gate chose, and a file it cannot load is not silently skipped: it becomes an
  ``unscanned`` finding and the rest is audited again;
* ``--persona regular``: zizmor's minimal-false-positive set (pedantic code smells would
  only add noise to a blocking gate); no ``--min-severity``: the policy's thresholds
  decide what is reported and what fails;
* ``--no-exit-codes``, ``--format json-v1``: exit 0 means a complete report in the
  versioned JSON format; anything else fails closed.

What must be covered, and by what: third-party actions not pinned by commit SHA
(zizmor ``unpinned-uses``, which with no configuration requires a hash pin for every
action), missing ``permissions:`` (``excessive-permissions``), ``pull_request_target``
(``dangerous-triggers``) and, specifically, such a workflow checking out the pull request's
code: ``pr-target-checkout`` below (zizmor flags the trigger, not the checkout).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from policy_gate.base import yamlsafe
from policy_gate.base.fileset import FileSet
from policy_gate.base.process import ScannerError, run_tool, stderr_tail
from policy_gate.base.treefile import TreeFileError, read_line, read_span, read_tree_file
from policy_gate.catalogue import WORKFLOWS
from policy_gate.findings import CI, Confidence, Finding, Severity, Source, content_key
from policy_gate.results import ScanOutput
from policy_gate.scanners.interface import (
    ScanContext,
    Scanner,
    chunked,
    parse_report,
    require,
    tree_path,
    unscanned_finding,
)

RULE_PR_TARGET_CHECKOUT = "pr-target-checkout"
PR_TARGET_HELP = (
    "https://securitylab.github.com/resources/github-actions-preventing-pwn-requests/"
)
ZIZMOR_ARGS = (
    "--offline",
    "--no-config",
    "--no-ignores",
    "--no-exit-codes",
    "--strict-collection",
    "--persona",
    "regular",
    "--format",
    "json-v1",
    "--no-progress",
    "--color",
    "never",
)
# zizmor --strict-collection, when it cannot load one input.
_LOAD_FAILED = re.compile(r"failed to load file://(\S+) as (?:workflow|action|\w+)")

# Fixes for the audits the policy cares most about (zizmor's JSON carries titles only).
FIXES = {
    "unpinned-uses": "Pin the action to a full 40-character commit SHA and keep the version "
    "in a comment: uses: actions/checkout@<sha> # v4.2.2 (Dependabot/Renovate update both).",
    "excessive-permissions": "Declare permissions explicitly: `permissions: {}` at the "
    "workflow level and the least each job needs (e.g. contents: read) at job level.",
    "dangerous-triggers": "Use pull_request instead of pull_request_target/workflow_run; if "
    "the trigger is needed, never check out or run the pull request's code in it.",
    "artipacked": "Set `persist-credentials: false` on actions/checkout.",
    "template-injection": "Pass the expression through an environment variable "
    '(env: TITLE: ${{ ... }}) and use "$TITLE" in the script.',
    "cache-poisoning": "Do not restore caches in release/publishing workflows.",
}


def is_workflow(path: str) -> bool:
    """A workflow (``.github/workflows/*.yml``, any depth) or an action definition."""
    name = path.rsplit("/", 1)[-1]
    if name in ("action.yml", "action.yaml"):
        return True
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    return (parent == ".github/workflows" or parent.endswith("/.github/workflows")) and (
        name.endswith((".yml", ".yaml"))
    )


class WorkflowsScanner(Scanner):
    info = WORKFLOWS
    executable = "zizmor"

    def targets(self, fileset: FileSet) -> tuple[str, ...]:
        return tuple(f for f in fileset.files if is_workflow(f))

    def scan(self, ctx: ScanContext) -> ScanOutput:
        files = self.targets(ctx.fileset)
        version = self.version(ctx)
        if not files:
            return ScanOutput([], version, 0, 0)
        limit = ctx.max_file_bytes
        findings: list[Finding] = []
        audit: list[str] = []
        for rel in files:
            problem, own = self._own_checks(ctx.root, rel, limit)
            if problem is not None:
                findings.append(problem)
            else:
                audit.append(rel)
                findings += own
        raw = len(findings)
        cache: dict[Path, list[str]] = {}
        wanted = set(audit)
        for batch in chunked(tuple(audit)):
            items, unloadable = self._run(ctx, batch)
            for rel, reason in unloadable:
                findings.append(unscanned_finding(self.name, rel, reason))
                raw += 1
            for i, item in enumerate(items):
                findings.append(self._finding(ctx, item, f"results[{i}]", wanted, cache))
                raw += 1
        ctx.progress(self.name, f"{len(files)}/{len(files)} files")
        return ScanOutput(findings, version, raw, len(files))

    # -- zizmor ---------------------------------------------------------------------------

    def _run(self, ctx: ScanContext, batch: list[str]) -> tuple[list[Any], list[tuple[str, str]]]:
        """zizmor's results for a batch, and the files it refused to load (each dropped and
        the rest audited again, so one broken file does not hide the others)."""
        remaining = list(batch)
        unloadable: list[tuple[str, str]] = []
        while remaining:
            argv = ["zizmor", *ZIZMOR_ARGS, "--", *(f"./{f}" for f in remaining)]
            completed = run_tool(self.name, argv, timeout=ctx.settings.timeout, cwd=ctx.root)
            if completed.returncode == 0:
                report = parse_report(self.name, completed)
                if not isinstance(report, list):
                    raise ScannerError(self.name, "unexpected output: report is not a list")
                return report, unloadable
            match = _LOAD_FAILED.search(completed.stderr)
            rel = tree_path(match[1]) if match else None
            if rel is None or rel not in remaining:
                raise ScannerError(
                    self.name, f"exited {completed.returncode}{stderr_tail(completed)}"
                )
            remaining.remove(rel)
            unloadable.append((rel, _load_reason(completed.stderr, match)))  # type: ignore[arg-type]
        return [], unloadable

    def _finding(
        self, ctx: ScanContext, item: Any, where: str, wanted: set[str],
        cache: dict[Path, list[str]],
    ) -> Finding:
        ident = require(self.name, item, "ident", str, where)
        desc = require(self.name, item, "desc", str, where)
        url = require(self.name, item, "url", str, where)
        det = require(self.name, item, "determinations", dict, where)
        severity = _level(
            Severity, require(self.name, det, "severity", str, f"{where}.determinations")
        )
        confidence = _level(
            Confidence, require(self.name, det, "confidence", str, f"{where}.determinations")
        )
        locations = require(self.name, item, "locations", list, where)
        if not locations:
            raise ScannerError(self.name, f"unexpected output: {where}.locations is empty")
        primary = next(
            (loc for loc in locations
             if isinstance(loc, dict) and isinstance(loc.get("symbolic"), dict)
             and loc["symbolic"].get("kind") == "Primary"),
            locations[0],
        )
        lw = f"{where}.locations[primary]"
        symbolic = require(self.name, primary, "symbolic", dict, lw)
        key = require(self.name, symbolic, "key", dict, f"{lw}.symbolic")
        local = require(self.name, key, "Local", dict, f"{lw}.symbolic.key")
        path = tree_path(require(self.name, local, "verbatim_path", str, f"{lw}.symbolic.key"))
        if path not in wanted:
            raise ScannerError(self.name, f"reported a file it was not given: {path!r}")
        annotation = symbolic.get("annotation")
        annotation = annotation if isinstance(annotation, str) else ""
        concrete = require(self.name, primary, "concrete", dict, lw)
        span = require(self.name, concrete, "location", dict, f"{lw}.concrete")
        start = require(self.name, span, "start_point", dict, f"{lw}.concrete.location")
        end = require(self.name, span, "end_point", dict, f"{lw}.concrete.location")
        line = require(self.name, start, "row", int, f"{lw}.start_point") + 1
        end_line = require(self.name, end, "row", int, f"{lw}.end_point") + 1
        if end.get("column") == 0 and end_line > line:
            end_line -= 1  # the span ends at the start of the next line
        message = f"{desc}: {annotation}" if annotation else desc
        if item.get("ignored") is True:
            message += (" (a `# zizmor: ignore` comment in the file asks to silence this; "
                        "the gate does not honour it: use a waiver)")
        fixes = [f["title"] for f in item.get("fixes") or ()
                 if isinstance(f, dict) and isinstance(f.get("title"), str)]
        fix = FIXES.get(ident) or "; ".join(fixes) or f"See {url}."
        return Finding(
            category=CI,
            sources=(Source(self.name, ident, severity, confidence, message),),
            path=path,
            start_line=line,
            end_line=max(line, end_line),
            message=message,
            flaw_key=f"{self.name}:{ident}",
            content_key=content_key(read_span(ctx.root / path, line, end_line, cache)),
            title=desc,
            help_url=url,
            fix=fix,
        )

    # -- the gate's own check -------------------------------------------------------------

    def _own_checks(self, root: Path, rel: str, limit: int) -> tuple[Finding | None, list[Finding]]:
        """Parse the file with the safe loader; (unscanned finding, []) when it cannot be
        read, else (None, findings of pr-target-checkout)."""
        try:
            located = load_workflow(read_tree_file(root / rel, limit))
        except TreeFileError as exc:
            return unscanned_finding(self.name, rel, str(exc)), []
        except yamlsafe.YamlProblem as exc:
            return unscanned_finding(self.name, rel, exc.message, exc.line), []
        return None, list(self._pr_target_checkout(root, rel, located))

    def _pr_target_checkout(
        self, root: Path, rel: str, located: yamlsafe.Located
    ) -> Iterator[Finding]:
        wf = located.data
        if not isinstance(wf, dict):
            return
        triggers = _triggers(wf.get("on"))
        privileged = sorted(triggers & {"pull_request_target", "workflow_run"})
        jobs = wf.get("jobs")
        if not privileged or not isinstance(jobs, dict):
            return
        for job_id, job in jobs.items():
            steps = job.get("steps") if isinstance(job, dict) else None
            if not isinstance(steps, list):
                continue
            for i, step in enumerate(steps):
                what = _checks_out_pr_code(step)
                if what is None:
                    continue
                line, _ = located.where(("jobs", job_id, "steps", i))
                message = (
                    f"This {' / '.join(privileged)} workflow checks out the pull request's "
                    f"code ({what}) in a context with the base repository's secrets and a "
                    "write token: any build script, test or action in the pull request then "
                    "runs with them ('pwn request')."
                )
                yield Finding(
                    category=CI,
                    sources=(Source(self.name, RULE_PR_TARGET_CHECKOUT, Severity.HIGH,
                                    Confidence.HIGH, message),),
                    path=rel,
                    start_line=line,
                    end_line=line,
                    message=message,
                    flaw_key=f"{self.name}:{RULE_PR_TARGET_CHECKOUT}",
                    content_key=content_key(read_line(root / rel, line)),
                    title="pull_request_target checks out pull-request code",
                    help_url=PR_TARGET_HELP,
                    fix="Run untrusted code under the `pull_request` trigger (no secrets, "
                    "read-only token); if results must be posted back, pass them as an "
                    "artifact to a separate workflow_run job that never executes them.",
                )


def load_workflow(raw: bytes) -> yamlsafe.Located:
    """yamlsafe.load (size, UTF-8, duplicate keys, alias bombs, one document) with the
    YAML 1.2 booleans GitHub uses."""
    return yamlsafe.load(raw, yaml12_booleans=True)


def _triggers(on: Any) -> set[str]:
    if isinstance(on, str):
        return {on}
    if isinstance(on, list):
        return {t for t in on if isinstance(t, str)}
    if isinstance(on, dict):
        return set(on)
    return set()


# Expressions that name the pull request's head (or merge) commit or its fork.
_PR_REF = re.compile(
    r"github\.event\.pull_request\.head\.(?:sha|ref|repo\.full_name)"
    r"|github\.event\.pull_request\.merge_commit_sha"
    r"|github\.head_ref"
    r"|github\.event\.workflow_run\.head_(?:sha|branch|repository)"
    r"|refs/pull/[^/\s]+/(?:merge|head)"
    r"|github\.event\.number"
)


def _checks_out_pr_code(step: Any) -> str | None:
    """What in a step checks out pull-request code, or None."""
    if not isinstance(step, dict):
        return None
    uses = step.get("uses")
    if isinstance(uses, str) and uses.split("@", 1)[0].lower() == "actions/checkout":
        with_ = step.get("with")
        if isinstance(with_, dict):
            for key in ("ref", "repository"):
                value = with_.get(key)
                if isinstance(value, str) and _PR_REF.search(value):
                    return f"{key}: {value.strip()}"
    run = step.get("run")
    if isinstance(run, str) and re.search(r"\bgh\s+pr\s+checkout\b", run):
        return "gh pr checkout"
    if isinstance(run, str) and re.search(r"\bgit\s+(?:fetch|checkout|pull)\b", run) and (
        _PR_REF.search(run)
    ):
        return "git fetch/checkout of the pull request ref"
    return None


def _load_reason(stderr: str, match: re.Match[str]) -> str:
    """zizmor's reason for refusing a file: the 'Caused by' lines after the match."""
    tail = stderr[match.end():]
    tail = tail.split("Stack backtrace:", 1)[0]
    lines = [ln.strip() for ln in tail.splitlines() if ln.strip() and ln.strip() != "Caused by:"]
    reason = " ".join(re.sub(r"^\d+:\s*", "", ln) for ln in lines)[:300]
    return f"zizmor could not load it as {match[0].rsplit(' ', 1)[-1]}: {reason or 'invalid'}"


def _level(kind: type[Severity] | type[Confidence], value: str) -> Any:
    """zizmor's Informational/Low/Medium/High; Unknown is left for the policy to grade."""
    text = value.strip().upper()
    if text == "INFORMATIONAL":
        text = "INFO"
    try:
        return kind[text]
    except KeyError:
        return None
