"""Inline suppression comments (`# nosec`, `nosemgrep`, `pragma: allowlist secret`), found
by the gate itself.

Such a comment is written by whoever writes the code, including the pull request under
review. The scanners therefore run with their own suppression handling off and report
everything; this module finds the comments, with each tool's own syntax, so that the policy
(not the author) decides whether each one is honoured, and every one is counted and shown.

Each kind is looked for only where its tool looks: `nosec` in bandit's Python files,
`nosemgrep` in semgrep's Python and JavaScript/TypeScript files, the allowlist pragma
(detect-secrets' syntax, which names the results of every secret engine the catalogue
lists: kingfisher's as much as detect-secrets') in every text file. In Python and
JavaScript/TypeScript only real comments count (a marker inside a string literal or
docstring is not a suppression).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from policy_gate.base.redact import mask, sha1_hex
from policy_gate.base.textsearch import files_containing
from policy_gate.base.treefile import TreeFileError, is_binary, read_tree_file
from policy_gate.catalogue import BANDIT, SEMGREP
from policy_gate.findings import (
    SAST,
    SECRET,
    SUPPRESSION,
    Confidence,
    Finding,
    Source,
    content_key,
)
from policy_gate.results import ALLOWLIST, NOSEC, NOSEMGREP, Suppression

# The only results a kind can silence; a comment never hides an `unscanned` file.
_CATEGORY_OF = {NOSEC: SAST, NOSEMGREP: SAST, ALLOWLIST: SECRET}
HELP_URLS = {
    NOSEC: "https://bandit.readthedocs.io/en/latest/config.html#exclusions",
    NOSEMGREP: "https://semgrep.dev/docs/ignoring-files-folders-code",
}
MAX_TEXT = 200  # characters of comment or reason kept: a report line, not a document

# bandit 1.9 test names -> ids (plugins and blacklist entries), as its extension manager
# maps them for `# nosec <name>`. A merged finding may not carry bandit's test name, and
# blacklist results are all named "blacklist", so the name is resolved here.
# tests/test_suppressions.py checks this table against the installed bandit.
BANDIT_TEST_NAMES: Mapping[str, str] = {
    "assert_used": "B101",
    "exec_used": "B102",
    "set_bad_file_permissions": "B103",
    "hardcoded_bind_all_interfaces": "B104",
    "hardcoded_password_string": "B105",
    "hardcoded_password_funcarg": "B106",
    "hardcoded_password_default": "B107",
    "hardcoded_tmp_directory": "B108",
    "try_except_pass": "B110",
    "try_except_continue": "B112",
    "request_without_timeout": "B113",
    "flask_debug_true": "B201",
    "tarfile_unsafe_members": "B202",
    "pickle": "B301",
    "marshal": "B302",
    "md5": "B303",
    "ciphers": "B304",
    "cipher_modes": "B305",
    "mktemp_q": "B306",
    "eval": "B307",
    "mark_safe": "B308",
    "urllib_urlopen": "B310",
    "random": "B311",
    "telnetlib": "B312",
    "xml_bad_cElementTree": "B313",
    "xml_bad_ElementTree": "B314",
    "xml_bad_expatreader": "B315",
    "xml_bad_expatbuilder": "B316",
    "xml_bad_sax": "B317",
    "xml_bad_minidom": "B318",
    "xml_bad_pulldom": "B319",
    "ftplib": "B321",
    "unverified_context": "B323",
    "hashlib_insecure_functions": "B324",
    "import_telnetlib": "B401",
    "import_ftplib": "B402",
    "import_pickle": "B403",
    "import_subprocess": "B404",
    "import_xml_etree": "B405",
    "import_xml_sax": "B406",
    "import_xml_expat": "B407",
    "import_xml_minidom": "B408",
    "import_xml_pulldom": "B409",
    "import_xmlrpclib": "B411",
    "import_httpoxy": "B412",
    "import_pycrypto": "B413",
    "import_pyghmi": "B415",
    "request_with_no_cert_validation": "B501",
    "ssl_with_bad_version": "B502",
    "ssl_with_bad_defaults": "B503",
    "ssl_with_no_version": "B504",
    "weak_cryptographic_key": "B505",
    "yaml_load": "B506",
    "ssh_no_host_key_verification": "B507",
    "snmp_insecure_version": "B508",
    "snmp_weak_cryptography": "B509",
    "paramiko_calls": "B601",
    "subprocess_popen_with_shell_equals_true": "B602",
    "subprocess_without_shell_equals_true": "B603",
    "any_other_function_with_shell_equals_true": "B604",
    "start_process_with_a_shell": "B605",
    "start_process_with_no_shell": "B606",
    "start_process_with_partial_path": "B607",
    "hardcoded_sql_expressions": "B608",
    "linux_commands_wildcard_injection": "B609",
    "django_extra_used": "B610",
    "django_rawsql_used": "B611",
    "logging_config_insecure_listen": "B612",
    "trojansource": "B613",
    "pytorch_load": "B614",
    "huggingface_unsafe_download": "B615",
    "jinja2_autoescape_false": "B701",
    "use_of_mako_templates": "B702",
    "django_mark_safe": "B703",
    "markupsafe_markup_xss": "B704",
}


# ---------------------------------------------------------------------------- lexing
# Comments and string literals, so that a marker inside a string is not taken for a
# comment. Possessive quantifiers keep every alternative linear on hostile input; an
# unterminated literal runs to the end of its line (or file, for a block) as a tokenizer's
# error recovery would.
_PY_LEX = re.compile(
    r"(?P<c>\#[^\n]*+)"
    r"|'''(?:[^'\\]|\\.|'(?!''))*+(?:''')?"
    r'|"""(?:[^"\\]|\\.|"(?!""))*+(?:""")?'
    r"|'(?:[^'\\\n]|\\.)*+'?"
    r'|"(?:[^"\\\n]|\\.)*+"?',
    re.DOTALL,
)
# JavaScript/TypeScript: regex literals are not recognised; a quote inside one can at
# worst hide a comment later on the same line (or, for a backtick, later in the file).
_JS_LEX = re.compile(
    r"(?P<c>//[^\n]*+|/\*(?:[^*]|\*(?!/))*+(?:\*/)?)"
    r"|'(?:[^'\\\n]|\\.)*+'?"
    r'|"(?:[^"\\\n]|\\.)*+"?'
    r"|`(?:[^`\\]|\\.)*+`?",
    re.DOTALL,
)

# ---------------------------------------------------------------------------- markers
# bandit (core/manager.py): `#\s*nosec:?` inside a comment token, then test ids or names
# up to the next '#'. Unlike bandit, `nosec` must end at a word boundary (`# nosecurity`).
_NOSEC = re.compile(r"#\s*nosec(?![A-Za-z0-9_])")
_BANDIT_WORD = re.compile(r"[\s,]*([A-Za-z0-9_]+)")
_BANDIT_ID = re.compile(r"B\d+")
# semgrep (src/reporting/Nosemgrep.ml): ` nosem` or ` nosemgrep`, any case, after a space
# anywhere on the line, or with nothing alphanumeric before it on its line (then it applies
# to the next line); rule ids only after `:` or `=`. semgrep would also take prose that
# mentions nosemgrep for a suppression; here the marker must open a comment, as semgrep
# documents it (`# nosemgrep`, `// nosemgrep`, `/* nosemgrep`, ` * nosemgrep` in a block).
_NOSEM = re.compile(r"(?<![A-Za-z0-9_\-])nosem(?:grep)?(?![A-Za-z0-9_\-])", re.IGNORECASE)
_SEMGREP_IDS = re.compile(
    r"[:=]\s*([A-Za-z0-9_][A-Za-z0-9_.\-]*(?:\s*,\s*[A-Za-z0-9_][A-Za-z0-9_.\-]*)*)"
)
_ALNUM = re.compile(r"[A-Za-z0-9]")
# Where a suppression's own words end: at the next comment opener in the same comment.
_NEXT_OPENER = {"py": re.compile(r"#"), "js": re.compile(r"//|/\*|\*/")}
_REASON_LEAD = re.compile(r"^[\s,;]*(?:-{1,2}(?!-)|[\u2014\u2013:]|because\b)?\s*", re.IGNORECASE)
_CLOSERS = ("*/", "-->")
# A quoted literal without spaces may be a credential; prose in quotes (or an apostrophe
# in "it's") is left readable.
_QUOTED_TOKEN = re.compile(r"""(['"`])([^\s'"`]{4,})\1""")
# Words as credentials are delimited in URLs, assignments, lists and prose: a password in
# a URL's user-info part or in `key=value` is a word of its own.
_WORD = re.compile(r"""[^\s'"`,;()<>\[\]{}/:@?&=.#|\\*]+""")


@dataclass(frozen=True, slots=True)
class _Pragma:
    """One of detect-secrets' pragma patterns and the closer its comment style needs at the
    end of the line (``*/``, ``-->``)."""

    pattern: re.Pattern[str]
    closer: str
    nextline: bool


def _pragmas(styles: Sequence[tuple[str, str]]) -> tuple[_Pragma, ...]:
    """detect-secrets 1.5's patterns (filters/allowlist.py): the same-line pragma after any
    of its comment styles, the next-line one only alone on its line. Its overlapping
    ``[ \t]* *`` and lazy ``.*?<closer>`` are rewritten (possessive, closer checked apart)
    so that a hostile long line cannot make them backtrack."""
    out: list[_Pragma] = []
    for start, closer in styles:
        same = rf"(?P<open>{start})[ \t]*+pragma: ?(?:allow|white)list[ -]secret(?P<rest>.*)$"
        ahead = (
            rf"^[ \t]*+(?P<open>{start}) *+pragma: ?allowlist[ -]nextline[ -]secret(?P<rest>.*)$"
        )
        out.append(_Pragma(re.compile(same), closer, nextline=False))
        out.append(_Pragma(re.compile(ahead), closer, nextline=True))
    return tuple(out)


_DS_STYLES = (
    ("#", ""),
    ("//", ""),
    (r"/\*", "*/"),
    ("'", ""),
    ("--", ""),
    (r"<!--[# \t]*+", "-->"),
)
_PRAGMAS = _pragmas(_DS_STYLES)
_PRAGMAS_YAML = _pragmas(_DS_STYLES[:1])  # detect-secrets: only `#` in *.yaml files


def find_suppressions(root: Path, files: Sequence[str], max_file_bytes: int) -> list[Suppression]:
    """Every inline suppression in ``files`` (root-relative POSIX paths from the gate's
    walk). Each file is read once, never through a symlink; binary files and files larger
    than ``max_file_bytes`` are skipped, as the scanners skip them."""
    py = tuple(s.lower() for s in BANDIT.suffixes)
    js = tuple(s.lower() for s in SEMGREP.suffixes if s.lower() not in py)
    found: list[Suppression] = []
    # Most files hold no marker: one grep finds those that may (Django 4.2: 1 of 3,600),
    # so Python reads those only; without grep's answer, every file is read.
    holding = files_containing(root, files, MARKER_WORDS)
    for rel in files if holding is None else [f for f in files if f in holding]:
        name = rel.lower()
        lang = "py" if name.endswith(py) else "js" if name.endswith(js) else ""
        data = _read(root / rel, max_file_bytes)
        if data is None or not _may_hold_marker(data, lang):
            continue
        text = data.decode("utf-8", "surrogateescape")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        found.extend(_parse(rel, text, lang, rel.endswith(".yaml")))
    return found


def _read(path: Path, limit: int) -> bytes | None:
    """The file's bytes, or None if it is not a readable regular text file within limit."""
    try:
        data = read_tree_file(path, limit)
    except TreeFileError:
        return None
    return None if is_binary(data) else data


# Every marker holds one of these (ignoring case): _may_hold_marker's words.
MARKER_WORDS = ("allowlist", "whitelist", "nosec", "nosem")


def _may_hold_marker(data: bytes, lang: str) -> bool:
    """A cheap byte search first: most files hold no marker at all."""
    if b"allowlist" in data or b"whitelist" in data:
        return True
    if not lang:
        return False  # neither bandit nor semgrep reads it
    return (lang == "py" and b"nosec" in data) or _NOSEM_BYTES.search(data) is not None


_NOSEM_BYTES = re.compile(rb"nosem", re.IGNORECASE)  # semgrep ignores case
_CANDIDATE = re.compile(r"nosec|nosem|pragma", re.IGNORECASE)
_MAX_COL = 1 << 62
# kind, rules, reason, lines ahead (0 or 1), text, and the columns the text spans
_Parsed = tuple[str, tuple[str, ...], str, int, str, int, int]
# (start, end) columns of the comments on one line; code and strings are outside them
_Spans = list[tuple[int, int]]


def _parse(rel: str, text: str, lang: str, yaml: bool) -> list[Suppression]:
    starts = [0]
    starts.extend(m.end() for m in re.finditer("\n", text))
    comments: list[tuple[int, int]] = []
    if lang:
        lexer = _PY_LEX if lang == "py" else _JS_LEX
        comments = [m.span("c") for m in lexer.finditer(text) if m.group("c") is not None]
    comment_starts = [c[0] for c in comments]
    out: list[Suppression] = []
    done: set[int] = set()
    for candidate in _CANDIDATE.finditer(text):
        number = bisect.bisect_right(starts, candidate.start())  # 1-based
        if number in done:
            continue
        done.add(number)
        begin = starts[number - 1]
        end = starts[number] - 1 if number < len(starts) else len(text)
        line = text[begin:end]
        if lang:
            # comments overlapping this line, clipped to it (a block comment may span lines)
            first = max(0, bisect.bisect_right(comment_starts, begin) - 1)
            last = bisect.bisect_left(comment_starts, end)
            spans = [
                (max(a, begin) - begin, min(b, end) - begin)
                for a, b in comments[first:last]
                if b > begin
            ]
            found = _in_code_line(line, lang, spans)
        else:
            found = _allowlists(line, _PRAGMAS_YAML if yaml else _PRAGMAS, None)
        out.extend(
            Suppression(rel, number, kind, rules, reason, number + ahead, shown,
                        _code_values(line, col, stop))
            for kind, rules, reason, ahead, shown, col, stop in found
        )
    return out


# Where a value ends, in code and in the words of a URL (user, password, host).
_VALUE_ENDS = (
    re.compile(r"""[\s'"`=:,;(){}\[\]<>]+"""),
    re.compile(r"""[\s'"`=:,;(){}\[\]<>@/?&#]+"""),
    re.compile(r"""[\s'"`]+"""),
)
_CODE_AROUND = 8192  # characters of code each side of a comment (a minified line is long)
_QUOTED_VALUE = re.compile(r"""(['"`])((?:(?!\1).){1,512})\1""")


def _code_values(line: str, col: int, stop: int) -> frozenset[str]:
    """SHA-1s of the values a secret engine may take from the code around a comment (the
    line outside columns col..stop), except any that occur in the comment itself: a secret
    with one of these hashes is the code's, not the comment's. Hashes of the value as the
    engines hash it (``secret:<sha1>``); a value cut differently is not here, and then the
    comment's text is withheld (the safe side)."""
    comment = line[col:stop]
    code = line[max(0, col - _CODE_AROUND) : col] + "\n" + line[stop : stop + _CODE_AROUND]
    values = {m[2] for m in _QUOTED_VALUE.finditer(code)}
    for ends in _VALUE_ENDS:
        values.update(ends.split(code))
    return frozenset(sha1_hex(v) for v in values if v and v not in comment)


def _comment_end(spans: _Spans | None, col: int) -> int | None:
    """End column of the comment holding ``col``; None when ``col`` is code or a string.
    ``spans`` None: a file without comment syntax we know, where any column counts."""
    if spans is None:
        return None
    i = bisect.bisect_right(spans, (col, _MAX_COL)) - 1
    if i >= 0 and spans[i][0] <= col < spans[i][1]:
        return spans[i][1]
    return None


def _opener_before(line: str, col: int) -> int | None:
    """Column of a comment opener (`#`, `//`, `/*`) followed only by blanks up to ``col``."""
    i = col
    while i > 0 and line[i - 1] in " \t":
        i -= 1
    for opener in ("//", "/*", "#"):
        if i >= len(opener) and line.startswith(opener, i - len(opener)):
            return i - len(opener)
    return None


def _in_code_line(line: str, lang: str, spans: _Spans) -> list[_Parsed]:
    """Suppressions on one line of Python or JavaScript/TypeScript."""
    alnum = _ALNUM.search(line)
    first_alnum = alnum.start() if alnum else len(line)
    marks: list[tuple[int, int, str]] = []  # (start, end, kind)
    if lang == "py":
        for m in _NOSEC.finditer(line):
            if _comment_end(spans, m.start()) is not None:
                marks.append((m.start(), m.end(), NOSEC))
                break  # bandit reads the first `nosec` of a comment
    for m in _NOSEM.finditer(line):
        col = m.start()
        alone = first_alnum >= col
        spaced = alone or line[col - 1] in " \t"
        leads = _opener_before(line, col) is not None or (
            alone and line[:col].strip(" \t") in ("", "*")  # inside a block comment
        )
        if spaced and leads and _comment_end(spans, col) is not None:
            marks.append((col, m.end(), NOSEMGREP))
    marks.sort()
    out: list[_Parsed] = []
    for i, (start, end, kind) in enumerate(marks):
        comment_end = _comment_end(spans, start) or len(line)
        stop = min(comment_end, marks[i + 1][0]) if i + 1 < len(marks) else comment_end
        opener = start if kind == NOSEC else _opener_before(line, start)
        col = start if opener is None else opener
        comment = line[col:comment_end]
        body = line[end:stop]
        cut = _NEXT_OPENER[lang].search(body)
        if cut:
            body = body[: cut.start()]
        if kind == NOSEC:
            rules, rest = _bandit_rules(body)
            out.append((kind, rules, _reason(rest), 0, _printable(comment, rules), col,
                        comment_end))
        else:
            rules, rest = _semgrep_rules(body)
            ahead = 1 if first_alnum >= start else 0
            out.append((kind, rules, _reason(rest), ahead, _printable(comment, rules), col,
                        comment_end))
    out.extend(_allowlists(line, _PRAGMAS, spans))
    return out


def _bandit_rules(body: str) -> tuple[tuple[str, ...], str]:
    """Leading test ids (B602) and test names, separated by commas or spaces; the first
    other word starts the reason, so `B602, B607 - why` is two ids and a reason."""
    body = body.lstrip()
    body = body[1:] if body.startswith(":") else body
    rules: list[str] = []
    pos = 0
    while m := _BANDIT_WORD.match(body, pos):
        word = m.group(1)
        if not (_BANDIT_ID.fullmatch(word) or word in BANDIT_TEST_NAMES):
            break
        rules.append(word)
        pos = m.end()
    return tuple(rules), body[pos:]


def _semgrep_rules(body: str) -> tuple[tuple[str, ...], str]:
    """Comma-separated rule ids after `:` or `=`; without either, semgrep reads no ids."""
    m = _SEMGREP_IDS.match(body)
    if not m:
        return (), body
    ids = tuple(i.strip().rstrip(".") for i in m.group(1).split(","))
    return tuple(i for i in ids if i), body[m.end() :]


def _allowlists(line: str, pragmas: Sequence[_Pragma], spans: _Spans | None) -> list[_Parsed]:
    """The allowlist pragma on one line: the earliest match of detect-secrets' patterns
    that ends its line as the comment style requires and, in a language we lex, is in a
    comment."""
    best: tuple[int, _Pragma, str] | None = None
    for pragma in pragmas:
        pos = 0
        while (m := pragma.pattern.search(line, pos)) is not None:
            col = m.start("open")
            if best is not None and col >= best[0]:
                break
            rest = m.group("rest").rstrip(" \t")
            if rest.endswith(pragma.closer) and (spans is None or _comment_end(spans, col)):
                best = (col, pragma, rest.removesuffix(pragma.closer))
                break
            if pragma.nextline:
                break  # anchored at the line's start: no later match
            pos = col + 1
    if best is None:
        return []
    col, pragma, rest = best
    stop = _comment_end(spans, col) or len(line)
    ahead = 1 if pragma.nextline else 0
    return [(ALLOWLIST, (), _reason(rest), ahead, _printable(line[col:stop]), col, stop)]


def _reason(rest: str) -> str:
    rest = rest.strip()
    for closer in _CLOSERS:
        rest = rest.removesuffix(closer).rstrip()
    return _printable(_REASON_LEAD.sub("", rest, count=1).strip())


def _may_be_secret(word: str) -> bool:
    """A word of a comment shaped like a credential or a card number: 12+ digits, or 10+
    characters mixing letters and digits (keys, tokens, a password in a URL), or 20+
    letters in mixed case. Rule ids and prose are shorter, or not mixed."""
    digits = sum(ch.isdigit() for ch in word)
    if digits >= 12:
        return True
    if len(word) < 10:
        return False
    if digits and any(ch.isalpha() for ch in word):
        return True
    return len(word) >= 20 and not (word.islower() or word.isupper())


def _printable(value: str, keep: Sequence[str] = ()) -> str:
    """Control, format (bidi) and undecodable characters escaped, token-like quoted
    literals and credential-shaped words masked (except the rule ids in ``keep``),
    capped at MAX_TEXT: a comment is shown in terminals, logs and pull-request
    comments, and may hold a credential — the very one it is meant to silence."""
    value = _QUOTED_TOKEN.sub(lambda m: m[1] + mask(m[2]) + m[1], value.strip())
    kept = {word for rule in keep for word in _WORD.findall(rule)}
    value = _WORD.sub(
        lambda m: mask(m[0]) if m[0] not in kept and _may_be_secret(m[0]) else m[0], value
    )
    out: list[str] = []
    size = 0
    for ch in value:
        if ch.isprintable():
            piece = ch
        elif "\udc80" <= ch <= "\udcff":  # an undecodable byte (surrogateescape)
            piece = f"\\x{ord(ch) - 0xDC00:02x}"
        else:
            piece = ch.encode("unicode_escape", "backslashreplace").decode("ascii")
        out.append(piece)
        size += len(piece)
        if size > MAX_TEXT:
            return "".join(out)[: MAX_TEXT - 1] + "…"
    return "".join(out)


# ---------------------------------------------------------------------------- matching


def names(s: Suppression, finding: Finding, source: Source) -> bool:
    """Whether ``s`` silences this one source of ``finding``, by its tool's rules: a
    comment of the source's tool, on the line it applies to, naming the source's rule (any
    rule of that tool, when bare).

    semgrep honours `nosemgrep` only on the first line of its match, detect-secrets its
    pragma only on the line it reports (and so does the gate for every secret engine's
    result: kingfisher's too, on a private key's BEGIN line); bandit honours `nosec` on
    any line of the flagged statement (its ``line_range``), which is the finding's span.
    A result of a scanner the comment does not speak to (data-protection's key stores and
    card numbers, for the pragma) is never named.
    """
    if finding.path != s.path or finding.category != _CATEGORY_OF[s.kind]:
        return False
    span = finding.span
    if span is None or source.scanner not in s.scanners:
        return False
    if s.kind == NOSEC:
        on_line = span[0] <= s.applies_to <= span[1]
    else:  # the line this source was reported on, before its finding merged with others
        on_line = s.applies_to == (source.line or finding.start_line)
    return on_line and _names(s, source.rule_id)


def covers(s: Suppression, finding: Finding) -> bool:
    """Whether ``s`` alone would silence ``finding``: it names every source. A merged
    finding (bandit and semgrep on one flaw, or two bandit rules of one CWE on a line) is
    not silenced by a comment naming one harmless rule of it (see :func:`covering`)."""
    return bool(finding.sources) and all(names(s, finding, src) for src in finding.sources)


def covering(
    suppressions: Sequence[Suppression], finding: Finding, sources: Sequence[Source] = ()
) -> list[tuple[Source, tuple[Suppression, ...]]]:
    """For each of ``sources`` (default: all of the finding's), the comments that name it.
    The finding is silenced only when every source has one: each scanner's result must be
    named by a comment of that scanner (`nosec` for bandit, `nosemgrep` for semgrep, the
    allowlist pragma for a secret engine)."""
    return [
        (src, tuple(s for s in suppressions if names(s, finding, src)))
        for src in (sources or finding.sources)
    ]


def _names(s: Suppression, rule_id: str) -> bool:
    if s.kind == ALLOWLIST or not s.rules:
        return True
    if s.kind == NOSEC:  # bandit's Source.rule_id is the test id (B602)
        return any(r == rule_id or BANDIT_TEST_NAMES.get(r) == rule_id for r in s.rules)
    # semgrep's Source.rule_id is the last dotted component of its check_id; semgrep
    # accepts the full id or any dotted suffix of it.
    return any(r == rule_id or r.rsplit(".", 1)[-1] == rule_id for r in s.rules)


def bare_findings(suppressions: Sequence[Suppression]) -> list[Finding]:
    """A finding for every `nosec` / `nosemgrep` that names no rule: it silences every
    rule of its tool on the line, including rules added later, so it is shown for review."""
    out: list[Finding] = []
    for s in suppressions:
        if not s.bare:
            continue
        name = s.path.lower()
        js = name.endswith(SEMGREP.suffixes) and not name.endswith(BANDIT.suffixes)
        opener = "//" if js else "#"
        if s.kind == NOSEC:
            example = f"{opener} nosec B602 - <reason>"
            hint = ""
        else:
            example = f"{opener} nosemgrep: <rule-id> - <reason>"
            hint = (
                " (semgrep reads rule ids only after a colon: `nosemgrep: <rule-id>`)"
                if s.reason
                else ""
            )
        message = (
            f"`{s.text}` names no rule, so it silences every {s.scanners[0]} rule on line "
            f"{s.applies_to}, including rules added later{hint}."
        )
        out.append(
            Finding(
                category=SUPPRESSION,
                sources=(Source("policy-gate", f"bare-{s.kind}", None, Confidence.HIGH, message),),
                path=s.path,
                start_line=s.line,
                end_line=s.line,
                message=message,
                flaw_key=f"bare-{s.kind}",
                content_key=content_key(s.text),
                title="Inline suppression without a rule id",
                help_url=HELP_URLS[s.kind],
                fix=f"Name the rule(s) it is meant for: `{example}`.",
            )
        )
    return out
