"""Inline suppressions found by the gate (policy_gate.policy.suppressions).

Parsing is table-driven; matching is checked against the REAL tools: the adapters (which
always ignore suppressions) report every result, and each tool run with its own
suppression handling on must drop exactly the results `covers()` says are covered.

Fake credentials are assembled at run time so this file holds none in scannable form.
"""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from policy_gate.base.fileset import walk
from policy_gate.catalogue import SEMGREP_RULES_DIR as RULES_DIR
from policy_gate.catalogue import ScannerSettings
from policy_gate.findings import (
    SAST,
    SECRET,
    SUPPRESSION,
    UNSCANNED,
    Confidence,
    Finding,
    Severity,
    Source,
    merge_findings,
)
from policy_gate.policy.suppressions import (
    BANDIT_TEST_NAMES,
    MAX_TEXT,
    bare_findings,
    covering,
    covers,
    find_suppressions,
)
from policy_gate.results import ALLOWLIST, NOSEC, NOSEMGREP, Suppression
from policy_gate.scanners.bandit import BanditScanner
from policy_gate.scanners.detect_secrets import DetectSecretsScanner
from policy_gate.scanners.interface import ScanContext
from policy_gate.scanners.semgrep import SemgrepScanner
from tests.conftest import cpu_seconds

AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
# generated from a fixed seed (an id is "AKIA" and 16 base32 characters): none committed
OTHER_AWS_KEY = "AKIA" + "".join(random.Random(51).choices(string.ascii_uppercase + "234567",
                                                           k=16))
LIMIT = 1_000_000


def make(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    root = tmp_path / "repo"
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def found(tmp_path: Path, files: dict[str, str | bytes], limit: int = LIMIT) -> list[Suppression]:
    root = make(tmp_path, files)
    return find_suppressions(root, walk(root).files, limit)


def one(tmp_path: Path, name: str, content: str) -> Suppression:
    result = found(tmp_path, {name: content})
    assert len(result) == 1, result
    return result[0]


# ------------------------------------------------------------------------------ parsing
# (file name, content, kind, rules, reason, applies_to, text); the comment is on line 2.
PARSED = [
    # bandit: ids, names, separators (bandit's own syntax, core/manager.py)
    ("a.py", "x()  # nosec\n", NOSEC, (), "", 2, "# nosec"),
    ("a.py", "x()  #nosec\n", NOSEC, (), "", 2, "#nosec"),
    ("a.py", "x()  # nosec B602\n", NOSEC, ("B602",), "", 2, "# nosec B602"),
    ("a.py", "x()  # nosec B602, B607\n", NOSEC, ("B602", "B607"), "", 2, "# nosec B602, B607"),
    ("a.py", "x()  # nosec B602,B607\n", NOSEC, ("B602", "B607"), "", 2, "# nosec B602,B607"),
    ("a.py", "x()  # nosec B602 B607\n", NOSEC, ("B602", "B607"), "", 2, "# nosec B602 B607"),
    ("a.py", "x()  # nosec: B602\n", NOSEC, ("B602",), "", 2, "# nosec: B602"),
    (
        "a.py",
        "x()  # nosec subprocess_popen_with_shell_equals_true\n",
        NOSEC,
        ("subprocess_popen_with_shell_equals_true",),
        "",
        2,
        "# nosec subprocess_popen_with_shell_equals_true",
    ),
    ("a.py", "x()  # nosec pickle\n", NOSEC, ("pickle",), "", 2, "# nosec pickle"),
    (
        "a.py",
        "q()  # nosec B608 - query uses bound parameters\n",
        NOSEC,
        ("B608",),
        "query uses bound parameters",
        2,
        "# nosec B608 - query uses bound parameters",
    ),
    ("a.py", "q()  # nosec B608 -- bound\n", NOSEC, ("B608",), "bound", 2, "# nosec B608 -- bound"),
    ("a.py", "q()  # nosec B608 — bound\n", NOSEC, ("B608",), "bound", 2, "# nosec B608 — bound"),
    ("a.py", "q()  # nosec B608: bound\n", NOSEC, ("B608",), "bound", 2, "# nosec B608: bound"),
    (
        "a.py",
        "q()  # nosec B608 because bound\n",
        NOSEC,
        ("B608",),
        "bound",
        2,
        "# nosec B608 because bound",
    ),
    (
        "a.py",
        "x()  # nosec B602, B607 - shell needed for the glob\n",
        NOSEC,
        ("B602", "B607"),
        "shell needed for the glob",
        2,
        "# nosec B602, B607 - shell needed for the glob",
    ),
    # words bandit does not know are no ids: this one silences everything (bare)
    ("a.py", "x()  # nosec this is fine\n", NOSEC, (), "this is fine", 2, "# nosec this is fine"),
    ("a.py", "x()  # nosec b602\n", NOSEC, (), "b602", 2, "# nosec b602"),
    # a later comment on the same line is not part of the reason
    ("a.py", "x()  # noqa: S602 # nosec B602\n", NOSEC, ("B602",), "", 2, "# nosec B602"),
    ("a.py", "x()  # nosec B602 # noqa\n", NOSEC, ("B602",), "", 2, "# nosec B602 # noqa"),
    # semgrep (src/reporting/Nosemgrep.ml)
    ("a.py", "x()  # nosemgrep\n", NOSEMGREP, (), "", 2, "# nosemgrep"),
    (
        "a.py",
        "x()  # nosemgrep: py-eval-non-literal\n",
        NOSEMGREP,
        ("py-eval-non-literal",),
        "",
        2,
        "# nosemgrep: py-eval-non-literal",
    ),
    (
        "a.py",
        "x()  # nosemgrep: rule-a, rule-b - both reviewed\n",
        NOSEMGREP,
        ("rule-a", "rule-b"),
        "both reviewed",
        2,
        "# nosemgrep: rule-a, rule-b - both reviewed",
    ),
    (
        "a.py",
        "x()  # NOSEMGREP:pack.python.rule-a: legacy\n",
        NOSEMGREP,
        ("pack.python.rule-a",),
        "legacy",
        2,
        "# NOSEMGREP:pack.python.rule-a: legacy",
    ),
    ("a.py", "x()  # nosem: rule-a\n", NOSEMGREP, ("rule-a",), "", 2, "# nosem: rule-a"),
    ("a.py", "x()  # nosemgrep=rule-a\n", NOSEMGREP, ("rule-a",), "", 2, "# nosemgrep=rule-a"),
    # semgrep reads ids only after a colon: this one is bare
    ("a.py", "x()  # nosemgrep rule-a\n", NOSEMGREP, (), "rule-a", 2, "# nosemgrep rule-a"),
    # alone on its line: the next line
    ("a.py", "# nosemgrep\n", NOSEMGREP, (), "", 3, "# nosemgrep"),
    ("a.py", "#nosemgrep: rule-a\n", NOSEMGREP, ("rule-a",), "", 3, "#nosemgrep: rule-a"),
    ("a.py", "    # nosemgrep: rule-a\n", NOSEMGREP, ("rule-a",), "", 3, "# nosemgrep: rule-a"),
    (
        "a.js",
        "run(x);  // nosemgrep: js-eval-non-literal - sandboxed\n",
        NOSEMGREP,
        ("js-eval-non-literal",),
        "sandboxed",
        2,
        "// nosemgrep: js-eval-non-literal - sandboxed",
    ),
    ("a.ts", "// nosemgrep\n", NOSEMGREP, (), "", 3, "// nosemgrep"),
    ("a.js", "run(x); /* nosemgrep */\n", NOSEMGREP, (), "", 2, "/* nosemgrep */"),
    (
        "a.js",
        "/* nosemgrep: rule-a - why */\n",
        NOSEMGREP,
        ("rule-a",),
        "why",
        3,
        "/* nosemgrep: rule-a - why */",
    ),
    # detect-secrets (filters/allowlist.py)
    (
        "a.py",
        "k = 1  # pragma: allowlist secret\n",
        ALLOWLIST,
        (),
        "",
        2,
        "# pragma: allowlist secret",
    ),
    (
        "a.py",
        "k = 1  # pragma: allowlist secret - test fixture\n",
        ALLOWLIST,
        (),
        "test fixture",
        2,
        "# pragma: allowlist secret - test fixture",
    ),
    (
        "a.py",
        "# pragma: allowlist nextline secret\n",
        ALLOWLIST,
        (),
        "",
        3,
        "# pragma: allowlist nextline secret",
    ),
    (
        "a.py",
        "k = 1  # pragma: whitelist secret\n",
        ALLOWLIST,
        (),
        "",
        2,
        "# pragma: whitelist secret",
    ),
    (
        "a.js",
        "k = 1; // pragma: allowlist secret\n",
        ALLOWLIST,
        (),
        "",
        2,
        "// pragma: allowlist secret",
    ),
    (
        "a.env",
        "K=1 # pragma: allowlist secret\n",
        ALLOWLIST,
        (),
        "",
        2,
        "# pragma: allowlist secret",
    ),
    ("a.sh", "K=1  # pragma:allowlist-secret\n", ALLOWLIST, (), "", 2, "# pragma:allowlist-secret"),
    (
        "a.yaml",
        "k: 1  # pragma: allowlist secret\n",
        ALLOWLIST,
        (),
        "",
        2,
        "# pragma: allowlist secret",
    ),
    (
        "a.sql",
        "k -- pragma: allowlist secret\n",
        ALLOWLIST,
        (),
        "",
        2,
        "-- pragma: allowlist secret",
    ),
    (
        "a.html",
        "<p>k</p> <!-- pragma: allowlist secret -->\n",
        ALLOWLIST,
        (),
        "",
        2,
        "<!-- pragma: allowlist secret -->",
    ),
]


@pytest.mark.parametrize(("name", "line", "kind", "rules", "reason", "applies_to", "text"), PARSED)
def test_parses_each_syntax(
    tmp_path: Path,
    name: str,
    line: str,
    kind: str,
    rules: tuple[str, ...],
    reason: str,
    applies_to: int,
    text: str,
) -> None:
    s = one(tmp_path, name, "first = 1\n" + line + "after = 2\n")
    assert (s.path, s.line, s.kind, s.rules, s.reason, s.applies_to, s.text) == (
        name,
        2,
        kind,
        rules,
        reason,
        applies_to,
        text,
    )


# Not a suppression the tool would take (or not where the tool looks).
NOT_SUPPRESSIONS = [
    ("a.py", 'x = "# nosec"\n'),  # in a string
    ("a.py", 'x = "text  # nosemgrep"\n'),
    ("a.py", "x = '''\n# nosec\n# nosemgrep\n# pragma: allowlist secret\n'''\n"),  # docstring
    ("a.py", '"""Use `# nosec B602` sparingly."""\n'),
    ("a.py", "x()  # nosecurity review pending\n"),
    ("a.py", "x()  # see nosec docs\n"),  # bandit needs `# nosec`
    ("a.py", "x()  #nosemgrep\n"),  # semgrep needs a space before it, unless alone
    ("a.py", "x()  # we nosemgrep nothing\n"),  # prose that mentions it
    ("a.py", "x = 1  # pragma: allowlist nextline secret\n"),  # nextline must be alone
    ("a.py", "k = 'pragma: allowlist secret'\n"),  # a string, not a comment
    ("a.js", "x();  // nosec\n"),  # bandit reads only Python
    ("a.js", 'const u = "http://x // nosemgrep";\n'),
    ("a.js", "const s = `\n// nosemgrep\n`;\n"),  # template literal
    ("a.md", "Use `# nosec B602` or `// nosemgrep` with care.\n"),  # not scanned by either
    ("a.yaml", "k: 1  // pragma: allowlist secret\n"),  # detect-secrets: only `#` in .yaml
]


@pytest.mark.parametrize(("name", "content"), NOT_SUPPRESSIONS)
def test_ignores_what_is_not_a_suppression(tmp_path: Path, name: str, content: str) -> None:
    assert found(tmp_path, {name: content}) == []


def test_block_comments_in_javascript(tmp_path: Path) -> None:
    content = (
        "/*\n"  # 1
        " * nosemgrep: js-eval-non-literal - input is a constant table\n"  # 2
        " */\n"  # 3
        "eval(table);\n"  # 4
        "run(x); /* nosemgrep */ const k = 1;\n"  # 5
    )
    a, b = found(tmp_path, {"a.js": content})
    assert (a.line, a.rules, a.reason, a.applies_to) == (
        2,
        ("js-eval-non-literal",),
        "input is a constant table",
        3,
    )
    assert a.text == "nosemgrep: js-eval-non-literal - input is a constant table"
    assert (b.line, b.rules, b.applies_to, b.text) == (5, (), 5, "/* nosemgrep */")


def test_several_on_one_line(tmp_path: Path) -> None:
    content = "eval(x)  # nosec B307 - ok # nosemgrep: py-eval-non-literal - ok too\n"
    a, b = found(tmp_path, {"a.py": content})
    assert (a.kind, a.rules, a.reason) == (NOSEC, ("B307",), "ok")
    assert (b.kind, b.rules, b.reason) == (NOSEMGREP, ("py-eval-non-literal",), "ok too")
    assert a.scanners == ("bandit",) and b.scanners == ("semgrep",)


def test_a_marker_in_a_string_does_not_hide_the_comment_after_it(tmp_path: Path) -> None:
    content = (
        'x = "# pragma: allowlist secret"  # pragma: allowlist secret - real\n'
        'y = "# nosec"  # nosec B101\n'
        'z = "x # nosemgrep: a"  # nosemgrep: b\n'
    )
    result = found(tmp_path, {"a.py": content})
    assert [(s.line, s.kind, s.rules, s.reason, s.text) for s in result] == [
        (1, ALLOWLIST, (), "real", "# pragma: allowlist secret - real"),
        (2, NOSEC, ("B101",), "", "# nosec B101"),
        (3, NOSEMGREP, ("b",), "", "# nosemgrep: b"),
    ]


def test_hostile_lines_stay_linear(tmp_path: Path) -> None:
    """Long runs that would make naive patterns backtrack (detect-secrets' own pragma
    regex is quadratic on blanks after a comment opener)."""
    blanks = " " * 200_000
    files: dict[str, str | bytes] = {
        "a.py": "#" + blanks + "x pragma\n" + "x = 1  # nosec " + "B1, " * 50_000 + "\n",
        "b.js": "/*" + blanks + "pragma */ // nosemgrep: " + "a," * 50_000 + "\n",
        "c.txt": ("#" + blanks) * 3 + "pragma\n" + "'" + "x" * 200_000 + " pragma\n",
        "d.py": "x = " + "'" * 3 + " nosec" * 100_000 + "\n",  # an unterminated docstring
    }
    root = make(tmp_path, files)
    start = cpu_seconds()
    result = find_suppressions(root, walk(root).files, 10_000_000)
    assert cpu_seconds() - start < 5.0
    assert [(s.path, s.kind) for s in result] == [("a.py", NOSEC), ("b.js", NOSEMGREP)]


def test_line_numbers_with_crlf_and_cr(tmp_path: Path) -> None:
    result = found(
        tmp_path,
        {"a.py": b"a = 1\r\nb = 2  # nosec B101\r\nc = 3\rd = 4  # nosec B102\r\n"},
    )
    assert [(s.line, s.rules) for s in result] == [(2, ("B101",)), (4, ("B102",))]


def test_bare_property_and_scanner() -> None:
    def make_s(kind: str, rules: tuple[str, ...]) -> Suppression:
        return Suppression("a.py", 1, kind, rules, "", 1, kind)

    assert make_s(NOSEC, ()).bare and make_s(NOSEMGREP, ()).bare
    assert not make_s(NOSEC, ("B602",)).bare
    assert not make_s(ALLOWLIST, ()).bare  # the pragma has no per-rule form
    assert make_s(ALLOWLIST, ()).scanners == ("detect-secrets", "kingfisher")


# ------------------------------------------------------------------------- safe to show
def test_code_before_the_marker_is_never_shown(tmp_path: Path) -> None:
    files = {
        "a.py": (
            f'AWS = "{AWS_KEY}"  # pragma: allowlist secret\n'
            f'KEY = "{AWS_KEY}"  # nosec\n'
            f'T = "{AWS_KEY}"  # nosemgrep: py-hardcoded-password - test value\n'
        ),
        "b.js": f'const k = "{AWS_KEY}"; /* nosemgrep */ const j = "{OTHER_AWS_KEY}";\n'
        f'const m = 1; /* pragma: allowlist secret */ const n = "{OTHER_AWS_KEY}"; /* */\n',
        "c.env": f"AWS={AWS_KEY}  # pragma: allowlist secret\n",
    }
    result = found(tmp_path, files)
    assert len(result) == 6
    shown = json.dumps([[s.text, s.reason] for s in result])
    shown += json.dumps([f.to_dict() for f in bare_findings(result)])
    assert AWS_KEY not in shown and AWS_KEY[4:] not in shown
    assert OTHER_AWS_KEY not in shown  # code after a block comment is not shown either


def test_quoted_tokens_in_a_comment_are_masked(tmp_path: Path) -> None:
    s = one(tmp_path, "a.py", f"x = y  # nosec B105 - '{AWS_KEY}' is the example, it's fine\n")
    assert AWS_KEY not in s.text and AWS_KEY not in s.reason
    assert s.reason.startswith("'AK") and s.reason.endswith("' is the example, it's fine")


def test_control_characters_are_escaped_and_length_capped(tmp_path: Path) -> None:
    s = one(tmp_path, "a.py", "x()  # nosec B602 - \x1b[31mred\u202e flip\tend\n")
    assert s.reason == "\\x1b[31mred\\u202e flip\\tend"
    assert all(ch.isprintable() for ch in s.text + s.reason)
    long = one(tmp_path / "long", "b.py", "x()  # nosec B602 - " + "why " * 200 + "\n")
    assert len(long.reason) <= MAX_TEXT and len(long.text) <= MAX_TEXT
    assert long.reason.endswith("…")


def test_invalid_utf8_is_read_and_shown_escaped(tmp_path: Path) -> None:
    result = found(tmp_path, {"a.py": b"x = 1  # nosec B101 - caf\xe9 \xff\n"})
    assert [(s.line, s.rules) for s in result] == [(1, ("B101",))]
    assert result[0].reason == "caf\\xe9 \\xff"


# ------------------------------------------------------------------------------- files
def test_binary_and_oversize_files_are_skipped(tmp_path: Path) -> None:
    text = "x()  # nosec\n"
    files: dict[str, str | bytes] = {
        "bin.py": b"\x00\x01" + text.encode(),
        "late-nul.py": text.encode() + b"x" * 9000 + b"\x00",  # NUL after the first 8 KiB
        "big.py": text + "#" * 20_000 + "\n",
        "small.py": text,
    }
    result = found(tmp_path, files, limit=10_000)
    assert sorted(s.path for s in result) == ["late-nul.py", "small.py"]


def test_symlinks_are_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("x()  # nosec\n")
    root = make(tmp_path, {"real.py": "x()  # nosec\n"})
    (root / "link.py").symlink_to(outside)
    # even when a caller passes the link's name
    result = find_suppressions(root, ["real.py", "link.py", "missing.py"], LIMIT)
    assert [s.path for s in result] == ["real.py"]


def test_bandit_test_names_match_the_installed_bandit() -> None:
    loader = pytest.importorskip("bandit.core.extension_loader")
    manager = loader.MANAGER
    installed = {name: p.plugin._test_id for name, p in manager.plugins_by_name.items()}
    installed.update({name: b["id"] for name, b in manager.blacklist_by_name.items()})
    assert dict(BANDIT_TEST_NAMES) == installed


def test_fast_on_a_large_tree(tmp_path: Path) -> None:
    """2,000 files of 200 lines, one in ten with a suppression (about 0.1 CPU-s here)."""
    plain = "".join(f"value_{i} = compute({i})  # a comment\n" for i in range(200))
    marked = plain + "x()  # nosec B602 - reviewed\n"
    files: dict[str, str | bytes] = {
        f"pkg{i // 100}/m{i}.py": marked if i % 10 == 0 else plain for i in range(2000)
    }
    root = make(tmp_path, files)
    names = walk(root).files
    start = cpu_seconds()
    result = find_suppressions(root, names, LIMIT)
    assert len(result) == 200
    assert cpu_seconds() - start < 5.0


# ---------------------------------------------------------------- covers, real scanners
# Every variant the differential test checks; comments say what each tool does with it.
APP_PY = """\
import pickle
import subprocess  # nosec B404 - the runner needs it


def run(cmd, data):
    subprocess.call(cmd, shell=True)  # nosec B602 - cmd is a constant
    subprocess.call(cmd, shell=True)  # nosec B607 - names a different rule
    subprocess.call(cmd, shell=True)  # nosec
    subprocess.call(cmd, shell=True)  # nosec subprocess_popen_with_shell_equals_true
    subprocess.call(cmd, shell=True)
    subprocess.call(  # nosec B602 - bandit: any line of the expression, and so the gate
        cmd,
        shell=True,
    )
    pickle.loads(data)  # nosec pickle
    eval(data)  # nosemgrep: py-eval-non-literal
    eval(data)  # nosemgrep: py-exec-non-literal
    # nosemgrep
    eval(data)
    eval(data)  # nosemgrep: semgrep.py-eval-non-literal - a dotted suffix of the id
    eval(data)  # nosemgrep py-eval-non-literal - no colon: semgrep reads no ids, so bare
    eval(data)  #nosemgrep - no space: semgrep does not take it
    eval(  # no suppression here
        data,  # nosemgrep: py-eval-non-literal - not the first line of the match
    )
    return eval(data)


def later(cmd):
    # nosec B602 - alone above the statement: bandit does not take it
    subprocess.call(cmd, shell=True)
    subprocess.call(
        cmd,
        shell=True,
    )  # nosec B602 - on the last line of the expression
"""

APP_JS = """\
function run(input) {
  eval(input); // nosemgrep: js-eval-non-literal - sandboxed
  eval(input); /* nosemgrep */
  /*
   * nosemgrep: js-eval-non-literal
   */
  eval(input);
  eval(input); // nosemgrep: js-new-function-non-literal
  return eval(input);
}
"""


def _secrets(count: int) -> list[str]:
    """Distinct fake AWS keys (detect-secrets reports a repeated value once per file)."""
    return ["AKIA" + f"ZZQ{i:02d}WXRT5KZ3ABD"[:16] for i in range(count)]


def _config_py() -> str:
    keys = _secrets(5)
    return (
        f'A = "{keys[0]}"  # pragma: allowlist secret - test fixture\n'  # 1
        "# pragma: allowlist nextline secret\n"  # 2
        f'B = "{keys[1]}"\n'  # 3
        f'C = "{keys[2]}"\n'  # 4: not allowlisted
        f'D = "{keys[3]}"  # nosec\n'  # 5: a nosec is not for detect-secrets
        f'E = "{keys[4]}"  # pragma: allowlist nextline secret\n'  # 6: nextline not alone
    )


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One tree, scanned by the adapters (suppressions ignored) and by each tool with its
    own suppression handling on."""
    root = tmp_path_factory.mktemp("suppressions") / "repo"
    make(root.parent, {"app.py": APP_PY, "app.js": APP_JS, "config.py": _config_py()})
    root = root.resolve()
    fileset = walk(root)
    ctx = ScanContext(fileset=fileset, settings=ScannerSettings(timeout=300), jobs=2)
    findings = [
        f
        for scanner in (BanditScanner(), SemgrepScanner(), DetectSecretsScanner())
        for f in scanner.scan(ctx).findings
    ]
    return {
        "root": root,
        "findings": findings,
        "suppressions": find_suppressions(root, fileset.files, LIMIT),
        "honoured": _honoured_by_the_tools(root),
    }


def _tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _honoured_by_the_tools(root: Path) -> set[tuple[str, str, str, int]]:
    """(scanner, rule, path, line) of every result the tools report with their own
    inline suppression handling on."""
    env = {**os.environ, "SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"}

    def run(argv: list[str]) -> Any:
        done = subprocess.run(argv, cwd=root, capture_output=True, text=True, env=env, check=False)
        return json.loads(done.stdout)

    out: set[tuple[str, str, str, int]] = set()
    for r in run([_tool("bandit"), "-f", "json", "-q", "--", "./app.py", "./config.py"])["results"]:
        path = r["filename"].replace("./", "")  # bandit reports ././app.py
        out.add(("bandit", r["test_id"], path, r["line_number"]))
    semgrep = [_tool("semgrep"), "scan", "--json", "--quiet", "--metrics=off"]
    semgrep += ["--disable-version-check", "--config", str(RULES_DIR), "--", "app.py", "app.js"]
    for r in run(semgrep)["results"]:
        rule = r["check_id"].rsplit(".", 1)[-1]
        out.add(("semgrep", rule, r["path"], r["start"]["line"]))
    secrets = run([_tool("detect-secrets"), "scan", "--no-verify", "config.py", "app.py"])
    for path, items in secrets["results"].items():
        for r in items:
            out.add(("detect-secrets", "*", path, r["line_number"]))
    return out


# Where the gate is deliberately stricter than the tool: nowhere, for single results.
# bandit honours a `nosec` on any line of the flagged expression (its line_range), and a
# Finding keeps that span (here the call's first line, the result on `shell=True`).
STRICTER_THAN_THE_TOOL: set[tuple[str, str, str, int]] = set()


def _key(f: Finding) -> tuple[str, str, str, int]:
    rule = "*" if f.scanner == "detect-secrets" else f.rule_id
    return (f.scanner, rule, f.path, f.start_line or 0)


def test_scanners_report_results_despite_suppressions(real: dict[str, Any]) -> None:
    """Task of the adapters: every result, whatever the comments say."""
    got = {_key(f) for f in real["findings"] if f.category in (SAST, SECRET)}
    assert ("bandit", "B602", "app.py", 8) in got  # bare `# nosec`
    assert ("semgrep", "py-eval-non-literal", "app.py", 16) in got  # named nosemgrep
    assert ("semgrep", "py-eval-non-literal", "app.py", 19) in got  # nosemgrep line above
    assert ("detect-secrets", "*", "config.py", 1) in got  # same-line pragma
    assert ("detect-secrets", "*", "config.py", 3) in got  # nextline pragma
    assert got > real["honoured"]


def test_covers_agrees_with_each_tool(real: dict[str, Any]) -> None:
    """A result is covered by some suppression exactly when the tool itself, honouring its
    comments, drops it."""
    sups: list[Suppression] = real["suppressions"]
    mismatched = []
    for f in real["findings"]:
        if f.category not in (SAST, SECRET):
            continue
        covered = any(covers(s, f) for s in sups)
        kept_by_tool = _key(f) in real["honoured"]
        if covered == kept_by_tool:
            mismatched.append((_key(f), covered))
    assert set(mismatched) == {(key, False) for key in STRICTER_THAN_THE_TOOL}
    assert sum(1 for f in real["findings"] if any(covers(s, f) for s in sups)) >= 12


def test_named_suppressions_cover_only_the_rules_they_name(real: dict[str, Any]) -> None:
    sups: list[Suppression] = real["suppressions"]
    by_line = {(s.path, s.line, s.kind): s for s in sups}
    findings = {_key(f): f for f in real["findings"]}
    b602 = findings[("bandit", "B602", "app.py", 7)]
    assert not covers(by_line["app.py", 7, NOSEC], b602)  # names B607, a different rule
    assert covers(by_line["app.py", 6, NOSEC], findings[("bandit", "B602", "app.py", 6)])
    named = by_line["app.py", 9, NOSEC]  # the test name
    assert covers(named, findings[("bandit", "B602", "app.py", 9)])
    pickle_line = findings[("bandit", "B301", "app.py", 15)]
    assert covers(by_line["app.py", 15, NOSEC], pickle_line)  # a blacklist name
    other = by_line["app.py", 17, NOSEMGREP]  # names py-exec-non-literal
    assert not covers(other, findings[("semgrep", "py-eval-non-literal", "app.py", 17)])
    # a nosec is bandit's: it never covers semgrep's or detect-secrets' result on its line
    semgrep_8 = findings[("semgrep", "py-subprocess-shell-true", "app.py", 8)]
    assert not covers(by_line["app.py", 8, NOSEC], semgrep_8)
    secret_5 = findings[("detect-secrets", "*", "config.py", 5)]
    assert not covers(by_line["config.py", 5, NOSEC], secret_5)


def test_covers_merged_findings_and_never_unscanned(real: dict[str, Any]) -> None:
    sups: list[Suppression] = real["suppressions"]
    merged = merge_findings(real["findings"])
    line6 = next(
        f for f in merged if f.path == "app.py" and f.start_line == 6 and f.category == SAST
    )
    assert set(line6.scanners) == {"bandit", "semgrep"}
    nosec = next(s for s in sups if (s.path, s.line) == ("app.py", 6))
    # A `nosec` names bandit's rules only: it does not silence what semgrep saw as well
    # (issue 14: one comment naming one rule must not hide another rule's result).
    assert not covers(nosec, line6)
    named = dict(covering(sups, line6))
    assert [s.kind for src, found in named.items() if src.scanner == "bandit" for s in found] \
        == [NOSEC]
    assert not [found for src, found in named.items() if src.scanner == "semgrep" and found]
    # the same comment covers bandit's own, unmerged, result
    bandit6 = next(f for f in real["findings"] if _key(f) == ("bandit", "B602", "app.py", 6))
    assert covers(nosec, bandit6)
    unscanned = Finding(
        category=UNSCANNED,
        sources=(Source("bandit", "file-not-analysed", Severity.MEDIUM, Confidence.HIGH, "x"),),
        path="app.py",
        start_line=8,
        end_line=8,
        message="x",
        flaw_key="bandit:unscanned",
    )
    bare = next(s for s in sups if (s.path, s.line) == ("app.py", 8))
    assert bare.bare and not covers(bare, unscanned)
    elsewhere = Finding(
        category=SAST,
        sources=(Source("bandit", "B602", Severity.HIGH, Confidence.HIGH, "x"),),
        path="other.py",
        start_line=8,
        end_line=8,
        message="x",
        flaw_key="CWE-78",
    )
    assert not covers(bare, elsewhere)


# --------------------------------------------------------------------------- bare ones
def test_bare_findings(tmp_path: Path) -> None:
    sups = found(
        tmp_path,
        {
            "a.py": "x()  # nosec B602\ny()  # nosec\n# nosemgrep\nz()\nw()  # nosemgrep py-x\n",
            "b.js": "eval(x); // nosemgrep\n",
            "c.env": "K=1  # pragma: allowlist secret\n",
        },
    )
    result = bare_findings(sups)
    assert [(f.path, f.start_line, f.rule_id) for f in result] == [
        ("a.py", 2, "bare-nosec"),
        ("a.py", 3, "bare-nosemgrep"),
        ("a.py", 5, "bare-nosemgrep"),
        ("b.js", 1, "bare-nosemgrep"),
    ]
    nosec, above, no_colon, js = result
    for f in result:
        assert f.category == SUPPRESSION
        assert f.scanner == "policy-gate" and f.severity is None
        assert f.confidence == Confidence.HIGH
        assert f.flaw_key == f.rule_id and f.end_line == f.start_line
        assert f.title == "Inline suppression without a rule id"
        assert f.content_key and f.help_url
    assert "every bandit rule on line 2" in nosec.message
    assert "`# nosec B602 - <reason>`" in nosec.fix
    assert nosec.help_url is not None and "bandit" in nosec.help_url
    assert "every semgrep rule on line 4" in above.message  # the line it applies to
    assert "colon" in no_colon.message and "colon" not in above.message
    assert "`// nosemgrep: <rule-id> - <reason>`" in js.fix
    assert js.help_url is not None and "semgrep.dev" in js.help_url


def test_bare_finding_identity_follows_the_comment_not_the_line(tmp_path: Path) -> None:
    before = bare_findings(found(tmp_path / "1", {"a.py": "x()  # nosec\n"}))
    after = bare_findings(found(tmp_path / "2", {"a.py": "\n\ny()  # nosec\n"}))
    assert before[0].content_key == after[0].content_key
    assert before[0].start_line == 1 and after[0].start_line == 3


def test_in_a_gate_run(scan_data: Callable[..., Any]) -> None:
    """The runner finds the comments while the scanners run and reports bare ones."""
    data = scan_data({"app.py": "import os\nos.system(cmd)  # nosec\n"}, only=["bandit"])
    bare = [f for f in data.result.findings if f.category == SUPPRESSION]
    assert [(f.path, f.start_line, f.rule_id) for f in bare] == [("app.py", 2, "bare-nosec")]
    assert [(s.path, s.line, s.bare) for s in data.result.suppressions] == [("app.py", 2, True)]
