"""The GitHub Action entrypoint: INPUT_* environment → `policy-gate scan` argv (pure
functions), exit-code mapping and step outputs. The container test runs it for real."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from policy_gate import action_entrypoint as ae
from policy_gate.action_entrypoint import ActionError, CliCapabilities

CAPS = CliCapabilities(
    formats=frozenset({"json", "sarif", "junit", "markdown"}),
    scanners=frozenset({"bandit", "semgrep", "detect-secrets", "pip-audit", "safety"}),
    options=frozenset({"--policy", "--format", "--output", "--scanner", "--advisories",
                       "--osv-url", "--jobs", "--github", "--pr-comment", "--quiet",
                       "--cache-dir"}),
)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    (root / "src").mkdir(parents=True)
    (root / "advisories" / "vulns").mkdir(parents=True)
    (root / "policy.yaml").write_text("version: 1\nextends: builtin:mojaloop\n")
    return root


def gh(**inputs: str) -> dict[str, str]:
    """Inputs named exactly as the runner names them (hyphens kept)."""
    return {ae.input_env_name(k.replace("_", "-")): v for k, v in inputs.items()}


def argv(env: dict[str, str], ws: Path, caps: CliCapabilities = CAPS) -> list[str]:
    return ae.plan(env, ws, caps).argv


def test_env_names_follow_the_runner() -> None:
    assert ae.input_env_name("fail-on-violations") == "INPUT_FAIL-ON-VIOLATIONS"
    assert ae.input_env_name("output-dir") == "INPUT_OUTPUT-DIR"
    assert ae.input_env_name("my input") == "INPUT_MY_INPUT"
    assert ae.input_env_name("path") == "INPUT_PATH"


def test_defaults_when_nothing_is_set(ws: Path) -> None:
    assert argv({}, ws) == [
        "scan", ".", "--policy", "builtin:mojaloop",
        "--format", "sarif", "--output", "policy-gate-results/policy-gate.sarif",
        "--format", "json", "--output", "policy-gate-results/policy-gate.json",
    ]
    assert ae.plan({}, ws, CAPS).fail_on_violations is True


def test_empty_inputs_mean_the_default(ws: Path) -> None:
    # GitHub sets every declared input; an unset one without default arrives as "".
    env = gh(path="", policy="  ", formats="", scanners="", advisories="", osv_url="",
             diff_base="", jobs="", github_token="", pr_comment="", fail_on_violations="")
    assert argv(env, ws) == argv({}, ws)


def test_all_inputs_map_to_argv(ws: Path) -> None:
    env = gh(path="src", policy="policy.yaml", formats="sarif\njunit, markdown,json",
             output_dir="out/reports", scanners="bandit,\nsemgrep", advisories="advisories",
             osv_url="https://osv.internal.example/v1", jobs="4",
             cache_dir="/github/home/policy-gate-cache")
    env["GITHUB_ACTIONS"] = "true"
    assert argv(env, ws) == [
        "scan", "src", "--policy", "policy.yaml",
        "--format", "sarif", "--output", "out/reports/policy-gate.sarif",
        "--format", "junit", "--output", "out/reports/policy-gate.junit.xml",
        "--format", "markdown", "--output", "out/reports/policy-gate.md",
        "--format", "json", "--output", "out/reports/policy-gate.json",
        "--scanner", "bandit", "--scanner", "semgrep",
        "--advisories", "advisories", "--osv-url", "https://osv.internal.example/v1",
        "--jobs", "4", "--cache-dir", "/github/home/policy-gate-cache", "--github",
    ]


def test_underscore_spelling_is_accepted(ws: Path) -> None:
    env = {"INPUT_OUTPUT_DIR": "r", "INPUT_FAIL_ON_VIOLATIONS": "false"}
    action = ae.plan(env, ws, CAPS)
    assert "r/policy-gate.sarif" in action.argv
    assert action.fail_on_violations is False


def test_both_spellings_disagreeing_is_an_error(ws: Path) -> None:
    env = {"INPUT_OUTPUT-DIR": "a", "INPUT_OUTPUT_DIR": "b"}
    with pytest.raises(ActionError, match="twice"):
        ae.plan(env, ws, CAPS)
    assert ae.plan({"INPUT_OUTPUT-DIR": "a", "INPUT_OUTPUT_DIR": "a"}, ws, CAPS)


def test_duplicates_and_blanks_in_lists(ws: Path) -> None:
    assert ae.split_list(" sarif,,json\n\nsarif ,") == ["sarif", "json"]
    assert ae.split_list("") == []


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"formats": "sarif,html"},
         "unknown format.*'html'.*allowed: sarif, json, junit, markdown"),
        ({"formats": " , "}, "'formats' is empty"),
        ({"scanners": "bandit,trivy"}, "unknown scanner.*'trivy'"),
        ({"fail_on_violations": "no"}, "'fail-on-violations' must be true or false"),
        ({"fail_on_violations": "yes"}, "must be true or false"),
        ({"pr_comment": "1"}, "'pr-comment' must be true or false"),
        ({"jobs": "0"}, "'jobs' must be a whole number"),
        ({"jobs": "two"}, "'jobs' must be a whole number"),
        ({"jobs": "-1"}, "'jobs' must be a whole number"),
        ({"osv_url": "file:///etc/passwd"}, "'osv-url' must be an http"),
        ({"path": "missing"}, "'path'.*does not exist"),
        ({"path": "policy.yaml"}, "'path'.*not a directory"),
        ({"advisories": "nope"}, "'advisories'.*does not exist"),
        ({"policy": "nope.yaml"}, "'policy'.*does not exist"),
        ({"output_dir": "."}, "below the workspace root"),
        ({"output_dir": "policy.yaml"}, "not a directory"),
        ({"pr_comment": "true"}, "'github-token' is empty"),
    ],
)
def test_bad_inputs_are_refused(ws: Path, inputs: dict[str, str], message: str) -> None:
    with pytest.raises(ActionError, match=message):
        ae.plan(gh(**inputs), ws, CAPS)


# cache-dir is the other way round: never inside the workspace (tests/test_hostile_cache.py)
@pytest.mark.parametrize("name", ["path", "output_dir", "advisories", "policy"])
@pytest.mark.parametrize("value", ["..", "../elsewhere", "src/../../x", "/etc", "/github/home"])
def test_paths_outside_the_workspace_are_refused(ws: Path, name: str, value: str) -> None:
    with pytest.raises(ActionError, match="outside the workspace"):
        ae.plan(gh(**{name: value}), ws, CAPS)


def test_absolute_path_inside_the_workspace_is_made_relative(ws: Path) -> None:
    env = gh(path=str(ws / "src"), output_dir=str(ws / "out"))
    assert argv(env, ws)[:2] == ["scan", "src"]
    assert "out/policy-gate.sarif" in argv(env, ws)
    assert argv(gh(path="src/../src/."), ws)[1] == "src"


def test_symlink_out_of_the_workspace_is_refused(ws: Path, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (ws / "link").symlink_to(tmp_path / "outside")
    for name in ("path", "output_dir"):
        with pytest.raises(ActionError, match="symbolic link"):
            ae.plan(gh(**{name: "link"}), ws, CAPS)
    with pytest.raises(ActionError, match="symbolic link"):
        ae.plan(gh(output_dir="link/new"), ws, CAPS)


def test_control_characters_are_refused(ws: Path) -> None:
    with pytest.raises(ActionError, match="control characters"):
        ae.plan(gh(output_dir="a\nb"), ws, CAPS)


def test_unknown_inputs_are_refused(ws: Path) -> None:
    with pytest.raises(ActionError, match=r"unknown input.*fail-on.*the inputs are: path"):
        ae.plan({"INPUT_FAIL-ON": "high"}, ws, CAPS)


def test_diff_base_needs_a_cli_that_has_it(ws: Path) -> None:
    with pytest.raises(ActionError, match=r"'diff-base' is not supported.*remove it"):
        ae.plan(gh(diff_base="origin/main"), ws, CAPS)
    caps = CliCapabilities(CAPS.formats, CAPS.scanners, CAPS.options | {"--diff-base"})
    assert argv(gh(diff_base="origin/main"), ws, caps)[-2:] == ["--diff-base", "origin/main"]
    with pytest.raises(ActionError, match="not a git revision"):
        ae.plan(gh(diff_base="--upload-pack=x"), ws, caps)


def test_formats_the_cli_cannot_write_yet(ws: Path) -> None:
    caps = CliCapabilities(frozenset({"json"}), CAPS.scanners, CAPS.options)
    with pytest.raises(ActionError, match="cannot write 'sarif' yet"):
        ae.plan({}, ws, caps)


def test_github_flag_only_on_github_and_when_supported(ws: Path) -> None:
    assert "--github" not in argv({}, ws)
    assert "--github" in argv({"GITHUB_ACTIONS": "true"}, ws)
    caps = CliCapabilities(CAPS.formats, CAPS.scanners, CAPS.options - {"--github"})
    assert "--github" not in argv({"GITHUB_ACTIONS": "true"}, ws, caps)


def test_pr_comment_passes_the_token_in_the_environment_only(ws: Path) -> None:
    action = ae.plan(gh(pr_comment="true", github_token="ghs_secret"), ws, CAPS)
    assert action.argv[-1] == "--pr-comment"
    assert action.env == {"GITHUB_TOKEN": "ghs_secret"}
    assert not any("ghs_secret" in a for a in action.argv)
    # without pr-comment the token is not handed to the scan at all
    assert ae.plan(gh(github_token="ghs_secret"), ws, CAPS).env == {}


@pytest.mark.parametrize(
    ("code", "fail_on_violations", "expected"),
    [(0, True, 0), (1, True, 1), (2, True, 2), (3, True, 3),
     (0, False, 0), (1, False, 0), (2, False, 2), (3, False, 3), (130, False, 130)],
)
def test_fail_on_violations_only_ever_forgives_violations(
    code: int, fail_on_violations: bool, expected: int
) -> None:
    assert ae.final_exit_code(code, fail_on_violations) == expected


def test_step_outputs_from_report() -> None:
    report = {"verdict": "fail", "summary": {"findings": 12, "by_status": {"violation": 5}}}
    reports = {"sarif": "r/policy-gate.sarif", "json": "r/policy-gate.json",
               "markdown": "r/policy-gate.md"}
    assert ae.step_outputs(1, report, reports) == {
        "verdict": "fail", "exit-code": "1", "violations": "5", "findings": "12",
        "sarif-file": "r/policy-gate.sarif", "json-file": "r/policy-gate.json",
        "summary-file": "r/policy-gate.md",
    }
    # exit 2 (bad policy) or 3: no report; the declared outputs still exist
    assert ae.step_outputs(2, None, {}) == {
        "verdict": "error", "exit-code": "2", "sarif-file": "", "json-file": "",
        "summary-file": "",
    }
    assert ae.step_outputs(0, {"verdict": "pass", "summary": {"findings": 0, "by_status": {}}},
                           {})["violations"] == "0"


def test_outputs_are_written_once_each(tmp_path: Path) -> None:
    """Issue 20 item 6: the CLI (GitHub mode) has written verdict, exit-code, violations
    and findings; the entrypoint appends only the declared outputs it did not, so every
    name is in $GITHUB_OUTPUT once, as the runner reads it (github.read_outputs)."""
    from policy_gate import github

    out = tmp_path / "out"
    out.write_text("earlier=1\n")
    cli_wrote = {"verdict": "fail", "exit-code": "1", "violations": "2", "findings": "3",
                 "counts": "{}"}
    github.write_outputs(out, cli_wrote)
    mine = ae.step_outputs(1, {"verdict": "fail",
                               "summary": {"findings": 3, "by_status": {"violation": 2}}},
                           {"sarif": "a b/c.sarif"})
    assert ae.write_outputs(str(out), mine) == {
        "sarif-file": "a b/c.sarif", "json-file": "", "summary-file": ""}
    lines = out.read_text().splitlines()
    assert lines[0] == "earlier=1"
    names = [line.split("<<", 1)[0] for line in lines[1:] if "<<" in line]
    assert len(names) == len(set(names)) == 8
    assert github.read_outputs(out) == {"earlier": "1", **cli_wrote, "sarif-file": "a b/c.sarif",
                                        "json-file": "", "summary-file": ""}
    # the CLI stopped before writing any (exit 2): the entrypoint writes all it declares
    fresh = tmp_path / "fresh"
    assert ae.write_outputs(str(fresh), ae.step_outputs(2, None, {})) == {
        "verdict": "error", "exit-code": "2", "sarif-file": "", "json-file": "",
        "summary-file": ""}


def test_command_escaping() -> None:
    assert ae.escape_command("50%\nnext\r") == "50%25%0Anext%0D"


def test_real_cli_capabilities() -> None:
    caps = ae.capabilities()
    assert "json" in caps.formats
    assert {"bandit", "semgrep", "detect-secrets", "pip-audit"} <= caps.scanners
    assert {"--policy", "--format", "--output", "--scanner"} <= caps.options


def parse_outputs(text: str) -> dict[str, str]:
    lines = text.splitlines()
    out: dict[str, str] = {}
    for i in range(0, len(lines), 3):
        name, delim = lines[i].split("<<", 1)
        assert lines[i + 2] == delim
        out[name] = lines[i + 1]
    return out


def test_run_action_end_to_end_in_process(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole action with the CLI stubbed: exit mapping, outputs, stale report removal."""
    calls: list[list[str]] = []

    def fake_cli(argv: list[str], extra_env: dict[str, str]) -> int:
        calls.append(list(argv))
        if "json" in argv:
            (ws / argv[argv.index("json") + 2]).write_text(json.dumps(
                {"verdict": "fail", "summary": {"findings": 3, "by_status": {"violation": 2}}}))
        return 1

    monkeypatch.setattr(ae, "_run_cli", fake_cli)
    monkeypatch.setattr(ae, "capabilities", lambda: CAPS)
    monkeypatch.chdir(tmp_path)
    stale = ws / "policy-gate-results" / "policy-gate.sarif"
    stale.parent.mkdir()
    stale.write_text("old")
    outputs = tmp_path / "github_output"
    env = {"GITHUB_WORKSPACE": str(ws), "GITHUB_OUTPUT": str(outputs), "GITHUB_ACTIONS": "true",
           **gh(fail_on_violations="false")}
    assert ae.run_action(env) == 0
    assert not stale.exists()  # removed before the scan
    assert "::notice title=policy-gate::policy violations found (2)" in capsys.readouterr().out
    assert parse_outputs(outputs.read_text()) == {
        "verdict": "fail", "exit-code": "1", "violations": "2", "findings": "3",
        "sarif-file": "policy-gate-results/policy-gate.sarif",
        "json-file": "policy-gate-results/policy-gate.json", "summary-file": "",
    }
    assert calls[0][:2] == ["scan", "."]

    outputs.write_text("")
    env = {"GITHUB_WORKSPACE": str(ws), "GITHUB_OUTPUT": str(outputs), **gh(formats="sarif")}
    assert ae.run_action(env) == 1
    assert "json" not in calls[1]
    assert "violations" not in parse_outputs(outputs.read_text())  # left to the CLI


def test_credentials_are_scrubbed_before_the_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, str | None] = {}

    def fake_main() -> None:
        for name in ("INPUT_GITHUB-TOKEN", "ACTIONS_RUNTIME_TOKEN", "GITHUB_TOKEN", "HOME"):
            seen[name] = os.environ.get(name)
        raise SystemExit(1)

    from policy_gate import cli

    monkeypatch.setattr(cli, "main", fake_main)
    monkeypatch.setenv("INPUT_GITHUB-TOKEN", "ghs_x")
    monkeypatch.setenv("ACTIONS_RUNTIME_TOKEN", "rt")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_y")
    assert ae._run_cli(["scan"], {}) == 1
    assert seen["INPUT_GITHUB-TOKEN"] is None and seen["ACTIONS_RUNTIME_TOKEN"] is None
    assert seen["GITHUB_TOKEN"] is None and seen["HOME"] is not None
    assert ae._run_cli(["scan"], {"GITHUB_TOKEN": "ghs_z"}) == 1
    assert seen["GITHUB_TOKEN"] == "ghs_z"


def test_run_action_bad_input_exits_2_with_annotation(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"GITHUB_WORKSPACE": str(ws), "GITHUB_ACTIONS": "true", **gh(formats="pdf")}
    with pytest.raises(SystemExit) as exc:
        ae.run_action(env)
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("::error title=policy-gate::input 'formats': unknown format")
    assert "policy-gate action: input 'formats'" in captured.err


def test_category_input_sets_the_sarif_category(ws: Path) -> None:
    caps = CliCapabilities(CAPS.formats, CAPS.scanners, CAPS.options | {"--sarif-category"})
    assert argv(gh(category="monorepo/api"), ws, caps)[-2:] == [
        "--sarif-category", "monorepo/api"]
    assert "--sarif-category" not in argv(gh(category=""), ws, caps)  # derived from `path`
    for bad in ("a\nb", "//"):
        with pytest.raises(ActionError, match="input 'category'"):
            argv(gh(category=bad), ws, caps)
    with pytest.raises(ActionError, match="not supported"):
        argv(gh(category="x"), ws)  # a CLI without --sarif-category
    assert "--sarif-category" in ae.capabilities().options
