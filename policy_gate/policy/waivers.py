"""The waivers file: findings accepted for a limited time, each with a reason, an
accountable owner and an expiry date.

Mojaloop services keep an audit allowlist of advisory ids with a comment saying why each is
acceptable, but with no owner and no end date (M3), and grype ignore lists look the same
(M4). A waiver keeps the reason and adds who answers for it and until when, so accepting a
risk is a dated decision rather than a permanent hole. Advisory waivers match any alias of
the advisory, because tools name the same flaw by CVE or by GHSA id (M5).

This module is pure: it parses and validates the file and says which waivers match a
finding. Whether a waiver has expired, lasts longer than its finding's severity allows
(M1) or matches nothing is for the evaluator to decide with the policy's settings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache, cached_property, lru_cache
from importlib import resources
from itertools import islice
from typing import Any

import jsonschema
from packaging.utils import canonicalize_name

from policy_gate.base import yamlsafe
from policy_gate.base.patterns import PathPatterns, too_broad
from policy_gate.findings import Finding
from policy_gate.policy.loader import (
    MAX_PROBLEMS,
    PolicyError,
    Problem,
    dotted,
    free_texts,
    pattern_problem,
    schema_problem,
    shown,
    type_name,
)

MAX_BYTES = yamlsafe.MAX_BYTES
KINDS = ("fingerprint", "rule", "advisory")
MIN_REASON_CHARS = 10
DOCS = "see docs/waivers.md for the format"

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PYPI = "PyPI"


@dataclass(frozen=True)
class Waiver:
    """One accepted finding, rule or advisory, exactly as the file states it.

    Pure data plus matching: expiry, lifetime caps and staleness depend on the policy and
    on the day of the scan, so the evaluator judges them.
    """

    index: int  # 1-based position in the file
    file: str  # the file's display name
    line: int | None  # line where this waiver starts
    id: str | None
    fingerprint: str | None
    rule: str | None
    paths: tuple[str, ...]
    advisory: str | None
    package: str | None
    reason: str
    owner: str
    expires: dt.date
    created: dt.date | None
    justification: str | None
    # The lines each free text (reason, owner, id) was written on: (key, first, last), so
    # that a secret found there keeps it out of every report (policy.withheld).
    text_lines: tuple[tuple[str, int, int], ...] = field(default=(), compare=False, repr=False)

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    @property
    def kind(self) -> str:
        if self.fingerprint is not None:
            return "fingerprint"
        if self.rule is not None:
            return "rule"
        return "advisory"

    @property
    def subject(self) -> str:
        """What is waived, in words, for messages ("rule bandit:B602 in scripts/**")."""
        if self.fingerprint is not None:
            return f"finding {self.fingerprint}"
        if self.rule is not None:
            return f"rule {self.rule} in {', '.join(self.paths)}"
        return f"advisory {self.advisory}" + (f" in {self.package}" if self.package else "")

    def describe(self) -> str:
        name = self.id if self.id else f"#{self.index}"
        return (
            f"waiver {name} ({self.location}, owner {self.owner}, "
            f"expires {self.expires.isoformat()})"
        )

    def matches(self, finding: Finding) -> bool:
        if self.fingerprint is not None:
            return finding.fingerprint == self.fingerprint
        if self.rule is not None:
            # A merged finding is waived when any scanner that saw it used the waived rule:
            # the waiver accepts the flaw at these paths, not one tool's wording of it.
            return any(s.qualified_rule == self.rule for s in finding.sources) and _spec(
                self.paths
            ).match_file(finding.path)
        if self.advisory is None:  # pragma: no cover - the loader guarantees one kind
            return False
        wanted = self.advisory.casefold()
        if not any(i.casefold() == wanted for i in finding.ids):
            return False
        if self.package is None:
            return True
        dep = finding.dependency
        return dep is not None and _same_package(dep.ecosystem, dep.package, self.package)


@dataclass(frozen=True)
class WaiverSet:
    """Every waiver of one file, and the file's hash as evidence of what was applied."""

    file: str
    waivers: tuple[Waiver, ...]
    sha256: str  # of the file's bytes; "" when there is no file

    def matching(self, finding: Finding) -> list[Waiver]:
        """The waivers that match ``finding``, in file order. Only the waivers that name
        its fingerprint, one of its rules or one of its ids are tried (an index, so 10,000
        findings against hundreds of waivers stay cheap)."""
        by_fingerprint, by_rule, by_advisory = self._index
        candidates: set[Waiver] = set(by_fingerprint.get(finding.fingerprint, ()))
        for source in finding.sources:
            hit = by_rule.get(source.qualified_rule)
            if hit:
                candidates.update(hit)
        if by_advisory:
            for ident in finding.ids:
                hit = by_advisory.get(ident.casefold())
                if hit:
                    candidates.update(hit)
        if not candidates:
            return []
        return [w for w in sorted(candidates, key=_position) if w.matches(finding)]

    @cached_property
    def _index(self) -> tuple[dict[str, list[Waiver]], ...]:
        index: tuple[dict[str, list[Waiver]], ...] = ({}, {}, {})
        for w in self.waivers:
            if w.fingerprint is not None:
                index[0].setdefault(w.fingerprint, []).append(w)
            elif w.rule is not None:
                index[1].setdefault(w.rule, []).append(w)
            elif w.advisory is not None:
                index[2].setdefault(w.advisory.casefold(), []).append(w)
        return index


EMPTY = WaiverSet(file="", waivers=(), sha256="")


def _position(waiver: Waiver) -> int:
    return waiver.index


@lru_cache(maxsize=512)
def _spec(paths: tuple[str, ...]) -> PathPatterns:
    return PathPatterns(paths)


def _same_package(ecosystem: str, found: str, wanted: str) -> bool:
    """PyPI names compare after PEP 503 normalisation (Django_Foo == django-foo); npm names
    are exact, because lodash.merge and lodash-merge are different packages."""
    if ecosystem == _PYPI:
        return canonicalize_name(found) == canonicalize_name(wanted)
    return found == wanted


@cache
def schema() -> dict[str, Any]:
    text = resources.files("policy_gate.policy").joinpath("waivers.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def load_waivers(data: str | bytes, name: str, today: dt.date | None = None) -> WaiverSet:
    """Parse and validate one waivers file (pure, given ``today``: the day of the scan,
    by default today in UTC).

    Raises PolicyError listing every problem with file:line:col, the key, what is wrong and
    how to fix it: a waivers file that cannot be understood must stop the gate, never be
    half-applied.
    """
    today = today or dt.datetime.now(dt.UTC).date()
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BYTES:
        raise PolicyError(
            [
                Problem(
                    name,
                    None,
                    None,
                    "",
                    f"the waivers file is {len(raw)} bytes, more than the {MAX_BYTES} allowed",
                    "nobody reviews a file that size: fix the findings, or waive a rule for "
                    "paths instead of listing findings one by one",
                )
            ]
        )
    try:
        located = yamlsafe.load(data)
    except yamlsafe.YamlProblem as exc:
        raise PolicyError(
            [Problem(name, exc.line, exc.column, "", exc.message, exc.hint or DOCS)]
        ) from None
    if located.data is None:
        located.data = {}
    if not isinstance(located.data, dict):
        raise PolicyError(
            [
                Problem(
                    name,
                    1,
                    1,
                    "",
                    "a waivers file must be a mapping",
                    "start it with `version: 1` and a `waivers:` list",
                )
            ]
        )
    errors = (e for e in _validator().iter_errors(located.data) if not _checked_semantically(e))
    problems = [_problem(name, located, err) for err in islice(errors, MAX_PROBLEMS + 1)]
    problems += _semantic_problems(name, located, today)
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.column or 0, p.where))
        raise PolicyError(shown(problems, name))
    items = located.data.get("waivers") or []
    lines: dict[int, list[tuple[str, int, int]]] = {}
    for where, _, first, last in free_texts(located, raw, TEXT_KEYS):
        if len(where) == 3 and where[0] == "waivers" and isinstance(where[1], int):
            lines.setdefault(where[1], []).append((str(where[2]), first, last))
    waivers = tuple(
        _waiver(name, located, i, item, tuple(sorted(lines.get(i, ()))))
        for i, item in enumerate(items)
    )
    return WaiverSet(name, waivers, hashlib.sha256(raw).hexdigest())


# A waiver's free text, quoted in decisions and reports.
TEXT_KEYS = frozenset({"reason", "owner", "id"})


def _waiver(
    name: str, located: yamlsafe.Located, i: int, item: dict[str, Any],
    text_lines: tuple[tuple[str, int, int], ...] = (),
) -> Waiver:
    created = item.get("created")
    return Waiver(
        index=i + 1,
        file=name,
        line=located.where(("waivers", i))[0],
        id=item.get("id"),
        fingerprint=item.get("fingerprint"),
        rule=item.get("rule"),
        paths=tuple(item.get("paths", ())),
        advisory=item.get("advisory"),
        package=item.get("package"),
        reason=str(item["reason"]).strip(),
        owner=str(item["owner"]).strip(),
        expires=dt.date.fromisoformat(item["expires"]),
        created=dt.date.fromisoformat(created) if created is not None else None,
        justification=item.get("justification"),
        text_lines=text_lines,
    )


# --- turning schema errors into problems a person can act on ----------------------------


def _checked_semantically(err: jsonschema.ValidationError) -> bool:
    """The schema states which keys go together so that editors can flag them; the
    semantic checks say the same with a precise message, so the schema's terse version is
    dropped rather than reported twice."""
    return err.validator == "oneOf" or "dependentSchemas" in err.absolute_schema_path


_PATTERN_PROBLEMS: dict[str, tuple[str, str]] = {
    "fingerprint": (
        "{value!r} is not a finding fingerprint",
        "copy the 32 lowercase hex characters of the finding's `fingerprint` from a report",
    ),
    "rule": (
        "{value!r} is not a qualified rule id",
        "write scanner:rule-id, e.g. bandit:B602 or semgrep:python-shell-true",
    ),
    "advisory": (
        "{value!r} is not an advisory id",
        "use a CVE-, GHSA-, PYSEC- or other OSV id, e.g. GHSA-xxxx-xxxx-xxxx",
    ),
    "expires": ("{value!r} is not an ISO date", "write YYYY-MM-DD, e.g. 2026-12-31"),
    "created": ("{value!r} is not an ISO date", "write YYYY-MM-DD, e.g. 2026-11-20"),
}

_REQUIRED_HINTS = {
    "reason": "say why the finding is acceptable",
    "owner": "name the person or team accountable, e.g. alice@example.org",
    "expires": "every waiver ends: add an ISO date, e.g. expires: 2026-12-31",
}

_TYPE_HINTS = {
    "waivers": "a list of waivers, each starting with '- '",
    "paths": 'a list of gitignore-style patterns, e.g. ["scripts/**"]',
    "expires": "write an ISO date, e.g. 2026-12-31",
    "created": "write an ISO date, e.g. 2026-11-20",
    "id": 'quote it, e.g. id: "12"',
}

_TYPE_WORDS = {
    "array": "a list",
    "object": "a mapping",
    "string": "a string",
    "integer": "an integer",
    "null": "nothing",
}


def _problem(name: str, located: yamlsafe.Located, err: jsonschema.ValidationError) -> Problem:
    path = tuple(err.absolute_path)
    key = next((str(p) for p in reversed(path) if isinstance(p, str)), "")
    line, col = located.where(path)
    where = dotted(path)
    if err.validator == "pattern" and key in _PATTERN_PROBLEMS:
        message, hint = _PATTERN_PROBLEMS[key]
        return Problem(name, line, col, where, message.format(value=err.instance), hint)
    if err.validator == "required":
        match = re.match(r"'([^']+)' is a required property", err.message)
        missing = match.group(1) if match else "a required key"
        return Problem(
            name, line, col, where, f"missing `{missing}`", _REQUIRED_HINTS.get(missing, DOCS)
        )
    if err.validator == "type":
        wanted = (
            err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        )
        words = " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in wanted)
        return Problem(
            name,
            line,
            col,
            where,
            f"expected {words}, got {type_name(err.instance)}",
            _TYPE_HINTS.get(key, "quote it if it is text" if "string" in wanted else DOCS),
        )
    if err.validator == "minItems" and key == "paths":
        return Problem(
            name,
            line,
            col,
            where,
            "`paths` is empty",
            'list the files the rule is accepted in, e.g. ["scripts/**"]',
        )
    problem = schema_problem(name, located, err)
    return problem if problem.hint else replace(problem, hint=DOCS)


# --- what the schema cannot say ----------------------------------------------------------


def _semantic_problems(name: str, located: yamlsafe.Located, today: dt.date) -> list[Problem]:
    items = located.data.get("waivers")
    if not isinstance(items, list):
        return []
    problems: list[Problem] = []
    seen: dict[tuple[Any, ...], int] = {}
    by_rule: dict[str, dict[int, list[str]]] = {}  # rule -> waiver index -> its good paths
    for i, item in enumerate(items):
        if len(problems) > MAX_PROBLEMS:
            break  # enough to show; the rest are not looked for
        if not isinstance(item, dict):
            continue
        add = _adder(name, located, problems, i)
        _check_kind(item, add)
        _check_text(item, add)
        _check_dates(item, add, today)
        good = _check_paths(item, add)
        if good is not None and isinstance(item.get("rule"), str):
            by_rule.setdefault(item["rule"], {})[i] = good
        key = _identity(item)
        if key is not None:
            if key in seen:
                first = seen[key]
                first_line = located.where(("waivers", first))[0]
                add(
                    key[0],
                    "duplicates the waiver "
                    + (f"on line {first_line}" if first_line else f"#{first + 1}")
                    + f" (same {key[0]})",
                    "keep one: with two, it is unclear whose reason and which expiry apply",
                )
            else:
                seen[key] = i
    _check_rule_paths(name, located, problems, by_rule)
    return problems


_Key = str | int | tuple[str | int, ...] | None
_Add = Callable[[_Key, str, str], None]


def _adder(name: str, located: yamlsafe.Located, problems: list[Problem], i: int) -> _Add:
    """Report a problem at a key of waiver ``i`` (None: the waiver itself)."""

    def add(key: _Key, message: str, hint: str) -> None:
        rest = key if isinstance(key, tuple) else (() if key is None else (key,))
        path = ("waivers", i, *rest)
        line, col = located.where(path)
        problems.append(Problem(name, line, col, dotted(path), message, hint))

    return add


def _check_kind(item: dict[str, Any], add: _Add) -> None:
    kinds = [k for k in KINDS if k in item]
    if not kinds:
        add(
            None,
            "the waiver does not say what it waives",
            "add one of `fingerprint` (one finding), `rule` with `paths`, or `advisory`",
        )
    elif len(kinds) > 1:
        add(
            kinds[1],
            f"a waiver waives one thing, this one has both `{kinds[0]}` and `{kinds[1]}`",
            "split it into one waiver per finding, rule or advisory",
        )
    if "rule" in item and "paths" not in item:
        add(
            "rule",
            "a rule waiver needs `paths`",
            'list the files it is accepted in, e.g. paths: ["scripts/**"]; a rule accepted '
            "everywhere belongs in the policy's `rules` section, with a reason",
        )
    if "paths" in item and "rule" not in item:
        add(
            "paths",
            "`paths` only narrows a `rule` waiver",
            "remove it: a fingerprint already names one finding, an advisory its packages",
        )
    if "package" in item and "advisory" not in item:
        add("package", "`package` only narrows an `advisory` waiver", "remove it")
    if "justification" in item and "advisory" not in item:
        add(
            "justification",
            "`justification` applies only to an `advisory` waiver",
            "it is the OpenVEX justification exported for dependency advisories; remove it",
        )
    advisory = item.get("advisory")
    if isinstance(advisory, str) and advisory.upper().startswith("CWE-"):
        add(
            "advisory",
            f"{advisory} is a weakness class, not an advisory",
            "waiving a CWE would accept every finding of that kind: waive a `rule` for "
            "`paths`, or one finding by `fingerprint`",
        )


def _check_text(item: dict[str, Any], add: _Add) -> None:
    reason = item.get("reason")
    if isinstance(reason, str) and len("".join(reason.split())) < MIN_REASON_CHARS:
        add(
            "reason",
            "the reason is too short",
            f"say why the finding is acceptable, in at least {MIN_REASON_CHARS} characters",
        )
    owner = item.get("owner")
    if isinstance(owner, str) and not owner.strip():
        add("owner", "the owner is empty", "name the person or team accountable")


def _check_dates(item: dict[str, Any], add: _Add, today: dt.date) -> None:
    dates: dict[str, dt.date] = {}
    for key in ("expires", "created"):
        value = item.get(key)
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            continue  # the schema reports the form
        try:
            dates[key] = dt.date.fromisoformat(value)
        except ValueError:
            add(key, f"{value} is not a real date", "check the month and the day")
    created = dates.get("created")
    if created is not None and created > today:
        # The lifetime cap (M1) counts from `created`: a date in the future would let a
        # waiver outlive its finding's deadline by as long as the date is ahead.
        add(
            "created",
            f"created {created} is in the future (the scan's date is {today})",
            "write the day the waiver was granted, today or earlier; the policy's lifetime "
            "cap counts from it",
        )
    if "created" in dates and "expires" in dates and dates["created"] > dates["expires"]:
        add(
            "created",
            f"created {dates['created']} is after expires {dates['expires']}",
            "a waiver cannot end before it was granted: correct one of the dates",
        )


def _check_paths(item: dict[str, Any], add: _Add) -> list[str] | None:
    """Report bad patterns; return the good ones (None: one was bad, or no list)."""
    paths = item.get("paths")
    if not isinstance(paths, list):
        return None
    good: list[str] | None = []
    for j, pattern in enumerate(paths):
        if not isinstance(pattern, str) or not pattern:
            good = None
            continue
        if pattern.startswith("!"):
            add(
                ("paths", j),
                f"negated pattern {pattern!r} is not supported in waivers",
                "list only the files the rule is accepted in",
            )
            good = None
            continue
        problem = pattern_problem(pattern, is_exclude=False)
        if problem:
            add(("paths", j), problem[0], problem[1])
            good = None
        elif too_broad(pattern):
            add(("paths", j), f"pattern {pattern!r} {_BROAD}", _BROAD_HINT)
            good = None
        elif good is not None:
            good.append(pattern)
    return good


_BROAD = "would waive the rule in every file, or every file of a kind, at any depth"
_BROAD_HINT = (
    "name the directories or files it is accepted in, e.g. scripts/** or tools/*.py; a "
    "rule accepted everywhere belongs in the policy's `rules` section, with a reason"
)


def _check_rule_paths(
    name: str, located: yamlsafe.Located, problems: list[Problem],
    by_rule: dict[str, dict[int, list[str]]],
) -> None:
    """Patterns narrow one by one can cover everything together (``[a-m]*`` and
    ``[n-z]*``, in one waiver or in several waivers of the same rule)."""
    for rule, waivers in by_rule.items():
        patterns = tuple(dict.fromkeys(p for paths in waivers.values() for p in paths))
        if len(patterns) < 2 or len(problems) > MAX_PROBLEMS or not too_broad(*patterns):
            continue
        lines = [str(located.where(("waivers", i))[0] or f"#{i + 1}") for i in waivers]
        where = f"the waivers on lines {', '.join(lines)}" if len(lines) > 1 else "its paths"
        _adder(name, located, problems, max(waivers))(
            "paths", f"together, {where} {_BROAD.replace('the rule', rule)}", _BROAD_HINT
        )


def _identity(item: dict[str, Any]) -> tuple[Any, ...] | None:
    """What a waiver matches; two waivers with the same identity are duplicates."""
    kinds = [k for k in KINDS if k in item]
    if len(kinds) != 1:
        return None
    kind = kinds[0]
    value = item[kind]
    if not isinstance(value, str):
        return None
    if kind == "fingerprint":
        return (kind, value)
    if kind == "rule":
        paths = item.get("paths")
        if not isinstance(paths, list):
            return None
        return (kind, value, tuple(sorted({str(p) for p in paths})))
    package = item.get("package")
    return (kind, value.casefold(), package if isinstance(package, str) else None)
