"""The results cache (`--cache-dir`), with the real scanners on trees built per test."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from policy_gate.cache import (
    ResultsCache,
    decode_finding,
    decode_output,
    encode_finding,
    encode_output,
)
from policy_gate.findings import (
    Confidence,
    DependencyInfo,
    Finding,
    SecretInfo,
    Severity,
    Source,
)
from policy_gate.results import ScanOutput
from tests.conftest import GateRun, gate_process, make_tree, real_tool
from tests.fake_pypi import FakePyPI

AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
# Scanners whose answer is kept per file (the others per run).
FILE_LOCAL = ("bandit", "semgrep", "kingfisher", "data-protection", "dockerfile",
              "workflows")

FILES: dict[str, str | bytes] = {
    "app/main.py": "import subprocess\n\n\ndef run(cmd):\n"
                   "    return subprocess.call(cmd, shell=True)\n",
    "app/util.py": "import hashlib\n\n\ndef digest(data):\n"
                   "    return hashlib.md5(data).hexdigest()\n",
    "app/clean.py": "def add(a, b):\n    return a + b\n",
    "web/server.js": "const cp = require('child_process');\n"
                     "module.exports = (x) => cp.exec(x);\n",
    "config/settings.py": f"AWS_ACCESS_KEY_ID = '{AWS_KEY}'\n",
    "requirements.txt": "pyyaml==5.3.1\n",
    "assets/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00binary",
    "assets/icon.png": b"\x89PNG\r\n\x1a\n\x00\x01binary",
}


def comparable(run: GateRun) -> dict[str, Any]:
    """The parts of a report a cached run must reproduce exactly."""
    assert run.report is not None
    return {
        "verdict": run.report["verdict"],
        "summary": run.report["summary"],
        "findings": run.report["findings"],
        "scanners": [
            {**{k: s[k] for k in ("name", "status", "version", "files_scanned", "raw_results")},
             # the one note a cache adds: entries it did not believe
             "notes": [n for n in s["notes"] if "failed authentication" not in n]}
            for s in run.report["scanners"]
        ],
    }


@dataclass
class FirstRuns:
    """The runs every test that starts from FILES and an empty cache would make first."""
    cold: GateRun  # FILES into an empty cache
    warm: GateRun  # FILES again, from what the cold run left
    tree: Path
    cache: Path  # a copy of the cache as the cold run left it (its key file beside it)
    days: float  # from the cold run's start to the warm run's end


@pytest.fixture(scope="module")
def first_runs(tmp_path_factory: pytest.TempPathFactory,
               _pypi_server: FakePyPI) -> Iterator[FirstRuns]:
    """The cold and the warm run of FILES, made once for this module: the same two gate
    runs began several tests. A test continues from copies of the tree and of the cache
    (entries are keyed by a file's path in the tree and its content, not where it is)."""
    work = tmp_path_factory.mktemp("first-runs")
    tree, cache, snapshot = work / "repo", work / "cache", work / "after-cold" / "cache"
    make_tree(tree, FILES)
    env = {"POLICY_GATE_PYPI_URL": _pypi_server.url}
    started = time.time()
    cold = gate_process(work, tree, "--cache-dir", str(cache), env=env)
    copy_cache(cache, snapshot)
    warm = gate_process(work, tree, "--cache-dir", str(cache), env=env)
    assert cold.report is not None and warm.report is not None, cold.output + warm.output
    yield FirstRuns(cold, warm, tree, snapshot, (time.time() - started) / 86400)


def copy_cache(cache: Path, target: Path) -> None:
    """A cache directory and its key file beside it."""
    shutil.copytree(cache, target)
    key = cache.with_name(cache.name + ".key")
    if key.exists():
        shutil.copy2(key, target.with_name(target.name + ".key"))


@pytest.fixture
def after_cold(first_runs: FirstRuns, tmp_path: Path) -> tuple[Path, GateRun]:
    """This test's copy of FILES, with the cache (``cached``'s) as the cold run left it,
    and that run."""
    root = tmp_path / "repo"
    shutil.copytree(first_runs.tree, root)
    copy_cache(first_runs.cache, tmp_path / "cache")
    return root, first_runs.cold


@pytest.fixture
def cached(
    gate: Callable[..., GateRun], tmp_path: Path
) -> Callable[..., GateRun]:
    cache_dir = tmp_path / "cache"

    def run(root: Path, *args: str, **kwargs: Any) -> GateRun:
        result = gate(root, "--cache-dir", str(cache_dir), *args, **kwargs)
        assert result.report is not None, result.output
        return result

    return run


def test_unchanged_tree_is_answered_from_the_cache(first_runs: FirstRuns) -> None:
    cold, warm = first_runs.cold, first_runs.warm
    assert cold.code == 1
    assert cold.findings(rule_id="B602"), cold.output
    for name in FILE_LOCAL:
        use = cold.scanner(name)["cache"]
        assert use["run_from_cache"] is False and use["files_from_cache"] == 0
    assert comparable(warm) == comparable(cold)
    for name in (*FILE_LOCAL, "pip-audit", "osv"):
        use = warm.scanner(name)["cache"]
        assert use == {"files_from_cache": use["files_from_cache"], "files_scanned": 0,
                       "run_from_cache": True, "rejected": 0}, name
    # coverage reports describe other files, and licences looked up in a registry (the
    # fake PyPI here) depend on its answers: never cached (the registry's answers are)
    assert warm.scanner("coverage")["cache"] is None
    assert warm.scanner("licenses")["cache"] is None


def test_one_changed_file_is_the_only_one_rescanned(
    after_cold: tuple[Path, GateRun], cached: Callable[..., GateRun]
) -> None:
    root, cold = after_cold
    (root / "app/clean.py").write_text("import pickle\n\n\ndef load(b):\n"
                                       "    return pickle.loads(b)\n")
    changed = cached(root)
    for name in ("bandit", "semgrep", "kingfisher", "data-protection"):
        use = changed.scanner(name)["cache"]
        assert use["files_scanned"] == 1, (name, use)
        assert use["files_from_cache"] >= 1
        # the counts still cover the whole tree
        assert changed.scanner(name)["files_scanned"] == cold.scanner(name)["files_scanned"]
    assert changed.findings(path="app/clean.py", rule_id="B301") or changed.findings(
        path="app/clean.py", rule_id="B403"), changed.output
    before = {f["fingerprint"] for f in cold.report["findings"]}  # type: ignore[index]
    after = {f["fingerprint"] for f in changed.report["findings"]}  # type: ignore[index]
    assert before < after
    assert all(f["path"] == "app/clean.py" for f in changed.report["findings"]  # type: ignore[index]
               if f["fingerprint"] not in before)
    # the binary-file notes still count both binaries, one of them from the cache
    assert "2 binary files not scanned for secrets (NUL byte found)" in changed.scanner(
        "kingfisher")["notes"]


def test_settings_rules_and_tool_version_are_part_of_the_key(
    after_cold: tuple[Path, GateRun],
    cached: Callable[..., GateRun],
    tmp_path: Path,
    scanner_bin: Callable[[dict[str, str]], dict[str, str]],
) -> None:
    root, _ = after_cold
    # another file size limit: every scanner answers afresh
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"extends: {Path(__file__).parent / 'policies/offline-snapshot.yaml'}\n"
                      "max_file_bytes: 100000\n")
    limited = cached(root, "--policy", str(policy))
    assert limited.scanner("bandit")["cache"]["files_scanned"] == 4
    # another rule: semgrep answers afresh, the others come from the cache
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - id: no-add\n    pattern: a + b\n    message: addition\n"
        "    languages: [python]\n    severity: WARNING\n"
    )
    policy.write_text(policy.read_text() + f"scanners:\n  semgrep:\n    rules: ['{rules}']\n")
    extra = cached(root, "--policy", str(policy))
    assert extra.scanner("semgrep")["cache"]["files_scanned"] == 5
    assert extra.scanner("bandit")["cache"]["run_from_cache"] is True
    assert extra.findings(rule_id="no-add")
    # another bandit version (the real bandit behind a wrapper that reports another
    # version): bandit answers afresh
    env = scanner_bin({"bandit": f"""
        import os, sys
        if sys.argv[1:] == ["--version"]:
            print("bandit 99.0.0")
            sys.exit(0)
        os.execv({real_tool("bandit")!r}, ["bandit", *sys.argv[1:]])
    """})
    newer = cached(root, "--policy", str(policy), env=env)
    use = newer.scanner("bandit")
    assert use["version"] == "99.0.0"
    assert use["cache"]["files_scanned"] == 4


def test_corrupt_or_forged_entries_are_misses(
    after_cold: tuple[Path, GateRun],
    cached: Callable[..., GateRun],
    tmp_path: Path,
) -> None:
    root, cold = after_cold
    entries = [p for p in (tmp_path / "cache").rglob("*.json")]
    assert entries
    for i, path in enumerate(entries):
        data = path.read_bytes()
        if i % 2:
            path.write_bytes(data[: len(data) // 2])  # truncated
        else:
            # a forged answer: "no findings", under the header (and MAC) of the real one
            head, _, body = data.partition(b"\n")
            payload = json.loads(body)
            if isinstance(payload, dict) and "findings" in payload:
                payload["findings"] = []
            path.write_bytes(head + b"\n" + json.dumps(payload or "x").encode())
    again = cached(root)
    assert comparable(again) == comparable(cold)
    assert again.scanner("bandit")["cache"]["files_scanned"] == 4
    assert again.scanner("bandit")["cache"]["rejected"] >= 1


def test_a_failed_scan_is_never_cached(
    tree: Callable[[dict[str, str | bytes]], Path],
    cached: Callable[..., GateRun],
    scanner_bin: Callable[[dict[str, str]], dict[str, str]],
) -> None:
    root = tree(FILES)
    env = scanner_bin({"bandit": """
        import sys
        if sys.argv[1:] == ["--version"]:
            print("bandit 1.9.4")
            sys.exit(0)
        print("not json")
    """})
    broken = cached(root, env=env)
    assert broken.code == 3
    assert broken.scanner("bandit")["status"] == "failed"
    fixed = cached(root)
    assert fixed.scanner("bandit")["status"] == "ok"
    assert fixed.scanner("bandit")["cache"]["files_scanned"] == 4
    assert fixed.findings(rule_id="B602")


def test_a_missing_scanner_fails_even_with_a_warm_cache(
    after_cold: tuple[Path, GateRun],
    cached: Callable[..., GateRun],
    tmp_path: Path,
) -> None:
    root, _ = after_cold
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    run = cached(root, env={"POLICY_GATE_SCANNER_PATH": str(empty)})
    assert run.code == 3
    assert run.scanner("bandit")["status"] == "failed"
    assert "not installed" in run.scanner("bandit")["reason"]


def test_the_advisory_database_is_not_loaded_when_every_audit_is_cached(
    first_runs: FirstRuns,
) -> None:
    cold, warm = first_runs.cold, first_runs.warm
    assert warm.report is not None and cold.report is not None
    # what the reports say about the data is unchanged, though nothing loaded it. Its age
    # is counted to each run's own clock, in hundredths of a day: between the two runs it
    # may move on by the time that passed, and one rounding step (the base commit failed
    # here once, 1281.39 against 1281.4, the runs slowed by a loaded machine).
    cold_data, warm_data = cold.report["scan"]["advisories"], warm.report["scan"]["advisories"]
    assert without_ages(warm_data) == without_ages(cold_data)
    assert ages(warm_data) and len(ages(warm_data)) == len(ages(cold_data))
    for w, c in zip(ages(warm_data), ages(cold_data), strict=True):
        assert w is not None and c is not None, (w, c)  # a known newest record: an age
        assert 0 <= w - c <= first_runs.days + 0.01 + 1e-9, (w, c)
    assert warm.findings(category="dependency") == cold.findings(category="dependency")
    assert warm.scanner("pip-audit")["cache"]["run_from_cache"] is True


def without_ages(data: Any) -> Any:
    """A report's data with every `age_days` left out."""
    if isinstance(data, dict):
        return {k: without_ages(v) for k, v in data.items() if k != "age_days"}
    if isinstance(data, list):
        return [without_ages(v) for v in data]
    return data


def ages(data: Any) -> list[float | None]:
    """Every `age_days` in a report's data, in document order."""
    if isinstance(data, dict):
        own = [data["age_days"]] if "age_days" in data else []
        return own + [a for k, v in data.items() if k != "age_days" for a in ages(v)]
    if isinstance(data, list):
        return [a for v in data for a in ages(v)]
    return []


def test_entries_round_trip_every_field() -> None:
    finding = Finding(
        category="dependency",
        sources=(Source("pip-audit", "vulnerable-package", Severity.HIGH, Confidence.HIGH,
                        "m"), Source("osv", "vulnerable-package", None, None, "n")),
        path="requirements.txt",
        start_line=1,
        end_line=1,
        message="m",
        flaw_key="PYSEC-1",
        content_key="c",
        cwe=("CWE-20",),
        title="t",
        help_url="https://example.com",
        fix="upgrade",
        secret=SecretInfo("AWS Access Key", "AK**", "sha1:00"),
        dependency=DependencyInfo("PyPI", "pyyaml", "5.3.1", ("5.4",), "PYSEC-1", ("CVE-1",),
                                  None, True, False, ("a@1",), "5.4", "MIT"),
        fingerprint="f",
        commit="abc",
    )
    assert decode_finding(json.loads(json.dumps(encode_finding(finding)))) == finding
    output = ScanOutput([finding], "1.0", 2, 3, ["n"], unread=("x",), file_notes={"x": "y"},
                        examined={"npm packages": 4})
    assert decode_output(json.loads(json.dumps(encode_output(output)))) == output


def test_store_is_atomic_and_verified(tmp_path: Path) -> None:
    cache = ResultsCache(tmp_path / "c")
    cache.put("run", "ab" * 32, {"a": [1, 2]})
    assert cache.get("run", "ab" * 32) == {"a": [1, 2]}
    assert cache.get("run", "cd" * 32) is None
    assert not [p for p in (tmp_path / "c").rglob(".tmp-*")]
    # an entry filed under another key or kind is not an answer for this one
    src = next((tmp_path / "c").rglob("*.json"))
    forged = src.parent.parent / "ef" / ("ef" * 32 + ".json")
    forged.parent.mkdir(parents=True, exist_ok=True)
    forged.write_bytes(src.read_bytes())
    assert cache.get("run", "ef" * 32) is None
    other_kind = tmp_path / "c" / "v2" / "file" / "ab" / src.name
    other_kind.parent.mkdir(parents=True)
    other_kind.write_bytes(src.read_bytes())
    assert cache.get("file", "ab" * 32) is None
    # nor is what another instance (another key) wrote
    assert ResultsCache(tmp_path / "c").get("run", "ab" * 32) is None
    # a header of any shape is a miss, never an error
    _, _, body = src.read_bytes().partition(b"\n")
    for header in (b'{"scheme":"hmac-sha256","seal":"\xc3\xa9"}', b"[]", b"{", b"\xff"):
        src.write_bytes(header + b"\n" + body)
        assert cache.get("run", "ab" * 32) is None


def test_a_cache_inside_the_tree_is_refused(
    tree: Callable[[dict[str, str | bytes]], Path], gate: Callable[..., GateRun]
) -> None:
    """A pull request could commit entries there (tests/test_hostile_cache.py)."""
    root = tree(FILES)
    run = gate(root, "--cache-dir", str(root / ".policy-gate-cache"))
    assert run.code == 2 and run.report is None
    assert "inside the scanned tree" in run.stderr
    assert not (root / ".policy-gate-cache").exists()


def test_the_advisory_database_is_hashed_again_only_when_a_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import policy_gate.cache as cache_module
    from policy_gate.advisories.database import documents
    from policy_gate.base.digest import tree_digest

    db = tmp_path / "db"
    (db / "pkg").mkdir(parents=True)
    (db / "pkg" / "PYSEC-1.yaml").write_text("id: PYSEC-1\nmodified: 2024-01-01T00:00:00Z\n")
    (db / "pkg" / "PYSEC-2.yaml").write_text("id: PYSEC-2\nmodified: 2024-01-02T00:00:00Z\n")
    cache = ResultsCache(tmp_path / "c")
    first = cache.database_digest(db)
    assert first == tree_digest(documents(db))

    def unread(_root: Path) -> Any:
        raise AssertionError("the unchanged database was read again")

    with monkeypatch.context() as m:
        m.setattr(cache_module, "documents", unread)
        assert cache.database_digest(db) == first
    (db / "pkg" / "PYSEC-2.yaml").write_text("id: PYSEC-2\nmodified: 2024-01-03T00:00:00Z\n")
    changed = cache.database_digest(db)
    assert changed != first and changed == tree_digest(documents(db))
    (db / "pkg" / "PYSEC-3.yaml").write_text("id: PYSEC-3\n")
    assert cache.database_digest(db) == tree_digest(documents(db)) != changed
