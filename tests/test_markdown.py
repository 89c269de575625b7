"""The Markdown summary / PR comment, on real scans: verdict first, inert untrusted text,
links to the commit, and never over the size limit."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from policy_gate.reports import markdown
from policy_gate.reports.markdown import LinkBuilder, md
from tests.conftest import EXTENDS_OFFLINE

VULN_PY = """\
import hashlib, subprocess


def run(cmd):
    hashlib.md5(cmd)
"""

HOSTILE = (
    "<script>alert(1)</script> @mojaloop/security | pipe `tick` "
    "[x](javascript:alert(1)) *b* _i_ #1 $x$"
)
SHA = "0123456789abcdef0123456789abcdef01234567"
ENV = {
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "mojaloop/central-ledger",
    "GITHUB_SHA": SHA,
}


def _table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("|")]


def test_verdict_first_then_counts_violations_and_footer(scan_data) -> None:
    data = scan_data({"svc/a.py": VULN_PY, "svc/b.py": VULN_PY}, only=["bandit"])
    text = markdown.render(data, annotations_not_shown=7)
    first = text.splitlines()[0]
    assert first.startswith("**FAIL** — 2 violations")
    assert text.index("### Findings") < text.index("### Violations (2)")
    assert text.index("### Violations") < text.index("### Below the fail threshold")
    assert "| sast | high | 2 | 0 | 0 | 0 | 0 |" in text  # violations, accepted, below, ...
    assert "| dependency | — | not checked: no scanner for it ran | | | | |" in text
    assert "svc/a.py&#58;5" in text  # no links without a LinkBuilder
    assert "](https://github.com/" not in text
    assert "7 more annotations than GitHub shows" in text
    assert data.policy.sha256 in text
    assert "bandit 1.9" in text  # scanner versions
    assert text.index("7 more annotations") < text.index(data.policy.sha256)


def test_pass_headline(scan_data) -> None:
    data = scan_data({"ok.py": "print('hello')\n"}, only=["bandit"])
    assert markdown.render(data).startswith("**PASS** — 0 violations")


def test_links_point_at_the_blob_at_the_commit(scan_data) -> None:
    data = scan_data({"src/my dir/a(1).py": VULN_PY}, only=["bandit"])
    links = LinkBuilder.from_env(ENV)
    assert links is not None
    text = markdown.render(data, links=links)
    url = f"https://github.com/mojaloop/central-ledger/blob/{SHA}/src/my%20dir/a%281%29.py#L5"
    assert f"]({url})" in text
    assert LinkBuilder.from_env({"GITHUB_SHA": SHA}) is None
    assert LinkBuilder.from_env({**ENV, "GITHUB_REPOSITORY": "a/b) [x](y"}) is None
    assert LinkBuilder.from_env({**ENV, "GITHUB_SERVER_URL": "javascript:alert(1)"}) is None
    head = "f" * 40
    override = LinkBuilder.from_env(ENV, sha=head)
    assert override is not None and override.blob("a.py", 3, 4).endswith(f"/{head}/a.py#L3-L4")


def test_untrusted_text_is_inert(scan_data, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(  # JSON strings are YAML strings
        EXTENDS_OFFLINE + f"\nname: {json.dumps(HOSTILE)}\n"
        f"rules:\n  bandit:B404:\n    disable: true\n    reason: {json.dumps(HOSTILE)}\n"
    )
    files = {
        "@mojaloop/security | pipe `tick` <script>alert(1)<.py": VULN_PY,
        "x\n::warning::<img src=x onerror=alert(1)>.py": VULN_PY,
        "a_b*c*[d](e)#2.py": VULN_PY,
    }
    data = scan_data(files, policy=str(policy), only=["bandit"])
    assert data.policy.name == HOSTILE
    for links in (None, LinkBuilder.from_env(ENV)):
        text = markdown.render(data, links=links)
        # the hostile values did reach the report ...
        assert "&lt;script&gt;" in text
        assert "&#64;&#8203;mojaloop/security" in text
        assert "### Not enforced" in text and "3 findings disabled" in text
        # ... but nothing in it is active
        assert "<" not in text.replace("<!--", "")  # no raw HTML at all
        assert ">" not in text
        assert "@" not in text  # no mention (URLs percent-encode it)
        assert not re.search(r"(?<![&\w])#\d", text)  # no issue reference
        assert text.count("`") == 2  # only around the policy sha256
        assert "javascript:" not in text
        assert "*b*" not in text and "_i_" not in text and "$x$" not in text
        # every table row has exactly its columns: no pipe leaked into a cell
        for row in _table_rows(text):
            assert row.count("|") in (6, 8), row
        # a newline in a file name does not break the row it is in
        assert all(line.startswith("|") or "::warning::" not in line for line in text.splitlines())


def test_md_escapes_every_active_character() -> None:
    out = md("a|b`c*d_e[f]g<h>i&j#1@k\\l~m$n:o\r\np\tq\x1b[31m")
    for ch in "|`*_[]<>#@\\~$:\r\n\t\x1b":
        assert ch not in out.replace("&#", "").replace(";", ""), ch
    assert "\\x1b" not in out  # the backslash of the shown escape is itself escaped
    assert "&#92;x1b" in out
    assert md("x" * 500, 10) == "x" * 9 + "…"


def _md_reference(text: str, limit: int | None = None) -> str:
    """md() as first written, character by character: the fast paths must agree with it."""
    text = re.sub(r"[\r\n\t\f\v\u0085\u2028\u2029]+", " ", text)
    text = "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return "".join(markdown._ACTIVE.get(ch, ch) for ch in text)


def test_md_matches_its_reference_on_any_text() -> None:
    rng = random.Random(11)
    alphabet = [*"ab |`*_~[]<>&\"#@$:.-+\\", "\r\n", "\t", "\f\v", "\x1b", "\u2028", "\u0085",
                "\u200b", "é", "中", "\ud800", "  ", "x" * 40]
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        limit = rng.choice([None, 1, 2, 5, 30, 300])
        assert md(text, limit) == _md_reference(text, limit), (text, limit)


def test_never_over_max_bytes_and_says_it_truncated(scan_data) -> None:
    files = {f"pkg/mod_{i:03d}.py": VULN_PY for i in range(70)}
    data = scan_data(files, only=["bandit"])
    assert len(data.evaluation.violations) == 70

    full = markdown.render(data)
    assert "### Violations (top 50 of 70)" in full
    assert len([r for r in _table_rows(full) if "bandit&#58;B324" in r]) == 50
    assert "20 more not shown here" in full

    everything = markdown.render(data, max_violations=1000)
    assert "### Violations (70)" in everything

    for limit in (65_536, 6_000, 3_000):
        text = markdown.render(data, links=LinkBuilder.from_env(ENV), max_bytes=limit)
        assert len(text.encode("utf-8")) <= limit
        assert text.startswith("**FAIL** — 70 violations")
    small = markdown.render(data, max_bytes=6_000)
    shown = len([r for r in _table_rows(small) if "bandit&#58;B324" in r])
    assert 0 < shown < 50
    assert f"### Violations (top {shown} of 70)" in small
    assert f"{70 - shown} more not shown here" in small

    tiny = markdown.render(data, max_bytes=300)
    assert len(tiny.encode("utf-8")) <= 300
    assert "truncated" in tiny


def test_fit_cuts_whole_lines() -> None:
    text = "".join(f"line {i} &#124; é\n" for i in range(100))
    out = markdown.fit(text, 200)
    assert len(out.encode("utf-8")) <= 200
    body = out.split("\n*(truncated")[0]
    assert all(re.fullmatch(r"line \d+ &#124; é", line) for line in body.splitlines())


def test_category_whose_scanner_had_nothing_to_check_says_so(scan_data) -> None:
    """No coverage report: the coverage row says "not checked" and why, never "no findings"."""
    from policy_gate.reports import markdown

    data = scan_data({"app.py": "print('ok')\n"}, only=["coverage"])
    text = markdown.render(data)
    row = next(line for line in text.splitlines() if line.startswith("| coverage |"))
    assert "not checked" in row and "no coverage report found" in row
    assert "no findings" not in row
