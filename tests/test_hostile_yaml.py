"""Hostile YAML (issue 8): documents built to hurt a YAML reader - an alias bomb, tens of
megabytes, 10,000 levels of nesting, keys that are not strings, duplicate keys, Python tags,
bytes that are not UTF-8, a NUL - are refused with exit 2, a message naming the file, and
fast, on every path the gate reads its own YAML from: `validate` of a policy and of a
waivers file, `scan --policy`, a policy that `extends` the file, and the waivers file in the
scanned tree; the JSON baseline likewise through `scan --baseline`. The workflow check and
the yarn.lock reader (YAML from the scanned tree) refuse the same documents in-process.

No tag is ever constructed: the Python tags would create a marker file (a control test
shows that an unsafe loader does create it) and the marker never appears.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from policy_gate.base import yamlsafe
from policy_gate.dependencies import npm
from policy_gate.policy import baseline as bl
from policy_gate.scanners.workflows import load_workflow
from tests.conftest import EXAMPLE_ADVISORIES, OFFLINE_POLICY, cpu_seconds

# CPU-time bound per refusal, including the interpreter's start (typically 0.5-1 s); CPU
# time, not wall time, so that a loaded machine cannot fail a test.
BOUND = 5.0
IN_PROCESS_BOUND = 2.0
HUGE = 30 * 1024 * 1024


def billion_laughs() -> bytes:
    """10**9 'lol's from nine anchors of ten aliases each."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    return ("\n".join(lines) + "\n").encode()


def hostile(name: str, marker: Path) -> bytes:
    """The document ``name``; its Python tags, if constructed, would create ``marker``."""
    opener = f"!!python/object/apply:builtins.open [{marker}, w]"
    system = f"!!python/object/apply:os.system ['touch {marker}']"
    documents: dict[str, Callable[[], bytes]] = {
        "alias-bomb": billion_laughs,
        "huge": lambda: b"version: 1\n" + b"# a comment line\n" * (HUGE // 17),
        "deep-brackets": lambda: b"exclude: " + b"[" * 10_000 + b"]" * 10_000 + b"\n",
        "deep-braces": lambda: b"version: " + b"{a: " * 10_000 + b"b" + b"}" * 10_000 + b"\n",
        "deep-blocks": lambda: "".join("  " * i + f"k{i}:\n" for i in range(500)).encode(),
        "int-key": lambda: b"version: 1\n1: one\n",
        "bool-key": lambda: b"version: 1\ntrue: yes\n",
        "null-key": lambda: b"version: 1\n~: nothing\n",
        "list-key": lambda: b"version: 1\n? [a, b]\n: c\n",
        "date-key": lambda: b"version: 1\n2026-01-01: new year\n",
        "duplicate-key": lambda: b"version: 1\nversion: 1\n",
        "python-tag-system": lambda: f"version: {system}\n".encode(),
        "python-tag-open": lambda: f"version: {opener}\n".encode(),
        "python-tag-document": lambda: f"{opener}\n".encode(),
        "python-tag-in-a-list": lambda: f"waivers:\n  - {opener}\n".encode(),
        "python-tag-key": lambda: f"? {system}\n: x\n".encode(),
        "python-tag-behind-an-alias": lambda: f"name: &x {opener}\nversion: *x\n".encode(),
        "python-name": lambda: b"version: !!python/name:os.system\n",
        "not-utf8": lambda: b"version: 1\nname: \xff\xfe\n",
        "utf16": lambda: "version: 1\n".encode("utf-16"),
        "nul": lambda: b"version: 1\nname: a\x00b\n",
    }
    return documents[name]()


YAML_DOCUMENTS = (
    "alias-bomb", "huge", "deep-brackets", "deep-braces", "deep-blocks", "int-key", "bool-key",
    "null-key", "list-key", "date-key", "duplicate-key", "python-tag-system",
    "python-tag-open", "python-tag-document", "python-tag-in-a-list", "python-tag-key",
    "python-tag-behind-an-alias", "python-name", "not-utf8", "utf16", "nul",
)
# The scan paths share the loader with `validate`: one of each kind of attack.
SCAN_DOCUMENTS = ("alias-bomb", "huge", "deep-brackets", "list-key", "duplicate-key",
                  "python-tag-open", "not-utf8", "nul")
TAGS = tuple(d for d in YAML_DOCUMENTS if d.startswith("python"))


@dataclass
class Run:
    code: int
    output: str
    seconds: float  # CPU time of the process (see cpu_seconds)


def cli(*args: str) -> Run:
    """`python -m policy_gate ...` as a user runs it, with the CPU time it took from the
    interpreter's start."""
    started = cpu_seconds()
    proc = subprocess.run(
        [sys.executable, "-m", "policy_gate", *args], capture_output=True, text=True,
        env={**os.environ, "NO_COLOR": "1"}, timeout=120, check=False,
    )
    return Run(proc.returncode, proc.stdout + proc.stderr, cpu_seconds() - started)


def assert_refused(run: Run, names: str, marker: Path) -> None:
    """Exit 2 with a message naming the file, cheaply, no traceback, no constructed tag."""
    assert run.code == 2, run.output[-2000:]
    assert names in run.output, run.output[-2000:]
    assert "Traceback" not in run.output and "internal error" not in run.output
    assert run.seconds < BOUND, f"took {run.seconds:.1f} CPU-s"
    assert not marker.exists(), "a YAML tag was constructed"


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "constructed-a-tag"


@pytest.mark.parametrize("name", YAML_DOCUMENTS)
@pytest.mark.parametrize("what", ["policy", "waivers"])
def test_validate_refuses_hostile_yaml(tmp_path: Path, marker: Path, what: str,
                                       name: str) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(hostile(name, marker))
    args = ("validate", str(path)) if what == "policy" else ("validate", "--waivers", str(path))
    run = cli(*args)
    assert_refused(run, str(path), marker)
    if name in TAGS:
        assert "YAML tag '!!python/" in run.output  # refused as such, not silently dropped


@pytest.mark.parametrize("name", SCAN_DOCUMENTS)
@pytest.mark.parametrize("via", ["scan --policy", "extends", "waivers in the tree"])
def test_scan_refuses_hostile_yaml_before_scanning(tmp_path: Path, marker: Path, via: str,
                                                   name: str) -> None:
    root = tmp_path / "repo"
    (root / ".policy-gate").mkdir(parents=True)
    (root / "app.py").write_text("print('hello')\n")
    bad = tmp_path / "hostile.yaml"
    bad.write_bytes(hostile(name, marker))
    policy, names = str(OFFLINE_POLICY), str(bad)
    if via == "scan --policy":
        policy = str(bad)
    elif via == "extends":
        policy = str(tmp_path / "policy.yaml")
        Path(policy).write_text(f"extends: [{OFFLINE_POLICY}, hostile.yaml]\n")
    else:
        (root / ".policy-gate/waivers.yaml").write_bytes(bad.read_bytes())
        names = ".policy-gate/waivers.yaml"
    run = cli("scan", str(root), "--policy", policy, "--advisories", str(EXAMPLE_ADVISORIES))
    assert_refused(run, names, marker)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_policy_file_is_refused_after_its_first_mebibyte() -> None:
    run = cli("validate", "/dev/zero")
    assert run.code == 2 and "/dev/zero" in run.output
    assert f"larger than {yamlsafe.MAX_BYTES} bytes" in run.output
    assert run.seconds < BOUND


def hostile_baseline(name: str) -> bytes:
    """A baseline (JSON) built to hurt its reader, as a pull request could commit one."""
    documents: dict[str, Callable[[], bytes]] = {
        "deep-brackets": lambda: b"[" * 100_000,
        "deep-braces": lambda: b'{"a": ' * 100_000,
        "larger-than-allowed": lambda: b"{" + b" " * bl.MAX_BYTES + b"}",
        "tens-of-megabytes-of-entries": lambda: (
            b'{"version": 1, "entries": [' + b'{"rule": "x"},' * 2_000_000 + b"{}]}"),
        "duplicate-key": lambda: b'{"version": 1, "version": 1}',
        "huge-number": lambda: b'{"version": ' + b"9" * 5000 + b"}",
        "not-utf8": lambda: b'{"version": 1, "about": "\xff"}',
        "nul": lambda: b'{"version": 1}\x00',
        "yaml-alias-bomb": billion_laughs,
    }
    return documents[name]()


@pytest.mark.parametrize("name", ["deep-brackets", "deep-braces", "larger-than-allowed",
                                  "tens-of-megabytes-of-entries", "duplicate-key",
                                  "huge-number", "not-utf8", "nul", "yaml-alias-bomb"])
def test_scan_refuses_a_hostile_baseline(tmp_path: Path, marker: Path, name: str) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "app.py").write_text("print('hello')\n")
    path = tmp_path / "baseline.json"
    path.write_bytes(hostile_baseline(name))
    run = cli("scan", str(root), "--policy", str(OFFLINE_POLICY), "--advisories",
              str(EXAMPLE_ADVISORIES), "--baseline", str(path))
    assert_refused(run, str(path), marker)
    assert "invalid baseline" in run.output


def test_a_baseline_of_many_small_mistakes_is_refused_in_linear_time() -> None:
    """100,000 empty entries took 58 s (a newline count per problem, every problem kept);
    now the problems are counted up to a limit and only those shown are located."""
    data = b'{"version": 1, "entries": [' + b"{}," * 100_000 + b"{}]}"
    started = cpu_seconds()
    with pytest.raises(bl.BaselineError) as caught:
        bl.loads(data, "baseline.json")
    assert cpu_seconds() - started < IN_PROCESS_BOUND
    problems = caught.value.problems
    assert len(problems) == bl.MAX_PROBLEMS + 1
    assert problems[0].line == 1 and problems[0].where == "created"
    more = bl.MAX_COUNTED - bl.MAX_PROBLEMS
    assert problems[-1].message == f"... and at least {more} more problems"


@pytest.mark.parametrize("name", YAML_DOCUMENTS)
def test_the_workflow_check_refuses_hostile_yaml(marker: Path, name: str) -> None:
    """The workflows scanner reads the tree's workflows with the same reader (YAML 1.2
    booleans): each document becomes an unscanned finding, never a crash or a tag."""
    started = cpu_seconds()
    with pytest.raises(yamlsafe.YamlProblem) as caught:
        load_workflow(hostile(name, marker))
    assert caught.value.message
    assert cpu_seconds() - started < IN_PROCESS_BOUND
    assert not marker.exists()


BERRY_HEADER = b"__metadata:\n  version: 6\n"


@pytest.mark.parametrize("name", [d for d in YAML_DOCUMENTS if d not in ("int-key", "bool-key",
                                                                     "null-key", "date-key")])
def test_yarn_berry_lockfile_refuses_hostile_yaml(tmp_path: Path, marker: Path,
                                                  name: str) -> None:
    """yarn.lock v2+ is YAML from the scanned tree: read like a policy, with a size and
    value budget fit for lockfiles; a hostile one is a LockfileError (an unscanned
    finding), fast, and nothing is constructed."""
    (tmp_path / "yarn.lock").write_bytes(BERRY_HEADER + hostile(name, marker))
    started = cpu_seconds()
    with pytest.raises(npm.LockfileError) as caught:
        npm.parse_lockfile(tmp_path, "yarn.lock")
    assert caught.value.path == "yarn.lock" and caught.value.reason
    assert cpu_seconds() - started < IN_PROCESS_BOUND
    assert not marker.exists()


def test_yarn_berry_alias_bomb_in_dependencies_is_refused(tmp_path: Path) -> None:
    """safe_load kept the bomb's shared lists; turning each dependency into a string then
    built 10**9 'lol's. The value budget refuses it while reading."""
    bomb = billion_laughs().decode().replace("\n", "\n  ")
    (tmp_path / "yarn.lock").write_text(
        "__metadata:\n  version: 6\n\n'a@npm:^1':\n  version: 1.0.0\n"
        "  resolution: a@npm:1.0.0\n  " + bomb + "dependencies: {b: *a9}\n"
    )
    started = cpu_seconds()
    with pytest.raises(npm.LockfileError, match="alias bomb"):
        npm.parse_lockfile(tmp_path, "yarn.lock")
    assert cpu_seconds() - started < IN_PROCESS_BOUND


@pytest.mark.parametrize("name", ["int-key", "bool-key", "null-key", "date-key"])
def test_yarn_berry_reads_every_scalar_as_text_as_yarn_does(tmp_path: Path,
                                                            marker: Path, name: str) -> None:
    """yarn reads its lockfile with YAML's failsafe schema: a key like `1`, `true` or a
    date is text there, so such an entry is judged as an entry (here: not a mapping)."""
    (tmp_path / "yarn.lock").write_bytes(BERRY_HEADER + hostile(name, marker))
    with pytest.raises(npm.LockfileError, match="is not a mapping"):
        npm.parse_lockfile(tmp_path, "yarn.lock")


@pytest.mark.parametrize("name", ["python-tag-system", "python-tag-open"])
def test_control_an_unsafe_loader_does_construct_the_tags(tmp_path: Path, marker: Path,
                                                         name: str) -> None:
    """Without this the marker tests above could pass for the wrong reason."""
    yaml.unsafe_load(hostile(name, marker).decode())
    assert marker.exists()


def test_validate_refuses_an_endless_waivers_file_fast() -> None:
    """`policy-gate validate --waivers /dev/zero` reads no more than a scan would."""
    started = cpu_seconds()
    done = subprocess.run(
        [sys.executable, "-m", "policy_gate", "validate", "--waivers", "/dev/zero"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "/dev/zero" in done.stderr and "Traceback" not in done.stderr
    assert cpu_seconds() - started < 10
