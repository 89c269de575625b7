"""Baselines: the findings a repository already had when the gate was adopted.

``policy-gate baseline create`` records them; ``scan --baseline FILE`` then fails only on
findings that are not in the file, so a team can adopt the gate on a legacy code base
without first fixing every old flaw, while no new flaw gets through.

A baseline must survive ordinary editing of the code around a flaw, or it would be
useless; and it must not let a *new* flaw through because an old one looks like it. So
matching is a multiset with consumption: each entry excuses at most one finding, first by
exact fingerprint (which already ignores line numbers), then by :func:`match_key` (which
also ignores the path, so a moved file still matches). A second copy of an old flaw finds
its entry already consumed by the original and is new; in diff mode, where the change says
which line it added, the copy it added is the new one (see :func:`match`).

The file is JSON, sorted and versioned so that it diffs well in review. It holds no secret
values: findings carry only masked previews and hashes, and not even previews are stored.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import json.decoder
import json.scanner
import posixpath
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from policy_gate import __version__
from policy_gate.findings import Finding, Severity, sha256_hex
from policy_gate.policy.loader import Problem

BASELINE_VERSION = 1
MAX_BYTES = 64 * 1024 * 1024
MAX_PROBLEMS = 20  # a corrupt 64 MiB file must not print a million lines
# Past this many problems validation stops: counting a hostile file's millions costs minutes.
MAX_COUNTED = 10_000
# Problems name lines only in files up to this size: finding lines takes a second parse in
# pure Python (~3-15 MB/s), and a file of many megabytes must still be refused in seconds.
MAX_LOCATED_BYTES = 4 * 1024 * 1024
# Candidate pairs scored per file in matching; beyond it copies pair in line order (one flaw
# repeated thousands of times in a file would otherwise cost minutes and gigabytes).
MAX_PAIRS = 100_000
ABOUT = (
    "policy-gate baseline: findings accepted when it was created. "
    "`policy-gate scan --baseline FILE` fails only on findings not listed here. "
    "Recreate with `policy-gate baseline create`; review changes like code."
)

_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_SEVERITIES = tuple(s.label for s in Severity)
_RECREATE = "recreate it with `policy-gate baseline create`"
_TOP_REQUIRED = ("version", "created", "tool_version", "policy_sha256", "entries")
_TOP_OPTIONAL = ("about",)
_ENTRY_FIELDS = (
    "fingerprint",
    "match_key",
    "category",
    "rule",
    "path",
    "line",
    "severity",
    "title",
    "ids",
)


@dataclass(frozen=True)
class BaselineEntry:
    """One accepted finding: identity for matching, plus enough for a human to find it."""

    fingerprint: str
    match_key: str  # path-independent identity, see match_key()
    category: str
    rule: str  # qualified rule "scanner:rule_id" of the finding's lead source
    path: str
    line: int | None
    severity: str | None  # label
    title: str
    ids: tuple[str, ...]  # CWE/CVE/GHSA ids, for humans


@dataclass(frozen=True)
class Baseline:
    entries: tuple[BaselineEntry, ...]
    created: str  # ISO 8601 UTC
    tool_version: str
    policy_sha256: str
    # Where it was loaded from, only for messages: not part of what the baseline says.
    source: str = field(default="", compare=False)


class BaselineError(Exception):
    """A baseline that cannot be trusted; the CLI prints each problem and exits 2, like a
    bad policy, because silently ignoring it would change what the gate lets through."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def match_key(f: Finding) -> str:
    """What is wrong, in which code, regardless of where: survives moving the file."""
    return sha256_hex(f.category, f.flaw_key, f.content_key)[:32]


def utc_now() -> str:
    """The timestamp format ``created`` uses (seconds are precise enough for humans)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def create(findings: Sequence[Finding], *, policy_sha256: str, created: str) -> Baseline:
    """Record *findings* (merged, so they carry fingerprints) as accepted."""
    if not _HEX64.fullmatch(policy_sha256):
        raise ValueError("policy_sha256 must be 64 lowercase hex digits (Policy.sha256)")
    if not _is_utc_iso(created):
        raise ValueError(f"created must be an ISO 8601 UTC timestamp, not {created!r}")
    _check_fingerprints(findings)
    entries = (
        BaselineEntry(
            fingerprint=f.fingerprint,
            match_key=match_key(f),
            category=f.category,
            rule=f.qualified_rule,
            path=f.path,
            line=f.start_line,
            severity=f.severity.label if f.severity is not None else None,
            title=f.title,
            ids=tuple(f.ids),
        )
        for f in findings
    )
    return Baseline(
        entries=_sorted(entries),
        created=created,
        tool_version=__version__,
        policy_sha256=policy_sha256,
    )


def dumps(b: Baseline) -> str:
    """Stable JSON: the same baseline always gives the same bytes, so reviews see only
    real changes. ASCII-only, so odd file names (surrogate escapes) round-trip."""
    doc = {
        "about": ABOUT,
        "version": BASELINE_VERSION,
        "created": b.created,
        "tool_version": b.tool_version,
        "policy_sha256": b.policy_sha256,
        "entries": [
            {
                "fingerprint": e.fingerprint,
                "match_key": e.match_key,
                "category": e.category,
                "rule": e.rule,
                "path": e.path,
                "line": e.line,
                "severity": e.severity,
                "title": e.title,
                "ids": list(e.ids),
            }
            for e in _sorted(b.entries)
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=True) + "\n"


def load(path: str | Path) -> Baseline:
    """Read and validate a baseline file, refusing an oversize one before reading it all."""
    name = str(path)
    try:
        with Path(path).open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise BaselineError(
            [
                Problem(
                    name,
                    None,
                    None,
                    "",
                    f"cannot read baseline: {exc.strerror or exc}",
                    "check the path given to --baseline",
                )
            ]
        ) from None
    return loads(data, name)


def loads(data: str | bytes, name: str) -> Baseline:
    """Parse and strictly validate a baseline; every defect becomes a Problem, never a
    traceback, because the file may come from the pull request being gated."""
    if len(data) > MAX_BYTES:
        raise BaselineError(
            [
                _problem(
                    name,
                    "",
                    f"file is larger than {MAX_BYTES // 2**20} MiB",
                    "a baseline that large is not a reviewable list of accepted findings; "
                    f"fix findings or {_RECREATE}",
                )
            ]
        )
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise BaselineError(
                [
                    Problem(
                        name,
                        line,
                        None,
                        "",
                        f"not UTF-8 text (byte {exc.start})",
                        f"a baseline is a JSON file; {_RECREATE}",
                    )
                ]
            ) from None
    else:
        text = data.removeprefix("\ufeff")

    doc = _parse(text, name, None)
    problems = _validate(doc, name, lambda _obj: (None, None))
    if problems:
        if len(text) <= MAX_LOCATED_BYTES:
            # Second, slower parse only on failure: it records where each object starts,
            # so the problems can name a line.
            offsets: dict[int, int] = {}
            doc = _parse(text, name, offsets)
            starts = _line_starts(text)
            problems = _validate(doc, name, lambda obj: _line_col(starts, offsets.get(id(obj))))
        if len(problems) > MAX_PROBLEMS:
            more = len(problems) - MAX_PROBLEMS
            counted = f"at least {more}" if len(problems) >= MAX_COUNTED else str(more)
            problems = [
                *problems[:MAX_PROBLEMS],
                _problem(name, "", f"... and {counted} more problems", _RECREATE),
            ]
        raise BaselineError(problems)
    return Baseline(
        entries=_sorted(_entry(e) for e in doc["entries"]),
        created=doc["created"],
        tool_version=doc["tool_version"],
        policy_sha256=doc["policy_sha256"],
        source=name,
    )


def match(
    baseline: Baseline,
    findings: Sequence[Finding],
    introduced: Callable[[Finding], bool] | None = None,
    released: Callable[[str], bool] | None = None,
) -> dict[str, BaselineEntry]:
    """Which findings the baseline excuses: fingerprint of each matched finding -> the
    entry it matched. Pure and deterministic (independent of the order of *findings*).

    Each entry excuses one finding at most. Pass 1 matches exact fingerprints; pass 2
    matches what is left by :func:`match_key`, preferring the same path, then the same
    file name, then the nearest line, so a moved file keeps its entries but a copy of an
    old flaw elsewhere stays new (its entry was consumed by the original in pass 1).

    In diff mode ``introduced`` says which findings are on lines the change adds. A
    fingerprint counts identical flaws in a file from the top, so a copy inserted above a
    baselined flaw takes over its fingerprint: such a finding is excused only when no
    finding that was already there can take the entry, and the copy is the new one.
    ``released`` says which entries' files the change touched (changed, renamed or
    deleted): in diff mode an untouched file is not scanned again, so its baselined flaw is
    still there though no finding claims its entry, and a flaw the change introduces may
    take only an entry of a touched file (a moved flaw), never one an unscanned original
    holds (a copy of an old flaw in a new file is new).
    """
    _check_fingerprints(findings)
    is_new = introduced or (lambda _f: False)
    ordered = sorted(findings, key=_finding_sort_key)
    by_fingerprint: dict[str, list[BaselineEntry]] = defaultdict(list)
    for entry in _sorted(baseline.entries):
        by_fingerprint[entry.fingerprint].append(entry)

    matched: dict[str, BaselineEntry] = {}
    left: list[tuple[Finding, bool]] = []
    for f in ordered:
        new = is_new(f)
        bucket = by_fingerprint.get(f.fingerprint)
        if bucket and not new:
            matched[f.fingerprint] = bucket.pop(0)
        else:
            left.append((f, new))

    remaining: dict[str, list[BaselineEntry]] = defaultdict(list)
    for bucket in by_fingerprint.values():
        for entry in bucket:
            remaining[entry.match_key].append(entry)
    by_key: dict[str, list[tuple[Finding, bool]]] = defaultdict(list)
    for f, new in left:
        by_key[match_key(f)].append((f, new))

    for key, group in by_key.items():
        candidates = remaining.get(key)
        if candidates:
            matched.update((f.fingerprint, e) for f, e in _pair(group, candidates, released))
    return matched


def _pair(
    group: Sequence[tuple[Finding, bool]], candidates: Sequence[BaselineEntry],
    released: Callable[[str], bool] | None = None,
) -> list[tuple[Finding, BaselineEntry]]:
    """Pass 2 for one match key, in tiers: findings that were already there before those
    the change introduced; within each, entries of the same path, then of the same file
    name (a moved file), then any (which of two unrelated places pairs with which does not
    matter). Tiers keep the work near-linear where one flaw has thousands of copies."""
    free = {j: e for j, e in enumerate(sorted(candidates, key=_entry_sort_key))}
    out: list[tuple[Finding, BaselineEntry]] = []
    for new in (False, True):
        if new and released is not None:  # entries an unscanned original still holds
            free = {j: e for j, e in free.items() if released(e.path)}
        todo = sorted((f for f, n in group if n is new), key=_finding_sort_key)
        for scope in (_whole, posixpath.basename):
            todo = _pair_within(scope, todo, free, out)
        for f, j in zip(todo, list(free), strict=False):
            out.append((f, free.pop(j)))
    return out


def _whole(path: str) -> str:
    return path


def _pair_within(
    scope: Callable[[str], str],
    todo: Sequence[Finding],
    free: dict[int, BaselineEntry],
    out: list[tuple[Finding, BaselineEntry]],
) -> list[Finding]:
    """Pair findings with free entries whose ``scope(path)`` is the same, best pairs first
    (the same fingerprint, then the nearest line); returns the findings left unpaired."""
    entries: dict[str, list[int]] = defaultdict(list)
    for j, e in free.items():
        entries[scope(e.path)].append(j)
    findings: dict[str, list[Finding]] = defaultdict(list)
    for f in todo:
        findings[scope(f.path)].append(f)
    left: list[Finding] = []
    for name, fs in findings.items():
        js = entries.get(name, [])
        if len(fs) * len(js) > MAX_PAIRS:  # thousands of copies: in line order
            pairs = [(f, j) for f, j in zip(fs, js, strict=False)]
        else:  # best pairs first, over the whole bucket, whatever the order of the findings
            scored = sorted((_affinity(f, free[j]), i, j) for i, f in enumerate(fs) for j in js)
            used_f: set[int] = set()
            used_e: set[int] = set()
            pairs = []
            for _score, i, j in scored:
                if i not in used_f and j not in used_e:
                    used_f.add(i)
                    used_e.add(j)
                    pairs.append((fs[i], j))
        paired = {id(f) for f, _ in pairs}
        out.extend((f, free.pop(j)) for f, j in pairs)
        left.extend(f for f in fs if id(f) not in paired)
    return sorted(left, key=_finding_sort_key)


def unmatched_entries(
    baseline: Baseline, matched: Mapping[str, BaselineEntry]
) -> tuple[BaselineEntry, ...]:
    """Entries no finding matched: flaws that were fixed (or changed), so the baseline can
    be pruned and cannot excuse a future reappearance for longer than it must."""
    used = Counter(matched.values())
    out: list[BaselineEntry] = []
    for entry in _sorted(baseline.entries):
        if used[entry]:
            used[entry] -= 1
        else:
            out.append(entry)
    return tuple(out)


# --- helpers ------------------------------------------------------------------------


def _entry_sort_key(e: BaselineEntry) -> tuple[str, int, str, str, str]:
    return (e.path, e.line or 0, e.category, e.rule, e.fingerprint)


def _sorted(entries: Any) -> tuple[BaselineEntry, ...]:
    return tuple(sorted(entries, key=_entry_sort_key))


def _check_fingerprints(findings: Sequence[Finding]) -> None:
    """Baselines key on fingerprints; unmerged findings would silently mis-match."""
    seen: set[str] = set()
    for f in findings:
        if not f.fingerprint:
            raise ValueError(f"finding at {f.location} has no fingerprint; merge_findings() first")
        if f.fingerprint in seen:
            raise ValueError(f"duplicate fingerprint {f.fingerprint}; merge_findings() first")
        seen.add(f.fingerprint)


def _affinity(f: Finding, e: BaselineEntry) -> tuple[bool, int, str, int, str]:
    """Lower is a better pairing of a finding with a candidate entry of the same path (or
    file name): the same fingerprint (the same occurrence), then the nearest line."""
    if f.start_line is not None and e.line is not None:
        distance = abs(f.start_line - e.line)
    else:
        distance = 0 if f.start_line is None and e.line is None else 2**31
    return (f.fingerprint != e.fingerprint, distance, e.path, e.line or 0, e.fingerprint)


def _finding_sort_key(f: Finding) -> tuple[str, int, str]:
    return (f.path, f.start_line or 0, f.fingerprint)


def _is_utc_iso(value: str) -> bool:
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return False
    offset = stamp.utcoffset()
    return offset is not None and not offset


def _problem(name: str, where: str, message: str, hint: str) -> Problem:
    return Problem(name, None, None, where, message, hint)


class _Duplicates(dict[str, Any]):
    """A JSON object that named some key twice: a file that says two things is refused."""

    duplicates: list[str]


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    duplicates: list[str] = []
    for key, value in pairs:
        if key in obj:
            duplicates.append(key)
        obj[key] = value
    if duplicates:
        marked = _Duplicates(obj)
        marked.duplicates = duplicates
        return marked
    return obj


def _parse(text: str, name: str, offsets: dict[int, int] | None) -> Any:
    decoder = json.JSONDecoder(object_pairs_hook=_pairs)
    if offsets is not None:
        # The pure-Python scanner lets us note where each object starts.
        def parse_object(s_and_end: tuple[str, int], *args: Any) -> tuple[Any, int]:
            obj, end = json.decoder.JSONObject(s_and_end, *args)  # type: ignore[attr-defined]
            offsets[id(obj)] = s_and_end[1] - 1
            return obj, end

        decoder.parse_object = parse_object  # type: ignore[attr-defined]
        decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(
            [
                Problem(
                    name,
                    exc.lineno,
                    exc.colno,
                    "",
                    f"not valid JSON: {exc.msg}",
                    f"a baseline is the JSON `policy-gate baseline create` writes; {_RECREATE}",
                )
            ]
        ) from None
    except RecursionError:
        raise BaselineError(
            [_problem(name, "", "JSON nested too deeply", f"not a baseline; {_RECREATE}")]
        ) from None
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise BaselineError([_problem(name, "", f"not valid JSON: {exc}", _RECREATE)]) from None


def _line_starts(text: str) -> list[int]:
    """The offset each line starts at, so that locating a problem is a bisection (counting
    newlines per problem made a file of many small problems quadratic)."""
    return [0, *(m.end() for m in re.finditer("\n", text))]


def _line_col(starts: Sequence[int], offset: int | None) -> tuple[int | None, int | None]:
    if offset is None:
        return None, None
    line = bisect.bisect_right(starts, offset)
    return line, offset - starts[line - 1] + 1


Locate = Callable[[object], tuple[int | None, int | None]]
# Records one problem: the object it is in (for its line), where, what, and what to do.
Add = Callable[[object, str, str, str], None]


class _Enough(Exception):
    """MAX_COUNTED problems found: the rest is not worth the time."""


def _validate(doc: Any, name: str, locate: Locate) -> list[Problem]:
    """Every problem in the document (not just the first), so one edit fixes them all;
    located only as far as they are shown, counted only up to MAX_COUNTED."""
    problems: list[Problem] = []

    def add(obj: object, where: str, message: str, hint: str) -> None:
        if len(problems) >= MAX_COUNTED:
            raise _Enough
        line, col = locate(obj) if len(problems) < MAX_PROBLEMS else (None, None)
        problems.append(Problem(name, line, col, where, message, hint))

    with contextlib.suppress(_Enough):
        _check(doc, add)
    return problems


def _check(doc: Any, add: Add) -> None:
    """The whole document, in the order a reader meets it: its shape and version first,
    because a file of another version is not read further (its keys mean other things)."""
    if not isinstance(doc, dict):
        add(doc, "", f"expected a JSON object, found {_kind(doc)}", _RECREATE)
        return
    for key in getattr(doc, "duplicates", ()):
        add(doc, key, "key appears more than once", "keep one; a baseline must say one thing")
    if not _check_version(doc, add):
        return
    _check_top_keys(doc, add)
    _check_header(doc, add)
    _check_entries(doc, add)


def _check_version(doc: dict[str, Any], add: Add) -> bool:
    """Whether the file is of the version this policy-gate reads; the rest of the checks
    only make sense for that version."""
    version = doc.get("version")
    if "version" not in doc:
        add(doc, "version", "required key is missing", f'add "version": {BASELINE_VERSION}')
        return False
    if type(version) is not int:
        add(
            doc,
            "version",
            f"must be an integer, found {_kind(version)}",
            f"this policy-gate reads version {BASELINE_VERSION}",
        )
        return False
    if version != BASELINE_VERSION:
        hint = "upgrade policy-gate, or " + _RECREATE if version > BASELINE_VERSION else _RECREATE
        add(
            doc,
            "version",
            f"unsupported baseline version {version} "
            f"(this policy-gate reads version {BASELINE_VERSION})",
            hint,
        )
        return False
    return True


def _check_top_keys(doc: dict[str, Any], add: Add) -> None:
    """No key that is not a baseline's, and every key a baseline needs."""
    allowed = (*_TOP_REQUIRED, *_TOP_OPTIONAL)
    for key in doc:
        if key not in allowed:
            add(doc, key, "unknown key", f"allowed keys: {', '.join(allowed)}")
    for key in _TOP_REQUIRED:
        if key not in doc:
            add(doc, key, "required key is missing", _RECREATE)


def _check_header(doc: dict[str, Any], add: Add) -> None:
    """The values that describe the baseline (not its entries), each of its expected form."""
    if "about" in doc and not isinstance(doc["about"], str):
        add(doc, "about", f"must be a string, found {_kind(doc['about'])}", "a note for humans")
    if "created" in doc and not (isinstance(doc["created"], str) and _is_utc_iso(doc["created"])):
        add(
            doc,
            "created",
            f"must be an ISO 8601 UTC timestamp, found {_show(doc['created'])}",
            'e.g. "2025-01-31T12:00:00Z"',
        )
    if "tool_version" in doc and not isinstance(doc["tool_version"], str):
        add(
            doc,
            "tool_version",
            f"must be a string, found {_kind(doc['tool_version'])}",
            'the policy-gate version that wrote it, e.g. "0.1.0"',
        )
    if "policy_sha256" in doc and not (
        isinstance(doc["policy_sha256"], str) and _HEX64.fullmatch(doc["policy_sha256"])
    ):
        add(
            doc,
            "policy_sha256",
            f"must be 64 lowercase hex digits, found {_show(doc['policy_sha256'])}",
            "the sha256 of the policy in force when the baseline was created",
        )


def _check_entries(doc: dict[str, Any], add: Add) -> None:
    """Every entry, and no fingerprint twice: an entry excuses one finding, so a second
    copy would silently excuse a second, new one."""
    entries = doc.get("entries")
    if "entries" in doc and not isinstance(entries, list):
        add(
            doc,
            "entries",
            f"must be a list, found {_kind(entries)}",
            "a list of accepted findings (may be empty)",
        )
    elif isinstance(entries, list):
        seen: dict[str, int] = {}
        for i, item in enumerate(entries):
            where = f"entries[{i}]"
            if not isinstance(item, dict):
                add(doc, where, f"must be an object, found {_kind(item)}", _RECREATE)
                continue
            _validate_entry(item, where, add)
            fp = item.get("fingerprint")
            if isinstance(fp, str):
                if fp in seen:
                    add(
                        item,
                        f"{where}.fingerprint",
                        f"same fingerprint as entries[{seen[fp]}]",
                        "each finding is listed once; remove the duplicate",
                    )
                else:
                    seen[fp] = i


def _validate_entry(item: dict[str, Any], where: str, add: Add) -> None:
    for key in getattr(item, "duplicates", ()):
        add(
            item,
            f"{where}.{key}",
            "key appears more than once",
            "keep one; an entry must say one thing",
        )
    for key in item:
        if key not in _ENTRY_FIELDS:
            add(item, f"{where}.{key}", "unknown key", f"allowed keys: {', '.join(_ENTRY_FIELDS)}")
    for key in _ENTRY_FIELDS:
        if key not in item:
            add(item, f"{where}.{key}", "required key is missing", _RECREATE)

    def check(key: str, ok: Callable[[Any], bool], expected: str, hint: str) -> None:
        if key in item and not ok(item[key]):
            add(item, f"{where}.{key}", f"must be {expected}, found {_show(item[key])}", hint)

    def hex32(v: Any) -> bool:
        return isinstance(v, str) and bool(_HEX32.fullmatch(v))

    def text(v: Any) -> bool:
        return isinstance(v, str) and bool(v)

    check(
        "fingerprint",
        hex32,
        "32 lowercase hex digits",
        "the finding's fingerprint as reports show it; " + _RECREATE,
    )
    check("match_key", hex32, "32 lowercase hex digits", _RECREATE)
    check("category", text, "a non-empty string", 'e.g. "sast", "secret", "dependency"')
    check("rule", text, "a non-empty string", 'the qualified rule, e.g. "bandit:B602"')
    check("path", text, "a non-empty string", "the file, relative to the scanned root")
    check(
        "line",
        lambda v: v is None or (type(v) is int and v >= 1),
        "a line number (1 or more) or null",
        "the finding's first line",
    )
    check(
        "severity",
        lambda v: v is None or v in _SEVERITIES,
        "a severity or null",
        f"one of: {', '.join(_SEVERITIES)}",
    )
    check("title", lambda v: isinstance(v, str), "a string", "the finding's title")
    check(
        "ids",
        lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        "a list of strings",
        'e.g. ["CWE-78"]',
    )


def _entry(item: Mapping[str, Any]) -> BaselineEntry:
    return BaselineEntry(
        fingerprint=item["fingerprint"],
        match_key=item["match_key"],
        category=item["category"],
        rule=item["rule"],
        path=item["path"],
        line=item["line"],
        severity=item["severity"],
        title=item["title"],
        ids=tuple(item["ids"]),
    )


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
    }.get(type(value), "an object" if isinstance(value, dict) else type(value).__name__)


def _show(value: Any) -> str:
    """A short rendering of a bad value; long strings are cut so a message stays a line."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return _kind(value)
