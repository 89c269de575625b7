"""Baselines against the real scanners (bandit, semgrep, detect-secrets) on trees built per
test: what survives ordinary editing stays matched, what is genuinely new does not. Every
scan runs those three only (``SCANNERS``): they report every planted flaw, and the others
would cost a quarter more per scan for nothing these tests look at.

Fake credentials are assembled at run time so this file holds none in scannable form.
"""

from __future__ import annotations

import itertools
import json
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_gate.findings import SECRET, Finding
from policy_gate.policy import baseline as bl
from policy_gate.policy.loader import Problem, load_policy
from policy_gate.policy.model import Policy
from policy_gate.runner import scan
from tests.conftest import EXAMPLE_ADVISORIES, WITH_DETECT_SECRETS, make_tree
from tests.fake_pypi import FakePyPI

AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
_RNG = random.Random(29)  # a fixed seed: the same fakes every run, none committed
OTHER_AWS_KEY = "AKIA" + "".join(_RNG.choices(string.ascii_uppercase + "234567", k=16))
PRIVATE_KEY_BODY = "MIIEow" + "IBAAKCAQEA" + "".join(
    _RNG.choices(string.ascii_letters + string.digits + "+/", k=36))

SHELL = "subprocess.call(cmd, shell=True)"
APP_PY = f"""\
import subprocess

import yaml


def run(cmd):
    return {SHELL}


def parse(text):
    return yaml.load(text)
"""
APP_JS = """\
function handle(userInput) {
  return eval(userInput);
}

module.exports = { handle };
"""
SETTINGS_PY = f'REGION = "eu-west-1"\nAWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'
ID_RSA = f"-----BEGIN RSA PRIVATE KEY-----\n{PRIVATE_KEY_BODY}\n-----END RSA PRIVATE KEY-----\n"
BASE: dict[str, str] = {
    "src/app.py": APP_PY,
    "web/app.js": APP_JS,
    "config/settings.py": SETTINGS_PY,
    "keys/id_rsa": ID_RSA,
}

# The flaws planted above, by (path in BASE, a qualified rule among the finding's sources).
SHELL_FLAW = ("src/app.py", "bandit:B602")
YAML_FLAW = ("src/app.py", "semgrep:py-yaml-unsafe-load")
EVAL_FLAW = ("web/app.js", "semgrep:js-eval-non-literal")
AWS_FLAW = ("config/settings.py", "detect-secrets:aws-access-key")
KEY_FLAW = ("keys/id_rsa", "detect-secrets:private-key")
PLANTED = (SHELL_FLAW, YAML_FLAW, EVAL_FLAW, AWS_FLAW, KEY_FLAW)

SCANNERS = ["bandit", "semgrep", "detect-secrets"]

_trees = itertools.count()


def scan_tree(base_dir: Path, policy: Policy, files: dict[str, str]) -> list[Finding]:
    """A full real scan of a fresh tree (never reused: a renamed file must be gone)."""
    root = make_tree(base_dir / f"tree{next(_trees)}", dict[str, str | bytes](files))
    result = scan(root, policy, only=SCANNERS, advisories=str(EXAMPLE_ADVISORIES))
    broken = [(r.name, r.reason) for r in result.runs if r.status not in ("ok", "disabled")]
    assert not broken, broken
    return result.findings


def one(findings: list[Finding], path: str, rule: str) -> Finding:
    hits = [f for f in findings if f.path == path and rule in {s.qualified_rule for s in f.sources}]
    assert len(hits) == 1, (path, rule, [(f.location, f.qualified_rule) for f in findings])
    return hits[0]


@dataclass
class Base:
    policy: Policy
    findings: list[Finding]
    baseline: bl.Baseline
    dir: Path

    def rescan(self, files: dict[str, str]) -> list[Finding]:
        return scan_tree(self.dir, self.policy, files)

    def new(self, findings: list[Finding]) -> list[Finding]:
        matched = bl.match(self.baseline, findings)
        return [f for f in findings if f.fingerprint not in matched]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, _pypi_server: FakePyPI) -> Iterator[Base]:
    """One real scan of BASE and its baseline, shared by the tests of this module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POLICY_GATE_PYPI_URL", _pypi_server.url)
        policy = load_policy(WITH_DETECT_SECRETS)  # its flaws are detect-secrets' results
        work = tmp_path_factory.mktemp("baseline")
        findings = scan_tree(work, policy, BASE)
        baseline = bl.create(findings, policy_sha256=policy.sha256, created="2025-01-31T12:00:00Z")
        yield Base(policy, findings, baseline, work)


def entry_for(b: Base, path: str, rule: str) -> bl.BaselineEntry:
    return next(
        e for e in b.baseline.entries if e.fingerprint == one(b.findings, path, rule).fingerprint
    )


# --- 1. unchanged -----------------------------------------------------------------------


def test_baseline_records_every_finding_of_the_tree(base: Base) -> None:
    for path, rule in PLANTED:
        one(base.findings, path, rule)  # the scanners did see what was planted
    assert len(base.baseline.entries) == len(base.findings)
    entry = entry_for(base, *SHELL_FLAW)
    finding = one(base.findings, *SHELL_FLAW)
    assert entry == bl.BaselineEntry(
        fingerprint=finding.fingerprint,
        match_key=bl.match_key(finding),
        category="sast",
        rule=finding.qualified_rule,
        path="src/app.py",
        line=finding.start_line,
        severity=finding.severity.label if finding.severity else None,
        title=finding.title,
        ids=finding.ids,
    )
    assert "CWE-78" in entry.ids
    assert base.baseline.policy_sha256 == base.policy.sha256


def test_rescan_of_unchanged_tree_matches_every_finding(base: Base) -> None:
    again = base.rescan(BASE)
    matched = bl.match(base.baseline, again)
    assert {f.fingerprint for f in again} == set(matched)
    assert all(matched[f.fingerprint].fingerprint == f.fingerprint for f in again)
    assert bl.unmatched_entries(base.baseline, matched) == ()


# --- 2, 3. edits around a flaw ------------------------------------------------------------


def test_lines_inserted_above_flaws_still_match(base: Base) -> None:
    files = {
        **BASE,
        "src/app.py": '"""Service helpers."""\n\nimport os\n\nHOME = os.environ.get("HOME")\n\n'
        + APP_PY,
        "web/app.js": "'use strict';\n\nconst LIMIT = 10;\n\n" + APP_JS,
        "config/settings.py": "# deployment settings\n\nDEBUG = False\n" + SETTINGS_PY,
    }
    again = base.rescan(files)
    assert base.new(again) == []
    matched = bl.match(base.baseline, again)
    for path, rule in (SHELL_FLAW, YAML_FLAW, EVAL_FLAW, AWS_FLAW):
        moved = one(again, path, rule)
        entry = matched[moved.fingerprint]
        assert entry.fingerprint == moved.fingerprint  # exact: the fingerprint has no line
        assert moved.start_line is not None and entry.line is not None
        assert moved.start_line > entry.line


def test_unrelated_code_around_flaws_changes_still_matches(base: Base) -> None:
    app_py = f"""\
import subprocess

import yaml

RETRIES = 3


def add(a, b):
    \"\"\"A function that was not there before.\"\"\"
    return a + b


def run(cmd):
    attempts = RETRIES
    print("running", attempts)
    return {SHELL}
    # trailing remark


def parse(text):
    cleaned = text.strip()
    return yaml.load(text)


def after():
    return [n * 2 for n in range(RETRIES)]
"""
    app_js = """\
function twice(x) {
  return x * 2;
}

function handle(userInput) {
  const started = Date.now();
  return eval(userInput);
}

module.exports = { handle, twice };
"""
    again = base.rescan({**BASE, "src/app.py": app_py, "web/app.js": app_js})
    assert base.new(again) == []


# --- 4. moved files -----------------------------------------------------------------------


def test_file_moved_to_another_directory_unchanged_still_matches(base: Base) -> None:
    files = {
        "lib/core/app.py": APP_PY,
        "frontend/handlers/app.js": APP_JS,
        "deploy/prod/settings.py": SETTINGS_PY,
        "secrets/id_rsa": ID_RSA,
    }
    again = base.rescan(files)
    assert base.new(again) == []
    matched = bl.match(base.baseline, again)
    assert bl.unmatched_entries(base.baseline, matched) == ()
    moved = one(again, "lib/core/app.py", SHELL_FLAW[1])
    entry = matched[moved.fingerprint]
    # matched by match_key (pass 2): the fingerprint includes the path, so it changed
    assert entry.fingerprint != moved.fingerprint
    assert entry == entry_for(base, *SHELL_FLAW)
    assert matched[one(again, "deploy/prod/settings.py", AWS_FLAW[1]).fingerprint] == entry_for(
        base, *AWS_FLAW
    )


def test_file_renamed_under_another_name_still_matches(base: Base) -> None:
    files = {**BASE, "web/handler.js": APP_JS}
    del files["web/app.js"]
    again = base.rescan(files)
    assert base.new(again) == []
    renamed = one(again, "web/handler.js", EVAL_FLAW[1])
    assert bl.match(base.baseline, again)[renamed.fingerprint] == entry_for(base, *EVAL_FLAW)


# --- 5. copies of an old flaw -------------------------------------------------------------


def test_copy_of_a_flaw_in_another_file_is_new(base: Base) -> None:
    files = {
        **BASE,
        "src/tools.py": f"import subprocess\n\n\ndef run(cmd):\n    return {SHELL}\n",
        "web/other.js": APP_JS,
        "config/staging.py": SETTINGS_PY,
    }
    again = base.rescan(files)
    new = base.new(again)
    matched = bl.match(base.baseline, again)
    for path, rule in PLANTED:  # the originals keep their own entries, exactly
        original = one(again, path, rule)
        assert matched[original.fingerprint].fingerprint == original.fingerprint
    assert {f.path for f in new} == {"src/tools.py", "web/other.js", "config/staging.py"}
    assert one(new, "src/tools.py", SHELL_FLAW[1])
    assert one(new, "web/other.js", EVAL_FLAW[1])
    assert one(new, "config/staging.py", AWS_FLAW[1])
    assert bl.unmatched_entries(base.baseline, matched) == ()


def test_copy_of_a_flaw_in_a_new_file_is_new_in_diff_mode(base: Base) -> None:
    """In diff mode only the changed files are scanned, so the originals' entries go
    unclaimed; a copy in a file the change adds must not take them (their files were not
    touched: the flaws are still there). A file the change moves releases its entries."""
    added = {
        "src/tools.py": f"import subprocess\n\n\ndef run(cmd):\n    return {SHELL}\n",
        "web/other.js": APP_JS,
    }
    copies = base.rescan(added)  # what diff mode scans: the change's files only

    def everything(_f: Finding) -> bool:  # every line of an added file is new
        return True

    kept = bl.match(base.baseline, copies, everything, released=added.__contains__)
    assert kept == {}
    assert bl.match(base.baseline, copies, everything) != {}  # what let them through
    moved = {"web/app.js", *added}  # web/app.js renamed to web/other.js: its entry moves
    took = bl.match(base.baseline, copies, everything, released=moved.__contains__)
    assert {f.path for f in copies if f.fingerprint in took} == {"web/other.js"}


def test_copy_of_a_flaw_in_the_same_file_is_new(base: Base) -> None:
    files = {
        **BASE,
        "src/app.py": APP_PY + f"\n\ndef run_again(cmd):\n    return {SHELL}\n",
        "web/app.js": APP_JS + "\nfunction again(userInput) {\n  return eval(userInput);\n}\n",
    }
    again = base.rescan(files)
    new = base.new(again)
    assert len(new) == 2
    for path, rule in (SHELL_FLAW, EVAL_FLAW):
        original = entry_for(base, path, rule)
        copy = one(new, path, rule)
        assert copy.start_line is not None and original.line is not None
        assert copy.start_line > original.line  # the copy below is new, not the original
        assert bl.match_key(copy) == original.match_key  # ... though it is the same flaw


def test_moved_original_keeps_its_entry_over_a_copy_elsewhere(base: Base) -> None:
    """The moved file and an identical copy are both unmatched by fingerprint, at the same
    lines; the same file name decides which one the single entry belongs to, whatever
    order the findings come in (the copy's path even sorts first)."""
    files = {**BASE, "lib/app.py": APP_PY, "lib/a_copy.py": APP_PY}
    del files["src/app.py"]
    again = base.rescan(files)
    for findings in (again, list(reversed(again))):
        matched = bl.match(base.baseline, findings)
        for flaw in (SHELL_FLAW, YAML_FLAW):
            moved = one(again, "lib/app.py", flaw[1])
            copy = one(again, "lib/a_copy.py", flaw[1])
            assert moved.start_line == copy.start_line
            assert matched[moved.fingerprint] == entry_for(base, *flaw)
            assert copy.fingerprint not in matched
        assert {f.path for f in findings if f.fingerprint not in matched} == {"lib/a_copy.py"}


def test_moved_file_with_two_copies_pairs_each_with_the_nearest_entry(base: Base) -> None:
    twice = APP_PY + f"\n\ndef run_again(cmd):\n    return {SHELL}\n"
    before = base.rescan({"src/app.py": twice})
    own = bl.create(before, policy_sha256=base.policy.sha256, created="2025-01-31T12:00:00Z")
    after = base.rescan({"lib/app.py": "# moved\n" + twice})
    matched = bl.match(own, after)
    assert {f.fingerprint for f in after} == set(matched)
    shells = sorted(
        (f for f in after if SHELL_FLAW[1] in {s.qualified_rule for s in f.sources}),
        key=lambda f: f.start_line or 0,
    )
    assert len(shells) == 2
    for f in shells:  # each copy keeps the entry it had, one line further down
        assert f.start_line is not None
        assert matched[f.fingerprint].line == f.start_line - 1


# --- 6. the flaw itself changes -----------------------------------------------------------


def test_edited_flaw_is_new(base: Base) -> None:
    files = {
        **BASE,
        "src/app.py": APP_PY.replace(SHELL, 'subprocess.call(cmd + " --all", shell=True)'),
        "web/app.js": APP_JS.replace("eval(userInput)", "eval(userInput + suffix)"),
        "config/settings.py": SETTINGS_PY.replace(AWS_KEY, OTHER_AWS_KEY),
    }
    again = base.rescan(files)
    new = base.new(again)
    assert {(f.path, f.start_line) for f in new} == {
        (one(again, *SHELL_FLAW).path, one(again, *SHELL_FLAW).start_line),
        (one(again, *EVAL_FLAW).path, one(again, *EVAL_FLAW).start_line),
        (one(again, *AWS_FLAW).path, one(again, *AWS_FLAW).start_line),
    }
    stale = bl.unmatched_entries(base.baseline, bl.match(base.baseline, again))
    assert set(stale) == {entry_for(base, *f) for f in (SHELL_FLAW, EVAL_FLAW, AWS_FLAW)}


def test_match_is_pure_and_order_independent(base: Base) -> None:
    forward = bl.match(base.baseline, base.findings)
    assert bl.match(base.baseline, list(reversed(base.findings))) == forward
    with pytest.raises(ValueError, match="fingerprint"):
        bl.match(base.baseline, [replace(base.findings[0], fingerprint="")])


# --- 7. the file format -------------------------------------------------------------------


def test_round_trip(base: Base) -> None:
    text = bl.dumps(base.baseline)
    loaded = bl.loads(text, "baseline.json")
    assert loaded == base.baseline
    assert loaded.source == "baseline.json"
    assert bl.loads(text.encode(), "baseline.json") == base.baseline
    assert bl.dumps(loaded) == text  # byte-stable
    # entries are sorted: the order findings arrive in does not change the file
    shuffled = bl.create(
        list(reversed(base.findings)),
        policy_sha256=base.policy.sha256,
        created="2025-01-31T12:00:00Z",
    )
    assert bl.dumps(shuffled) == text
    doc = json.loads(text)
    assert doc["version"] == bl.BASELINE_VERSION
    assert "baseline" in doc["about"]
    assert bl.match(loaded, base.findings) == bl.match(base.baseline, base.findings)


def test_load_reads_a_file_and_refuses_an_oversize_one(base: Base, tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(bl.dumps(base.baseline))
    assert bl.load(path) == base.baseline
    big = tmp_path / "big.json"
    with big.open("wb") as fh:
        fh.truncate(bl.MAX_BYTES + 1)
    with pytest.raises(bl.BaselineError, match="larger than 64 MiB"):
        bl.load(big)
    with pytest.raises(bl.BaselineError, match="cannot read baseline"):
        bl.load(tmp_path / "missing.json")


def _doc(base: Base) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(bl.dumps(base.baseline))
    return loaded


_DELETE = object()  # as a value in _edit_entry: remove the key


def _edit_entry(base: Base, **changes: object) -> str:
    doc = _doc(base)
    entry = doc["entries"][0]
    for key, value in changes.items():
        if value is _DELETE:
            del entry[key]
        else:
            entry[key] = value
    return json.dumps(doc, indent=2)


def problems(data: str | bytes) -> list[Problem]:
    with pytest.raises(bl.BaselineError) as caught:
        bl.loads(data, "baseline.json")
    found = caught.value.problems
    assert found
    for p in found:
        assert p.file == "baseline.json" and p.message and p.hint
    return list(found)


def test_loads_rejects_invalid_json_with_line_and_column(base: Base) -> None:
    text = bl.dumps(base.baseline)
    broken = text.replace('"tool_version": ', '"tool_version" ', 1)
    [p] = problems(broken)
    expected_line = text[: text.index('"tool_version"')].count("\n") + 1
    assert (p.line, p.column is not None) == (expected_line, True)
    assert "not valid JSON" in p.message
    assert problems(b"\xff\xfe not utf-8")[0].message.startswith("not UTF-8")
    assert "nested too deeply" in problems("[" * 200_000)[0].message
    assert "expected a JSON object" in problems("[]")[0].message


@pytest.mark.parametrize("version", [2, 0, "1", True, None])
def test_loads_rejects_a_wrong_version(base: Base, version: object) -> None:
    doc = _doc(base)
    doc["version"] = version
    [p] = problems(json.dumps(doc))
    assert p.where == "version"
    if version == 2:
        assert "unsupported baseline version 2" in p.message and "upgrade" in p.hint


def test_loads_rejects_missing_version_and_top_level_fields(base: Base) -> None:
    doc = _doc(base)
    del doc["version"]
    assert [p.where for p in problems(json.dumps(doc))] == ["version"]
    doc = _doc(base)
    del doc["policy_sha256"]
    del doc["entries"]
    doc["extra"] = 1
    found = problems(json.dumps(doc))
    assert {(p.where, p.message) for p in found} == {
        ("extra", "unknown key"),
        ("policy_sha256", "required key is missing"),
        ("entries", "required key is missing"),
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("fingerprint", _DELETE, "required key is missing"),
        ("title", _DELETE, "required key is missing"),
        ("fingerprint", "Z" * 32, "32 lowercase hex digits"),
        ("fingerprint", "abc", "32 lowercase hex digits"),
        ("fingerprint", 12, "32 lowercase hex digits"),
        ("match_key", "x" * 32, "32 lowercase hex digits"),
        ("line", "7", "a line number"),
        ("line", 0, "a line number"),
        ("line", True, "a line number"),
        ("line", 1.0, "a line number"),
        ("severity", "urgent", "a severity or null"),
        ("ids", "CWE-78", "a list of strings"),
        ("ids", [78], "a list of strings"),
        ("path", "", "a non-empty string"),
        ("category", None, "a non-empty string"),
        ("rule", ["bandit:B602"], "a non-empty string"),
        ("title", None, "a string"),
        ("preview", "AK**LE", "unknown key"),
    ],
)
def test_loads_rejects_a_bad_entry_and_names_its_line(
    base: Base, field: str, value: object, message: str
) -> None:
    text = _edit_entry(base, **{field: value})
    [p] = problems(text)
    assert p.where == f"entries[0].{field}"
    assert message in p.message
    # the line of the entry's opening brace, so an editor jumps to it
    assert p.line == text[: text.index("{", text.index('"entries"'))].count("\n") + 1


def test_loads_rejects_bad_header_values_and_duplicates(base: Base) -> None:
    doc = _doc(base)
    doc["created"] = "2025-01-31T12:00:00+02:00"
    doc["policy_sha256"] = "ABC"
    entries = doc["entries"]
    entries.append(entries[0])
    found = problems(json.dumps(doc))
    assert [p.where for p in found] == [
        "created",
        "policy_sha256",
        f"entries[{len(entries) - 1}].fingerprint",
    ]
    assert "same fingerprint as entries[0]" in found[-1].message
    twice = bl.dumps(base.baseline).replace('"version": 1,', '"version": 1,\n  "version": 1,', 1)
    assert [(p.where, p.message) for p in problems(twice)] == [
        ("version", "key appears more than once")
    ]


def test_loads_refuses_oversize_data_before_parsing() -> None:
    [p] = problems(b" " * (bl.MAX_BYTES + 1))
    assert "larger than 64 MiB" in p.message
    assert p.line is None


def test_loads_caps_the_number_of_problems(base: Base) -> None:
    doc = _doc(base)
    doc["entries"] = [1] * 500
    found = problems(json.dumps(doc))
    assert len(found) == bl.MAX_PROBLEMS + 1
    assert found[-1].message == "... and 480 more problems"


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_loads_never_raises_anything_but_baseline_error(base: Base, data: st.DataObject) -> None:
    """Whatever a pull request does to the file, the gate reports it, never crashes."""
    text = bl.dumps(base.baseline)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 40)))
    insert = data.draw(st.text(alphabet='{}[]",:0123456789-.aeflnrstu\\ \n', max_size=12))
    mutated = text[:start] + insert + text[end:]
    try:
        bl.loads(mutated, "baseline.json")
    except bl.BaselineError as exc:
        assert exc.problems


# --- 8. no secrets ------------------------------------------------------------------------


def test_dumped_baseline_holds_no_secret_value(base: Base) -> None:
    text = bl.dumps(base.baseline)
    secrets = [f for f in base.findings if f.category == SECRET]
    assert {f.path for f in secrets} >= {"config/settings.py", "keys/id_rsa"}
    for raw in (AWS_KEY, PRIVATE_KEY_BODY, AWS_KEY[4:], PRIVATE_KEY_BODY[6:30]):
        assert raw not in text
    for f in secrets:
        assert f.secret is not None
        assert f.secret.preview not in text  # not even the masked preview
        assert f.secret.hash.removeprefix("sha1:") not in text
