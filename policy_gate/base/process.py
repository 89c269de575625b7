"""Running scanner processes: find the executable, enforce the timeout, kill the whole
process group, and turn every way a process can fail into a ScannerError.

Scanners are separate programs; the gate never imports or runs code from the scanned tree.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# Where tests (and unusual installs) point the gate at other scanner executables. When set,
# only these directories are searched, so a test can also make a scanner "missing".
SCANNER_PATH_ENV = "POLICY_GATE_SCANNER_PATH"

# Keep child output bounded: a scanner that floods stdout must not exhaust memory.
MAX_OUTPUT_BYTES = 512 * 1024 * 1024
# Of stderr only the end is kept (errors are at the end; a flood of warnings is not news).
STDERR_KEEP_BYTES = 16 * 1024 * 1024


class OutputLimitError(Exception):
    """A child process printed more than the caller will hold in memory."""


def read_bounded(
    proc: subprocess.Popen[bytes], *, timeout: float, max_out: int, keep_err: int
) -> tuple[int, bytes, bytes]:
    """Wait for a started process (stdout and stderr piped): its exit code, at most
    ``max_out`` bytes of stdout (more is an OutputLimitError) and the last ``keep_err``
    bytes of stderr. Past ``timeout`` it raises subprocess.TimeoutExpired. On either, the
    caller kills the process (group). Shared by the scanner runs and git."""
    assert proc.stdout is not None and proc.stderr is not None
    out = bytearray()
    err = bytearray()
    deadline = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ, out)
            sel.register(proc.stderr, selectors.EVENT_READ, err)
            while sel.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise subprocess.TimeoutExpired(proc.args, timeout)
                for key, _ in sel.select(remaining):
                    chunk = os.read(key.fd, 1 << 16)
                    if not chunk:
                        sel.unregister(key.fileobj)
                        continue
                    buf: bytearray = key.data
                    buf += chunk
                    if buf is out and len(out) > max_out:
                        raise OutputLimitError(f"printed more than {max_out} bytes")
                    if buf is err and len(err) > 2 * keep_err:
                        del err[:-keep_err]
        rc = proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
    finally:
        proc.stdout.close()
        proc.stderr.close()
    return rc, bytes(out), bytes(err[-keep_err:])


class ScannerError(Exception):
    """A scanner could not produce a trustworthy result. The gate fails closed on it."""

    def __init__(self, scanner: str, reason: str) -> None:
        super().__init__(f"{scanner}: {reason}")
        self.scanner = scanner
        self.reason = reason


def timeout_reason(scanner: str, seconds: float) -> str:
    """Why a scanner was stopped: the policy's limit, in seconds, and where to raise it."""
    return (f"timed out after {seconds:g} seconds (the policy's scanners.{scanner}.timeout, "
            "in seconds; raise it there if the tree is this large)")


@dataclass(frozen=True, slots=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def find_tool(name: str) -> str | None:
    """Locate a scanner: the override path if set, else beside this interpreter (a venv
    that is not activated), else PATH."""
    override = os.environ.get(SCANNER_PATH_ENV)
    if override is not None:
        return shutil.which(name, path=override)
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


@dataclass(frozen=True, slots=True)
class ConsoleScript:
    """An entry-point script as pip writes it: which interpreter runs which function."""

    interpreter: str
    module: str
    function: str

    def runs_here(self) -> bool:
        """Whether it runs in the gate's own interpreter (so its package metadata is ours)."""
        try:
            return Path(self.interpreter).resolve() == Path(sys.executable).resolve()
        except OSError:
            return False


_ENTRY_POINT = re.compile(
    r"#!(?P<interpreter>/\S*python[0-9.]*)[ \t]*\n"
    r"(?:.*\n)*?from (?P<module>[\w.]+) import (?P<function>\w+)\n"
    r"(?:.*\n)*?\s*sys\.exit\((?P=function)\(\)\)"
)


def console_script(exe: str) -> ConsoleScript | None:
    """The script pip installed for a scanner, if ``exe`` is one (not a binary, and not a
    stand-in a test or an admin put there)."""
    try:
        with Path(exe).open("rb") as script:
            head = script.read(4096).decode("utf-8", "replace")
    except OSError:
        return None
    match = _ENTRY_POINT.match(head)
    if not match:
        return None
    return ConsoleScript(match["interpreter"], match["module"], match["function"])


# What scanners may see of the gate's environment. Everything else — GITHUB_TOKEN,
# ACTIONS_RUNTIME_TOKEN, cloud credentials, INPUT_* — stays with the gate: a scanner (or a
# plugin it loads) has no business with a token that can write to the repository.
_PASSED_ENV = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TERM",
        "TMPDIR",
        "TEMP",
        "TMP",
        "VIRTUAL_ENV",
        "PYTHONUTF8",
        "PYTHONIOENCODING",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "PIP_CERT",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
    }
)
_PASSED_PREFIXES = ("LC_", "XDG_", "SEMGREP_", "PIP_AUDIT_")


def scanner_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment scanners run with: only what they need (no tokens), no telemetry,
    no update checks, no colour."""
    env = {
        k: v for k, v in os.environ.items() if k in _PASSED_ENV or k.startswith(_PASSED_PREFIXES)
    }
    env.update(
        {
            "SEMGREP_ENABLE_VERSION_CHECK": "0",
            "SEMGREP_SEND_METRICS": "off",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "NO_COLOR": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.pop("FORCE_COLOR", None)
    if extra:
        env.update(extra)
    return env


def run_tool(
    scanner: str,
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    budget: float | None = None,
) -> Completed:
    """Run one scanner process to completion or raise ScannerError (missing, timeout,
    killed by a signal). Interpreting the exit code is the scanner adapter's job.

    ``budget``: the policy timeout this run is part of, when a scanner runs its tool
    several times within one timeout (``timeout`` is then what is left of it); a timeout
    names the policy's figure, not the remainder."""
    return start_tool(scanner, argv, cwd=cwd, env=env).finish(timeout=timeout, budget=budget)


@dataclass
class Started:
    """A scanner process that is running: the scanner can prepare what the process will
    read while it starts up (kingfisher's mirror), then :meth:`finish` it. Its output is
    read only in ``finish``: a process that fills the pipe meanwhile waits for it."""

    scanner: str
    proc: subprocess.Popen[bytes]
    argv: tuple[str, ...]
    started: float

    def finish(self, *, timeout: float, budget: float | None = None) -> Completed:
        """Wait for the process (``timeout`` counted from its start), as run_tool does."""
        proc = self.proc
        left = timeout - (time.monotonic() - self.started)
        try:
            rc, out, err = read_bounded(
                proc, timeout=max(left, 0.001), max_out=MAX_OUTPUT_BYTES,
                keep_err=STDERR_KEEP_BYTES,
            )
        except subprocess.TimeoutExpired:
            kill_group(proc)
            limit = timeout if budget is None else budget
            raise ScannerError(self.scanner, timeout_reason(self.scanner, limit)) from None
        except OutputLimitError as exc:
            kill_group(proc)
            raise ScannerError(self.scanner, f"{exc} of output; its report cannot be trusted"
                               ) from None
        except BaseException:
            kill_group(proc)
            raise
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(proc)
        if rc < 0:
            try:
                name = signal.Signals(-rc).name
            except ValueError:
                name = f"signal {-rc}"
            raise ScannerError(self.scanner, f"was killed by {name}{_stderr_tail(err)}")
        return Completed(
            argv=self.argv,
            returncode=rc,
            # surrogateescape: a file name's undecodable bytes (which semgrep prints raw in
            # its JSON) stay the name the gate gave it, not U+FFFD that names no file
            stdout=out.decode("utf-8", "surrogateescape"),
            stderr=err.decode("utf-8", "replace"),
            seconds=time.monotonic() - self.started,
        )

    def abandon(self) -> None:
        """Kill it and everything it started (its output is not wanted). Once it has been
        waited for, nothing is killed: its process id may belong to another process."""
        if self.proc.returncode is None:
            kill_group(self.proc)
        with _RUNNING_LOCK:
            _RUNNING.discard(self.proc)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def start_tool(
    scanner: str,
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Started:
    """Start one scanner process in its own process group (so a timeout kills its
    children too), stdout and stderr piped; ScannerError when it is missing or cannot
    start."""
    exe = find_tool(argv[0])
    if exe is None:
        raise ScannerError(
            scanner,
            f"'{argv[0]}' is not installed or not on PATH "
            "(install the scanners with `pip install 'policy-gate[scanners]'`)",
        )
    full = (exe, *argv[1:])
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            full,
            cwd=cwd,
            env=dict(env) if env is not None else scanner_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise ScannerError(scanner, f"could not start '{exe}': {exc.strerror or exc}") from exc
    with _RUNNING_LOCK:
        _RUNNING.add(proc)
    return Started(scanner, proc, full, started)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill a process started with start_new_session, and everything it started."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        proc.kill()
    proc.wait()


# Scanner processes started and not yet waited for: each in a session of its own, so a
# Ctrl-C at the terminal does not reach them; stop_all ends them when the gate is stopped.
_RUNNING: set[subprocess.Popen[bytes]] = set()
_RUNNING_LOCK = threading.Lock()


def stop_all() -> None:
    """Kill every scanner process (group) still running: the gate was interrupted, and
    nothing they find can be used."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for proc in running:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)


def _stderr_tail(err: bytes, limit: int = 400) -> str:
    text = err.decode("utf-8", "replace").strip()
    if not text:
        return ""
    return ": " + text[-limit:]


def stderr_tail(completed: Completed, limit: int = 400) -> str:
    """The end of a scanner's stderr, for error messages (it is where tools explain)."""
    return _stderr_tail(completed.stderr.encode(), limit)
