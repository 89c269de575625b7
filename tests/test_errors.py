"""Errors in one clear line (issue 18, item 6): every error names the file and line where
there is one, the unit where there is one, and the next step; bad input exits 2, a fault
of the environment 3; never a traceback, never exit 1 for an error.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from policy_gate import cache
from policy_gate.base.process import Completed
from policy_gate.policy.loader import PolicyError, load_policy
from policy_gate.scanners.pip_audit import failure_reason
from tests.conftest import OFFLINE_POLICY, REPO, make_tree
from tests.test_hostile_inputs import NOBODY, _as_unprivileged, _workspace
from tests.test_hostile_inputs import shared_dir as shared_dir  # a fixture
from tests.test_hostile_inputs import tripwire as tripwire  # a fixture

PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "all_proxy")
RECORDED = Path(__file__).parent / "recorded"
OSV_NEXT = (
    "audit offline with --advisories DIR (an OSV database: a directory of records or an "
    "all.zip) or give --osv-url URL (an OSV mirror); the policy's advisories.database and "
    "advisories.osv_url do the same"
)


def policy_gate(*args: str, cwd: Path, env: dict[str, str] | None = None,
                prefix: Sequence[str] = (), module: str = "policy_gate",
                ) -> subprocess.CompletedProcess[str]:
    """``policy-gate ARGS`` (or the Action's entrypoint, ``module``) in a process of its
    own, as a user runs it: this tree's code, no proxy but the one ``env`` names, after
    ``prefix`` (a command that drops root, say)."""
    base = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARIABLES}
    full = {**base, "NO_COLOR": "1", "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [*prefix, sys.executable, "-m", module, *args], capture_output=True, text=True,
        cwd=cwd, env=full, timeout=300, check=False,
    )


def action(ws: Path, bindir: dict[str, str], prefix: Sequence[str] = ()
           ) -> subprocess.CompletedProcess[str]:
    """The Docker image's entrypoint as GitHub runs it (inputs in INPUT_*)."""
    env = {"HOME": str(ws.parent), "GITHUB_WORKSPACE": str(ws), "INPUT_SCANNERS": "bandit",
           **bindir}
    return policy_gate(cwd=ws.parent, env=env, prefix=prefix,
                       module="policy_gate.action_entrypoint")


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
    full = policy_gate("scan", str(root), "--scanner", "pip-audit", "--policy",
                       str(OFFLINE_POLICY), cwd=tmp_path, env={"HTTPS_PROXY": "http://127.0.0.1:9"})
    assert full.returncode == 3  # without --quiet: the scanner table points at the one line
    assert full.stdout.count("cannot reach the OSV service") == 1, full.stdout
    assert "failed pip-audit" in full.stdout and "why: at the end" in full.stdout


# -- policies: file and line, plain words, the fix ---------------------------------------


def test_missing_extends_target_names_the_file_and_line_that_extends_it(
    tmp_path: Path,
) -> None:
    make_tree(tmp_path, {"child.yaml": "name: child\nextends:\n  - builtin:mojaloop\n"
                                       "  - ./org/base.yaml\n"})
    line = error_line(policy_gate("validate", "child.yaml", cwd=tmp_path), 2)
    assert line == (
        f"policy-gate: invalid policy: child.yaml:4:5: extends: './org/base.yaml' not found: "
        f"there is no {tmp_path.resolve()}/org/base.yaml (paths in extends are relative to "
        "child.yaml; correct the path, or extend a built-in policy: builtin:mojaloop)"
    )


def test_missing_policy_on_the_command_line(tmp_path: Path) -> None:
    line = error_line(policy_gate("scan", str(tmp_path), "--policy", "nope.yaml",
                                  "--quiet", cwd=tmp_path), 2)
    assert line == ("policy-gate: invalid policy input: nope.yaml: policy file not found "
                    "(give a path to a .yaml file or builtin:mojaloop)")


# Each kind of schema rule a policy can break, and the words it is reported in.
SCHEMA_CASES = {
    "dependentRequired": (
        "rules:\n  bandit:B101: {severity: high}\n",
        "policy.yaml:2:3: rules.bandit:B101: `severity` needs `reason` beside it "
        "(add `reason: <why the rule is changed>`)"),
    "required": (
        "overrides:\n  - description: tests\n",
        "policy.yaml:2:5: overrides.0: missing `paths` (add `paths:` here)"),
    "additionalProperties": (
        "scanners:\n  bandit: {enabld: true}\n",
        "policy.yaml:2:12: scanners.bandit.enabld: unknown key 'enabld' (did you mean "
        "'enabled'? allowed here: enabled, optional, timeout)"),
    "enum": (
        "categories:\n  sast:\n    fail: {severity: hgh}\n",
        "policy.yaml:3:12: categories.sast.fail.severity: 'hgh' is not allowed (did you mean "
        "'high'? use one of: critical, high, medium, low, info, none)"),
    "type": (
        "scanners:\n  semgrep: {timeout: 10m}\n",
        "policy.yaml:2:13: scanners.semgrep.timeout: expected a number of seconds, got a "
        "string ('10m') (e.g. timeout: 600)"),
    "pattern": (
        "advisories: {osv_url: ftp://mirror}\n",
        "policy.yaml:1:14: advisories.osv_url: 'ftp://mirror' is not an http(s) URL "
        "(e.g. https://osv.internal.example)"),
    "exclusiveMinimum": (
        "scanners:\n  bandit: {timeout: 0}\n",
        "policy.yaml:2:12: scanners.bandit.timeout: 0 seconds is too small (give more than 0 "
        "and at most 86400 seconds)"),
    "maximum": (
        "waivers:\n  max_days: {critical: 5000}\n",
        "policy.yaml:2:14: waivers.max_days.critical: 5000 days is too large (give at least 0 "
        "and at most 3650 days)"),
    "minimum": (
        "max_file_bytes: 10\n",
        "policy.yaml:1:1: max_file_bytes: 10 bytes is too small (give at least 1024 and at "
        "most 1073741824 bytes)"),
    "const": ("version: 2\n", "policy.yaml:1:1: version: 2 is not allowed (write `version: 1`)"),
    "minLength": ("name: ''\n", "policy.yaml:1:1: name: is empty (write a value, or leave the "
                                "key out)"),
    "maxLength": (
        f"exclude: ['{'a' * 1001}']\n",
        "policy.yaml:1:11: exclude.0: is 1001 characters long (at most 1000 are allowed)"),
    "minItems": (
        "overrides:\n  - paths: []\n",
        "policy.yaml:2:5: overrides.0.paths: is empty (list at least 1)"),
    "maxItems": (
        f"extends: [{', '.join(['builtin:mojaloop'] * 17)}]\n",
        "policy.yaml:1:1: extends: lists 17 items (at most 16 are allowed)"),
    "uniqueItems": (
        "generated: [coverage-output, coverage-output]\n",
        "policy.yaml:1:1: generated: lists 'coverage-output' more than once (list each once)"),
    "oneOf": (
        "extends: notes.txt\n",
        "policy.yaml:1:1: extends: 'notes.txt' is not a policy (give a .yaml file (relative to "
        "this one) or builtin:mojaloop)"),
    "anyOf": (
        "rules:\n  bandit:B101: {reason: fine}\n",
        "policy.yaml:2:3: rules.bandit:B101: a rule setting needs `disable` or `severity` (and "
        "a `reason` saying why)"),
    "propertyNames": (
        "rules:\n  bandt:B101: {disable: true, reason: x}\n",
        "policy.yaml:2:3: rules.bandt:B101: unknown scanner 'bandt' (did you mean 'bandit'? "
        "known scanners: bandit, semgrep, detect-secrets, kingfisher, pip-audit, osv, "
        "licenses, safety, data-protection, dockerfile, workflows, coverage, policy-gate)"),
}
# Words of jsonschema's own that must never reach a policy's author.
JARGON = ("is a dependency of", "is not valid under", "should be non-empty", "is less than",
          "is greater than", "non-unique", "is too long", "is a required property",
          "does not match", "was expected", "is not one of", "is not of type")


@pytest.mark.parametrize("kind", sorted(SCHEMA_CASES))
def test_schema_errors_in_plain_words(tmp_path: Path, kind: str) -> None:
    """In-process (the command line's one-line shape is the extends test's): file, line,
    key, what is wrong in plain words, and the fix."""
    text, expected = SCHEMA_CASES[kind]
    (tmp_path / "policy.yaml").write_text(text)
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path / "policy.yaml")
    assert [str(p).removeprefix(f"{tmp_path}/") for p in caught.value.problems] == [expected]
    assert not any(j in expected for j in JARGON), expected


def _keywords(node: object) -> set[str]:
    """Every keyword a JSON schema uses (property names and definitions are not)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            found.add(key)
            children = value.values() if key in NAMED and isinstance(value, dict) else [value]
            for name, child in zip(value if key in NAMED else [key], children, strict=True):
                # scannerProps: a map of property schemas, which scanners' schemas $ref
                grand = child.values() if name == "scannerProps" else [child]
                for schema in grand:
                    found |= _keywords(schema)
    elif isinstance(node, list):
        for item in node:
            found |= _keywords(item)
    return found


NAMED = ("properties", "$defs", "patternProperties", "dependentSchemas", "dependentRequired")
# Keywords that hold other schemas or say nothing a value can break.
STRUCTURE = {"$schema", "$id", "$ref", "$defs", "title", "description", "properties",
             "items", "dependentSchemas"}


def test_every_schema_keyword_has_plain_words() -> None:
    """A keyword added to a schema without words for it would show jsonschema's message."""
    from policy_gate.policy import loader, waivers

    used = _keywords(loader.schema()) | _keywords(waivers.schema())
    covered = set(SCHEMA_CASES) | STRUCTURE
    assert used - covered == set()


def test_timeouts_say_seconds() -> None:
    """Every timeout the policy sets is described, reported and shown in seconds."""
    from policy_gate.base.process import timeout_reason
    from policy_gate.policy import loader

    props = loader.schema()["$defs"]["scannerProps"]["timeout"]
    assert props["description"].startswith("Seconds")
    assert timeout_reason("semgrep", 900) == (
        "timed out after 900 seconds (the policy's scanners.semgrep.timeout, in seconds; "
        "raise it there if the tree is this large)")


# -- outputs: checked before any scanner starts ------------------------------------------


@pytest.mark.parametrize("case", ["unknown-format-to-stdout", "trailing-slash", "twice",
                                  "directory", "unwritable-missing-parent"])
def test_outputs_refused_before_the_scan(
    shared_dir: Path, tripwire: tuple[Path, dict[str, str]], case: str
) -> None:
    """Every --output is judged before a scanner starts (the tripwire scanner records a
    start), and a bad one is bad input: exit 2, one line, the next step."""
    ws = _workspace(shared_dir)
    wire, bindir = tripwire
    scan = ["scan", str(ws), "--scanner", "bandit", "--policy", str(OFFLINE_POLICY)]
    prefix: list[str] = []
    if case == "unknown-format-to-stdout":
        args, expected = [*scan, "--format", "x", "--output", "-"], (
            "policy-gate: scan: Invalid value for '--format': 'x' is not one of 'json', "
            "'sarif', 'junit', 'markdown', 'cyclonedx', 'openvex', 'compliance'. (see "
            "`policy-gate scan --help`)")
    elif case == "trailing-slash":
        args, expected = [*scan, "--format", "json", "--output", "out/"], (
            "policy-gate: scan: Invalid value for '--output': 'out/' ends in '/', so it names "
            "a directory; give a file name, e.g. out/report.json (see `policy-gate scan "
            "--help`)")
    elif case == "twice":
        args, expected = [*scan, "--format", "json", "--output", "r.json", "--format", "sarif",
                          "--output", "./r.json"], (
            "policy-gate: --output (sarif) r.json: --output (json) writes that file too; give "
            "each report a file of its own")
    elif case == "directory":
        (shared_dir / "out.json").mkdir()
        args, expected = [*scan, "--format", "json", "--output", "out.json"], (
            "policy-gate: scan: Invalid value for '--output': File 'out.json' is a directory. "
            "(see `policy-gate scan --help`)")
    else:
        (shared_dir / "ro").mkdir(mode=0o555)
        (shared_dir / "ro").chmod(0o555)
        prefix = _as_unprivileged()
        if not prefix:
            pytest.skip("permissions do not apply")
        args = [*scan, "--format", "json", "--output", str(shared_dir / "ro/new/r.json")]
        expected = (f"policy-gate: --output (json) {shared_dir}/ro/new/r.json cannot be "
                    f"written: {shared_dir}/ro belongs to uid 0, not to this process's uid "
                    f"{NOBODY}; write it somewhere else, or run as its owner")
    proc = policy_gate(*args, cwd=shared_dir, env={**bindir, "HOME": str(shared_dir)},
                       prefix=prefix)
    assert error_line(proc, 2) == expected
    assert not wire.exists(), "a scanner started before the outputs were checked"


def test_action_in_an_unwritable_workspace_names_the_user_fix(
    shared_dir: Path, tripwire: tuple[Path, dict[str, str]]
) -> None:
    """The Action in a workspace its user may not write: exit 3 (the environment), one
    line naming the directory, both users and the cure (docs/github-action.md's --user)."""
    ws = _workspace(shared_dir)  # owned by root, 0755: the gate runs as another user
    prefix = _as_unprivileged()
    if not prefix:
        pytest.skip("needs a user other than the workspace's owner")
    proc = action(ws, tripwire[1], prefix)
    assert error_line(proc, 3) == (
        f"policy-gate action: report {ws}/policy-gate-results/policy-gate.sarif cannot be "
        f"written: {ws} belongs to uid 0, not to this process's uid {NOBODY}; run the "
        "container as the workspace's owner: docker run --user \"$(id -u):$(id -g)\" "
        "(GitHub-hosted runners use uid 1001, as the image does; docs/github-action.md)")
    assert not tripwire[0].exists()


def test_action_in_a_read_only_workspace(
    shared_dir: Path, tripwire: tuple[Path, dict[str, str]]
) -> None:
    """A workspace mounted read-only (as root, too): exit 3, the file system named."""
    ws = _workspace(shared_dir)
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-m", "true"], check=False).returncode:
        pytest.skip("needs a mount namespace for a read-only bind mount")
    mount = f"mount --bind {ws} {ws} && mount -o remount,bind,ro {ws} && exec \"$@\""
    proc = action(ws, tripwire[1], [unshare, "-m", "sh", "-c", mount, "sh"])
    assert error_line(proc, 3) == (
        f"policy-gate action: report {ws}/policy-gate-results/policy-gate.sarif cannot be "
        f"written: {ws} is on a read-only file system; run the container as the "
        "workspace's owner: docker run --user \"$(id -u):$(id -g)\" (GitHub-hosted runners "
        "use uid 1001, as the image does; docs/github-action.md)")
    assert not tripwire[0].exists()


# -- other inputs: one line each, the right exit code ------------------------------------


def _tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "repo", {"app.py": "x = 1\n"})


@pytest.mark.parametrize("case", ["unknown-scanner", "jobs-0", "advisories-missing",
                                  "advisories-empty", "not-a-baseline", "waiver-bad-date",
                                  "unknown-command"])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    root = _tree(tmp_path)
    scan = ["scan", str(root), "--policy", str(OFFLINE_POLICY), "--scanner", "bandit"]
    cases: dict[str, tuple[list[str], str]] = {
        "unknown-scanner": (["scan", str(root), "--scanner", "bandt"],
                            "policy-gate: --scanner: unknown scanner 'bandt' (did you mean "
                            "'bandit'? known: bandit, semgrep, detect-secrets, kingfisher, "
                            "pip-audit, osv, licenses, safety, data-protection, dockerfile, "
                            "workflows, coverage)"),
        "jobs-0": ([*scan, "--jobs", "0"],
                   "policy-gate: scan: Invalid value for '--jobs': 0 is not in the range "
                   "1<=x<=256. (see `policy-gate scan --help`)"),
        "advisories-missing": ([*scan, "--advisories", "nowhere"],
                               "policy-gate: scan: Invalid value for '--advisories': Path "
                               "'nowhere' does not exist. (see `policy-gate scan --help`)"),
        "advisories-empty": ([*scan[:-1], "pip-audit", "--advisories", "empty"],
                             "policy-gate: advisory database empty: no OSV records found "
                             "(give --advisories, or the policy's advisories.database, a "
                             "directory of OSV records or an all.zip, e.g. osv.dev's "
                             "PyPI/all.zip)"),
        "not-a-baseline": ([*scan, "--baseline", "report.json"],
                           "policy-gate: invalid baseline: report.json:1:1: version: required "
                           "key is missing (add \"version\": 1)"),
        "waiver-bad-date": (scan,
                            "policy-gate: invalid policy input: .policy-gate/waivers.yaml:5:5: "
                            "waivers.0.expires: 2026-13-45 is not a real date (check the "
                            "month and the day)"),
        "unknown-command": (["scna", "."], "policy-gate: No such command 'scna'. Did you mean "
                                           "'scan'? (see `policy-gate --help`)"),
    }
    (tmp_path / "empty").mkdir()
    (tmp_path / "report.json").write_text('{"verdict": "pass", "findings": []}\n')
    if case == "advisories-empty":  # read only when there is something to audit
        make_tree(root, {"requirements.txt": "requests==2.19.0\n"})
    if case == "waiver-bad-date":
        make_tree(root, {".policy-gate/waivers.yaml": (
            "version: 1\nwaivers:\n  - rule: bandit:B101\n    paths: [app.py]\n"
            "    expires: 2026-13-45\n    reason: test code only here\n    owner: me\n")})
    args, expected = cases[case]
    proc = policy_gate(*args, *(["--quiet"] if args[0] == "scan" else []), cwd=tmp_path)
    assert error_line(proc, 2) == expected


def test_damaged_cache_is_an_environment_fault(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / f"v{cache.FORMAT}").write_text("not a directory\n")
    proc = policy_gate("scan", str(root), "--policy", str(OFFLINE_POLICY), "--scanner",
                       "bandit", "--cache-dir", str(tmp_path / "cache"), "--quiet",
                       cwd=tmp_path, env={"POLICY_GATE_CACHE_KEY": "k" * 32})
    assert error_line(proc, 3) == (
        f"policy-gate: the results cache {tmp_path}/cache is damaged (File exists: "
        f"{tmp_path}/cache/v{cache.FORMAT}); delete it and the next run rebuilds it")


def test_ctrl_c_stops_the_scanners_with_one_line(
    tmp_path: Path, scanner_bin: Callable[[dict[str, str]], dict[str, str]]
) -> None:
    """SIGINT while a scanner runs: its process (in a session of its own, which the
    terminal's Ctrl-C does not reach) is killed, one line says so, exit 130."""
    root = _tree(tmp_path)
    started = tmp_path / "started"
    bindir = scanner_bin({"bandit": (
        "import os, sys, time\nif '--version' in sys.argv:\n    print('bandit 1.9.4')\n"
        f"    sys.exit(0)\nopen({str(started)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(120)\n")})
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO), **bindir}
    proc = subprocess.Popen(
        [sys.executable, "-m", "policy_gate", "scan", str(root), "--scanner", "bandit",
         "--policy", str(OFFLINE_POLICY)], cwd=tmp_path, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(600):
            if started.exists() and started.read_text():
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, out + err
    # click ends the terminal's '^C' line first: a blank line, then the one message
    assert [line for line in err.splitlines() if line.strip()] == [
        "policy-gate: interrupted; no verdict (exit 130)"]
    with pytest.raises(ProcessLookupError):
        os.kill(int(started.read_text()), 0)


def test_a_message_given_to_sys_exit_is_an_error_not_a_verdict(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``sys.exit("text")`` inside the CLI would make Python exit 1, the code for
    violations: the Action reports it as an error (3), in one line."""
    from policy_gate import action_entrypoint

    assert action_entrypoint._code("cannot go on\nmore detail") == 3
    assert capsys.readouterr().err == "policy-gate action: cannot go on\n"
    assert action_entrypoint._code(None) == 0
