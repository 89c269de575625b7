"""bandit: Python SAST. Run in batches of explicit files (no recursion, so it never
reads a .bandit file or follows a link), in parallel when cores allow.

Always with ``--ignore-nosec``: a ``# nosec`` comment is written by whoever writes the code,
including the pull request under review, so bandit reports every result and the gate
decides about each suppression itself (policy_gate.policy.suppressions).

Always with an empty ``--exclude``, and every file given must be in the report (its
``metrics``, or an error): nothing is skipped silently. A file that bandit's interpreter
cannot parse is analysed again under a newer Python when one is available
(policy_gate.scanners.bandit_python); otherwise it is unscanned, with how to fix it."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from policy_gate.base.fileset import FileSet
from policy_gate.base.process import ScannerError, run_tool, stderr_tail
from policy_gate.base.redact import redact_after
from policy_gate.base.treefile import read_span
from policy_gate.catalogue import BANDIT
from policy_gate.findings import (
    SAST,
    Confidence,
    Finding,
    Severity,
    Source,
    content_key,
    cwe_id,
)
from policy_gate.results import ScanOutput
from policy_gate.scanners.bandit_python import (
    BANDIT_PYTHON_ENV,
    SYNTAX_ERROR,
    candidates,
    find_newer,
    rerun_interpreter,
)
from policy_gate.scanners.interface import (
    ScanContext,
    Scanner,
    chunked,
    columns,
    map_batches,
    parse_report,
    require,
    sized_targets,
    split_evenly,
    tree_path,
    unscanned_finding,
)

# A file given to bandit that its report neither analysed nor gave an error for.
NOT_REPORTED = ("its report neither lists it as analysed nor gives an error for it "
                "(skipped silently)")
# bandit rules about hard-coded credentials put the value in the message.
CREDENTIAL_RULES = frozenset({"B105", "B106", "B107"})


class BanditScanner(Scanner):
    info = BANDIT
    executable = "bandit"
    distribution = "bandit"

    def targets(self, fileset: FileSet) -> tuple[str, ...]:
        return fileset.with_suffix(*BANDIT.suffixes)

    def cache_inputs(self, ctx: ScanContext) -> Mapping[str, Any]:
        """Which newer interpreters could re-run a file bandit's own cannot parse: one
        installed since must not be answered from "unscanned" (bandit_python)."""
        return {"newer_python": [os.environ.get(BANDIT_PYTHON_ENV),
                                 *candidates((sys.version_info[0], 0), ctx.root)]}

    def scan(self, ctx: ScanContext) -> ScanOutput:
        # bandit reads a file whole: a larger one is an unscanned finding, never handed over
        files, left_out = sized_targets(self, ctx, ctx.max_file_bytes)
        version = self.version(ctx)
        if not files:
            return left_out.only(version)
        cache: dict[Path, list[str]] = {}
        findings, unparsed = self._analyse(ctx, files, ["bandit"], cache)
        if unparsed:
            findings += self._reanalyse(ctx, unparsed, cache)
        findings += left_out.findings
        # one finding per result, error or file not reported on
        return ScanOutput(findings, version, len(findings), len(files), unread=left_out.unread)

    def _analyse(
        self, ctx: ScanContext, files: tuple[str, ...], command: list[str],
        cache: dict[Path, list[str]], label: str = "",
    ) -> tuple[list[Finding], list[str]]:
        """bandit (``command``) over ``files``: findings, unscanned findings (errors, and
        files the report says nothing about), and the files it could not parse."""
        # Two batches per core: the cores stay busy when one batch is slower, and progress
        # moves in quarters on two cores (each bandit start costs ~0.25 CPU-s).
        batches = [b for part in split_evenly(files, 2 * ctx.jobs) for b in chunked(part)]
        done = 0

        def run(batch: list[str]) -> Any:
            nonlocal done
            # --exclude= : bandit's default excludes drop any path that merely contains
            # ".git", "CVS", ".tox", ".eggs"… (every script under .github/), silently
            argv = [*command, "-f", "json", "-q", "--ignore-nosec", "--exclude=", "--"]
            argv += [f"./{f}" for f in batch]
            completed = run_tool(self.name, argv, timeout=ctx.settings.timeout, cwd=ctx.root)
            # bandit exits 0 (clean) or 1 (issues found); anything else is a failure.
            if completed.returncode not in (0, 1):
                raise ScannerError(
                    self.name, f"exited {completed.returncode}{stderr_tail(completed)}"
                )
            report = parse_report(self.name, completed)
            done += len(batch)
            ctx.progress(self.name, f"{done}/{len(files)} files{label}")
            return report

        findings: list[Finding] = []
        unparsed: list[str] = []
        reported: set[str] = set()
        for report in map_batches(run, batches, ctx.jobs):
            results = require(self.name, report, "results", list, "report")
            errors = require(self.name, report, "errors", list, "report")
            for i, item in enumerate(results):
                findings.append(self._finding(ctx, item, f"results[{i}]", cache))
            for i, err in enumerate(errors):
                path = tree_path(require(self.name, err, "filename", str, f"errors[{i}]"))
                reason = require(self.name, err, "reason", str, f"errors[{i}]")
                reported.add(path)
                if reason == SYNTAX_ERROR:
                    unparsed.append(path)
                else:
                    findings.append(unscanned_finding(self.name, path, reason))
            metrics = require(self.name, report, "metrics", dict, "report")
            reported.update(tree_path(str(name)) for name in metrics)
        findings += [unscanned_finding(self.name, rel, NOT_REPORTED, kind="not reported")
                     for rel in files if rel not in reported]
        return findings, unparsed

    def _reanalyse(
        self, ctx: ScanContext, files: list[str], cache: dict[Path, list[str]]
    ) -> list[Finding]:
        """Files bandit's interpreter could not parse, under the newest Python that can
        run bandit (newer syntax, e.g. PEP 701 f-strings); unscanned if none can."""
        newer, why = find_newer(ctx.root)
        if newer is None:
            return [unscanned_finding(self.name, rel, f"{SYNTAX_ERROR}: {why}",
                                      kind="syntax error") for rel in files]
        label = f" again under {newer.label}"
        found, unparsed = self._analyse(ctx, tuple(files), newer.command(), cache, label)
        reason = f"{SYNTAX_ERROR} (also under {newer.label})"
        return found + [unscanned_finding(self.name, rel, reason, kind="syntax error")
                        for rel in unparsed]

    def _finding(
        self, ctx: ScanContext, item: Any, where: str, cache: dict[Path, list[str]]
    ) -> Finding:
        test_id = require(self.name, item, "test_id", str, where)
        path = tree_path(require(self.name, item, "filename", str, where))
        line = require(self.name, item, "line_number", int, where)
        text = require(self.name, item, "issue_text", str, where)
        severity = _level(Severity, require(self.name, item, "issue_severity", str, where))
        confidence = _level(Confidence, require(self.name, item, "issue_confidence", str, where))
        cap = BANDIT.confidence_caps.get(test_id)
        if cap is not None:
            confidence = cap if confidence is None else min(confidence, cap)
        line_range = item.get("line_range")
        listed = [x for x in line_range if type(x) is int] if isinstance(line_range, list) else []
        end = max([line, *listed])  # a malformed range (a string, no numbers) ends on `line`
        # the statement may start above the reported line (`shell=True` inside a call)
        first = min([line, *(x for x in listed if x >= 1)])
        # bandit's offsets are the flagged node's: on its first and last lines, which are
        # the finding's only when it starts on the reported line
        span = read_span(ctx.root / path, first, end, cache)
        first_col, last_col = columns(item.get("col_offset"), item.get("end_col_offset"), 0,
                                      line == end, span)
        if first != line:
            first_col = last_col = None
        cwe = BANDIT.cwe_corrections.get(test_id) or cwe_id(item.get("issue_cwe"))
        # the value is everything after "password: " (it may hold a quote or a newline)
        message = redact_after(text, "password: ") if test_id in CREDENTIAL_RULES else text
        return Finding(
            category=SAST,
            sources=(Source(self.name, test_id, severity, confidence, message),),
            path=path,
            start_line=line,
            end_line=end,
            start_column=first_col,
            end_column=last_col,
            span_start=first if first < line else None,
            message=message,
            flaw_key=cwe or f"{self.name}:{test_id}",
            content_key=content_key(span),
            cwe=(cwe,) if cwe else (),
            title=str(item.get("test_name") or test_id),
            help_url=item.get("more_info") if isinstance(item.get("more_info"), str) else None,
        )


__all__ = ["BANDIT_PYTHON_ENV", "BanditScanner", "rerun_interpreter"]

_Level = TypeVar("_Level", Severity, Confidence)


def _level(kind: type[_Level], value: str) -> _Level | None:
    try:
        return kind[value.upper()]
    except KeyError:
        return None  # bandit's UNDEFINED: let the policy grade it
