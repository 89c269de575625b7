#!/usr/bin/env python3
"""Issue 17's SAST targets: per vulnerability class, how often the gate's violations fire
on labelled vulnerable code (TPR) and on labelled safe look-alikes (FPR).

Three configurations, each the real CLI (`python -m policy_gate scan TREE --scanner …
--format json --output F`, policy builtin:mojaloop) on one temporary tree:

* ``now``: this checkout, ``--scanner bandit --scanner semgrep``;
* ``bandit``: this checkout, ``--scanner bandit`` alone;
* ``previous``: the rule pack before issue 17 (``git archive 7ed1f9c``, run with
  ``PYTHONPATH`` at that copy), ``--scanner bandit --scanner semgrep``.

Two labelled corpora, scored separately:

* ``held-out``: ``benchmarks/sast_cases/`` (written blind to the rules; one case per
  handler, labelled ``# case: CLASS vulnerable|safe`` on the sink line). Hard-coded
  secret markers ``<<secret:KIND>>`` are replaced in the temporary copy by values
  generated at run time, so nothing credential-like is committed (and none is printed).
* ``fixtures``: the rule tests ``tests/rules/semgrep/`` (``ruleid:`` / ``todoruleid:`` =
  vulnerable, ``ok:`` / ``todook:`` = safe, on the line before the flagged line, as
  ``semgrep --test`` reads them), the class coming from the annotated rule's CWE.

A case counts as flagged for its class when a violation carrying a CWE of that class
covers any line of the statement holding the labelled line (so bandit's and semgrep's
different lines of one multi-line call both count). Youden index = mean over classes of
TPR - FPR. A fourth column, ``now, any status``, scores the same run counting every
finding whatever its status (below the policy's threshold, suppressed …), to tell a missing
rule from one graded too low to fail. Misses and false alarms of ``now`` are listed for the
rule authors (``--errors FILE``).

``--only time``: wall time of ``--scanner semgrep`` on Django 4.2, previous vs now,
median of ``--runs`` (alternating order), as a ratio (target: now <= 1.25 x previous).

    python benchmarks/sast_bench.py --runs 3 --write
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from common import (
    README,
    REPO,
    Measured,
    check,
    log,
    measure,
    wait_for_idle,
    write_readme_section,
)

CASES = REPO / "benchmarks" / "sast_cases"
FIXTURES = REPO / "tests" / "rules" / "semgrep"
RULES = REPO / "policy_gate" / "rules" / "semgrep"
PREVIOUS = "7ed1f9c"
DJANGO_TREE = Path("/tmp/s1/django/django")
BEGIN = "<!-- sast:begin (sast_bench.py --write rewrites this section) -->"
END = "<!-- sast:end -->"
PARTS = ("corpus", "time")
TIME_TARGET = 1.25
ANY_STATUS = "now, any status"  # the same run, counting findings the policy did not fail

# Class -> the CWEs that count for it (the most specific first; parents the rules may use).
CLASSES: dict[str, frozenset[int]] = {
    "command-injection": frozenset({78, 77}),
    "code-injection": frozenset({94, 95}),
    "sql-injection": frozenset({89}),
    "nosql-injection": frozenset({943}),
    "path-traversal": frozenset({22, 23, 36, 73}),
    "ssrf": frozenset({918}),
    "open-redirect": frozenset({601}),
    "xss": frozenset({79, 80}),
    "xpath-injection": frozenset({643}),
    "ldap-injection": frozenset({90}),
    "xxe": frozenset({611, 776}),
    "deserialisation": frozenset({502}),
    "header-injection": frozenset({113, 93}),
    "log-injection": frozenset({117}),
    "trust-boundary": frozenset({501}),
    "insecure-cookie": frozenset({614, 1004, 1275}),
    "weak-random": frozenset({330, 338}),
    "weak-hash": frozenset({328, 916}),
    "weak-cipher": frozenset({327, 326}),
    "tls-off": frozenset({295, 297}),
    "hardcoded-secret": frozenset({798, 259, 321}),
}
CASE_RE = re.compile(r"(?:#|//)\s*case:\s*([a-z-]+)\s+(vulnerable|safe)\b")
ANNOT_RE = re.compile(r"^\s*(?:#|//)\s*(todoruleid|ruleid|todook|ok):\s*([\w.,\s-]+?)\s*$")
CWE_RE = re.compile(r"CWE-(\d+)")
LANG = {".py": "python", ".js": "js", ".ts": "ts", ".tsx": "ts", ".mts": "ts", ".cts": "ts"}


@dataclass(frozen=True)
class Case:
    path: str  # relative to the scanned tree
    line: int  # the labelled line
    first: int  # the statement holding it
    last: int
    cls: str
    vulnerable: bool

    @property
    def lang(self) -> str:
        return LANG.get(Path(self.path).suffix, "?")


@dataclass(frozen=True)
class Violation:
    path: str
    start: int
    end: int
    cwes: frozenset[int]
    rule: str
    status: str  # "violation", or below-threshold, suppressed …


@dataclass
class Score:
    """One configuration on one corpus."""

    config: str
    flagged: dict[Case, list[Violation]] = field(default_factory=dict)  # right class
    other: dict[Case, list[Violation]] = field(default_factory=dict)  # wrong CWE only

    def rates(self, cases: Sequence[Case], cls: str) -> tuple[float | None, float | None]:
        vuln = [c for c in cases if c.cls == cls and c.vulnerable]
        safe = [c for c in cases if c.cls == cls and not c.vulnerable]
        tpr = sum(c in self.flagged for c in vuln) / len(vuln) if vuln else None
        fpr = sum(c in self.flagged for c in safe) / len(safe) if safe else None
        return tpr, fpr

    def youden(self, cases: Sequence[Case]) -> float:
        values = []
        for cls in CLASSES:
            tpr, fpr = self.rates(cases, cls)
            if tpr is not None and fpr is not None:
                values.append(tpr - fpr)
        return statistics.mean(values) if values else float("nan")


# ------------------------------------------------------------------------------ statements


def python_spans(source: str) -> list[tuple[int, int]]:
    """Each statement's lines; a compound statement (def, with, if …) only its header."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.stmt):
            end = node.end_lineno or node.lineno
            body = getattr(node, "body", None)
            if isinstance(body, list) and body:
                end = max(node.lineno, body[0].lineno - 1)
            spans.append((node.lineno, end))
    return spans


STRINGS = re.compile(r"'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"|`(?:\\.|[^`\\])*`|//.*$")


def js_span(lines: list[str], line: int) -> tuple[int, int]:
    """From the labelled line to where its brackets close (strings and comments ignored):
    the cases are labelled on a statement's first line."""
    depth, n = 0, line
    while n <= len(lines):
        code = STRINGS.sub("", lines[n - 1])
        depth += sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")
        if depth <= 0:
            break
        n += 1
    return line, min(n, len(lines))


def statement(path: Path, source: str, line: int, spans: list[tuple[int, int]] | None
              ) -> tuple[int, int]:
    if spans is not None:
        holding = [s for s in spans if s[0] <= line <= s[1]]
        if holding:
            return min(holding, key=lambda s: s[1] - s[0])
        return line, line
    return js_span(source.splitlines(), line)


def _spans_for(path: Path, source: str) -> list[tuple[int, int]] | None:
    return python_spans(source) if path.suffix == ".py" else None


# ------------------------------------------------------------------------------ corpora


def secret_value(kind: str, rng: random.Random) -> str:
    """A credential-shaped value made now, for the temporary copy only."""
    upper32 = string.ascii_uppercase + "234567"
    alnum = string.ascii_letters + string.digits
    if kind == "aws-id":
        return "AKIA" + "".join(rng.choice(upper32) for _ in range(16))
    if kind == "aws-secret":
        return "".join(rng.choice(alnum + "+/") for _ in range(40))
    if kind == "github":
        return "ghp_" + "".join(rng.choice(alnum) for _ in range(36))
    if kind == "hex":
        return "".join(rng.choice("0123456789abcdef") for _ in range(64))
    if kind == "password":
        return "".join(rng.choice(alnum + "!#%*") for _ in range(20))
    raise ValueError(f"unknown secret kind {kind!r}")


def copy_held_out(dest: Path) -> list[Case]:
    rng = random.Random(os.urandom(16))
    cases: list[Case] = []
    for src in sorted(CASES.rglob("*")):
        if not src.is_file() or src.suffix not in LANG:
            continue
        rel = src.relative_to(CASES)
        text = src.read_text("utf-8")
        out = re.sub(r"<<secret:([a-z-]+)>>", lambda m: secret_value(m.group(1), rng), text)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(out, "utf-8")
        spans = _spans_for(src, text)
        for n, line in enumerate(text.splitlines(), 1):
            m = CASE_RE.search(line)
            if not m:
                continue
            if m.group(1) not in CLASSES:
                raise SystemExit(f"{rel}:{n}: unknown class {m.group(1)!r}")
            first, last = statement(src, text, n, spans)
            cases.append(Case(f"{dest.name}/{rel}", n, first, last, m.group(1),
                              m.group(2) == "vulnerable"))
    return cases


def rule_classes() -> dict[str, str | None]:
    """Rule id -> its class, from the rule's own CWE metadata (first CWE with a class)."""
    found: dict[str, str | None] = {}
    for pack in sorted(RULES.glob("*.yaml")):
        for rule in yaml.safe_load(pack.read_text("utf-8")).get("rules", []):
            cwes = [int(x) for c in rule.get("metadata", {}).get("cwe", [])
                    for x in CWE_RE.findall(str(c))]
            found[rule["id"]] = next(
                (cls for cwe in cwes for cls, ids in CLASSES.items() if cwe in ids), None)
    return found


def copy_fixtures(dest: Path, unmapped: set[str]) -> list[Case]:
    classes = rule_classes()
    labels: dict[tuple[str, int, str], bool] = {}  # (path, line, class) -> vulnerable
    spans_of: dict[str, tuple[int, int]] = {}
    for src in sorted(FIXTURES.rglob("*")):
        if not src.is_file() or src.suffix not in LANG:
            continue
        rel = f"{dest.name}/{src.relative_to(FIXTURES)}"
        target = dest / src.relative_to(FIXTURES)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        text = src.read_text("utf-8")
        lines = text.splitlines()
        spans = _spans_for(src, text)
        for n, line in enumerate(lines, 1):
            m = ANNOT_RE.match(line)
            if not m:
                continue
            flagged = n + 1  # semgrep --test: the next line that is not an annotation
            while flagged <= len(lines) and ANNOT_RE.match(lines[flagged - 1]):
                flagged += 1
            for rule in filter(None, (r.strip() for r in m.group(2).split(","))):
                cls = classes.get(rule)
                if cls is None:
                    unmapped.add(rule)
                    continue
                key = (rel, flagged, cls)
                labels[key] = labels.get(key, False) or m.group(1) in ("ruleid", "todoruleid")
                spans_of[f"{rel}:{flagged}"] = statement(src, text, flagged, spans)
    return [Case(path, line, *spans_of[f"{path}:{line}"], cls, vuln)
            for (path, line, cls), vuln in sorted(labels.items())]


# ------------------------------------------------------------------------------ scanning


@dataclass(frozen=True)
class Config:
    name: str
    pythonpath: Path
    scanners: tuple[str, ...]


def gate_argv(cfg: Config, tree: Path, report: Path, extra: Sequence[str] = ()) -> list[str]:
    argv = ["env", f"PYTHONPATH={cfg.pythonpath}", sys.executable, "-m", "policy_gate",
            "scan", str(tree), "--quiet", "--format", "json", "--output", str(report)]
    for s in cfg.scanners:
        argv += ["--scanner", s]
    return [*argv, *extra]


def scan(cfg: Config, tree: Path, report: Path) -> tuple[Measured, list[Violation]]:
    m = measure(gate_argv(cfg, tree, report), cwd=cfg.pythonpath)
    check(m, (0, 1), f"policy-gate ({cfg.name})")
    data = json.loads(report.read_text("utf-8"))
    for s in data["scanners"]:
        if s["name"] in cfg.scanners and s["status"] not in ("ok",):
            raise RuntimeError(f"{cfg.name}: scanner {s['name']} status {s['status']}")
    found = []
    for f in data["findings"]:
        cwes = frozenset(int(x) for c in f.get("cwe") or [] for x in CWE_RE.findall(str(c)))
        start = int(f["start_line"] or 0)
        found.append(Violation(f["path"], start, int(f.get("end_line") or start), cwes,
                               f"{f['scanner']}:{f['rule_id']}", f["status"]))
    return m, found


def score(cfg: str, cases: Iterable[Case], findings: list[Violation],
          any_status: bool = False) -> Score:
    """Which cases the violations (``any_status``: every finding, whatever the policy made
    of it) flag for their class."""
    by_path: dict[str, list[Violation]] = defaultdict(list)
    for v in findings:
        if any_status or v.status == "violation":
            by_path[v.path].append(v)
    result = Score(cfg)
    for case in cases:
        near = [v for v in by_path.get(case.path, ())
                if v.start <= case.last and v.end >= case.first]
        right = [v for v in near if v.cwes & CLASSES[case.cls]]
        if right:
            result.flagged[case] = right
        elif near:
            result.other[case] = near
    return result


def previous_tree(dest: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", PREVIOUS],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def compile_tree(root: Path) -> None:
    """Byte-compile the package once (PYTHONDONTWRITEBYTECODE is set for the runs), as an
    installed copy is, so start-up is not timed as compilation."""
    import compileall

    compileall.compile_dir(root / "policy_gate", quiet=1)


# ------------------------------------------------------------------------------ rendering


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def corpus_table(title: str, cases: list[Case], scores: list[Score]) -> list[str]:
    names = [s.config for s in scores]
    out = [f"#### {title}", "",
           f"{len(cases)} cases ({sum(c.vulnerable for c in cases)} vulnerable, "
           f"{sum(not c.vulnerable for c in cases)} safe). TPR / FPR per configuration; "
           "**bold**: misses the target (TPR >= 0.8, FPR <= 0.2).", "",
           "| class | langs | vuln / safe | " + " | ".join(names) + " |",
           "|---|---|---|" + "---|" * len(names)]
    for cls in CLASSES:
        mine = [c for c in cases if c.cls == cls]
        if not mine:
            out.append(f"| {cls} | n/a | 0 / 0 |" + " n/a |" * len(names))
            continue
        langs = ",".join(sorted({c.lang for c in mine}))
        cells = []
        for s in scores:
            tpr, fpr = s.rates(cases, cls)
            t = pct(tpr) if tpr is None or tpr >= 0.8 else f"**{pct(tpr)}**"
            f = pct(fpr) if fpr is None or fpr <= 0.2 else f"**{pct(fpr)}**"
            cells.append(f"{t} / {f}")
        n_v = sum(c.vulnerable for c in mine)
        out.append(f"| {cls} | {langs} | {n_v} / {len(mine) - n_v} | " + " | ".join(cells) + " |")
    out.append("| **Youden index** (mean TPR - FPR) | | | "
               + " | ".join(f"**{s.youden(cases):+.2f}**" for s in scores) + " |")
    return out


def errors_list(cases: list[Case], now: Score, every: Score) -> list[str]:
    """Misses and false alarms of `now`, for the rule authors (``every``: the same run with
    findings of any status, to tell a missing rule from one graded below the threshold)."""
    out = []
    for case in sorted(cases, key=lambda c: (c.cls, c.path, c.line)):
        if case.vulnerable and case not in now.flagged:
            wrong = now.other.get(case, [])
            note = ("; flagged with another CWE: " + ", ".join(
                f"{v.rule} (CWE {','.join(map(str, sorted(v.cwes))) or 'none'})" for v in wrong)
                    if wrong else "")
            below = sorted({f"{v.rule} ({v.status})" for v in every.flagged.get(case, [])})
            if below:
                note += "; found but not a violation: " + ", ".join(below)
            out.append(f"- miss        {case.cls}: `{case.path}:{case.line}`{note}")
        elif not case.vulnerable and case in now.flagged:
            rules = ", ".join(sorted({v.rule for v in now.flagged[case]}))
            out.append(f"- false alarm {case.cls}: `{case.path}:{case.line}` by {rules}")
    return out


@dataclass
class Timing:
    seconds: dict[str, list[float]]
    files: int


def bench_time(configs: list[Config], tree: Path, runs: int, idle: float) -> Timing:
    seconds: dict[str, list[float]] = {c.name: [] for c in configs}
    with tempfile.TemporaryDirectory(prefix="sast-time-") as tmp:
        for i in range(runs):
            order = configs if i % 2 == 0 else configs[::-1]
            for cfg in order:
                wait_for_idle(idle)
                m = measure(gate_argv(cfg, tree, Path(tmp) / f"{cfg.name}.json"),
                            cwd=cfg.pythonpath)
                check(m, (0, 1), f"policy-gate ({cfg.name})")
                seconds[cfg.name].append(m.seconds)
                log(f"time {cfg.name} run {i + 1}: {m.seconds:.1f} s")
    return Timing(seconds, sum(1 for _ in tree.rglob("*.py")))


def render(args: argparse.Namespace, held: list[Case] | None, held_scores: list[Score],
           fix: list[Case] | None, fix_scores: list[Score], unmapped: set[str],
           timing: Timing | None) -> str:
    out = [f"Run `python benchmarks/sast_bench.py --runs {args.runs}` on "
           f"{os.cpu_count()} cores (machine shared: timings provisional).", ""]
    if held is not None:
        out += corpus_table("Held-out corpus (`benchmarks/sast_cases/`)", held, held_scores)
        out.append("")
    if fix is not None:
        out += corpus_table("Rule-test fixtures (`tests/rules/semgrep/`)", fix, fix_scores)
        if unmapped:
            out += ["", "Annotated rules whose CWE maps to none of the classes (not scored): "
                    + ", ".join(f"`{r}`" for r in sorted(unmapped)) + "."]
        out.append("")
    if timing is not None:
        med = {k: statistics.median(v) for k, v in timing.seconds.items()}
        ratio = med["now"] / med["previous"]
        verdict = "meets" if ratio <= TIME_TARGET else "**misses**"
        out += ["#### Scan time: Django 4.2, `--scanner semgrep`", "",
                f"{timing.files} Python files, median of {args.runs} runs each, alternating.", "",
                "| rule pack | median s | runs (s) |", "|---|---|---|"]
        for k in ("previous", "now"):
            runs = ", ".join(f"{s:.1f}" for s in timing.seconds[k])
            out.append(f"| {k} | {med[k]:.1f} | {runs} |")
        out += ["", f"now / previous = **{ratio:.2f}** ({verdict} the target <= {TIME_TARGET})",
                ""]
    return "\n".join(out) + "\n"


def write_readme(table: str) -> None:
    write_readme_section(BEGIN, END, "SAST rules (issue 17): `sast_bench.py`", table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs on Django (median)")
    parser.add_argument("--only", default=",".join(PARTS), help="corpus,time (default both)")
    parser.add_argument("--django", type=Path, default=DJANGO_TREE,
                        help=f"Django 4.2's package directory (default {DJANGO_TREE})")
    parser.add_argument("--idle-wait", type=float, default=10.0, metavar="S",
                        help="before each timed run wait up to S s for the machine to go quiet")
    parser.add_argument("--errors", type=Path, metavar="FILE",
                        help="also write the misses and false alarms of `now` to FILE")
    parser.add_argument("--write", action="store_true", help="rewrite README.md's section")
    args = parser.parse_args(argv)
    parts = [p for p in PARTS if p in args.only.split(",")]
    held: list[Case] | None = None
    fix: list[Case] | None = None
    held_scores: list[Score] = []
    fix_scores: list[Score] = []
    unmapped: set[str] = set()
    timing = None
    with tempfile.TemporaryDirectory(prefix="sast-bench-") as tmp:
        prev = Path(tmp) / "previous-gate"
        prev.mkdir()
        previous_tree(prev)
        compile_tree(REPO)
        compile_tree(prev)
        now = Config("now", REPO, ("bandit", "semgrep"))
        configs = [now, Config("bandit", REPO, ("bandit",)),
                   Config("previous", prev, ("bandit", "semgrep"))]
        if "corpus" in parts:
            tree = Path(tmp) / "tree"
            held = copy_held_out(tree / "heldout")
            fix = copy_fixtures(tree / "fixtures", unmapped)
            log(f"{len(held)} held-out cases, {len(fix)} fixture cases")
            for cfg in configs:
                m, found = scan(cfg, tree, Path(tmp) / f"{cfg.name}.json")
                log(f"{cfg.name}: {len(found)} findings in {m.seconds:.1f} s")
                held_scores.append(score(cfg.name, held, found))
                fix_scores.append(score(cfg.name, fix, found))
                if cfg is now:
                    every = ANY_STATUS
                    held_scores.append(score(every, held, found, any_status=True))
                    fix_scores.append(score(every, fix, found, any_status=True))
            errors = ["Held-out corpus:", *errors_list(held, held_scores[0], held_scores[1]),
                      "", "Rule-test fixtures:", *errors_list(fix, fix_scores[0], fix_scores[1])]
            if args.errors:
                args.errors.write_text("\n".join(errors) + "\n", "utf-8")
                log(f"wrote {args.errors}")
        if "time" in parts:
            timing = bench_time([Config("previous", prev, ("semgrep",)),
                                 Config("now", REPO, ("semgrep",))],
                                args.django, args.runs, args.idle_wait)
    table = render(args, held, held_scores, fix, fix_scores, unmapped, timing)
    print(table)
    if args.write:
        write_readme(table)
        log(f"wrote {README.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
