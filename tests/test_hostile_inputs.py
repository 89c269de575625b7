"""Hostile inputs around the scan (issue 14, round 2): what a pull request or a runner can
put where the gate writes, comments or decides what is third-party code.

* Outputs are checked before the scan: a directory (committed, or planted) at a report
  path, a parent that is a file, an unwritable workspace or step-output file end the run
  with one line and exit 2 (the path, or the --output given, is wrong) or 3 (the
  environment's workspace or step files cannot be written),
  never a traceback, never exit 1, and never after a scan.
* The sticky PR comment is only ever one the token's own identity wrote: a comment that
  quotes the gate's marker is not taken over.
* Generated and installed trees are recognised by what they contain, not by a name a pull
  request can choose; secrets are searched in them anyway.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from policy_gate import github
from tests.conftest import OFFLINE_POLICY, GateRun, make_tree
from tests.test_github import TOKEN, FakeGitHub

FLAW = "import subprocess, sys\n\n\ndef run(cmd):\n    subprocess.call(sys.argv[1], shell=True)\n"
# A fake scanner that only records that it was started: a scan that should never begin.
TRIPWIRE = "import pathlib, sys\npathlib.Path({path!r}).write_text('ran')\nsys.exit(2)\n"
NOBODY = 65534


# -- outputs are checked before the scan (item 21) ----------------------------------------


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory another user can enter (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="policy-gate-h6-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _as_unprivileged() -> list[str]:
    """A command prefix that drops root, so that file permissions apply to the gate."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("needs setpriv to drop root")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def _workspace(root: Path) -> Path:
    ws = make_tree(root / "workspace", {"src/app.py": FLAW, "README.md": "service\n"})
    for path in (ws, *ws.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return ws


def _action(ws: Path, tripwire: Path, bindir: dict[str, str], *, prefix: list[str] | None = None,
            **env: str) -> subprocess.CompletedProcess[str]:
    """The Docker image's entrypoint, as GitHub runs it (inputs in INPUT_*)."""
    full = {
        "PATH": os.environ["PATH"], "HOME": str(ws.parent), "NO_COLOR": "1",
        "GITHUB_WORKSPACE": str(ws), "INPUT_SCANNERS": "bandit",
        **bindir, **env,
    }
    return subprocess.run(
        [*(prefix or []), sys.executable, "-I", "-m", "policy_gate.action_entrypoint"],
        capture_output=True, text=True, env=full, timeout=300, check=False, cwd=ws.parent,
    )


def _one_clear_line(proc: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    output = proc.stdout + proc.stderr
    assert proc.returncode == code, output
    assert "Traceback" not in output, output
    lines = [line for line in proc.stderr.splitlines() if line.startswith("policy-gate")]
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def tripwire(tmp_path: Path, scanner_bin: Callable[[dict[str, str]], dict[str, str]],
             shared_dir: Path) -> tuple[Path, dict[str, str]]:
    wires = shared_dir / "wires"
    wires.mkdir(mode=0o777)
    wires.chmod(0o777)  # the gate may run as another user
    wire = wires / "scan-started"
    bindir = scanner_bin({"bandit": TRIPWIRE.format(path=str(wire))})
    shutil.copytree(bindir["POLICY_GATE_SCANNER_PATH"], shared_dir / "bin", symlinks=True)
    (shared_dir / "bin").chmod(0o755)
    return wire, {"POLICY_GATE_SCANNER_PATH": str(shared_dir / "bin")}


def test_action_report_path_that_is_a_committed_directory(
    shared_dir: Path, tripwire: tuple[Path, dict[str, str]]
) -> None:
    ws = _workspace(shared_dir)
    (ws / "policy-gate-results" / "policy-gate.sarif").mkdir(parents=True)
    (ws / "policy-gate-results" / "policy-gate.sarif" / "keep.txt").write_text("x")
    proc = _action(ws, *tripwire)
    _one_clear_line(proc, 2, "policy-gate-results/policy-gate.sarif", "directory")
    assert not tripwire[0].exists(), "the scan started"
    assert (ws / "policy-gate-results" / "policy-gate.sarif" / "keep.txt").exists()


def test_action_output_dir_below_a_file(
    shared_dir: Path, tripwire: tuple[Path, dict[str, str]]
) -> None:
    ws = _workspace(shared_dir)
    proc = _action(ws, *tripwire, **{"INPUT_OUTPUT-DIR": "README.md/reports"})
    _one_clear_line(proc, 2, "README.md", "not a directory")
    assert not tripwire[0].exists()


def test_action_unwritable_workspace_is_an_environment_error(
    shared_dir: Path, tripwire: tuple[Path, dict[str, str]]
) -> None:
    ws = _workspace(shared_dir)  # owned by root, 0755: the gate runs as another user
    prefix = _as_unprivileged()
    if not prefix:
        ws.chmod(0o555)
    proc = _action(ws, *tripwire, prefix=prefix)
    _one_clear_line(proc, 3, "policy-gate-results", "cannot be written")
    assert not tripwire[0].exists()


@pytest.mark.parametrize("kind", ["directory", "unwritable"])
def test_action_step_output_file_checked_before_the_scan(
    shared_dir: Path, tripwire: tuple[Path, dict[str, str]], kind: str
) -> None:
    ws = _workspace(shared_dir)
    (ws / "policy-gate-results").mkdir(mode=0o777)
    (ws / "policy-gate-results").chmod(0o777)
    target = shared_dir / "github_output"
    prefix: list[str] = []
    if kind == "directory":
        target.mkdir()
    else:
        target.write_text("")
        target.chmod(0o444)
        prefix = _as_unprivileged()
    proc = _action(ws, *tripwire, prefix=prefix, GITHUB_OUTPUT=str(target),
                   GITHUB_ACTIONS="true")
    _one_clear_line(proc, 2 if kind == "directory" else 3, "GITHUB_OUTPUT")
    assert not tripwire[0].exists()


def _cli(root: Path, *args: str, env: dict[str, str] | None = None,
         prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*(prefix or []), sys.executable, "-I", "-m", "policy_gate", *args],
        capture_output=True, text=True, timeout=300, check=False, cwd=root,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )


@pytest.mark.parametrize("case", ["parent-is-file", "is-directory", "unwritable",
                                  "summary-is-directory", "baseline-parent-is-file"])
def test_cli_outputs_checked_before_the_scan(
    shared_dir: Path, tripwire: tuple[Path, dict[str, str]], case: str
) -> None:
    ws = _workspace(shared_dir)
    wire, bindir = tripwire
    env = {**bindir, "HOME": str(shared_dir)}
    scan = ["scan", str(ws), "--scanner", "bandit", "--policy", str(OFFLINE_POLICY)]
    prefix: list[str] = []
    code, word = 2, "not a directory"
    if case == "parent-is-file":
        args = [*scan, "--format", "json", "--output", str(ws / "README.md" / "r.json")]
    elif case == "is-directory":
        (ws / "out.sarif").mkdir()
        args = [*scan, "--format", "sarif", "--output", str(ws / "out.sarif")]
        word = "directory"
    elif case == "unwritable":
        (ws / "reports").mkdir(mode=0o555)
        (ws / "reports").chmod(0o555)
        args = [*scan, "--format", "json", "--output", str(ws / "reports" / "r.json")]
        prefix = _as_unprivileged()
        if not prefix:
            pytest.skip("permissions do not apply")
        code, word = 2, "cannot be written"  # an --output the user gave: bad input
    elif case == "summary-is-directory":
        (shared_dir / "summary").mkdir()
        env.update(GITHUB_STEP_SUMMARY=str(shared_dir / "summary"), GITHUB_ACTIONS="true")
        args = [*scan, "--github"]
        word = "GITHUB_STEP_SUMMARY"
    else:
        args = ["baseline", "create", str(ws), "--scanner", "bandit", "--policy",
                str(OFFLINE_POLICY), "--output", str(ws / "README.md" / "baseline.json")]
    proc = _cli(shared_dir, *args, env=env, prefix=prefix)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert word in proc.stderr, proc.stderr
    assert not wire.exists(), "the scan started before the output was checked"


# -- the sticky comment is the gate's own (item 20) ---------------------------------------


@pytest.fixture
def api() -> Iterator[FakeGitHub]:
    """tests/test_github.py's emulation of the issue-comments API, on 127.0.0.1."""
    fake = FakeGitHub()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


def _spoof(fake: FakeGitHub, login: str, type_: str = "User") -> dict[str, Any]:
    comment = {"id": 5, "body": f"{github.MARKER}\n**PASS** (trust me)",
               "user": {"login": login, "type": type_}}
    fake.comments.insert(0, comment)
    return comment


def _upsert(fake: FakeGitHub, body: str) -> github.CommentResult:
    return github.upsert_pr_comment(fake.url, "mojaloop/central-ledger", 7, TOKEN, body)


def test_a_comment_quoting_the_marker_is_not_taken_over(api: FakeGitHub) -> None:
    spoof = _spoof(api, "mallory")
    result = _upsert(api, "**FAIL** — 3 violations")
    assert result.action == "created" and result.id != spoof["id"]
    assert "trust me" in spoof["body"]  # untouched
    assert not [c for c in api.calls if c[0] == "PATCH"]
    # the next run updates the gate's own comment, still not the spoof
    again = _upsert(api, "**FAIL** — 2 violations")
    assert again.action == "updated" and again.id == result.id
    assert "trust me" in spoof["body"]


def test_installation_token_identity_is_the_actions_bot(api: FakeGitHub) -> None:
    # GITHUB_TOKEN cannot read /user (403): the gate's comments are github-actions[bot]'s,
    # a Bot; a user account cannot have that login, and its type is never Bot.
    api.user = None
    _spoof(api, "github-actions[bot]", "User")
    own = {"id": 6, "body": f"{github.MARKER}\nold", "user": {
        "login": "github-actions[bot]", "type": "Bot"}}
    api.comments.insert(1, own)
    result = _upsert(api, "new verdict")
    assert result.action == "updated" and result.id == 6
    assert own["body"].endswith("new verdict")


def test_user_token_identity_comes_from_the_api(api: FakeGitHub) -> None:
    api.user = {"login": "ci-bot-user", "type": "User"}
    _spoof(api, "github-actions[bot]", "Bot")  # not this token's comment
    own = {"id": 6, "body": f"{github.MARKER}\nold", "user": {"login": "ci-bot-user",
                                                                 "type": "User"}}
    api.comments.append(own)
    result = _upsert(api, "new verdict")
    assert result.action == "updated" and result.id == 6
    assert api.calls[0][1] == "/user"


def test_identity_lookup_failure_posts_nothing(api: FakeGitHub) -> None:
    api.user_status = 500
    _spoof(api, "mallory")
    with pytest.raises(github.GitHubAPIError) as exc:
        _upsert(api, "x")
    assert TOKEN not in str(exc.value)
    assert not [c for c in api.calls if c[0] in ("POST", "PATCH")]


def test_cli_comment_ignores_spoofed_marker(
    gate: Callable[..., GateRun], tmp_path: Path, api: FakeGitHub
) -> None:
    spoof = _spoof(api, "mallory")
    ws = make_tree(tmp_path / "ws", {"worker.py": FLAW})
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7, "head": {"sha": "a" * 40}}}))
    env = {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(ws),
           "GITHUB_REPOSITORY": "mojaloop/central-ledger", "GITHUB_API_URL": api.url,
           "GITHUB_EVENT_PATH": str(event), "GITHUB_TOKEN": TOKEN}
    run = gate(ws, "--scanner", "bandit", "--scanner", "semgrep", "--pr-comment", "--full-scan",
               env=env)
    assert run.code == 1, run.output
    assert "trust me" in spoof["body"]
    assert [c[0] for c in api.calls if c[0] in ("POST", "PATCH")] == ["POST"]


# -- third-party and generated content is recognised by evidence (item 12) ----------------

# A generated AWS access key id (AWS's documented example key is not a credential), and the
# rule of the default secret engine (kingfisher) that reports one.
AWS_KEY = "AKIA" + "".join(random.Random(12).choices(string.ascii_uppercase + "234567", k=16))
AWS_RULE = "policy-gate.aws-access-key-id"
JS_FLAW = "function handle(req) {\n  return eval(req.query.code)\n}\nmodule.exports = { handle }\n"
PY_FLAW = FLAW
ORIGINAL = b"x = 1\n"  # what an installed file held before it was edited in the tree


def _minified(extra: str = "") -> str:
    """A minified bundle: one long line, almost no whitespace, a licence banner."""
    body = ";".join(f"var a{i}=function(e,t){{return e[t]||t+{i}}}" for i in range(60))
    return f"/*! lib v1.0 | MIT */\n!function(){{{body};{extra}}}();\n"


def _sha256_record(data: bytes) -> str:
    import base64
    import hashlib

    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.org",
         "-c", "commit.gpgsign=false", *args],
        cwd=repo, check=True, capture_output=True, text=True,
    ).stdout.strip()


def _statuses(run: GateRun, path: str) -> list[tuple[str, str]]:
    """(rule, status) for every rule that reported a finding at ``path``: a merged finding
    counts for each of its sources, whichever leads."""
    return [(s["rule_id"], f["status"]) for f in run.findings(path=path) for s in f["sources"]]


def test_hand_written_code_under_names_the_old_policy_excluded_is_scanned(
    gate: Callable[..., GateRun], tree: Callable[[dict[str, str | bytes]], Path]
) -> None:
    """builtin:mojaloop excluded node_modules/, venv/, coverage/, *.min.js … by name: a
    pull request could put any code there. Now none of these is scanned less."""
    root = tree({
        "src/handler.min.js": JS_FLAW,  # formatted, hand-written: not minified
        "tools/venv/pyvenv.cfg": "home = /usr/bin\nversion = 3.11.7\n",
        "tools/venv/settings.py": PY_FLAW,  # beside a venv marker, but nothing installed it
        "coverage/.env": f"AWS_ACCESS_KEY_ID={AWS_KEY}\n",
        "node_modules/helpers/index.js": JS_FLAW,  # no installer's record
        "lib/site-packages/tool.py": PY_FLAW,
        "src/__pycache__/util.py": PY_FLAW,
    })
    run = gate(root, "--scanner", "bandit", "--scanner", "semgrep", "--scanner",
               "kingfisher")
    assert run.code == 1, run.output
    for path in ("src/handler.min.js", "node_modules/helpers/index.js"):
        assert ("js-eval-non-literal", "violation") in _statuses(run, path), path
    for path in ("tools/venv/settings.py", "lib/site-packages/tool.py",
                 "src/__pycache__/util.py"):
        assert ("B602", "violation") in _statuses(run, path), path
    assert (AWS_RULE, "violation") in _statuses(run, "coverage/.env")
    assert run.report is not None
    assert run.report["scan"]["excluded"] == []
    assert run.report["policy"]["document"]["exclude"] == []


def _installed_tree() -> dict[str, str | bytes]:
    """An npm install (with npm's record), a Python wheel install (with its RECORD),
    minified bundles and coverage output, each with a flaw only code analysis would see,
    beside planted and edited files the evidence does not vouch for."""
    installed_py = PY_FLAW.encode()
    record = "\n".join([
        f"pkg/__init__.py,{_sha256_record(installed_py)},{len(installed_py)}",
        f"pkg/edited.py,{_sha256_record(ORIGINAL)},{len(ORIGINAL)}",  # edited since
        "pkg-1.0.dist-info/RECORD,,",
    ]) + "\n"
    npm_record = {"name": "svc", "lockfileVersion": 3, "packages": {
        "node_modules/leftpad": {"version": "1.0.0", "integrity": "sha512-x"},
        "node_modules/@scope/util": {"version": "2.0.0", "integrity": "sha512-y"}}}
    return {
        "package.json": '{"name": "svc", "version": "1.0.0"}\n',
        "node_modules/.package-lock.json": json.dumps(npm_record),
        "node_modules/leftpad/package.json": '{"name": "leftpad", "version": "1.0.0"}',
        "node_modules/leftpad/index.js": JS_FLAW,
        "node_modules/@scope/util/package.json": '{"name": "@scope/util", "version": "2.0.0"}',
        "node_modules/@scope/util/lib/run.js": JS_FLAW,
        # a package directory the record does not list, and one whose version differs
        "node_modules/planted/package.json": '{"name": "planted", "version": "1.0.0"}',
        "node_modules/planted/index.js": JS_FLAW,
        "node_modules/@scope/other/package.json": '{"name": "@scope/other", "version": "9"}',
        "node_modules/@scope/other/index.js": JS_FLAW,
        ".venv/lib/python3.11/site-packages/pkg/__init__.py": installed_py,
        ".venv/lib/python3.11/site-packages/pkg/edited.py": PY_FLAW,
        ".venv/lib/python3.11/site-packages/pkg/planted.py": PY_FLAW,
        ".venv/lib/python3.11/site-packages/pkg-1.0.dist-info/RECORD": record,
        "public/vendor.js": _minified("eval(location.hash)"),
        "public/bundle.js": _minified(f'var k="{AWS_KEY}"'),
        # readable code beside a minified line is not minified
        "public/mixed.js": _minified() + JS_FLAW,
        "coverage/coverage-final.json": json.dumps({"/w/src/a.js": {
            "path": "/w/src/a.js", "statementMap": {}, "fnMap": {}, "branchMap": {},
            "s": {}, "f": {}, "b": {}, "hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"}}),
    }


def test_installed_and_generated_content_is_recognised_by_evidence(
    gate: Callable[..., GateRun], tree: Callable[[dict[str, str | bytes]], Path]
) -> None:
    root = tree(_installed_tree())
    run = gate(root, "--scanner", "bandit", "--scanner", "semgrep", "--scanner",
               "kingfisher")
    assert run.report is not None, run.output
    reasons = run.report["scan"]["excluded_reasons"]
    # left out of code analysis, each with the evidence
    assert "recorded in node_modules/.package-lock.json" in reasons["node_modules/leftpad/"]
    assert "@scope/util@2.0.0" in reasons["node_modules/@scope/util/"]
    assert "dist-info/RECORD" in reasons[".venv/lib/python3.11/site-packages/pkg/__init__.py"]
    assert "minified" in reasons["public/vendor.js"]
    assert "istanbul" in reasons["coverage/"]
    for path in ("node_modules/leftpad/index.js", "node_modules/@scope/util/lib/run.js",
                 "public/vendor.js", ".venv/lib/python3.11/site-packages/pkg/__init__.py"):
        assert not [s for s in _statuses(run, path) if s[0] != AWS_RULE], path
    # what the evidence does not vouch for is scanned
    for path in ("node_modules/planted/index.js", "node_modules/@scope/other/index.js",
                 "public/mixed.js"):
        assert ("js-eval-non-literal", "violation") in _statuses(run, path), path
    for path in ("pkg/edited.py", "pkg/planted.py"):
        full = ".venv/lib/python3.11/site-packages/" + path
        assert ("B602", "violation") in _statuses(run, full), path
    # secrets are searched in generated content (no git here: nothing says it is not
    # in the repository)
    assert (AWS_RULE, "violation") in _statuses(run, "public/bundle.js")
    assert run.report["scan"]["generated_not_searched_for_secrets"] == 0
    assert run.code == 1


def test_generated_content_git_ignores_is_not_searched_for_secrets(
    gate: Callable[..., GateRun], tree: Callable[[dict[str, str | bytes]], Path]
) -> None:
    """What `npm ci` or a test run writes into the work tree (ignored, untracked) is not in
    the repository: not read at all, and with --all-files left out of code analysis as
    generated and not searched for secrets; the same content committed (even by force) is
    searched."""
    files = _installed_tree()
    files["node_modules/leftpad/test/fixture.js"] = f'module.exports = "{AWS_KEY}"\n'
    files[".gitignore"] = "node_modules/\npublic/\ncoverage/\n.venv/\n"
    root = tree(files)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "service")
    for args in ((), ("--all-files",)):
        run = gate(root, "--scanner", "kingfisher", "--scanner", "data-protection", *args)
        assert run.report is not None, run.output
        assert not run.findings(category="secret"), run.findings(category="secret")
        assert run.code == 0, run.output
        scan = run.report["scan"]
        if args:
            assert scan["generated_not_searched_for_secrets"] > 5
            assert scan["selection"]["by"] == "all"
        else:
            assert scan["generated_not_searched_for_secrets"] == scan["generated_files"] == 0
            assert scan["selection"] == {"by": "git", "files": 2, "reason": "",
                                         "untracked_ignored_not_read": 4}

    _git(root, "add", "--force", "node_modules/leftpad/test/fixture.js")
    _git(root, "commit", "-q", "-m", "vendored by hand")
    run = gate(root, "--scanner", "kingfisher")
    assert (AWS_RULE, "violation") in _statuses(
        run, "node_modules/leftpad/test/fixture.js"), run.output
    assert run.code == 1


def test_a_policy_chooses_the_evidence_and_its_own_excludes(
    gate: Callable[..., GateRun], tree: Callable[[dict[str, str | bytes]], Path],
    tmp_path: Path
) -> None:
    root = tree({"legacy/old.py": PY_FLAW, "public/vendor.js": _minified("eval(x)"),
                 "app.py": "x = 1\n"})
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"version: 1\nextends: {OFFLINE_POLICY}\nname: strict\n"
                      "exclude: [legacy/]\ngenerated: []\n")
    run = gate(root, "--policy", str(policy), "--scanner", "bandit", "--scanner", "semgrep")
    assert run.report is not None, run.output
    assert run.report["scan"]["excluded_reasons"] == {
        "legacy/": "matches the policy's `exclude` patterns"}
    assert ("js-eval-non-literal", "violation") in _statuses(run, "public/vendor.js")
    assert not run.findings(path="legacy/old.py")
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"version: 1\nextends: {OFFLINE_POLICY}\ngenerated: [vendor-dirs]\n")
    run = gate(root, "--policy", str(bad), "--scanner", "bandit")
    assert run.code == 2 and "generated" in run.output


@pytest.mark.parametrize("files", [
    {"node_modules/.package-lock.json": '{"lockfileVersion": 3, "packages": []}',
     "node_modules/a/package.json": '{"name": "a", "version": "1"}', "node_modules/a/i.js": "x"},
    {"node_modules/.package-lock.json": "[" * 100_000,
     "node_modules/a/package.json": "{" * 100_000, "node_modules/a/i.js": "x"},
    {"node_modules/.yarn-integrity": "", "node_modules/a/package.json": '{"name": 1}',
     "node_modules/@s/package.json": "{}", "node_modules/@s": "", "node_modules/x": ""},
    {"site/p-1.dist-info/RECORD": b"p.py,sha256=\x00,1\n", "site/p.py": "x = 1\n"},
    {"site/p-1.dist-info/RECORD": "p.py," + "a" * 200_000 + "\n", "site/p.py": "x = 1\n"},
    {"site/p-1.dist-info/RECORD": "../../../../etc/passwd,,\n/abs,,\n,,\n\n"
                                  "p.py,sha256=!!,1\n", "site/p.py": "x = 1\n"},
    {"c/coverage-final.json": '{"a": {"statementMap": 1}}', "c/status.json":
     '{"note": "to speed up HTML report generation", "files": []}',
     "c/x.html": "Code coverage generated by", "n/.cache/x.js": "function cov_"},
])
def test_hostile_evidence_is_not_evidence(tmp_path: Path, files: dict[str, str | bytes]) -> None:
    """Malformed records, manifests and reports never crash the walk, and vouch for
    nothing: every file stays in scope."""
    from policy_gate.base.fileset import walk
    from policy_gate.base.generated import KINDS

    root = make_tree(tmp_path / "t", {k: v for k, v in files.items() if v != ""})
    fileset = walk(root, generated=KINDS)
    assert not fileset.generated
    assert fileset.excluded == ()
