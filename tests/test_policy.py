"""Policy loading and validation: a bad policy names file, line, what is wrong and what is
allowed (exit 2), and never silently weakens the gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from policy_gate.cli import cli
from policy_gate.findings import Confidence, Severity
from policy_gate.policy.loader import PolicyError, load_policy


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(PolicyError) as info:
        load_policy(write(tmp_path, text))
    return [str(p) for p in info.value.problems]


def test_builtin_mojaloop_policy_is_valid_and_cites_sources() -> None:
    policy = load_policy("builtin:mojaloop")
    assert policy.name == "mojaloop"
    assert policy.categories["dependency"].fail.severity == Severity.LOW  # M2 / M4a
    assert policy.categories["sast"].fail.severity == Severity.MEDIUM
    assert policy.categories["sast"].fail.confidence == Confidence.MEDIUM
    # every category cites what it derives from; a Mojaloop fact only where every finding
    # of the category is about it (sast, ci and unscanned reach M11, M9 and M4a through
    # their rules in the compliance catalogue: an SQL injection is not an M11 finding)
    by_rule = {"sast", "ci", "unscanned"}
    for name, cat in policy.categories.items():
        assert cat.sources, f"category {name} cites no source"
        cites_mojaloop = any(s.startswith("M") for s in cat.sources)
        assert cites_mojaloop == (name not in by_rule), name
    assert policy.inline_suppressions == "ignore"
    assert len(policy.sha256) == 64


def test_unknown_key_names_file_line_and_allowed_keys(tmp_path: Path) -> None:
    found = problems(tmp_path, "version: 1\ncategories:\n  sast:\n    fial: {severity: high}\n")
    assert len(found) == 1
    assert "policy.yaml:4:5" in found[0]
    assert "categories.sast.fial" in found[0]
    assert "unknown key 'fial'" in found[0]
    assert "allowed here: annotate, budgets, default_severity, dev_fail, fail" in found[0]


def test_bad_enum_lists_allowed_values(tmp_path: Path) -> None:
    found = problems(tmp_path, "categories:\n  secret:\n    fail:\n      severity: severe\n")
    assert "policy.yaml:4" in found[0]
    assert "'severe' is not allowed" in found[0]
    assert "critical, high, medium, low, info, none" in found[0]


def test_wrong_type(tmp_path: Path) -> None:
    found = problems(tmp_path, "scanners:\n  bandit:\n    timeout: soon\n")
    assert "policy.yaml:3" in found[0] and found[0].endswith(
        "scanners.bandit.timeout: expected a number of seconds, got a string ('soon') "
        "(e.g. timeout: 600)")


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    found = problems(tmp_path, "version: 1\nexclude: [a, b\nname: x\n")
    assert "YAML syntax error" in found[0]
    assert "policy.yaml:" in found[0]


def test_duplicate_keys_are_refused_not_last_wins(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "categories:\n  sast:\n    fail: {severity: low}\n    fail: {severity: none}\n",
    )
    assert "duplicate key 'fail'" in found[0] and ":4:" in found[0]


def test_unknown_scanner_in_rule_key(tmp_path: Path) -> None:
    found = problems(tmp_path, "rules:\n  'bandt:B101': {disable: true, reason: x}\n")
    assert "unknown scanner 'bandt'" in found[0]
    assert "known scanners: bandit, semgrep" in found[0]


def test_unknown_scanner_section(tmp_path: Path) -> None:
    found = problems(tmp_path, "scanners:\n  trivy: {enabled: true}\n")
    assert "unknown key 'trivy'" in found[0] and "bandit" in found[0]


def test_rule_change_needs_a_reason(tmp_path: Path) -> None:
    found = problems(tmp_path, "rules:\n  'bandit:B101': {disable: true}\n")
    assert "reason" in found[0] and "policy.yaml:2" in found[0]


@pytest.mark.parametrize("pattern", ["**", "*", "/**", "**/*"])
def test_exclude_everything_is_refused(tmp_path: Path, pattern: str) -> None:
    found = problems(tmp_path, f"exclude: ['{pattern}']\n")
    assert "would exclude every file" in found[0]


def test_pattern_escaping_the_tree_is_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, "exclude: ['../secrets']\n")
    assert "outside the scanned tree" in found[0]


def test_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    found = problems(tmp_path, "\n".join(lines) + "\n")
    assert "alias bomb" in found[0]


def test_non_mapping_policy(tmp_path: Path) -> None:
    found = problems(tmp_path, "- a\n- b\n")
    assert "must be a mapping" in found[0]


def test_extends_merges_and_tightens(tmp_path: Path) -> None:
    write(
        tmp_path,
        "name: org\nexclude: ['vendor/']\ncategories:\n  sast:\n    fail: {severity: high}\n",
        "org.yaml",
    )
    child = write(
        tmp_path,
        "extends: org.yaml\nname: repo\nexclude: ['gen/']\n"
        "categories:\n  sast:\n    fail: {severity: low}\n",
        "repo.yaml",
    )
    policy = load_policy(child)
    assert policy.name == "repo"
    assert policy.exclude == ("vendor/", "gen/")  # excludes accumulate
    assert policy.categories["sast"].fail.severity == Severity.LOW
    # unspecified keys come from the strict defaults, not from nothing
    assert policy.categories["secret"].fail.severity == Severity.LOW
    assert len(policy.files) == 2


def test_extends_builtin_and_cycles(tmp_path: Path) -> None:
    child = write(tmp_path, "extends: builtin:mojaloop\nname: svc\n")
    assert load_policy(child).categories["sast"].fail.severity == Severity.MEDIUM
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(PolicyError, match="extends itself"):
        load_policy(tmp_path / "a.yaml")
    with pytest.raises(PolicyError, match=r"c\.yaml:1:1: extends: 'builtin:nope' is not a "
                       r"built-in policy \(built-in policies: builtin:mojaloop\)"):
        load_policy(write(tmp_path, "extends: builtin:nope\n", "c.yaml"))


def test_problems_in_an_extended_file_name_that_file(tmp_path: Path) -> None:
    write(tmp_path, "name: org\nbogus: 1\n", "org.yaml")
    child = write(tmp_path, "extends: org.yaml\n", "repo.yaml")
    with pytest.raises(PolicyError) as info:
        load_policy(child)
    assert "org.yaml:2" in str(info.value)


def test_validate_command_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["validate", "builtin:mojaloop"])
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output
    bad = write(tmp_path, "version: 2\n")
    result = runner.invoke(cli, ["validate", str(bad)])
    assert result.exit_code == 2
    assert "policy.yaml:1" in result.output and "version" in result.output
    missing = runner.invoke(cli, ["validate", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "not found" in missing.output


def test_policy_file_in_repo_validates_against_shipped_schema() -> None:
    # The repository's policies/ folder and the packaged copy are the same files.
    root = Path(__file__).resolve().parents[1]
    for path in (root / "policies").glob("*.yaml"):
        load_policy(path)


def test_readme_policy_example_is_valid(tmp_path: Path) -> None:
    """The policy reference in the README is a real, valid policy."""
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = re.findall(r"```yaml\n(.*?)```", readme, re.S)[0]
    policy = load_policy(
        write(tmp_path, block.replace("$schema: ../policy_gate/policy/schema.json\n", ""))
    )
    assert policy.name == "my-service"
    assert policy.categories["sast"].budgets
