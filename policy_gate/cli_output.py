"""A scan's output files, for the command line and the Action's entrypoint: checked
before the scan (so that minutes of scanning never end in a traceback) and written after
it, each report format by its module in policy_gate.reports.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import secrets
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import click
from rich.console import Console

from policy_gate.exit_codes import EXIT_INTERNAL, EXIT_USAGE
from policy_gate.reports.interface import ReportData, printable

# The command line's exit codes (cli.py lists them all) for a usage error, such as an
# output path that is a directory (2), and for a failure of the environment or of the
# gate itself (3).
# The report formats `policy-gate scan --format` writes.
FORMATS = ("json", "sarif", "junit", "markdown", "cyclonedx", "openvex", "compliance")

# The module in policy_gate.reports that writes each format, where the names differ.
FORMAT_MODULES = {"json": "json_report"}


def compliance_html_path(markdown: Path) -> Path:
    """report.md -> report.html; any other name gets .html appended."""
    if markdown.suffix.lower() == ".md":
        return markdown.with_suffix(".html")
    return markdown.with_name(markdown.name + ".html")


class ReportWriteError(Exception):
    """A report could not be written (by this process or the one writing beside it)."""


class OutputError(Exception):
    """An output the run could not write, found before scanning: ``code`` is 2 when the
    path itself is wrong (a directory, below a file) and 3 when the environment does not
    let us write it (permissions, a read-only file system). ``cure`` is the next step,
    which a caller that knows more (the Action: the container's user) may replace."""

    def __init__(self, code: int, message: str, cure: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.cure = cure

    def __str__(self) -> str:
        return f"{self.message}; {self.cure}" if self.cure else self.message


def check_output(path: Path, what: str, unwritable: int = EXIT_INTERNAL) -> None:
    """Raise OutputError if ``path`` (a report, the job summary, ``$GITHUB_OUTPUT``) could
    not be written: a tree can hold a directory where a report goes, and a runner an
    unwritable workspace. Checked before the scan, so that minutes of scanning never end
    in a traceback; nothing is created or changed. A place the process may not write is
    ``unwritable`` (3, the environment's fault; 2 for a path given as an option)."""
    target = Path.cwd() / path  # lexical: a link at the path is judged as it stands
    shown = printable(str(path))
    if target.is_dir():
        raise OutputError(EXIT_USAGE, f"{what} {shown} is a directory; give a file name")
    if target.is_symlink() and not target.exists():  # written through: judge where it leads
        target = Path(os.path.realpath(target))
    ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(
            EXIT_USAGE, f"{what} {shown}: {printable(str(ancestor))} is not a directory; "
            "give a path in a directory"
        )
    try:
        if target.exists():
            flags = os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK | os.O_NOCTTY
            os.close(os.open(target, flags))
        else:  # an anonymous file in the directory that will hold the new one
            tempfile.TemporaryFile(dir=ancestor).close()
    except OSError as exc:
        place = target if target.exists() else ancestor
        cause, cure = _why(exc, place)
        raise OutputError(unwritable, f"{what} {shown} cannot be written: {cause}", cure
                          ) from None


def _why(exc: OSError, place: Path) -> tuple[str, str]:
    """Why ``place`` cannot be written, and what to do."""
    shown = printable(str(place))
    if exc.errno == errno.EROFS:
        return f"{shown} is on a read-only file system", "write it somewhere writable"
    if exc.errno in (errno.EACCES, errno.EPERM):
        try:
            owner = place.stat().st_uid
        except OSError:
            owner = -1
        if owner != os.geteuid() and owner >= 0:
            return (f"{shown} belongs to uid {owner}, not to this process's uid "
                    f"{os.geteuid()}", "write it somewhere else, or run as its owner")
        return f"{shown} is not writable ({exc.strerror})", "write it somewhere else"
    return f"{exc.strerror or exc} ({shown})", ""


def check_outputs(outputs: Sequence[tuple[str, Path]], err: Console) -> None:
    """check_output for each (what, path), exiting 2 or 3 with one line on the first
    problem. '-' (stdout) is always writable. An option (``--output``) that cannot be
    written is the user's to change (2); a file the environment names (``GITHUB_*``) is
    the environment's fault (3). Two outputs to one file are refused (2): the second would
    overwrite the first."""
    seen: dict[str, str] = {}
    for what, path in outputs:
        if str(path) == "-":
            continue
        key = os.path.normpath(Path.cwd() / path)
        try:
            if key in seen:
                raise OutputError(
                    EXIT_USAGE, f"{what} {printable(str(path))}: {seen[key]} writes that "
                    "file too; give each report a file of its own")
            seen[key] = what
            check_output(path, what, EXIT_USAGE if what.startswith("--") else EXIT_INTERNAL)
        except OutputError as exc:
            err.print(f"policy-gate: {exc}", markup=False)
            sys.exit(exc.code)


class OutputPath(click.Path):
    """``--output``'s type: a file name. ``reports/`` (a trailing slash) names a directory,
    which the plain Path type would quietly turn into a file called ``reports``."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value != "-" and value.endswith(("/", os.sep)):
            self.fail(f"{value!r} ends in '/', so it names a directory; give a file name, "
                      f"e.g. {value}report.json", param, ctx)
        return super().convert(value, param, ctx)


def scan_outputs(
    formats: Sequence[str], outputs: Sequence[Path], in_github: bool
) -> list[tuple[str, Path]]:
    """Every file a scan will write: its reports (and the compliance page beside the
    Markdown) and, in GitHub mode, the job summary and the step outputs."""
    paths: list[tuple[str, Path]] = []
    for fmt, target in zip(formats, outputs, strict=True):
        paths.append((f"--output ({fmt})", target))
        if fmt == "compliance" and str(target) != "-":
            paths.append(("--output (compliance HTML)", compliance_html_path(target)))
    if in_github:
        for name in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"):
            if os.environ.get(name):
                paths.append((name, Path(os.environ[name])))
    return paths


# What writing each format costs, relative to the others (benchmarks/overhead.py, 10,000
# findings): used to give two processes about the same share.
REPORT_COST = {"json": 3.0, "sarif": 4.0, "junit": 2.0, "markdown": 0.2, "cyclonedx": 2.0,
               "openvex": 0.1, "compliance": 2.0, "terminal": 1.0}
# Below this many findings and packages the reports take milliseconds: no second process.
PARALLEL_REPORTS_FROM = 1000


def write_reports(
    data: ReportData,
    requests: Sequence[tuple[str, Path]],
    terminal_report: Callable[[], None] | None = None,
    *,
    in_github: bool = False,
) -> dict[str, str]:
    """Write each requested report, then ``terminal_report``; return {format: path} of
    the files written.

    Reports to stdout ('-') are written by this process, in order; in GitHub mode between
    `::stop-commands::` and its one-time token, so that nothing a report quotes from the
    tree (a file named ``##[stop-commands]x``) is taken for a workflow command. With more than one
    core, several files and a large scan, a forked child writes about half of the files
    meanwhile: reports only read ``data``, which the child shares copy-on-write, so the
    files are the same as written one after another. Any failure, in either process, is a
    ReportWriteError.

    A report with nothing to say (OpenVEX with no statement: its schema asks for one)
    renders as empty text: it is written as no file, and a copy an earlier run left at that
    path is removed, as writing would have replaced it (a stale VEX document would state
    decisions this run did not make). The terminal says so.
    """
    files = [(fmt, target) for fmt, target in requests if str(target) != "-"]
    for fmt, target in requests:
        if str(target) == "-":
            text = _render_text(fmt, data)[0]
            if not text:
                sys.stderr.write(f"policy-gate: the {fmt} report has nothing to state; "
                                 "nothing written to stdout\n")
                continue
            if in_github:
                token = secrets.token_hex(16)
                text = f"::stop-commands::{token}\n{text.rstrip(chr(10))}\n::{token}::\n"
            sys.stdout.write(text)
    size = len(data.result.findings) + sum(
        len(r.output.inventory) for r in data.result.runs if r.output is not None
    )
    child: list[tuple[str, Path]] = []
    if (len(files) > 1 and size >= PARALLEL_REPORTS_FROM and (os.cpu_count() or 1) > 1
            and hasattr(os, "fork")):
        child = _half(files, REPORT_COST["terminal"] if terminal_report else 0.0)
    written: dict[str, str] = {}
    pid = _fork_writer(data, child) if child else 0
    try:
        for fmt, target in files:
            if (fmt, target) not in child:
                written.update(_write_report(fmt, target, data))
        if terminal_report is not None:
            terminal_report()
    finally:
        if pid:
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                raise ReportWriteError(
                    f"the process writing {', '.join(f for f, _ in child)} ended with {code}"
                )
    for fmt, target in child:
        if target.exists():  # not when it had nothing to say
            written.update(_report_paths(fmt, target))
    return {fmt: written[fmt] for fmt in [f for f, _ in files] + ["compliance-html"]
            if fmt in written}


def _half(files: Sequence[tuple[str, Path]], mine: float) -> list[tuple[str, Path]]:
    """About half the cost of ``files`` (this process has ``mine`` to do besides), for a
    second process: largest first, each to whichever has less so far."""
    child: list[tuple[str, Path]] = []
    theirs = 0.0
    for job in sorted(files, key=lambda j: -REPORT_COST.get(j[0], 1.0)):
        cost = REPORT_COST.get(job[0], 1.0)
        if theirs < mine:
            child.append(job)
            theirs += cost
        else:
            mine += cost
    return child


def _fork_writer(data: ReportData, jobs: Sequence[tuple[str, Path]]) -> int:
    """Fork a child that writes ``jobs`` and exits: 0 when every file was written."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code, fmt = 0, ""
    try:
        for fmt, target in jobs:
            _write_report(fmt, target, data)
    except BaseException as exc:  # the parent reports it: never a traceback
        code = EXIT_INTERNAL
        with contextlib.suppress(BaseException):
            sys.stderr.write(
                f"policy-gate: writing the {fmt} report: {type(exc).__name__}: "
                f"{printable(str(exc))}\n"
            )
            sys.stderr.flush()
    os._exit(code)


def _report_paths(fmt: str, target: Path) -> dict[str, str]:
    paths = {fmt: str(target)}
    if fmt == "compliance":
        paths["compliance-html"] = str(compliance_html_path(target))
    return paths


def _write_report(fmt: str, target: Path, data: ReportData) -> dict[str, str]:
    text, page = _render_text(fmt, data, page=True)
    try:
        if not text:  # nothing to say: no file, and none left from an earlier run
            target.unlink(missing_ok=True)
            return {}
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
        if page is not None:
            # the risk officer's copy: one self-contained HTML page beside the Markdown
            compliance_html_path(target).write_text(page, "utf-8")
    except OSError as exc:
        raise ReportWriteError(f"cannot write the {fmt} report to {target}: {exc}") from None
    return _report_paths(fmt, target)


def _render_text(fmt: str, data: ReportData, *, page: bool = False) -> tuple[str, str | None]:
    """A report's text, and for compliance (when ``page``) its HTML page too."""
    if fmt == "compliance" and page:
        from policy_gate.reports import compliance

        return compliance.render_both(data)
    return render_format(fmt, data), None


def report_module(fmt: str) -> ModuleType:
    """The module in policy_gate.reports that writes ``fmt`` (imported on first use)."""
    if fmt not in FORMATS:
        raise click.UsageError(f"unknown format {fmt!r}")
    return importlib.import_module(f"policy_gate.reports.{FORMAT_MODULES.get(fmt, fmt)}")


def render_format(fmt: str, data: ReportData) -> str:
    """One report as text; each format is a module in policy_gate.reports."""
    text: str = report_module(fmt).render(data)
    return text
