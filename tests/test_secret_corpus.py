"""Issue 16's corpus targets, on one real gate run over the whole labelled corpus.

``tests/secret_corpus.py`` generates credentials of 60+ formats in every place code keeps
them, and as many look-alikes (identifiers, placeholders, public data). The gate runs once
(real scanners, builtin:mojaloop with the advisory age lifted) and each sample is its own
test, so a failure names the format, the place, the language and the line:

* every positive is a secret *violation* at its line (a violation whose lines cover it);
* no look-alike is (below the threshold is fine: reported, never lost, never failing);
* no credential appears in stdout, stderr or any report;
* nothing is lost: every scanner's raw results are all in the report.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, GateRun
from tests.secret_corpus import (
    CODE_LANGUAGES,
    FORMATS,
    PLACES,
    Sample,
    corpus,
    positives,
    probes,
    write_corpus,
)

POSITIVES, LOOKALIKES = corpus()
LOOKALIKE_FILES = sorted({s.path for s in LOOKALIKES})


@dataclass(repr=False)
class CorpusRun:
    run: GateRun
    outputs: dict[str, str]  # every text the run produced, by name

    def __repr__(self) -> str:  # a failing assertion shows this, not every output
        return f"<gate run on the corpus: exit {self.run.code}>"

    def violations(self, path: str) -> list[dict[str, Any]]:
        assert self.run.report is not None
        return [f for f in self.run.report["findings"]
                if f["category"] == "secret" and f["status"] == "violation" and f["path"] == path]

    def covering(self, sample: Sample) -> list[dict[str, Any]]:
        return [f for f in self.violations(sample.path)
                if f["start_line"] <= sample.line <= (f.get("end_line") or f["start_line"])]

    def secret_findings(self, path: str) -> list[str]:
        """What the report says about secrets in ``path`` (masked, as it shows them)."""
        assert self.run.report is not None
        return [f"{f['start_line']}-{f.get('end_line')} {f['scanners']}:{f['rule_id']} "
                f"{f['status']} ({f['effective_confidence']})"
                for f in self.run.report["findings"]
                if f["category"] == "secret" and f["path"] == path]


_RUNS: dict[str, CorpusRun] = {}


@pytest.fixture(scope="module")
def corpus_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("secret-corpus") / "repo", POSITIVES + LOOKALIKES)


@pytest.fixture
def corpus_run(gate: Callable[..., GateRun], corpus_root: Path, tmp_path: Path) -> CorpusRun:
    """One gate run per session (the first test that asks makes it; the rest reuse it)."""
    if "run" not in _RUNS:
        extra = {"sarif": tmp_path / "corpus.sarif", "markdown": tmp_path / "corpus.md",
                 "junit": tmp_path / "corpus.junit.xml"}
        args = [a for fmt, out in extra.items() for a in ("--format", fmt, "--output", str(out))]
        run = gate(corpus_root, *args, timeout=900)
        outputs = {"stdout": run.stdout, "stderr": run.stderr}
        outputs |= {fmt: out.read_text() for fmt, out in extra.items() if out.exists()}
        report = tmp_path / "report.json"
        outputs["json"] = report.read_text() if report.exists() else ""
        _RUNS["run"] = CorpusRun(run, outputs)
    return _RUNS["run"]


# ------------------------------------------------------------------------------ the corpus


def test_the_corpus_covers_the_issue() -> None:
    """At least 40 formats, every place and language several times, at least as many
    look-alikes as positives, and each file one kind of evidence."""
    formats = {s.format for s in POSITIVES}
    assert len(formats) >= 40
    assert formats == {f.id for f in FORMATS}
    places, languages = Counter(s.place for s in POSITIVES), Counter(s.language for s in POSITIVES)
    assert {p: n for p, n in places.items() if n < 3} == {}
    assert set(places) == set(PLACES.values())
    assert {lang: languages[lang] for lang in CODE_LANGUAGES if languages[lang] < 5} == {}
    assert len(LOOKALIKES) >= len(POSITIVES)
    assert not {s.path for s in POSITIVES} & set(LOOKALIKE_FILES)


def test_each_sample_is_on_its_line() -> None:
    for s in POSITIVES + LOOKALIKES:
        assert s.value.split("\n")[0] in s.text.split("\n")[s.line - 1], s.id


def test_the_corpus_is_reproducible_and_its_values_distinct() -> None:
    again = positives()
    assert [s.value for s in again] == [s.value for s in POSITIVES]
    assert len({s.value for s in POSITIVES}) == len(POSITIVES)
    assert positives(seed=17)[0].value != POSITIVES[0].value


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs the git checkout")
def test_no_generated_value_is_in_the_repository() -> None:
    """The corpus exists only at run time: no file a commit would carry (these modules,
    rule examples, fixtures, docs) holds a value it generates."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=True).stdout.split(b"\0")
    texts = []
    for raw in filter(None, listed):
        path = REPO / os.fsdecode(raw)
        if path.is_file() and not path.is_symlink() and path.stat().st_size < 2_000_000:
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    everything = "\n".join(texts)
    assert [s.id for s in POSITIVES if any(piece in everything for piece in probes(s))] == []


# ------------------------------------------------------------------------------ the gate


def test_the_gate_ran_and_lost_nothing(corpus_run: CorpusRun) -> None:
    run = corpus_run.run
    assert run.code in (0, 1), run.output[-3000:]
    assert run.report is not None
    for scanner in run.report["scanners"]:
        if scanner["status"] != "disabled":
            assert scanner["status"] == "ok", scanner
            assert scanner["raw_results"] == scanner["results_in_report"], scanner["name"]


@pytest.mark.parametrize("sample", POSITIVES, ids=lambda s: s.id)
def test_every_positive_is_a_violation_at_its_line(corpus_run: CorpusRun, sample: Sample) -> None:
    assert corpus_run.covering(sample), (
        f"{sample.format} ({sample.place}, {sample.language}) at {sample.path}:{sample.line} "
        f"is not a secret violation; secret findings in that file: "
        f"{corpus_run.secret_findings(sample.path)}"
    )


@pytest.mark.parametrize("sample", LOOKALIKES, ids=lambda s: s.id)
def test_no_lookalike_is_a_violation(corpus_run: CorpusRun, sample: Sample) -> None:
    assert not corpus_run.covering(sample), (
        f"look-alike {sample.format} ({sample.place}) at {sample.path}:{sample.line} fails "
        f"the gate: {corpus_run.secret_findings(sample.path)}"
    )


@pytest.mark.parametrize("path", LOOKALIKE_FILES)
def test_no_secret_violation_in_a_lookalike_file(corpus_run: CorpusRun, path: str) -> None:
    """Not on any line: these files hold no credential at all."""
    assert corpus_run.violations(path) == [], corpus_run.secret_findings(path)


@pytest.mark.parametrize("sample", POSITIVES, ids=lambda s: s.id)
def test_no_value_in_any_output(corpus_run: CorpusRun, sample: Sample) -> None:
    shown = [name for name, text in corpus_run.outputs.items()
             for piece in probes(sample) if piece in text]
    assert shown == [], f"{sample.format} at {sample.path}:{sample.line} shown in {shown}"


def test_every_output_was_written(corpus_run: CorpusRun) -> None:
    assert {name for name, text in corpus_run.outputs.items() if text} >= {
        "stdout", "json", "sarif", "markdown", "junit"}
