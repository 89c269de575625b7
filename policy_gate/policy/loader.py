"""Load, merge and validate policy files.

Every problem is reported with the file, line, what is wrong and what is allowed, and
makes the command exit 2: a policy that cannot be understood must never silently weaken
the gate. The only I/O here is reading the files named; the rest are pure functions.
"""

from __future__ import annotations

import bisect
import copy
import hashlib
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import Any

import jsonschema
import pathspec

from policy_gate.base import yamlsafe
from policy_gate.catalogue import DEFAULT_MAX_FILE_BYTES, SCANNERS, ScannerSettings
from policy_gate.findings import CATEGORIES, Confidence, Severity
from policy_gate.policy.model import (
    AdvisorySettings,
    CategoryPolicy,
    DirectoryOverride,
    Policy,
    ReviewPolicy,
    RulePolicy,
    TextSource,
    Threshold,
    WaiverPolicy,
)
from policy_gate.policy.problems import MAX_PROBLEMS as MAX_PROBLEMS
from policy_gate.policy.problems import RULE_SCANNERS as RULE_SCANNERS
from policy_gate.policy.problems import PolicyError as PolicyError
from policy_gate.policy.problems import Problem as Problem
from policy_gate.policy.problems import dotted as dotted
from policy_gate.policy.problems import schema_problem as schema_problem
from policy_gate.policy.problems import shown as shown
from policy_gate.policy.problems import type_name as type_name

SCANNER_NAMES = tuple(s.name for s in SCANNERS)
BUILTIN_PREFIX = "builtin:"
# Patterns checked per file, beyond the schema (the schema allows 1,000 excludes).
MAX_PATTERNS = 2000
DEFAULT_POLICY = "builtin:mojaloop"

# What every policy starts from, so a file that extends another need only say what differs.
# Deliberately strict: a key left out never weakens the gate.
DEFAULTS: dict[str, Any] = {
    "version": 1,
    "name": "defaults",
    "exclude": [],
    # Kinds of generated or installed content left out of code analysis, recognised by
    # evidence (policy_gate.base.generated); none unless a policy asks.
    "generated": [],
    "inline_suppressions": "ignore",
    "max_file_bytes": DEFAULT_MAX_FILE_BYTES,
    "scanners": {
        "bandit": {"enabled": True, "optional": False, "timeout": 900},
        "semgrep": {
            "enabled": True,
            "optional": False,
            "timeout": 900,
            "rules": [],
            # no per-rule timeout: what is checked must not depend on the machine's load
            "rule_timeout": 0,
        },
        "detect-secrets": {"enabled": True, "optional": False, "timeout": 900},
        "kingfisher": {"enabled": True, "optional": False, "timeout": 900},
        "pip-audit": {"enabled": True, "optional": False, "timeout": 600},
        "osv": {"enabled": True, "optional": False, "timeout": 600},
        "licenses": {"enabled": True, "optional": False, "timeout": 600},
        "safety": {"enabled": False, "optional": True, "timeout": 600},
        "data-protection": {"enabled": True, "optional": False, "timeout": 600},
        "dockerfile": {"enabled": True, "optional": False, "timeout": 300, "allowed_ports": []},
        "workflows": {"enabled": True, "optional": False, "timeout": 300},
        "coverage": {
            "enabled": True,
            "optional": False,
            "timeout": 300,
            # M7: nyc check-coverage per file at 90 % for all four metrics
            "total": {"lines": 90, "statements": 90, "functions": 90, "branches": 90},
            "per_file": {"lines": 90, "statements": 90, "functions": 90, "branches": 90},
            "reports": [],
        },
    },
    "advisories": {},
    "waivers": {
        "file": ".policy-gate/waivers.yaml",
        # M1's remediation deadlines; a waiver may not outlive its finding's deadline.
        "max_days": {"critical": 3, "high": 30, "medium": 60, "low": 90, "info": 90},
        "warn_before_days": 14,
        "stale": "warn",
    },
    "review": {"policy_change": "fail", "paths": []},
    "licenses": {"allow": [], "deny": [], "unknown_severity": "medium", "exceptions": [],
                 "include_dev": True},
    "categories": {
        name: {
            "fail": {"severity": "low", "confidence": "low"},
            "report": {"severity": "info", "confidence": "low"},
            "annotate": {"severity": "low", "confidence": "low"},
            "default_severity": "high",
            "budgets": {},
            "rationale": "",
            "sources": [],
        }
        for name in CATEGORIES
    },
    "rules": {},
    "overrides": [],
}


@cache
def schema() -> dict[str, Any]:
    text = resources.files("policy_gate.policy").joinpath("schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def builtin_path(name: str) -> Path:
    """Built-in policies ship in the wheel as policy_gate/policies; in a source checkout
    they live in the top-level policies/ folder."""
    for base in (
        Path(__file__).resolve().parent.parent / "policies",
        Path(__file__).resolve().parents[2] / "policies",
    ):
        candidate = base / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(name)


class PolicySource:
    """Where policy files are read from. The default reads the file system; in diff mode
    the CLI passes one that reads the base ref, so a pull request cannot weaken the policy
    that judges it."""

    def read(self, path: Path) -> bytes | None:
        """The file's bytes, or None when it does not exist. Never more than one byte over
        the size a policy may have (``--policy /dev/zero`` must not fill the memory)."""
        try:
            with path.open("rb") as fh:
                return fh.read(yamlsafe.MAX_BYTES + 1)
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            return None

    def local(self, path: Path) -> Path:
        """A path whose content is the trusted version of ``path`` (for files handed to a
        scanner, e.g. semgrep rules)."""
        return path

    def place(self, path: Path) -> Path:
        """The absolute path a policy names. Diff mode keeps links unresolved: it reads
        the base's file of that name, not the base's version of a link's target."""
        return path.resolve()


def load_policy(ref: str | Path, source: PolicySource | None = None) -> Policy:
    """Load a policy by path or ``builtin:<name>``, following ``extends``."""
    documents = _load_chain(str(ref), None, (), source or PolicySource())
    merged = copy.deepcopy(DEFAULTS)
    files: list[str] = []
    texts: list[TextSource] = []
    for name, doc, lines in documents:
        files.append(name)
        texts += lines
        merged = merge(merged, {k: v for k, v in doc.items() if k not in ("extends", "$schema")})
    merged["name"] = documents[-1][1].get("name", Path(documents[-1][0]).stem)
    return build(merged, tuple(files), tuple(texts))


_Chain = list[tuple[str, dict[str, Any], list[TextSource]]]
# The policy file that names another in `extends`, and the line and column it does so at.
_Referrer = tuple[str, int | None, int | None]


def _at(referrer: _Referrer | None, display: str, ref: str, message: str,
        hint: str = "") -> PolicyError:
    """A problem with a policy file that another names in ``extends``: reported at the
    ``extends`` line that names it, or (the file given on the command line) at the file."""
    if referrer is None:
        return PolicyError([Problem(display, None, None, "", message, hint)])
    name, line, col = referrer
    return PolicyError([Problem(name, line, col, "extends", f"{ref!r} {message}", hint)])


def _load_chain(
    ref: str, parent: Path | None, seen: tuple[str, ...], source: PolicySource,
    referrer: _Referrer | None = None,
) -> _Chain:
    path, display = _resolve(ref, parent, referrer)
    if not ref.startswith(BUILTIN_PREFIX):
        path = _placed(path, str(path), display, "extends" if parent else "", source)
    key = str(path)
    if key in seen:
        cycle = " -> ".join((*seen, key))
        raise _at(referrer, display, ref, f"extends itself: {cycle}",
                  "remove the cycle: a policy cannot build on itself")
    if len(seen) >= 8:
        raise _at(referrer, display, ref, "extends chain deeper than 8",
                  "extend fewer policies in a row")
    try:
        raw = path.read_bytes() if ref.startswith(BUILTIN_PREFIX) else source.read(path)
    except OSError as exc:
        raise _at(referrer, display, ref, f"cannot be read: {exc.strerror}",
                  "check the file's permissions") from None
    if raw is None:
        if referrer is None:
            raise _at(None, display, ref, "policy file not found",
                      "give a path to a .yaml file or builtin:mojaloop")
        raise _at(referrer, display, ref, f"not found: there is no {display}",
                  f"paths in extends are relative to {referrer[0]}; correct the path, or "
                  f"extend a built-in policy: {_builtins()}")
    located = _parse_located(raw, display)
    doc: dict[str, Any] = located.data
    texts = [TextSource(text, display, first, last)
             for _, text, first, last in free_texts(located, raw, FREE_TEXT_KEYS)]
    chain: _Chain = []
    extends = doc.get("extends", [])
    single = isinstance(extends, str)
    for i, base in enumerate([extends] if single else extends):
        line, col = located.where(("extends",) if single else ("extends", i))
        chain += _load_chain(base, path.parent, (*seen, key), source, (display, line, col))
    # Paths inside a policy are relative to that policy's file.
    semgrep = doc.get("scanners", {}).get("semgrep", {})
    if "rules" in semgrep:
        semgrep["rules"] = [
            str(source.local(_beside(path, r, display, "scanners.semgrep.rules", source)))
            for r in semgrep["rules"]
        ]
    advisories = doc.get("advisories", {})
    if "database" in advisories:
        advisories["database"] = str(source.local(
            _beside(path, advisories["database"], display, "advisories.database", source)
        ))
    chain.append((display, doc, texts))
    return chain


def _beside(
    policy: Path, value: str, display: str, where: str, source: PolicySource
) -> Path:
    """A path named in a policy, resolved relative to the policy's file."""
    return _placed(policy.parent / value, value, display, where, source)


def _placed(path: Path, value: str, display: str, where: str, source: PolicySource) -> Path:
    try:
        if "\0" in str(path):
            raise ValueError("embedded null byte")
        return source.place(path)
    except (OSError, ValueError) as exc:  # e.g. an embedded NUL ("\0" in YAML)
        raise PolicyError(
            [Problem(display, None, None, where, f"{value!r} is not a usable path ({exc})")]
        ) from None


def _resolve(ref: str, parent: Path | None, referrer: _Referrer | None) -> tuple[Path, str]:
    if ref.startswith(BUILTIN_PREFIX):
        name = ref[len(BUILTIN_PREFIX) :]
        try:
            return builtin_path(name), ref
        except FileNotFoundError:
            raise _at(
                referrer, ref, ref, "is not a built-in policy",
                f"built-in policies: {_builtins()}",
            ) from None
    path = Path(ref) if parent is None else parent / ref
    return path, str(path)


def _builtins() -> str:
    return ", ".join(BUILTIN_PREFIX + n for n in builtin_names())


def builtin_names() -> list[str]:
    try:
        folder = builtin_path("mojaloop").parent
    except FileNotFoundError:
        return []
    return sorted(p.stem for p in folder.glob("*.yaml"))


def parse_policy_text(text: str | bytes, name: str) -> dict[str, Any]:
    """Parse one policy file and validate it on its own (pure)."""
    data: dict[str, Any] = _parse_located(text, name).data
    return data


# Keys whose values are free text the reports quote (a rule's reason, a category's
# rationale, an override's description, a licence exception's reason and owner).
FREE_TEXT_KEYS = frozenset({"reason", "rationale", "description", "owner"})


FreeText = tuple[tuple[str | int, ...], str, int, int]  # where, the text, first, last line


def free_texts(
    located: yamlsafe.Located, raw: str | bytes, keys: frozenset[str]
) -> list[FreeText]:
    """Every string under one of ``keys``, at any depth, with the lines it was written on:
    from its key's line to the line before the next key or item starts (the end of the
    file for the last), so a block scalar's lines are all in (and the comments after it:
    the safe side). For keeping a secret found there out of the reports."""
    starts = sorted({line for line, _ in located.lines.values()})
    total = (raw.count(b"\n") if isinstance(raw, bytes) else raw.count("\n")) + 1
    out: list[FreeText] = []
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), located.data)]
    while stack:
        path, value = stack.pop()
        items = value.items() if isinstance(value, dict) else (
            enumerate(value) if isinstance(value, list) else ())
        for key, child in items:
            here = (*path, key)
            if isinstance(child, (dict, list)):
                stack.append((here, child))
            elif key in keys and isinstance(child, str) and here in located.lines:
                first = located.lines[here][0]
                after = bisect.bisect_right(starts, first)
                last = starts[after] - 1 if after < len(starts) else total
                out.append((here, child, first, max(first, last)))
    return out


def _parse_located(text: str | bytes, name: str) -> yamlsafe.Located:
    """One policy file parsed (with each value's line) and validated on its own."""
    try:
        located = yamlsafe.load(text)
    except yamlsafe.YamlProblem as exc:
        raise PolicyError(
            [Problem(name, exc.line, exc.column, "", exc.message, exc.hint)]
        ) from None
    if located.data is None:
        located.data = {}
    if not isinstance(located.data, dict):
        raise PolicyError([Problem(name, 1, 1, "", "a policy must be a mapping of keys to values")])
    errors = islice(_validator().iter_errors(located.data), MAX_PROBLEMS + 1)
    problems = [schema_problem(name, located, err) for err in errors]
    problems += _semantic_problems(name, located)
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.where))
        raise PolicyError(shown(problems, name))
    return located


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def _semantic_problems(name: str, located: yamlsafe.Located) -> list[Problem]:
    """What the schema cannot say: patterns must compile and must not exclude everything."""
    data = located.data
    problems: list[Problem] = []
    groups: list[tuple[tuple[str | int, ...], Any]] = [(("exclude",), data.get("exclude"))]
    for i, override in enumerate(data.get("overrides") or []):
        if isinstance(override, dict):
            groups.append((("overrides", i, "paths"), override.get("paths")))
    review = data.get("review")
    if isinstance(review, dict):
        groups.append((("review", "paths"), review.get("paths")))
    checked = 0
    for base, patterns in groups:
        if not isinstance(patterns, list):
            continue
        for j, pattern in enumerate(patterns):
            if not isinstance(pattern, str) or not pattern:
                continue
            checked += 1  # each check compiles a pattern: a 1 MiB file holds 60,000
            if checked > MAX_PATTERNS or len(problems) > MAX_PROBLEMS:
                return problems
            line, col = located.where((*base, j))
            problem = pattern_problem(pattern, is_exclude=base == ("exclude",))
            if problem:
                problems.append(
                    Problem(name, line, col, dotted((*base, j)), problem[0], problem[1])
                )
    return problems


# Paths that any real tree has; an exclude pattern matching all of them excludes everything.
PROBES = ("a.py", "src/a.py", "a/b/c/index.js", "x.txt", ".env", "requirements.txt")


def pattern_problem(pattern: str, *, is_exclude: bool) -> tuple[str, str] | None:
    try:
        spec = pathspec.GitIgnoreSpec.from_lines([pattern])
    except Exception as exc:  # pathspec raises several types for bad patterns
        return (
            f"bad pattern {pattern!r}: {exc}",
            "use gitignore syntax, e.g. 'vendor/' or '**/*.min.js'",
        )
    if pattern.startswith("!"):
        return (f"negated pattern {pattern!r} is not supported here", "list only what to exclude")
    if ".." in pattern.split("/"):
        return (
            f"pattern {pattern!r} points outside the scanned tree",
            "patterns are relative to the scanned root",
        )
    if is_exclude and all(spec.match_file(p) for p in PROBES):
        return (
            f"pattern {pattern!r} would exclude every file",
            "exclude specific directories or file types instead "
            "(this would silently disable the gate)",
        )
    return None


def merge(base: Any, over: Any) -> Any:
    """Deep-merge ``over`` onto ``base``: mappings merge, lists and scalars replace, except
    that ``exclude`` and ``overrides`` lists accumulate (a repository adds to, and cannot
    drop, its organisation's excludes and overrides)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            if (
                key in ("exclude", "overrides")
                and isinstance(value, list)
                and isinstance(out.get(key), list)
            ):
                out[key] = [*out[key], *(v for v in value if v not in out[key])]
            elif key in out:
                out[key] = merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
        return out
    return copy.deepcopy(over)


def build(
    doc: Mapping[str, Any], files: tuple[str, ...], texts: tuple[TextSource, ...] = ()
) -> Policy:
    """Turn a merged document into the typed Policy (pure)."""
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    scanners = {
        name: ScannerSettings(
            enabled=bool(cfg["enabled"]),
            optional=bool(cfg["optional"]),
            timeout=float(cfg["timeout"]),
            options={k: v for k, v in cfg.items() if k not in ("enabled", "optional", "timeout")},
        )
        for name, cfg in doc["scanners"].items()
    }
    return Policy(
        name=str(doc.get("name", "policy")),
        files=files,
        sha256=hashlib.sha256(canonical.encode()).hexdigest(),
        document=doc,
        exclude=tuple(doc["exclude"]),
        generated=tuple(doc["generated"]),
        text_sources=texts,
        inline_suppressions=str(doc["inline_suppressions"]),
        max_file_bytes=int(doc["max_file_bytes"]),
        scanners=scanners,
        categories={name: category_policy(name, cfg) for name, cfg in doc["categories"].items()},
        rules={key: rule_policy(key, cfg) for key, cfg in doc["rules"].items()},
        advisories=AdvisorySettings(
            database=doc["advisories"].get("database"),
            osv_url=doc["advisories"].get("osv_url"),
            max_age_days=doc["advisories"].get("max_age_days"),
        ),
        licenses=doc["licenses"],
        waivers=WaiverPolicy(
            file=str(doc["waivers"]["file"]),
            max_days={Severity.parse(k): int(v) for k, v in doc["waivers"]["max_days"].items()},
            warn_before_days=int(doc["waivers"]["warn_before_days"]),
            stale=str(doc["waivers"]["stale"]),
        ),
        review=ReviewPolicy(
            policy_change=str(doc["review"]["policy_change"]),
            paths=tuple(doc["review"]["paths"]),
        ),
        overrides=tuple(
            DirectoryOverride(
                paths=tuple(o["paths"]),
                categories=o.get("categories", {}),
                rules={k: rule_policy(k, v) for k, v in o.get("rules", {}).items()},
                description=o.get("description", ""),
            )
            for o in doc["overrides"]
        ),
    )


def threshold(cfg: Mapping[str, Any]) -> Threshold:
    sev = cfg.get("severity", "low")
    return Threshold(
        severity=None if sev == "none" else Severity.parse(sev),
        confidence=Confidence.parse(cfg.get("confidence", "low")),
    )


def category_policy(name: str, cfg: Mapping[str, Any]) -> CategoryPolicy:
    return CategoryPolicy(
        name=name,
        fail=threshold(cfg["fail"]),
        report=threshold(cfg["report"]),
        annotate=threshold(cfg["annotate"]),
        default_severity=Severity.parse(cfg["default_severity"]),
        budgets={Severity.parse(k): int(v) for k, v in cfg.get("budgets", {}).items()},
        rationale=str(cfg.get("rationale", "")),
        sources=tuple(cfg.get("sources", [])),
        dev_fail=threshold(cfg["dev_fail"]) if "dev_fail" in cfg else None,
    )


def rule_policy(key: str, cfg: Mapping[str, Any]) -> RulePolicy:
    sev = cfg.get("severity")
    return RulePolicy(
        key=key,
        disable=bool(cfg.get("disable", False)),
        severity=Severity.parse(sev) if sev else None,
        reason=str(cfg.get("reason", "")),
        sources=tuple(cfg.get("sources", [])),
    )
