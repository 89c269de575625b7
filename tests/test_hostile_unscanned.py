"""Unscanned means unchecked (issue 14, item 10).

A file no scanner could analyse was only a medium `unscanned` finding, below Mojaloop's
threshold: a pull request could pass by making its code unreadable to the scanners (a NUL
byte, UTF-16, syntax newer than bandit's interpreter, a file over a size limit, a path
bandit's default excludes match). Each case here is a tree run through the real gate under
the builtin:mojaloop-derived offline policy: code, configuration, manifests and any other
text the gate could not analyse fail it (M4a: STOP when data is unavailable); binary
assets are reported below the threshold; and text in encodings the tools' ecosystems read
(UTF-16, declared Latin-1) is scanned, with line numbers that match the file. Fake
credentials and card numbers are assembled at run time from pieces.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from policy_gate.scanners.bandit import BANDIT_PYTHON_ENV, rerun_interpreter
from policy_gate.scanners.data_protection import luhn
from tests.conftest import OFFLINE_POLICY, WITH_DETECT_SECRETS, GateRun

Gate = Callable[..., GateRun]
Tree = Callable[[dict[str, str | bytes]], Path]
MIB = 1024 * 1024

AWS_KEY = "AKIA" + "Q3H0STILE7ZZKEYX"
# Python 3.12 syntax (PEP 701: the same quotes nested in an f-string): a syntax error to
# Python 3.11, where bandit gave up on the whole file. eval() is on line 5.
PEP701 = (
    'name = "x"\n'
    'print(f"{name + f"{"nested"}"}")\n'
    "\n"
    "def run(text):\n"
    "    return eval(text)\n"
)
EVAL_LINE = 5


def card_number() -> str:
    """A Luhn-valid Visa number that is no published test number (made up here)."""
    body = "4" + "539" + "1488" + "0343" + "646"
    return next(body + d for d in "0123456789" if luhn(body + d))


def unscanned(run: GateRun, path: str, scanner: str | None = None) -> list[dict[str, Any]]:
    return [f for f in run.findings(path=path, category="unscanned")
            if scanner is None or scanner in f["scanners"]]


def small_limit_policy(tmp_path: Path, limit: int) -> Path:
    policy = tmp_path / "small-limit.yaml"
    policy.write_text(f"version: 1\nextends: {OFFLINE_POLICY}\nname: small-limit\n"
                      f"max_file_bytes: {limit}\n")
    return policy


# ---------------------------------------------------------------- newer Python syntax


def test_a_pep701_file_is_scanned_by_bandit_or_fails(gate: Gate, tree: Tree) -> None:
    root = tree({"app.py": PEP701})
    assert PEP701.splitlines()[EVAL_LINE - 1].strip() == "return eval(text)"
    run = gate(root)

    assert run.code == 1, run.output
    found = [f for f in run.findings(path="app.py", category="sast")
             if "bandit" in f["scanners"] and f["start_line"] == EVAL_LINE]
    gaps = unscanned(run, "app.py", "bandit")
    if sys.version_info >= (3, 12) or rerun_interpreter() is not None:
        assert found and not gaps, (found, gaps)
        assert found[0]["status"] == "violation"
    else:  # no interpreter new enough: the file is not passed, and the message says why
        assert gaps and all(g["status"] == "violation" for g in gaps), gaps
        assert "python3.12" in gaps[0]["message"], gaps


def test_without_a_newer_python_a_syntax_error_fails_with_the_fix(
    gate: Gate, tree: Tree
) -> None:
    # the gate's own interpreter is not newer than bandit's: nothing to re-run under
    root = tree({"broken.py": "def f(:\n    pass\n", "new.py": PEP701})
    run = gate(root, env={BANDIT_PYTHON_ENV: sys.executable})

    assert run.code == 1, run.output
    [gap] = unscanned(run, "broken.py", "bandit")
    assert gap["status"] == "violation" and gap["severity"] == "high", gap
    assert "syntax error" in gap["message"] and BANDIT_PYTHON_ENV in gap["message"], gap
    if sys.version_info < (3, 12):
        [new] = unscanned(run, "new.py", "bandit")
        assert new["status"] == "violation", new
        assert "python3.12" in new["message"], new


def test_a_python_in_the_scanned_tree_is_never_run(gate: Gate, tree: Tree) -> None:
    """The newer interpreter is looked for on PATH: one inside the scanned tree (a pull
    request can add an executable `python3.29`, and PATH may name a directory of the
    workspace) is never a candidate."""
    root = tree({"broken.py": "def f(:\n    pass\n", "bin/python3.29": "#!/bin/sh\n"})
    marker = root.parent / "ran"
    (root / "bin/python3.29").write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    (root / "bin/python3.29").chmod(0o755)
    run = gate(root, env={"PATH": f"{root / 'bin'}:{os.environ['PATH']}"})

    assert run.code == 1, run.output
    assert unscanned(run, "broken.py", "bandit")
    assert not marker.exists()


# -------------------------------------------------------------- text in other encodings


def _private_key() -> str:
    kind = "RSA PRIVATE KEY"
    body = "MIIEow" + "IBAAKCAQEAutf16keybody0123456789"
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"


def test_text_in_other_encodings_is_scanned(gate: Gate, tree: Tree) -> None:
    secret_line = f"aws_access_key_id = {AWS_KEY}\n"
    files: dict[str, str | bytes] = {
        # PowerShell's Out-File and Notepad write UTF-16 with a byte-order mark
        ".env": ("# settings\n" + secret_line).encode("utf-16"),
        "conf/le.env": ("# settings\n" + secret_line).encode("utf-16-le"),  # no BOM
        "legacy.py": (b"# -*- coding: latin-1 -*-\n# caf\xe9\n"
                      + f"key = '{AWS_KEY}'\n".encode()),
        "notes.txt": b"caf\xe9 (Latin-1, declared nowhere)\n" + secret_line.encode(),
        "cards.txt": f"customer card: {card_number()}\n".encode("utf-16"),
        "key.txt": ("\n" + _private_key()).encode("utf-16"),
    }
    root = tree(files)
    run = gate(root, "--policy", str(WITH_DETECT_SECRETS))  # its decoded copies are tested

    assert run.code == 1, run.output
    for path, line in ((".env", 2), ("conf/le.env", 2), ("legacy.py", 3), ("notes.txt", 2)):
        [hit] = [f for f in run.findings(path=path, category="secret")
                 if "detect-secrets" in f["scanners"]]
        assert hit["start_line"] == line and hit["status"] == "violation", hit
        # the masked preview comes from the decoded line: the gate read the value
        assert hit["secret"]["preview"] != "********" and AWS_KEY not in str(hit), hit
    [card] = run.findings(path="cards.txt", category="data")
    assert card["start_line"] == 1 and card["status"] == "violation", card
    [key] = run.findings(path="key.txt", category="secret")  # one finding, not one per scanner
    assert key["start_line"] == 2 and key["status"] == "violation", key
    for path in files:
        assert not unscanned(run, path), (path, unscanned(run, path))
    notes = {n for s in run.report["scanners"] for n in s["notes"]} if run.report else set()
    assert any("UTF-16" in n for n in notes), notes


# ------------------------------------------------ unanalysable code, configuration, text


def test_unanalysable_code_configuration_and_text_fail(
    gate: Gate, tree: Tree, tmp_path: Path
) -> None:
    limit = 300_000
    filler = "var a = 1;\n" * (limit // 10)
    root = tree({
        "nul.py": b"import os\x00\nos.system(input())\n",
        "web/huge.js": filler,
        "conf/settings.yaml": "a: 1\n" * (limit // 4),
        "data/dump.csv": "id,name\n" * (limit // 7),
    })
    run = gate(root, "--policy", str(small_limit_policy(tmp_path, limit)))

    assert run.code == 1, run.output
    for path in ("nul.py", "web/huge.js", "conf/settings.yaml", "data/dump.csv"):
        gaps = unscanned(run, path)
        assert gaps, path
        assert all(g["status"] == "violation" and g["severity"] == "high" for g in gaps), gaps
    assert unscanned(run, "nul.py", "bandit")
    assert {s for g in unscanned(run, "web/huge.js") for s in g["scanners"]} >= {
        "semgrep", "kingfisher", "data-protection"}
    assert all(f"larger than {limit}" in g["message"] for g in unscanned(run, "web/huge.js"))


def test_a_javascript_file_over_semgreps_1mb_default_is_analysed(
    gate: Gate, tree: Tree
) -> None:
    lines = 1000  # of 1,100 bytes: what semgrep's own 1 MB limit skipped without a word
    root = tree({"web/bundle.js": ("// " + "x" * 1096 + "\n") * lines + "eval(userInput);\n"})
    assert (root / "web/bundle.js").stat().st_size > MIB
    run = gate(root)

    assert run.code == 1, run.output
    assert not unscanned(run, "web/bundle.js"), unscanned(run, "web/bundle.js")
    [hit] = [f for f in run.findings(path="web/bundle.js", category="sast")
             if "semgrep" in f["scanners"]]
    assert hit["start_line"] == lines + 1 and hit["status"] == "violation", hit


def test_files_the_tools_skip_by_name_are_scanned(gate: Gate, tree: Tree) -> None:
    """bandit's own default `--exclude` drops any path that merely contains `.git`, `CVS`,
    `.tox`, `.eggs`…: every script under `.github/` went unscanned, silently. semgrep,
    given a `.pyw`, `.mts` or `.cts` file by name, skips it without a word."""
    flaw = "import os\nos.system(input())\n"
    python = (".github/scripts/deploy.py", "src/CVSimport.py", "tools/.tox_env.py",
              "pkg.eggs.py", "gui.pyw")
    script = "const x = 1;\neval(userInput);\n"
    typescript = ("web/util.mts", "web/legacy.cts")
    root = tree({**{name: flaw for name in python}, **{name: script for name in typescript}})
    run = gate(root)

    assert run.code == 1, run.output
    for name in python:
        assert {s for f in run.findings(path=name, category="sast") if f["start_line"] == 2
                for s in f["scanners"]} >= {"bandit"}, name
    assert [f for f in run.findings(path="gui.pyw", category="sast")
            if "semgrep" in f["scanners"]], run.findings(path="gui.pyw")
    for name in typescript:
        [hit] = [f for f in run.findings(path=name, category="sast") if "semgrep" in f["scanners"]]
        assert hit["start_line"] == 2 and hit["status"] == "violation", hit
    assert not run.findings(category="unscanned")
    assert run.scanner("bandit")["files_scanned"] == len(python)


# ---------------------------------------------------------------------- binary assets


def test_binary_assets_are_reported_below_the_threshold(gate: Gate, tree: Tree) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
    root = tree({"app.py": "def add(a, b):\n    return a + b\n", "img/logo.png": png,
                 "img/huge.png": png})
    os.truncate(root / "img/huge.png", 6 * MIB)  # over the policy's 5 MiB, sparse
    run = gate(root)

    assert run.code == 0, run.output
    assert not run.findings(path="img/logo.png")
    gaps = unscanned(run, "img/huge.png")
    assert gaps and all(g["status"] == "below-threshold" for g in gaps), gaps
    assert all(g["severity"] == "medium" for g in gaps), gaps


# -------------------------------------------------- a scanner that skips files silently


SILENT_BANDIT = """\
import json, sys
if "--version" in sys.argv:
    print("bandit 1.9.4")
    sys.exit(0)
print(json.dumps({"results": [], "errors": [], "metrics": {"_totals": {}}}))
"""
SILENT_SEMGREP = """\
import json, sys
if "--version" in sys.argv:
    print("1.185.0")
    sys.exit(0)
open(ARGV, "w").write(json.dumps(sys.argv[1:]))
print(json.dumps({"version": "1.185.0", "results": [], "errors": [],
                  "paths": {"scanned": []}}))
"""


def test_files_a_scanner_does_not_account_for_fail(
    gate: Gate, tree: Tree, tmp_path: Path,
    scanner_bin: Callable[[dict[str, str]], dict[str, str]],
) -> None:
    """A report that says nothing about a file it was given (no error, no result, not in
    the files it lists as analysed) is a file skipped silently: unscanned, and failing.
    And semgrep is asked to analyse every file up to the policy's size limit, with no
    per-rule timeout that would make what is checked depend on the machine's load."""
    argv_file = tmp_path / "semgrep-argv.json"
    env = scanner_bin({"bandit": SILENT_BANDIT,
                       "semgrep": f"ARGV = {str(argv_file)!r}\n" + SILENT_SEMGREP})
    root = tree({"app.py": "def add(a, b):\n    return a + b\n", "web/x.js": "var a = 1;\n"})
    run = gate(root, "--scanner", "bandit", "--scanner", "semgrep", env=env)

    assert run.code == 1, run.output
    for path, scanner in (("app.py", "bandit"), ("app.py", "semgrep"), ("web/x.js", "semgrep")):
        [gap] = unscanned(run, path, scanner)
        assert gap["status"] == "violation" and "skipped silently" in gap["message"], gap
    argv = json.loads(argv_file.read_text())
    assert "--timeout=0" in argv, argv
    assert f"--max-target-bytes={5 * MIB}" in argv, argv
