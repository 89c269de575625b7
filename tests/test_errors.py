"""Errors in one clear line (issue 18, item 6): every error names the file and line where
there is one, the unit where there is one, and the next step; bad input exits 2, a fault
of the environment 3; never a traceback, never exit 1 for an error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from policy_gate.base.process import Completed
from policy_gate.scanners.pip_audit import failure_reason
from tests.conftest import OFFLINE_POLICY, make_tree

PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "all_proxy")
RECORDED = Path(__file__).parent / "recorded"
OSV_NEXT = (
    "audit offline with --advisories DIR (an OSV database: a directory of records or an "
    "all.zip) or give --osv-url URL (an OSV mirror); the policy's advisories.database and "
    "advisories.osv_url do the same"
)


def policy_gate(*args: str, cwd: Path, env: dict[str, str] | None = None,
                ) -> subprocess.CompletedProcess[str]:
    """``policy-gate ARGS`` in a process of its own, as a user runs it (no proxy but the
    one ``env`` names)."""
    base = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "policy_gate", *args], capture_output=True, text=True,
        cwd=cwd, env={**base, "NO_COLOR": "1", **(env or {})}, timeout=300, check=False,
    )


def error_line(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The one line an error prints on stderr (nothing else there), after checking the exit
    code and that no traceback was printed."""
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


# -- pip-audit without OSV -----------------------------------------------------------------


def test_pip_audit_osv_unresolved_recorded_stderr() -> None:
    """pip-audit's real stderr when api.osv.dev does not resolve (recorded offline): one
    line naming the service, the cause and the two ways on, not the traceback's end."""
    stderr = (RECORDED / "pip-audit-osv-unresolved.stderr").read_text("utf-8")
    assert stderr.count("Traceback") >= 1
    completed = Completed(("pip-audit",), 1, "", stderr, 1.0)
    assert failure_reason(completed, None) == (
        "cannot reach the OSV service at https://api.osv.dev/v1/query (its host name does "
        "not resolve: no DNS or no network), so the Python packages cannot be audited; "
        + OSV_NEXT
    )


def test_pip_audit_other_failure_is_its_last_error_line() -> None:
    stderr = ("Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n"
              "    main()\nValueError: bad requirement\n")
    completed = Completed(("pip-audit",), 1, "", stderr, 1.0)
    assert failure_reason(completed, None) == (
        "exited 1 without a report: ValueError: bad requirement")


def test_pip_audit_without_osv_exits_3_with_the_next_step(tmp_path: Path) -> None:
    """No --advisories, no --osv-url, and no way to osv.dev (a proxy that refuses): the
    scan fails closed (3) with one line saying what to do, once in the verdict."""
    root = make_tree(tmp_path / "repo", {"requirements.txt": "requests==2.19.0\n"})
    proc = policy_gate("scan", str(root), "--scanner", "pip-audit", "--policy",
                       str(OFFLINE_POLICY), "--quiet", cwd=tmp_path,
                       env={"HTTPS_PROXY": "http://127.0.0.1:9"})
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    expected = (
        "pip-audit failed: cannot reach the OSV service at https://api.osv.dev/v1/query (the "
        "proxy in HTTPS_PROXY did not connect), so the Python packages cannot be audited; "
        + OSV_NEXT
    )
    assert expected in proc.stdout.splitlines(), proc.stdout
