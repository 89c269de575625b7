"""semgrep: Python and JavaScript/TypeScript SAST with the rule pack shipped in
``policy_gate/rules/semgrep`` (never the registry; metrics off).

Always with ``--disable-nosem``: a ``nosemgrep`` comment is written by whoever writes the
code, including the pull request under review, so semgrep reports every result and the gate
decides about each suppression itself (policy_gate.policy.suppressions).

semgrep exits 0 even when rules or targets fail; its ``errors`` list is read and every
error is either fatal (a rule or configuration problem: the scan is not trustworthy) or an
``unscanned`` finding naming the file it could not analyse. Every file given must be in
the report (``paths.scanned``, or an error): one it skipped without a word is unscanned.

What is checked must not depend on the machine: no per-rule timeout (``--timeout 0``; the
policy's timeout for the whole run fails closed) and no size limit below the policy's
``max_file_bytes`` (semgrep's own 1 MB limit skipped larger files silently).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from policy_gate.base.digest import tree_digest
from policy_gate.base.fileset import FileSet
from policy_gate.base.process import Completed, ScannerError, run_tool, scanner_env, stderr_tail
from policy_gate.base.redact import redact_message
from policy_gate.base.treefile import TreeFileError, read_span, read_tree_file
from policy_gate.catalogue import SEMGREP, SEMGREP_RULES_DIR
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
from policy_gate.scanners.interface import (
    ScanContext,
    Scanner,
    columns,
    parse_report,
    require,
    sized_targets,
    tree_path,
    unscanned_finding,
)

_LEVELS = {"ERROR": Severity.HIGH, "WARNING": Severity.MEDIUM, "INFO": Severity.LOW}
# semgrep's own per-rule, per-file timeout (5 s) makes what is checked depend on the
# machine's load: off, and the policy's timeout for the whole run fails closed instead.
DEFAULT_RULE_TIMEOUT = 0
# Suffixes semgrep does not recognise when given the file (it skips it, silently): the
# file is given to it as a copy named with the suffix it knows.
ALIASES = {".pyw": ".py", ".mts": ".ts", ".cts": ".ts"}
# Names semgrep skips even when given explicitly, whatever the content: scanned through a
# copy too (a hand-written file may have any name; minified code is the gate's call,
# by content: policy_gate.base.generated).
SKIPPED_NAMES = {".min.js": ".js"}
# A file given to semgrep that its report neither analysed nor gave an error for.
NOT_REPORTED = ("its report neither lists it as analysed nor gives an error for it "
                "(skipped silently)")
# Hard-coded password / credentials / key: messages of such rules are masked.
CREDENTIAL_CWES = frozenset({"CWE-259", "CWE-321", "CWE-798", "CWE-522"})
# The targets each built-in rule file's rules can match, by the language the file is named
# after ("python-taint.yaml" is for python; tests/test_semgrep_rules.py checks every rule's
# `languages`). semgrep runs a rule only on files of its languages, so a rule file for none
# of a run's targets is not sent: parsing the JavaScript rules cost ~0.2 of the ~0.65 CPU-s
# of a run on one Python file. A rule file of another name is always sent.
PYTHON_TARGETS = (".py", ".pyw")
RULE_FILE_TARGETS = {
    "python": PYTHON_TARGETS,
    "javascript": tuple(s for s in SEMGREP.suffixes if s not in PYTHON_TARGETS),
}


class SemgrepScanner(Scanner):
    info = SEMGREP
    executable = "semgrep"
    distribution = "semgrep"
    version_args = ("--version", "--disable-version-check")

    def targets(self, fileset: FileSet) -> tuple[str, ...]:
        return fileset.with_suffix(*SEMGREP.suffixes)

    def cache_inputs(self, ctx: ScanContext) -> Mapping[str, Any]:
        """Every byte of every rule file: the answer changes with any rule."""
        files: list[tuple[str, bytes]] = []
        for i, path in enumerate(self.rule_paths(ctx)):
            found = sorted(path.rglob("*")) if path.is_dir() else [path]
            files += [(f"{i}/{f.relative_to(path) if f != path else f.name}", f.read_bytes())
                      for f in found if f.is_file() and not f.is_symlink()]
        return {"rules": tree_digest(files)}

    def rule_paths(self, ctx: ScanContext) -> list[Path]:
        extra = ctx.settings.options.get("rules", [])
        paths = [SEMGREP_RULES_DIR, *(Path(p) for p in extra)]
        for p in paths:
            if not p.exists():
                raise ScannerError(self.name, f"rule path {p} does not exist")
        return paths

    def scan(self, ctx: ScanContext) -> ScanOutput:
        # Every file up to the policy's limit (semgrep's own default, 1 MB, skipped larger
        # files without a word); a policy may set a lower `max_target_bytes`.
        max_bytes = ctx.max_file_bytes
        if "max_target_bytes" in ctx.settings.options:
            max_bytes = min(max_bytes, int(ctx.settings.options["max_target_bytes"]))
        files, left_out = sized_targets(self, ctx, max_bytes)
        if not files:
            return left_out.only(self.version(ctx))
        findings = list(left_out.findings)
        with tempfile.TemporaryDirectory(prefix="aliases-", dir=ctx.work_dir) as tmp:
            aliases = _aliases(ctx.root, files, Path(tmp), max_bytes)
            report = self._run(ctx, files, aliases, max_bytes)
        results = require(self.name, report, "results", list, "report")
        errors = require(self.name, report, "errors", list, "report")
        cache: dict[Path, list[str]] = {}
        for i, item in enumerate(results):
            findings.append(self._finding(ctx, item, f"results[{i}]", cache))
        targets = set(files)
        # first the errors: a fatal one (a rule that does not parse) explains the rest
        unanalysed = [self._error(err, f"errors[{i}]", targets) for i, err in enumerate(errors)]
        listed = require(self.name, require(self.name, report, "paths", dict, "report"),
                         "scanned", list, "report.paths")
        reported = {tree_path(p) for p in listed if isinstance(p, str)}
        reported.update(f.path for f in unanalysed)
        unanalysed += [unscanned_finding(self.name, rel, NOT_REPORTED, kind="not reported")
                       for rel in files if rel not in reported]
        # in a stable order: which one leads when they are merged must not vary by run
        findings += sorted(unanalysed, key=lambda f: (f.path, f.message))
        # The report names the version; asking `semgrep --version` separately costs ~2 CPU-s.
        version = report.get("version")
        if not isinstance(version, str) or not version:
            version = self.version(ctx)
        return ScanOutput(findings, version, len(findings), len(files), unread=left_out.unread)

    def _run(
        self, ctx: ScanContext, files: tuple[str, ...], aliases: Mapping[str, str],
        max_bytes: int,
    ) -> Any:
        """One semgrep run over ``files`` (an aliased file through its copy); its report
        with every path as the tree's ``./rel``."""
        argv = [
            "semgrep",
            "scan",
            # semgrep's OCaml command line: the same engine and results as the Python
            # wrapper (compared on Django 4.2 and the rule tests), without its ~2 s start-up.
            "--experimental",
            "--json",
            "--quiet",
            "--metrics=off",
            "--disable-version-check",
            "--no-git-ignore",
            f"--jobs={max(1, ctx.jobs)}",
            f"--max-target-bytes={max_bytes}",
            f"--timeout={int(ctx.settings.options.get('rule_timeout', DEFAULT_RULE_TIMEOUT))}",
            "--disable-nosem",
        ]
        for path in self.rule_paths(ctx):
            for config in builtin_rules_for(files) if path == SEMGREP_RULES_DIR else [path]:
                argv += ["--config", str(config)]
        # semgrep has no list-file option; the file list goes on the command line. Files
        # passed explicitly are scanned even if a .semgrepignore in the tree names them.
        argv += ["--", *(aliases.get(f, f"./{f}") for f in files)]
        ctx.progress(self.name, f"{len(files)} files")
        env = scanner_env({"SEMGREP_USER_HOME": str(ctx.work_dir)} if ctx.work_dir else None)
        completed = run_tool(self.name, argv, timeout=ctx.settings.timeout, cwd=ctx.root, env=env)
        if completed.returncode not in (0, 1):
            raise ScannerError(self.name, f"exited {completed.returncode}: {_failure(completed)}")
        report = parse_report(self.name, completed)
        if aliases:
            _unalias(report, {copy: f"./{rel}" for rel, copy in aliases.items()})
        return report

    def _finding(
        self, ctx: ScanContext, item: Any, where: str, cache: dict[Path, list[str]]
    ) -> Finding:
        check_id = require(self.name, item, "check_id", str, where)
        rule_id = check_id.rsplit(".", 1)[-1]
        path = tree_path(require(self.name, item, "path", str, where))
        begins = require(self.name, item, "start", dict, where)
        ends = require(self.name, item, "end", dict, where)
        start = require(self.name, begins, "line", int, f"{where}.start")
        end = require(self.name, ends, "line", int, f"{where}.end")
        span = read_span(ctx.root / path, start, end, cache)
        first_col, last_col = columns(begins.get("col"), ends.get("col"), 1, start == end, span)
        extra = require(self.name, item, "extra", dict, where)
        message = require(self.name, extra, "message", str, f"{where}.extra")
        meta = extra.get("metadata") if isinstance(extra.get("metadata"), dict) else {}
        severity = _parse(Severity, meta.get("severity")) or _LEVELS.get(
            str(extra.get("severity", "")).upper()
        )
        confidence = _parse(Confidence, meta.get("confidence"))
        raw_cwe = meta.get("cwe", [])
        cwes = tuple(
            dict.fromkeys(
                c
                for c in (cwe_id(x) for x in (raw_cwe if isinstance(raw_cwe, list) else [raw_cwe]))
                if c
            )
        )
        if CREDENTIAL_CWES.intersection(cwes):
            message = redact_message(message)  # a custom rule may interpolate the value
        refs = meta.get("references")
        return Finding(
            category=SAST,
            sources=(Source(self.name, rule_id, severity, confidence, message),),
            path=path,
            start_line=start,
            end_line=end,
            start_column=first_col,
            end_column=last_col,
            message=message,
            flaw_key=cwes[0] if cwes else f"{self.name}:{rule_id}",
            content_key=content_key(span),
            cwe=cwes,
            title=rule_id,
            fix=str(meta.get("fix", "")),
            help_url=refs[0]
            if isinstance(refs, list) and refs and isinstance(refs[0], str)
            else None,
        )

    def _error(self, err: Any, where: str, targets: set[str]) -> Finding:
        """A problem with one of our target files is an `unscanned` finding; anything else
        (a rule that does not parse, a crash) means the scan cannot be trusted."""
        if not isinstance(err, dict):
            raise ScannerError(self.name, f"unexpected output: {where} is not an object")
        summary = _error_summary(err)
        path = err.get("path")
        if isinstance(path, str) and tree_path(path) in targets:
            rel = tree_path(path)
            # the OCaml command line names the file as given ("./rel"); the reason is part
            # of the finding's identity, so it names the file the same way either way
            return unscanned_finding(
                self.name, rel, summary.replace(f"./{rel}", rel), kind=_error_kind(err)
            )
        raise ScannerError(self.name, f"reported an error: {summary}")


def builtin_rules_for(files: tuple[str, ...], rules_dir: Path = SEMGREP_RULES_DIR
                      ) -> list[Path]:
    """The built-in rule files that can match one of ``files`` (``RULE_FILE_TARGETS``;
    a file it does not name is always among them)."""
    chosen = []
    for entry in sorted(rules_dir.iterdir()):
        named = entry.suffix == ".yaml" and entry.is_file()
        suffixes = RULE_FILE_TARGETS.get(entry.stem.split("-", 1)[0]) if named else None
        if suffixes is None or any(f.lower().endswith(suffixes) for f in files):
            chosen.append(entry)
    return chosen


def _aliases(root: Path, files: tuple[str, ...], where: Path, limit: int) -> dict[str, str]:
    """Copies, named with a suffix semgrep knows, of the files whose suffix it does not
    (``ALIASES``): rel -> the copy's absolute path. A file that cannot be read is left
    as it is (semgrep then reports it, or the accounting does)."""
    copies: dict[str, str] = {}
    for rel in files:
        suffix = ALIASES.get(Path(rel).suffix.lower()) or next(
            (alias for name, alias in SKIPPED_NAMES.items() if rel.lower().endswith(name)), None)
        if suffix is None:
            continue
        try:
            data = read_tree_file(root / rel, limit)
        except TreeFileError:
            continue
        copy = where / (rel + suffix)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(data)
        copies[rel] = str(copy)
    return copies


def _unalias(report: Any, names: Mapping[str, str]) -> None:
    """Every path in semgrep's report that is a copy's (results, errors, their messages,
    the files it analysed) back to the tree's ``./rel``, in place."""
    if not isinstance(report, dict):
        return
    for key in ("results", "errors"):
        for item in report.get(key) or ():
            copy = item.get("path") if isinstance(item, dict) else None
            if not isinstance(copy, str) or copy not in names:
                continue
            item["path"] = names[copy]
            if isinstance(item.get("message"), str):
                item["message"] = item["message"].replace(copy, names[copy])
    paths = report.get("paths")
    if isinstance(paths, dict) and isinstance(paths.get("scanned"), list):
        paths["scanned"] = [names.get(p, p) if isinstance(p, str) else p
                            for p in paths["scanned"]]


def _failure(completed: Completed) -> str:
    """semgrep explains fatal errors in its JSON output, not on stderr."""
    try:
        errors = json.loads(completed.stdout).get("errors") or []
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return _error_summary(errors[0])
    except (ValueError, AttributeError, RecursionError):
        pass
    return stderr_tail(completed).removeprefix(": ") or "no error message"


def _error_kind(err: dict[str, Any]) -> str:
    """What went wrong ("Timeout", "Syntax error"), without which rule or where."""
    kind = err.get("type")
    return str(kind[0]) if isinstance(kind, list) and kind else str(kind)


def _error_summary(err: dict[str, Any]) -> str:
    lines = str(err.get("message", "")).strip().splitlines()
    return f"{_error_kind(err)}: {lines[0][:300] if lines else 'no detail'}"


def _parse(kind: type[Severity] | type[Confidence], value: object) -> Any:
    if isinstance(value, str):
        try:
            return kind[value.strip().upper()]
        except KeyError:
            return None
    return None
