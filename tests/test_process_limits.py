"""A child process (a scanner, or git) that floods its output must not exhaust the gate's
memory: stdout is read up to a limit, then the process group is killed and the scanner
fails (exit 3), never passes; of stderr only the end is kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from policy_gate.base import process
from policy_gate.base.process import OutputLimitError, ScannerError, read_bounded, run_tool
from tests.conftest import cpu_seconds

FLOOD = "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n"


def _start(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )


def test_stdout_beyond_the_limit_is_an_error_and_the_process_is_killed() -> None:
    proc = _start(FLOOD)
    started = cpu_seconds()  # of the reader: it stops at the limit, not at the timeout
    with pytest.raises(OutputLimitError, match="more than 100000 bytes"):
        read_bounded(proc, timeout=30, max_out=100_000, keep_err=1000)
    process.kill_group(proc)
    assert proc.returncode is not None and cpu_seconds() - started < 10


def test_only_the_end_of_stderr_is_kept() -> None:
    proc = _start("import sys\nsys.stderr.write('a' * 50000 + 'THE END')\nprint('out')\n")
    rc, out, err = read_bounded(proc, timeout=30, max_out=1000, keep_err=100)
    assert rc == 0 and out.strip() == b"out"
    assert len(err) == 100 and err.endswith(b"THE END")


def test_a_timeout_is_raised_while_reading() -> None:
    proc = _start("import time\ntime.sleep(30)\n")
    with pytest.raises(subprocess.TimeoutExpired):
        read_bounded(proc, timeout=0.5, max_out=1000, keep_err=1000)
    process.kill_group(proc)


def test_a_scanner_that_floods_stdout_fails_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = tmp_path / "bin" / "flooder"
    tool.parent.mkdir()
    tool.write_text(f"#!{sys.executable}\n{FLOOD}")
    tool.chmod(0o755)
    monkeypatch.setenv(process.SCANNER_PATH_ENV, str(tool.parent))
    monkeypatch.setattr(process, "MAX_OUTPUT_BYTES", 1_000_000)
    with pytest.raises(ScannerError, match="printed more than 1000000 bytes of output"):
        run_tool("flooder", ["flooder"], timeout=60)
