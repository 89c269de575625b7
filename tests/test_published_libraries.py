"""Vendored copies of published libraries (issue 17): a file identical to a file of an npm
release listed in the table shipped with the gate is `published-library` generated content,
left out of code analysis and listed with the release; one byte changed and it is scanned.

The tests cannot download a library and the repository does not carry third-party code, so
the end-to-end test gives the real gate (a separate process, real semgrep) a table that
lists a hand-written fixture, through the module's loader (``published_libraries``); the
shipped table itself is checked for form, and for the releases Django 4.2 vendors.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest

from policy_gate.base import generated
from policy_gate.base.fileset import walk
from tests.conftest import EXAMPLE_ADVISORIES, OFFLINE_POLICY, REPO, GateRun, make_tree

RELEASE = re.compile(r"^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*@\d+\.\d+\.\d+$")
# Django 4.2's contrib/admin/static/admin/js/vendor/: jquery/jquery.js,
# select2/select2.full.js (both byte for byte the npm files) and xregexp/xregexp.js (npm's
# xregexp-all.js with its CRLF line ends converted to LF and a final newline added).
DJANGO_VENDORED = {
    "6bd8c1051ca05f5061e65b7c1998d70f3c8e07e6d6bdef4488eeed44e52d8ff1": "jquery@3.6.4",
    "ba0664111e4e0041b30b0c1bff832f841284e46be67344b9f4c2a7f9da2865a2": "select2@4.0.13",
    "aedbdc5597b1e7351b410a410c4c0f5deb42dbc9c0124b2701b970d8596df6d0": "xregexp@3.2.0",
}

# A "library" with a flaw only code analysis sees (semgrep's js-eval-non-literal).
LIBRARY = (
    "/*! tinylib v1.0.0 | MIT */\n"
    "(function (root) {\n"
    "  function run(req) {\n"
    "    return eval(req.query.code)\n"
    "  }\n"
    "  root.tinylib = { run: run, version: '1.0.0' }\n"
    "})(this)\n"
)
# The gate, run as a user runs it, with its table replaced by the one in $TEST_TABLE.
BOOT = (
    "import os\n"
    "from policy_gate.base import generated\n"
    "table = generated.parse_published(open(os.environ['TEST_TABLE']).read())\n"
    "generated.published_libraries = lambda: table\n"
    "from policy_gate.cli import main\n"
    "main()\n"
)


def _entry(content: bytes, release: str = "tinylib@1.0.0", path: str = "dist/tinylib.js") -> str:
    text = generated.canonical_javascript(content)
    return f"{hashlib.sha256(text).hexdigest()} {len(text)} {release} {path}\n"


def _shipped() -> list[str]:
    text = resources.files("policy_gate.base").joinpath(generated.PUBLISHED_TABLE).read_text()
    assert text.startswith(generated.PUBLISHED_TABLE_HEADER)
    return text[len(generated.PUBLISHED_TABLE_HEADER):].splitlines()


def test_shipped_table_is_well_formed_and_loads() -> None:
    lines = _shipped()
    assert len(lines) > 500, "the table lists the commonly vendored libraries"
    assert lines == sorted(lines)
    digests = []
    for line in lines:
        digest, size, release, path = line.split(" ")
        assert re.fullmatch(r"[0-9a-f]{64}", digest), line
        assert size.isdigit() and int(size) > 4 * 1024, line  # 8 KB before CRLF -> LF
        assert RELEASE.match(release), line
        assert not path.startswith(("/", "../")) and "/../" not in path, line
        assert path.lower().endswith(generated.PUBLISHED_SUFFIXES), line
        digests.append(digest)
    assert len(set(digests)) == len(digests)
    table = generated.published_libraries()
    assert sum(len(v) for v in table.values()) == len(lines)
    listed = {d: r.split(" ")[0] for v in table.values() for d, r in v.items()}
    for digest, release in DJANGO_VENDORED.items():  # their sha256sum
        assert listed.get(digest) == release


@pytest.fixture
def fake_table(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Replace the shipped table for this process (walk() in the test itself)."""

    def install(text: str) -> None:
        table = generated.parse_published(text)
        monkeypatch.setattr(generated, "published_libraries", lambda: table)

    return install


def test_only_an_identical_copy_is_a_published_library(
    tmp_path: Path, fake_table: Callable[[str], None]
) -> None:
    lib = LIBRARY.encode()
    one_byte = lib.replace(b"1.0.0'", b"1.0.1'")
    assert len(one_byte) == len(lib)
    fake_table(_entry(lib))
    root = make_tree(tmp_path / "t", {
        "static/vendor/tinylib.js": lib,
        "static/vendor/tinylib.mjs": lib,  # the name does not matter
        "static/crlf/tinylib.js": lib.replace(b"\n", b"\r\n") + b"\r\n",  # git's autocrlf
        "static/patched/tinylib.js": one_byte,
        "static/banner/tinylib.js": lib + b"run(location.hash)\n",
        "static/vendor/tinylib.py": lib,  # not JavaScript
    })
    fileset = walk(root, generated=generated.KINDS)
    assert set(fileset.generated) == {
        "static/vendor/tinylib.js", "static/vendor/tinylib.mjs", "static/crlf/tinylib.js"}
    assert fileset.reasons["static/crlf/"] == (
        "identical to tinylib@1.0.0 dist/tinylib.js as published on npm"
        " (sha256, line ends normalised)")
    # not a kind the policy lists: scanned
    assert not walk(root, generated=[generated.MINIFIED]).generated


def test_the_real_table_recognises_nothing_hand_written(tmp_path: Path) -> None:
    """Without an injected entry the fixture is nobody's release."""
    root = make_tree(tmp_path / "t", {"static/tinylib.js": LIBRARY})
    assert not walk(root, generated=generated.KINDS).generated


def _gate(tmp_path: Path, root: Path, table: str, *args: str) -> GateRun:
    """`policy-gate scan` in its own process, with ``table`` as the shipped table."""
    table_file = tmp_path / "table.txt"
    table_file.write_text(table)
    report = tmp_path / "report.json"
    report.unlink(missing_ok=True)
    argv = [sys.executable, "-c", BOOT, "scan", str(root), "--format", "json", "--output",
            str(report), "--advisories", str(EXAMPLE_ADVISORIES), *args]
    env = {**os.environ, "NO_COLOR": "1", "TEST_TABLE": str(table_file),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300,
                          check=False)
    data = json.loads(report.read_text()) if report.exists() else None
    return GateRun(proc.returncode, proc.stdout, proc.stderr, data)


def _eval_violations(run: GateRun, path: str) -> list[str]:
    """semgrep's verdicts on the fixture's eval (the JavaScript rule that reports it)."""
    return [f["rule_id"] for f in run.findings(path=path, status="violation")
            if "eval" in f["rule_id"]]


def test_a_vendored_release_is_left_out_of_code_analysis_and_reported(tmp_path: Path) -> None:
    lib = LIBRARY.encode()
    patched = lib.replace(b"1.0.0'", b"1.0.1'")
    # the scanned tree cannot extend the table: a copy of it listing the patched file
    planted = generated.PUBLISHED_TABLE_HEADER + _entry(patched, "tinylib@1.0.1")
    root = make_tree(tmp_path / "repo", {
        "app/static/vendor/tinylib.js": lib,
        "app/static/vendor/LICENSE.txt": "MIT License\n",
        "app/static/patched/tinylib.js": patched,
        f"policy_gate/base/{generated.PUBLISHED_TABLE}": planted,
        "app/views.py": "x = 1\n",
    })
    run = _gate(tmp_path, root, _entry(lib), "--policy", str(OFFLINE_POLICY),
                "--scanner", "semgrep")
    assert run.report is not None, run.output
    scan = run.report["scan"]
    assert scan["excluded_reasons"]["app/static/vendor/tinylib.js"] == (
        "identical to tinylib@1.0.0 dist/tinylib.js as published on npm"
        " (sha256, line ends normalised)")
    assert "app/static/vendor/tinylib.js" in scan["excluded"]
    assert "app/static/patched/tinylib.js" not in scan["excluded_reasons"]
    assert not run.findings(path="app/static/vendor/tinylib.js")
    assert _eval_violations(run, "app/static/patched/tinylib.js")
    assert run.code == 1, run.output

    # a policy that does not list the kind scans the copy too
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"version: 1\nextends: {OFFLINE_POLICY}\nname: no-vendored\n"
                      "generated: [installed-packages, minified-javascript]\n")
    run = _gate(tmp_path, root, _entry(lib), "--policy", str(policy), "--scanner", "semgrep")
    assert run.report is not None, run.output
    assert _eval_violations(run, "app/static/vendor/tinylib.js")
