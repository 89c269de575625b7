"""The Markdown summary / PR comment, on real scans: verdict first, inert untrusted text,
links to the commit, and never over the size limit."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from policy_gate.reports import markdown
from policy_gate.reports.markdown import ZWJ, LinkBuilder, md
from tests import gfm
from tests.conftest import EXTENDS_OFFLINE

VULN_PY = """\
import hashlib, subprocess


def run(cmd):
    hashlib.md5(cmd)
"""

HOSTILE = (
    "<script>alert(1)</script> @mojaloop/security | pipe `tick` "
    "[x](javascript:alert(1)) *b* _i_ #1 $x$ https://evil.example www.evil.example &amp;"
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
    assert "| svc/a.py:5 | bandit:B324 (CWE-328) |" in text  # readable, no link
    assert "](https://github.com/" not in text
    for d in data.evaluation.violations:  # what a waiver or `policy-gate explain` takes
        assert f"| `{d.finding.fingerprint}` |" in text
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
        "see www.evil.example &amp; $x$ <b>.py": VULN_PY,
    }
    data = scan_data(files, policy=str(policy), only=["bandit"])
    assert data.policy.name == HOSTILE
    links = LinkBuilder.from_env(ENV)
    for builder in (None, links):
        text = markdown.render(data, links=builder)
        # the hostile values did reach the report, readable ...
        assert "\\<script>" in text
        assert f"@{ZWJ}mojaloop/security" in text
        assert "### Not enforced" in text and "4 findings disabled" in text
        # ... but rendered as GitHub renders it, nothing in it is active
        page = gfm.render(text)
        assert set(page.tags) <= {"p", "h3", "hr", "ul", "li", "strong", "code", "a",
                                  "table", "thead", "tbody", "tr", "th", "td"}, page.tags
        # code only around the gate's own hashes: the policy's sha256, the fingerprints
        assert page.code and all(re.fullmatch(r"[0-9a-f]{32}|[0-9a-f]{64}", c) for c in page.code)
        assert page.active() == []  # no mention, issue reference or autolink
        for href in page.hrefs:  # only the gate's own links
            assert href.startswith(("https://github.com/mojaloop/central-ledger/blob/",
                                    "https://bandit.readthedocs.io/")), href
        assert "$" not in text  # GitHub's maths
        # every row has exactly its table's columns; a newline in a name did not end one
        for table in page.tables:
            assert len({len(row) for row in table}) == 1, table
        # and the text shown is the text that was found
        shown = "".join(page.text).replace(ZWJ, "")
        assert "@mojaloop/security | pipe `tick` <script>alert(1)<.py" in shown
        assert "a_b*c*[d](e)#2.py" in shown
        assert "x ::warning::<img src=x onerror=alert(1)>.py" in shown
        assert "see www.evil.example &amp; $x$ <b>.py" in shown
        assert HOSTILE in shown  # the policy's name


def test_md_escapes_what_is_active_and_leaves_the_rest_readable() -> None:
    out = md("a|b`c*d[e]f<g>h&amp;i#1@k\\l~m$n https://x www.y \\x1b snake_case _i_ \r\np\tq")
    assert out == (
        "a\\|b\\`c\\*d\\[e\\]f\\<g>h\\&amp;i#\u200d1@\u200dk\\l\\~m&#36;n "
        "https:\u200d//x www\u200d.y \\x1b snake_case \\_i\\_  p q"
    )
    assert md("\x1b[31m") == "\\x1b\\[31m"  # shown escaped, and inert
    assert md("C:\\dir\\") == "C:\\dir\\\\"  # a last backslash escapes what follows
    assert md("x" * 500, 10) == "x" * 9 + "…"


_PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _md_reference(text: str, limit: int | None = None) -> str:
    """md() character by character: the regular expression must agree with it."""
    text = re.sub(r"[\r\n\t\f\v\u0085\u2028\u2029]+", " ", text)
    text = "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    out = []
    for i, ch in enumerate(text):
        before, after = text[i - 1] if i else "", text[i + 1] if i + 1 < len(text) else ""
        if ch == "\\" and (after == "" or after in _PUNCTUATION):
            out.append("\\\\")
        elif ch in "`*~[]<|":
            out.append("\\" + ch)
        elif ch == "_":
            out.append("_" if before.isalnum() and after.isalnum() else "\\_")
        elif ch == "&" and re.match(r"&#?[0-9A-Za-z]+;", text[i:]):
            out.append("\\&")
        elif ch == "$":
            out.append("&#36;")
        elif _joined(text, i):
            out.append(ch + ZWJ)
        else:
            out.append(ch)
    return "".join(out)


def _ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _joined(text: str, i: int) -> bool:
    """Whether a zero-width joiner follows text[i]: after @, after # before a digit, after
    the : of scheme://, after the www of www."""
    ch, before = text[i], text[i - 1] if i else ""
    after = text[i + 1: i + 2]
    if ch == "@" or (ch == "#" and after.isdigit() and after.isascii()):
        return True
    if ch == ":":
        return text[i + 1: i + 3] == "//" and _ascii_alnum(before)
    return (i >= 2 and text[i - 2: i + 2].lower() == "www."
            and not (i >= 3 and _ascii_alnum(text[i - 3])))


def test_md_matches_its_reference_on_any_text() -> None:
    rng = random.Random(11)
    alphabet = [*"ab |`*_~[]<>&\"#@$:.-+\\/1wW", "\r\n", "\t", "\f\v", "\x1b", "\u2028",
                "\u0085", "\u200b", "é", "中", "\ud800", "  ", "x" * 40, "www.", "://", "&amp;"]
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        limit = rng.choice([None, 1, 2, 5, 30, 300])
        assert md(text, limit) == _md_reference(text, limit), (text, limit)


def test_md_text_renders_as_itself_and_nothing_else() -> None:
    """Any text, in a table cell and in a sentence, rendered by GitHub's parser: one cell,
    no element, the same text (less the invisible joiners), nothing GitHub would link."""
    rng = random.Random(5)
    alphabet = [*"ab |`*_~[]<>&\"#@$:.-+\\!()/=1", "https://", "www.", "&amp;", "&#35;", "<b>",
                "</b>", "_x_", "**", "~~", "javascript:", "@everyone", "#12", "![i](x)",
                "[l](y)", "\\|", "é", "<!--", "-->", "``", "$$", "\\\\"]
    for _ in range(3000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        page = gfm.render(f"| h | k |\n|---|---|\n| {md(value)} | z |\n\nsay {md(value)} end\n")
        assert set(page.tags) == {"table", "thead", "tr", "th", "tbody", "td", "p"}, value
        assert page.tables == [[["h", "k"], [value.strip().replace(ZWJ, ""), "z"]]] or (
            page.tables[0][1][0].replace(ZWJ, "") == value.strip()
        ), value
        assert len(page.tables[0][1]) == 2, value
        assert page.active() == [], value


def test_never_over_max_bytes_and_says_it_truncated(scan_data) -> None:
    files = {f"pkg/mod_{i:03d}.py": VULN_PY for i in range(70)}
    data = scan_data(files, only=["bandit"])
    assert len(data.evaluation.violations) == 70

    full = markdown.render(data)
    assert "### Violations (top 50 of 70)" in full
    assert len([r for r in _table_rows(full) if "bandit:B324" in r]) == 50
    assert "20 more not shown here" in full

    everything = markdown.render(data, max_violations=1000)
    assert "### Violations (70)" in everything

    for limit in (65_536, 6_000, 3_000):
        text = markdown.render(data, links=LinkBuilder.from_env(ENV), max_bytes=limit)
        assert len(text.encode("utf-8")) <= limit
        assert text.startswith("**FAIL** — 70 violations")
    small = markdown.render(data, max_bytes=6_000)
    shown = len([r for r in _table_rows(small) if "bandit:B324" in r])
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
