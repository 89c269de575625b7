"""A hostile results cache (issue 14): a pull request controls the scanned tree, and in
GitHub Actions it can also write caches of its own (any job that runs its code can reach
the cache service). Neither may turn into a pass:

* a cache directory inside the scanned tree, the workspace or the git repository is
  refused (exit 2) before anything is read from it;
* an entry the gate did not write under its own key (tampered, forged by someone who
  knows the format, or written under another key) is a miss: the scanner runs again;
* every file an answer depends on is in its key (``-r``/``-c`` includes, the
  ``package.json`` beside a lockfile, a manifest larger than the policy's size limit).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from policy_gate import action_entrypoint as ae
from policy_gate.action_entrypoint import ActionError
from policy_gate.advisories.database import AdvisoryIndex
from policy_gate.base.digest import sha256_json
from policy_gate.base.fileset import walk
from policy_gate.osv.server import serve_advisories
from policy_gate.policy.loader import load_policy
from policy_gate.scanners import registry
from policy_gate.scanners.interface import ScanContext
from tests.conftest import EXAMPLE_ADVISORIES, OFFLINE_POLICY, GateRun, make_tree, real_tool
from tests.test_action_entrypoint import CAPS, gh
from tests.test_advisories import NPM_RECORDS

WEAK_HASH = ("import hashlib, subprocess\n\n\ndef run(cmd):\n"
              "    return hashlib.md5(cmd)\n")
VULNERABLE: dict[str, str | bytes] = {"app/main.py": WEAK_HASH,
                                      "requirements.txt": "pyyaml==5.3.1\n"}
KEY_ENV = "POLICY_GATE_CACHE_KEY"
KEY_A = "a" * 24 + "-attacker-key-0123456789"
KEY_B = "b" * 24 + "-the-gate-key-9876543210"


# --- a forger who knows the entry format (it is in this repository) but not the key ---------


Transform = Callable[[str, Any], Any]


def no_findings(_kind: str, payload: Any) -> Any:
    """'Nothing found': every list of findings emptied, the result count to match."""
    if isinstance(payload, dict) and "findings" in payload:
        payload = {**payload, "findings": []}
        if "raw_results" in payload:
            payload["raw_results"] = 0
    return payload


def forge(cache_dir: Path, transform: Transform = no_findings) -> int:
    """Rewrite every entry with ``transform`` and recompute whatever integrity field a
    forger can compute (a plain digest of the payload); returns how many were rewritten."""
    count = 0
    for path in sorted(cache_dir.rglob("*.json")):
        kind = path.parent.parent.name
        data = path.read_bytes()
        try:
            entry = json.loads(data)  # {"key", "digest", "payload"}: a digest anyone computes
        except ValueError:
            head, _, body = data.partition(b"\n")  # a header line (with the MAC), the payload
            forged = transform(kind, json.loads(body))
            path.write_bytes(head + b"\n" + json.dumps(forged).encode())
        else:
            entry["payload"] = transform(kind, entry["payload"])
            entry["digest"] = sha256_json(entry["payload"])
            path.write_text(json.dumps(entry))
        count += 1
    return count


def cache_run(gate: Callable[..., GateRun], root: Path, cache: Path, *args: str,
              **kwargs: Any) -> GateRun:
    return gate(root, "--cache-dir", str(cache), *args, **kwargs)


def one_line_error(run: GateRun) -> str:
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.output
    return lines[0]


# --- where the cache may be ------------------------------------------------------------------


def test_a_forged_cache_committed_to_the_tree_is_refused(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    root = make_tree(tmp_path / "repo", VULNERABLE)
    # the forger makes entries for this exact content elsewhere, empties them, commits them
    elsewhere = tmp_path / "forger"
    assert cache_run(gate, root, elsewhere, "--scanner", "bandit").code == 1
    assert forge(elsewhere)
    shutil.copytree(elsewhere, root / ".policy-gate-cache")
    run = cache_run(gate, root, root / ".policy-gate-cache", "--scanner", "bandit")
    assert run.code == 2, run.output
    assert run.report is None
    line = one_line_error(run)
    assert "inside the scanned tree" in line and "runner.temp" in line, line
    assert str(root / ".policy-gate-cache") in line


@pytest.mark.parametrize("where", ["workspace", "git", "link", "contains"])
def test_a_cache_in_the_workspace_or_repository_is_refused(
    tmp_path: Path, gate: Callable[..., GateRun], where: str
) -> None:
    top = make_tree(tmp_path / "top", {"svc/app.py": "x = 1\n"})
    root = top / "svc"
    env: dict[str, str] = {}
    cache = top / "build" / "cache"  # beside the scanned directory, inside its repository
    if where == "workspace":
        env["GITHUB_WORKSPACE"] = str(top)
        expected = "inside the workspace"
    elif where == "git":
        subprocess.run(["git", "init", "-q", str(top)], check=True)
        expected = "inside the git repository"
    elif where == "link":
        (root / "cache").mkdir()
        cache = tmp_path / "cache-link"
        cache.symlink_to(root / "cache")  # outside by name, inside in fact
        expected = "inside the scanned tree"
    else:
        cache = tmp_path  # the tree is inside the cache directory
        expected = "contains the scanned tree"
    run = cache_run(gate, root, cache, "--scanner", "dockerfile", env=env)
    assert run.code == 2, run.output
    assert expected in one_line_error(run)


# --- entries the gate did not write are misses -----------------------------------------------


def test_tampered_entries_are_misses_and_the_finding_still_fails(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    root = make_tree(tmp_path / "repo", VULNERABLE)
    cache = tmp_path / "cache"
    args = ("--scanner", "bandit", "--scanner", "pip-audit")
    cold = cache_run(gate, root, cache, *args)
    assert cold.code == 1 and cold.findings(rule_id="B324"), cold.output
    assert forge(cache)
    again = cache_run(gate, root, cache, *args)
    assert again.code == 1, again.output
    assert again.findings(rule_id="B324")
    assert again.findings(category="dependency", path="requirements.txt")
    bandit = again.scanner("bandit")
    assert bandit["cache"]["files_scanned"] == 1 and bandit["cache"]["rejected"] >= 1
    assert any("failed authentication" in n for n in bandit["notes"]), bandit["notes"]
    # the next run (entries rewritten by the gate itself) is a clean hit again
    warm = cache_run(gate, root, cache, *args)
    assert warm.scanner("bandit")["cache"]["run_from_cache"] is True
    assert warm.scanner("bandit")["cache"]["rejected"] == 0
    assert warm.findings(rule_id="B324")


def test_entries_written_under_another_key_are_misses(
    tmp_path: Path, gate: Callable[..., GateRun],
    scanner_bin: Callable[[dict[str, str]], dict[str, str]],
) -> None:
    """The forger runs the real gate in a job of their own, with a bandit that reports
    nothing, and lets the entries reach the gate's cache (actions/cache poisoning)."""
    root = make_tree(tmp_path / "repo", VULNERABLE)
    cache = tmp_path / "cache"
    blind = scanner_bin({"bandit": f"""
        import json, subprocess, sys
        done = subprocess.run([{real_tool("bandit")!r}, *sys.argv[1:]],
                              capture_output=True, text=True)
        if sys.argv[1:] == ["--version"]:
            print(done.stdout, end="")
            sys.exit(done.returncode)
        report = json.loads(done.stdout)
        report["results"] = []
        print(json.dumps(report))
    """})
    forger = cache_run(gate, root, cache, "--scanner", "bandit",
                       env={**blind, KEY_ENV: KEY_A})
    assert forger.code == 0, forger.output  # the poisoned answer: nothing found
    victim = cache_run(gate, root, cache, "--scanner", "bandit", env={KEY_ENV: KEY_B})
    assert victim.code == 1, victim.output
    assert victim.findings(rule_id="B324")
    assert victim.scanner("bandit")["cache"]["files_from_cache"] == 0
    # the same holds for the key file the gate makes when no key is given
    default = cache_run(gate, root, cache, "--scanner", "bandit")
    assert default.code == 1 and default.findings(rule_id="B324")


def test_a_forged_advisory_age_is_not_believed(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    """The advisory database's age decides whether it may be used at all (M4a): a forged
    'newest record: today' must not let a stale database audit."""
    root = make_tree(tmp_path / "repo", {"requirements.txt": "pyyaml==5.3.1\n"})
    cache = tmp_path / "cache"
    args = ("--scanner", "pip-audit", "--policy", "builtin:mojaloop")
    stale = cache_run(gate, root, cache, *args)
    assert stale.code == 3 and "stale" in stale.scanner("pip-audit")["reason"], stale.output

    def fresh(kind: str, payload: Any) -> Any:
        if kind == "advisory-info" and isinstance(payload, dict):
            now = datetime.now(UTC).isoformat()
            ecosystems = payload.get("ecosystems")
            if isinstance(ecosystems, dict):  # and per ecosystem: [records, newest]
                payload = {**payload, "ecosystems": {k: [v[0], now] for k, v in
                                                     ecosystems.items()}}
            return {**payload, "newest": now}
        return payload

    assert forge(cache, fresh)
    again = cache_run(gate, root, cache, *args)
    assert again.code == 3, again.output
    assert "stale" in again.scanner("pip-audit")["reason"]


# --- the key ---------------------------------------------------------------------------------


def test_the_key_file_is_private_and_checked(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    root = make_tree(tmp_path / "repo", {"Dockerfile": "FROM alpine:3.20.3\nUSER app\n"})
    cache = tmp_path / "cache"
    assert cache_run(gate, root, cache, "--scanner", "dockerfile").code in (0, 1)
    key = tmp_path / "cache.key"
    info = key.lstat()
    assert stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_size >= 32
    key.chmod(0o640)
    run = cache_run(gate, root, cache, "--scanner", "dockerfile")
    assert run.code == 2 and str(key) in one_line_error(run), run.output
    key.chmod(0o600)
    key.rename(tmp_path / "elsewhere.key")
    key.symlink_to(tmp_path / "elsewhere.key")
    run = cache_run(gate, root, cache, "--scanner", "dockerfile")
    assert run.code == 2 and str(key) in one_line_error(run), run.output


def test_a_key_from_the_environment_is_checked_and_never_shown(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    root = make_tree(tmp_path / "repo", {"Dockerfile": "FROM alpine:3.20.3\nUSER app\n"})
    cache = tmp_path / "cache"
    short = cache_run(gate, root, cache, "--scanner", "dockerfile", env={KEY_ENV: "hunter2"})
    assert short.code == 2 and KEY_ENV in one_line_error(short), short.output
    assert "hunter2" not in short.output
    run = cache_run(gate, root, cache, "--scanner", "dockerfile", env={KEY_ENV: KEY_B})
    assert run.code in (0, 1), run.output
    assert KEY_B not in run.output and KEY_B not in json.dumps(run.report)
    assert not (tmp_path / "cache.key").exists()  # the environment's key is the key


def key_pair() -> tuple[str, str]:
    """A fresh Ed25519 key pair, PEM (what `openssl genpkey -algorithm ed25519` makes)."""
    from cryptography.hazmat.primitives import serialization as pem
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(pem.Encoding.PEM, pem.PrivateFormat.PKCS8, pem.NoEncryption())
    public = key.public_key().public_bytes(pem.Encoding.PEM,
                                           pem.PublicFormat.SubjectPublicKeyInfo)
    return private.decode(), public.decode()


def test_a_key_pair_lets_pull_requests_read_the_cache_but_never_write_it(
    tmp_path: Path, gate: Callable[..., GateRun],
    scanner_bin: Callable[[dict[str, str]], dict[str, str]],
) -> None:
    """The protected branch signs; a pull request's run holds only the public key: it
    uses what the branch wrote, adds nothing, and believes no one else's entries, not even
    those made with the shared-secret scheme or another key pair."""
    signing, verify = key_pair()
    root = make_tree(tmp_path / "repo", VULNERABLE)
    cache = tmp_path / "cache"
    main = cache_run(gate, root, cache, "--scanner", "bandit",
                     env={"POLICY_GATE_CACHE_SIGNING_KEY": signing})
    assert main.code == 1, main.output
    entries = sorted(p.relative_to(cache) for p in cache.rglob("*.json"))
    pull = {"POLICY_GATE_CACHE_VERIFY_KEY": verify}
    reused = cache_run(gate, root, cache, "--scanner", "bandit", env=pull)
    assert reused.code == 1 and reused.findings(rule_id="B324"), reused.output
    assert reused.scanner("bandit")["cache"]["run_from_cache"] is True
    (root / "app/extra.py").write_text("import pickle\n")
    changed = cache_run(gate, root, cache, "--scanner", "bandit", env=pull)
    assert changed.scanner("bandit")["cache"]["files_scanned"] == 1
    assert sorted(p.relative_to(cache) for p in cache.rglob("*.json")) == entries  # read-only
    assert not (tmp_path / "cache.key").exists()
    # forgers: another key pair, and the shared-secret scheme, with a bandit that sees nothing
    blind = scanner_bin({"bandit": f"""
        import json, subprocess, sys
        done = subprocess.run([{real_tool("bandit")!r}, *sys.argv[1:]],
                              capture_output=True, text=True)
        if sys.argv[1:] == ["--version"]:
            print(done.stdout, end="")
            sys.exit(done.returncode)
        report = json.loads(done.stdout)
        report["results"] = []
        print(json.dumps(report))
    """})
    other, _ = key_pair()
    (root / "app/extra.py").unlink()
    shutil.rmtree(cache)
    for forger in ({"POLICY_GATE_CACHE_SIGNING_KEY": other}, {KEY_ENV: KEY_A}):
        assert cache_run(gate, root, cache, "--scanner", "bandit",
                         env={**blind, **forger}).code == 0
        victim = cache_run(gate, root, cache, "--scanner", "bandit", env=pull)
        assert victim.code == 1 and victim.findings(rule_id="B324"), victim.output
    both = cache_run(gate, root, cache, "--scanner", "bandit", env={**pull, KEY_ENV: KEY_B})
    assert both.code == 2 and "not both" in one_line_error(both)
    assert "PRIVATE KEY" not in both.output and verify not in both.output


# --- every file an answer depends on is in its key -------------------------------------------


# Every spelling of an include, each naming its own file with a pin of its own package:
# clean, then vulnerable in the offline database (examples/advisories).
INCLUDES = {
    "-r": ("common/r.txt", "pyyaml==6.0.1", "pyyaml==5.3.1"),
    "--requirement": ("common/requirement.txt", "requests==2.32.3", "requests==2.19.0"),
    "-c": ("common/c.txt", "jinja2==3.1.6", "jinja2==2.10"),
    "--constraint": ("common/constraint.txt", "flask==3.1.1", "flask==0.12.2"),
}


def test_a_changed_include_gets_a_new_verdict(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    """One manifest includes a file by each spelling; each included file in turn turns
    vulnerable, and the cached clean answer must not be reused: the key has every one
    (one tree for the four spellings, where a tree each cost twice the gate runs)."""
    root = make_tree(tmp_path / "repo", {
        "requirements.txt": "".join(f"{option} {path}\n" for option, (path, _, _)
                                    in INCLUDES.items()),
        **{path: clean + "\n" for path, clean, _ in INCLUDES.values()},
    })
    cache = tmp_path / "cache"
    clean = cache_run(gate, root, cache, "--scanner", "pip-audit")
    assert clean.code == 0, clean.output
    for option, (path, safe, vulnerable) in INCLUDES.items():
        (root / path).write_text(vulnerable + "\n")
        changed = cache_run(gate, root, cache, "--scanner", "pip-audit")
        assert changed.code == 1, (option, changed.output)
        assert changed.findings(category="dependency", path=path), option
        (root / path).write_text(safe + "\n")
    # and an include that appears later (it was missing: an unscanned finding) is read
    with (root / "requirements.txt").open("a") as manifest:
        manifest.write("-r more.txt\n")
    missing = cache_run(gate, root, cache, "--scanner", "pip-audit")
    assert missing.findings(category="unscanned", path="requirements.txt")
    (root / "more.txt").write_text("jinja2==2.10\n")
    found = cache_run(gate, root, cache, "--scanner", "pip-audit")
    assert found.findings(category="dependency", path="more.txt"), found.output


def test_a_manifest_over_the_size_limit_is_keyed_by_its_content(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    """The audits read manifests up to their own limit, beyond the policy's file size
    limit: the key must still change with the content."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"extends: {OFFLINE_POLICY}\nmax_file_bytes: 1024\n")
    padding = "# " + "x" * 2000 + "\n"
    root = make_tree(tmp_path / "repo", {"requirements.txt": "pyyaml==6.0.1\n" + padding})
    cache = tmp_path / "cache"
    args = ("--scanner", "pip-audit", "--policy", str(policy))
    assert cache_run(gate, root, cache, *args).code == 0
    (root / "requirements.txt").write_text("pyyaml==5.3.1\n" + padding)
    changed = cache_run(gate, root, cache, *args)
    assert changed.code == 1 and changed.findings(category="dependency"), changed.output


YARN_LOCK = """\
# yarn lockfile v1


lib-h@^1.0.0:
  version "1.0.0"
  resolved "https://registry.yarnpkg.com/lib-h/-/lib-h-1.0.0.tgz#abc"
  integrity sha512-AAAA
"""


def test_the_package_json_beside_a_lockfile_is_in_the_key(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    """yarn.lock does not say which packages are for development; package.json does, and
    the policy fails development-only packages at another threshold."""
    db = tmp_path / "npm-db"
    db.mkdir()
    for record in NPM_RECORDS:
        (db / f"{record['id']}.json").write_text(json.dumps(record))
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"extends: {OFFLINE_POLICY}\ncategories:\n  dependency:\n"
                      "    dev_fail: {severity: critical}\n")
    manifest = {"name": "svc", "version": "1.0.0", "devDependencies": {"lib-h": "^1.0.0"}}
    root = make_tree(tmp_path / "repo", {
        "svc/yarn.lock": YARN_LOCK, "svc/package.json": json.dumps(manifest),
    })
    cache = tmp_path / "cache"
    args = ("--scanner", "osv", "--advisories", str(db), "--policy", str(policy))
    dev = cache_run(gate, root, cache, *args)
    assert dev.code == 0 and dev.findings(category="dependency"), dev.output
    manifest["dependencies"] = manifest.pop("devDependencies")
    (root / "svc/package.json").write_text(json.dumps(manifest))
    prod = cache_run(gate, root, cache, *args)
    assert prod.code == 1, prod.output


# The files under the scanned root that the code running on this thread opened, while on.
_opened: set[str] | None = None
_opened_root: Path | None = None
_hook_lock = threading.Lock()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "open" or _opened is None or _opened_root is None or not args:
        return
    target = args[0]
    if isinstance(target, int) or target is None:
        return
    try:
        path = Path(os.fsdecode(target)).resolve()
        rel = path.relative_to(_opened_root)
    except (ValueError, OSError, TypeError):
        return
    if path.is_file():
        with _hook_lock:
            _opened.add(rel.as_posix())


_hooked = False


@contextmanager
def recording(root: Path) -> Iterator[set[str]]:
    """Every file under ``root`` opened in this process (by any thread) meanwhile."""
    global _opened, _opened_root, _hooked
    if not _hooked:
        sys.addaudithook(_audit)
        _hooked = True
    _opened, _opened_root = set(), root.resolve()
    try:
        yield _opened
    finally:
        _opened, _opened_root = None, None


CLASS_TREE: dict[str, str | bytes] = {
    "requirements.txt": "-r common/deps.txt\n-c constraints/pins.txt\n",
    "common/deps.txt": "pyyaml==5.3.1\n",
    "constraints/pins.txt": "jinja2==2.10\n",
    "pyproject.toml": '[project]\nname = "x"\nversion = "1"\ndependencies = ["flask==0.12"]\n',
    # setuptools reads these dependencies from a file of any name
    "lib/pyproject.toml": '[project]\nname = "lib"\nversion = "1"\ndynamic = ["dependencies"]\n'
                          '[tool.setuptools.dynamic]\n'
                          'dependencies = {file = ["reqs/base.in"]}\n',
    "lib/reqs/base.in": "requests==2.19.0\n",
    "web/package-lock.json": json.dumps({
        "name": "web", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
        "packages": {"": {"name": "web", "version": "1.0.0", "dependencies": {"lib-h": "1"}},
                     "node_modules/lib-h": {"version": "1.0.0", "license": "MIT"},
                     "node_modules/lib-n": {"version": "2.0.0"}},
    }),
    # a licence the lockfile does not record is read from the installed package
    "web/node_modules/lib-n/package.json": json.dumps(
        {"name": "lib-n", "version": "2.0.0", "license": "ISC"}),
    "web/package.json": json.dumps({"name": "web", "dependencies": {"lib-h": "1"}}),
    "ui/yarn.lock": YARN_LOCK,
    "ui/package.json": json.dumps({"name": "ui", "devDependencies": {"lib-h": "^1.0.0"}}),
    "tools/package.json": json.dumps({"name": "tools", "dependencies": {"lib-h": "1"}}),
    "Dockerfile": "FROM alpine:3.20.3\nUSER app\n",
    ".github/workflows/ci.yml": "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
                                "    steps:\n      - run: echo hi\n",
    "app/main.py": WEAK_HASH,
    "web/index.js": "module.exports = (x) => eval(x);\n",
}


def test_every_file_a_scanner_reads_is_in_its_cache_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The class, not the instances: each cacheable scanner, run in this process on a tree
    with includes, constraints and lockfiles beside their package.json, opens no file of
    the tree that its key leaves out (a file-local scanner: none but its targets). The
    licence check is cacheable only with registry lookups off (an online answer is never
    reused)."""
    monkeypatch.setenv("POLICY_GATE_PYPI_URL", "off")
    root = make_tree(tmp_path / "repo", CLASS_TREE)
    policy = load_policy(str(OFFLINE_POLICY))
    fileset = walk(root, policy.exclude)
    index = AdvisoryIndex.load(EXAMPLE_ADVISORIES)
    checked: list[str] = []
    with serve_advisories(index) as url:
        for name, scanner in registry().items():
            settings = policy.scanners[name]
            work = tmp_path / "work" / name
            work.mkdir(parents=True)
            ctx = ScanContext(
                fileset=fileset,
                settings=replace(settings, options={"max_file_bytes": policy.max_file_bytes,
                                                    **settings.options}),
                osv_url=url, advisory_db=index, licenses=policy.licenses, work_dir=work,
            )
            if not settings.enabled or not scanner.cacheable(ctx):
                continue
            with recording(root) as opened:
                scanner.scan(ctx)
            keyed = set(scanner.targets(fileset))
            if not scanner.file_local:
                keyed |= set(scanner.cache_files(ctx))
            assert opened <= keyed, (name, sorted(opened - keyed))
            checked.append(name)
    assert {"pip-audit", "osv", "licenses", "dockerfile", "data-protection"} <= set(checked)


# --- the action ------------------------------------------------------------------------------


def test_the_action_refuses_a_cache_in_the_workspace(tmp_path: Path) -> None:
    ws = tmp_path / "workspace"
    (ws / "src").mkdir(parents=True)
    for value in (".policy-gate-cache", "src/../cache", str(ws / "cache")):
        with pytest.raises(ActionError, match=r"inside the workspace.*runner\.temp"):
            ae.plan(gh(cache_dir=value), ws, CAPS)


def test_the_action_maps_the_runner_temp_home_into_its_container(tmp_path: Path) -> None:
    ws = tmp_path / "workspace"
    ws.mkdir()
    env = {"RUNNER_TEMP": "/home/runner/work/_temp", "HOME": "/github/home"}
    host = gh(cache_dir="/home/runner/work/_temp/_github_home/policy-gate-cache")
    argv = ae.plan({**env, **host}, ws, CAPS).argv
    assert argv[argv.index("--cache-dir") + 1] == "/github/home/policy-gate-cache"
    inside = gh(cache_dir="/github/home/pg")
    argv = ae.plan({**env, **inside}, ws, CAPS).argv
    assert argv[argv.index("--cache-dir") + 1] == "/github/home/pg"
    for value in ("/etc/policy-gate", "/github/home", "/github/home/../../etc/x",
                  "/home/runner/work/_temp/elsewhere"):
        with pytest.raises(ActionError, match=r"runner\.temp"):
            ae.plan({**env, **gh(cache_dir=value)}, ws, CAPS)
