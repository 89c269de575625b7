"""bandit: Python SAST. Run in batches of explicit files (no recursion, so it never
reads a .bandit file or follows a link), in parallel when cores allow.

Always with ``--ignore-nosec``: a ``# nosec`` comment is written by whoever writes the code,
including the pull request under review, so bandit reports every result and the gate
decides about each suppression itself (policy_gate.suppressions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from policy_gate.fileset import FileSet, read_line, within_limit
from policy_gate.findings import (
    SAST,
    UNSCANNED,
    Confidence,
    Finding,
    Severity,
    Source,
    content_key,
    cwe_id,
)
from policy_gate.process import ScannerError, run_tool, stderr_tail
from policy_gate.redact import redact_message
from policy_gate.scanners.interface import (
    DEFAULT_MAX_FILE_BYTES,
    ScanContext,
    Scanner,
    ScanOutput,
    chunked,
    map_batches,
    parse_report,
    require,
    split_evenly,
    tree_path,
    unscanned_finding,
)

SUFFIXES = (".py", ".pyw")
# bandit rules about hard-coded credentials put the value in the message.
CREDENTIAL_RULES = frozenset({"B105", "B106", "B107"})


class BanditScanner(Scanner):
    name = "bandit"
    file_local = True
    executable = "bandit"
    distribution = "bandit"
    categories = (SAST, UNSCANNED)
    description = "Python static analysis (PyCQA bandit)"

    def targets(self, fileset: FileSet) -> tuple[str, ...]:
        return fileset.with_suffix(*SUFFIXES)

    def scan(self, ctx: ScanContext) -> ScanOutput:
        # bandit reads a file whole: a larger one is an unscanned finding, never handed over
        limit = int(ctx.settings.options.get("max_file_bytes", DEFAULT_MAX_FILE_BYTES))
        files, left_out = within_limit(ctx.root, self.targets(ctx.fileset), limit)
        gaps = [unscanned_finding(self.name, rel, why) for rel, why in left_out]
        unread = tuple(rel for rel, _ in left_out)
        version = self.version(ctx)
        if not files:
            return ScanOutput(gaps, version, len(gaps), 0, unread=unread)
        # Two batches per core: the cores stay busy when one batch is slower, and progress
        # moves in quarters on two cores (each bandit start costs ~0.25 CPU-s).
        batches = [b for part in split_evenly(files, 2 * ctx.jobs) for b in chunked(part)]
        done = 0

        def run(batch: list[str]) -> Any:
            nonlocal done
            argv = ["bandit", "-f", "json", "-q", "--ignore-nosec", "--"]
            argv += [f"./{f}" for f in batch]
            completed = run_tool(self.name, argv, timeout=ctx.settings.timeout, cwd=ctx.root)
            # bandit exits 0 (clean) or 1 (issues found); anything else is a failure.
            if completed.returncode not in (0, 1):
                raise ScannerError(
                    self.name, f"exited {completed.returncode}{stderr_tail(completed)}"
                )
            report = parse_report(self.name, completed)
            done += len(batch)
            ctx.progress(self.name, f"{done}/{len(files)} files")
            return report

        reports = map_batches(run, batches, ctx.jobs)

        findings: list[Finding] = []
        raw = 0
        lines_cache: dict[Path, list[str]] = {}
        for report in reports:
            results = require(self.name, report, "results", list, "report")
            errors = require(self.name, report, "errors", list, "report")
            for i, item in enumerate(results):
                findings.append(self._finding(ctx, item, f"results[{i}]", lines_cache))
                raw += 1
            for i, err in enumerate(errors):
                path = tree_path(require(self.name, err, "filename", str, f"errors[{i}]"))
                reason = require(self.name, err, "reason", str, f"errors[{i}]")
                findings.append(unscanned_finding(self.name, path, reason))
                raw += 1
        return ScanOutput(findings + gaps, version, raw + len(gaps), len(files), unread=unread)

    def _finding(
        self, ctx: ScanContext, item: Any, where: str, cache: dict[Path, list[str]]
    ) -> Finding:
        test_id = require(self.name, item, "test_id", str, where)
        path = tree_path(require(self.name, item, "filename", str, where))
        line = require(self.name, item, "line_number", int, where)
        text = require(self.name, item, "issue_text", str, where)
        severity = _level(Severity, require(self.name, item, "issue_severity", str, where))
        confidence = _level(Confidence, require(self.name, item, "issue_confidence", str, where))
        line_range = item.get("line_range")
        listed = [x for x in line_range if type(x) is int] if isinstance(line_range, list) else []
        end = max([line, *listed])  # a malformed range (a string, no numbers) ends on `line`
        cwe = cwe_id(item.get("issue_cwe"))
        message = redact_message(text) if test_id in CREDENTIAL_RULES else text
        return Finding(
            category=SAST,
            sources=(Source(self.name, test_id, severity, confidence, message),),
            path=path,
            start_line=line,
            end_line=end,
            message=message,
            flaw_key=cwe or f"{self.name}:{test_id}",
            content_key=content_key(read_line(ctx.root / path, line, cache)),
            cwe=(cwe,) if cwe else (),
            title=str(item.get("test_name") or test_id),
            help_url=item.get("more_info") if isinstance(item.get("more_info"), str) else None,
        )


_Level = TypeVar("_Level", Severity, Confidence)


def _level(kind: type[_Level], value: str) -> _Level | None:
    try:
        return kind[value.upper()]
    except KeyError:
        return None  # bandit's UNDEFINED: let the policy grade it
