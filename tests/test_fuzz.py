"""Fuzzing (issue 8): the loaders of the gate's own inputs (policy, waivers, baseline), every
parser of a scanner's output and every parser the gate applies to the scanned tree
(manifests, lockfiles, coverage reports, Dockerfiles, workflows, licences, OSV records) are
fed hypothesis-generated documents: random bytes and text, and near-valid documents shaped
like the real format with wrong types, missing and extra keys, odd unicode, huge numbers,
dates in odd forms, NaN/inf and nulls.

The property everywhere: a result, or the module's own documented error with a clear
message (PolicyError / BaselineError naming the file and a real line, ScannerError,
LockfileError, ReportError, DockerfileError, AdvisoryDBError); never any other exception,
which would reach the user as a traceback or an "internal error". A scanner's tool is
replaced in-process by an answer drawn by hypothesis: that is the fault being injected.

Examples are derandomized, so CI runs the same cases every time.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest.mock import patch
from xml.sax.saxutils import escape, quoteattr

import pytest
import tomli_w
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from policy_gate.advisories.database import AdvisoryDBError, AdvisoryIndex, fix_version
from policy_gate.base import yamlsafe
from policy_gate.base.fileset import walk
from policy_gate.base.process import Completed, ScannerError
from policy_gate.dependencies import npm, python, spdx
from policy_gate.dependencies.pypi_metadata import license_from_metadata
from policy_gate.findings import Finding, Source, merge_findings
from policy_gate.policy import baseline as bl
from policy_gate.policy.loader import PolicyError, load_policy, parse_policy_text
from policy_gate.policy.loader import schema as policy_schema
from policy_gate.policy.model import Policy
from policy_gate.policy.waivers import load_waivers
from policy_gate.policy.waivers import schema as waivers_schema
from policy_gate.results import ScanOutput
from policy_gate.scanners import (
    bandit,
    coverage,
    detect_secrets,
    dockerfile,
    kingfisher,
    pip_audit,
    safety,
    semgrep,
    workflows,
)
from policy_gate.scanners.interface import ScanContext, Scanner
from tests.conftest import OFFLINE_POLICY

FUZZ = settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)


def fuzz(cases: int) -> settings:
    """Reproducible settings for ``cases`` generated examples. The issue pins the file's
    total (10,000, checked below), not each test's share: nine tenths of the time goes to
    generating the documents, so a parser whose fuzzer has found a regression (its
    ``@example`` lines) keeps its budget, and one whose fuzzer never found anything runs
    150-400 cases (hypothesis' default is 100)."""
    return settings(FUZZ, max_examples=cases)


# --- what goes into the documents -------------------------------------------------------

BIG = "__BIG__"  # replaced, after serialising, by an integer Python refuses to convert
BIG_DIGITS = "9" * 5000
ODD_STRINGS = (
    "", " ", "~", "null", "yes", "off", "NaN", "-.inf", "0x1F", "1e400", "0o17", "1_000",
    "\u202egnp.exe", "\ufeffbom", "\u0000nul", "tab\there", "line\nbreak",
    "\U0001d532\U0001d52b\U0001d526",  # mathematical letters
    "../../etc/passwd", "/abs/path", "C:\\win", "a" * 300, "*", "!x", "**", "#", "- x",
    "2026-02-30", "+12026-01-01", "2026-01-01T00:00:00+99:00", "0000-00-00",
    "\u0662\u0660\u0662\u0666-\u0660\u0661-\u0660\u0661",  # a date in Arabic-Indic digits
    "${HOME}", "{{ x }}", "'", '"', "\\", "&a", "*a", "!!python/name:os.system", BIG,
)
ODD_TEXT: SearchStrategy[str] = st.one_of(st.text(max_size=24), st.sampled_from(ODD_STRINGS))
NUMBERS: SearchStrategy[Any] = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from([0, -1, 1, 2**63, 10**100]),
    st.floats(allow_nan=True, allow_infinity=True),
)
SCALARS: SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), NUMBERS, ODD_TEXT,
    st.dates(), st.datetimes(timezones=st.sampled_from([None, dt.UTC])),
    st.binary(max_size=6),
)


@st.composite
def _one_in(draw: st.DrawFn, odds: int, rare: SearchStrategy[Any],
            usual: SearchStrategy[Any]) -> Any:
    return draw(rare) if draw(st.integers(1, odds)) == 1 else draw(usual)


# JSON can say what no Unicode text holds: half a surrogate pair (one string in fifty)
JSON_TEXT = _one_in(50, st.sampled_from(["\ud800", "x\udfff", "\udc80"]), ODD_TEXT)
JSON_SCALARS: SearchStrategy[Any] = st.one_of(st.none(), st.booleans(), NUMBERS, JSON_TEXT)


def weird(scalars: SearchStrategy[Any] = SCALARS, keys: SearchStrategy[Any] | None = None,
          ) -> SearchStrategy[Any]:
    """Any value at all: scalars, lists, mappings (YAML: keys of any type)."""
    keys = keys if keys is not None else st.one_of(ODD_TEXT, st.integers(), st.booleans(),
                                                    st.none())
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
        max_leaves=6,
    )


WEIRD = weird()
WEIRD_JSON = weird(JSON_SCALARS, JSON_TEXT)
WEIRD_TOML = weird(st.one_of(st.booleans(), NUMBERS, ODD_TEXT, st.dates()), ODD_TEXT)
MISSING = object()


def mostly(valid: SearchStrategy[Any], other: SearchStrategy[Any] = WEIRD) -> SearchStrategy[Any]:
    """Usually a right value, sometimes (one in eight) a wrong one."""
    return _one_in(8, other, valid)


def choice(values: Sequence[Any], other: SearchStrategy[Any] = ODD_TEXT) -> SearchStrategy[Any]:
    """One of the format's usual values, or (one in eight) an odd one."""
    return mostly(st.sampled_from(values), other)


def shaped(fields: Mapping[str, SearchStrategy[Any]], other: SearchStrategy[Any] = WEIRD,
           ) -> SearchStrategy[dict[str, Any]]:
    """An object with the format's fields: three times in four each field right (so the
    parser gets past its checks), else some fields of another type or missing, maybe with
    an unknown key beside them."""
    def field(s: SearchStrategy[Any]) -> SearchStrategy[Any]:
        return _one_in(4, other | st.just(MISSING), s)

    dirty = st.builds(
        lambda known, extra: {**extra, **{k: v for k, v in known.items() if v is not MISSING}},
        st.fixed_dictionaries({k: field(s) for k, s in fields.items()}),
        st.dictionaries(ODD_TEXT, other, max_size=1) | st.just({}),
    )
    return _one_in(4, dirty, st.fixed_dictionaries(dict(fields)))


def json_text(value: Any, ascii_only: bool = True) -> str:
    text = json.dumps(value, default=str, ensure_ascii=ascii_only)
    return text.replace(json.dumps(BIG), BIG_DIGITS)


def yaml_text(value: Any, flow: bool = False) -> str:
    text = yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=flow)
    return text.replace(BIG, BIG_DIGITS)


@st.composite
def mutated(draw: st.DrawFn, text: SearchStrategy[str]) -> str:
    """The text, sometimes with a few characters deleted, inserted or a line doubled:
    near-valid syntax."""
    out = draw(text)
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 3]))):
        at = draw(st.integers(0, len(out)))
        op = draw(st.sampled_from(["delete", "insert", "double"]))
        if op == "delete":
            out = out[:at] + out[at + 1:]
        elif op == "insert":
            char = draw(st.sampled_from(list(":-[]{},&*!|>'\"#%@`\t\n \\\x00")))
            out = out[:at] + char + out[at:]
        else:
            start = out.rfind("\n", 0, at) + 1
            end = out.find("\n", at)
            end = len(out) if end < 0 else end + 1
            out = out[:end] + out[start:end] + out[end:]
    return out


def serialised(doc: SearchStrategy[Any]) -> SearchStrategy[str]:
    """A document as block YAML, flow YAML or JSON (also YAML), maybe mutated."""
    return mutated(st.one_of(
        doc.map(yaml_text),
        doc.map(lambda d: yaml_text(d, flow=True)),
        doc.map(json_text),
    ))


def lines_of(text: str | bytes) -> int:
    """How many lines a reader may count (CR, NEL and LINE SEPARATOR break lines too)."""
    return len(text.splitlines()) + 1


def assert_clear(problems: Sequence[Any], name: str, text: str | bytes, message: str) -> None:
    """Every problem names the file, says something, and points at a line of the file."""
    assert problems
    assert name in message
    for problem in problems:
        assert problem.file == name
        assert problem.message
        if problem.line is not None:
            assert 1 <= problem.line <= lines_of(text) + 1, problem


# --- documents shaped by a JSON schema ----------------------------------------------------


def _pointer(root: Mapping[str, Any], ref: str) -> Mapping[str, Any]:
    """The subschema a local ``$ref`` ("#/$defs/scannerProps/enabled") points at."""
    node: Mapping[str, Any] = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _string(schema: Mapping[str, Any]) -> SearchStrategy[str]:
    if "pattern" in schema:
        try:
            return st.from_regex(schema["pattern"], fullmatch=True)
        except Exception:  # a pattern hypothesis cannot generate from (lookarounds)
            return ODD_TEXT
    return st.text(min_size=schema.get("minLength", 0), max_size=12)


def schema_documents(schema: Mapping[str, Any],
                     overrides: Mapping[str, SearchStrategy[Any]] | None = None,
                     ) -> SearchStrategy[Any]:
    """Documents shaped by a JSON schema: half of them valid as far as the schema goes, the
    others with anything at all, at any level, in one place in five."""
    return st.one_of(_from_schema(schema, schema, overrides or {}, noisy=False),
                     _from_schema(schema, schema, overrides or {}, noisy=True))


def _from_schema(schema: Mapping[str, Any], root: Mapping[str, Any],
                 overrides: Mapping[str, SearchStrategy[Any]], noisy: bool,
                 ) -> SearchStrategy[Any]:
    valid = _valid(schema, root, overrides, noisy)
    return mostly(valid) if noisy else valid


def _valid(schema: Mapping[str, Any], root: Mapping[str, Any],
           overrides: Mapping[str, SearchStrategy[Any]], noisy: bool) -> SearchStrategy[Any]:
    if "$ref" in schema:
        return _valid({**_pointer(root, schema["$ref"]), **{k: v for k, v in schema.items()
                                                            if k != "$ref"}}, root, overrides,
                      noisy)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "type" not in schema:
        subs = schema.get("oneOf") or schema.get("anyOf")
        if subs:
            return st.one_of(*(_valid(s, root, overrides, noisy) for s in subs))
        return WEIRD
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    options: list[SearchStrategy[Any]] = []
    for kind in kinds:
        if kind == "object":
            props = schema.get("properties", {})
            fields = {k: overrides[k] if k in overrides else _from_schema(v, root, overrides, noisy)
                      for k, v in props.items()}
            required = [k for k in schema.get("required", []) if k in fields]
            obj = st.fixed_dictionaries(
                {k: fields[k] for k in required},
                optional={k: s for k, s in fields.items() if k not in required},
            )
            extra = schema.get("additionalProperties")
            if isinstance(extra, Mapping):
                names = schema.get("propertyNames", {})
                keys = _string(names) if names else ODD_TEXT
                obj = st.builds(lambda a, b: {**b, **a}, obj,
                                st.dictionaries(keys, _from_schema(extra, root, overrides,
                                                                   noisy), max_size=2))
            options.append(obj)
        elif kind == "array":
            items = _from_schema(schema.get("items", {}), root, overrides, noisy)
            options.append(st.lists(items, min_size=min(schema.get("minItems", 0), 1),
                                    max_size=min(schema.get("maxItems", 3), 3)))
        elif kind == "string":
            options.append(_string(schema))
        elif kind in ("integer", "number"):
            low = schema.get("minimum", schema.get("exclusiveMinimum"))
            high = schema.get("maximum")
            whole = st.integers(min_value=low, max_value=high)
            options.append(whole if kind == "integer" else whole | st.floats(low, high))
        elif kind == "boolean":
            options.append(st.booleans())
        else:
            options.append(st.none())
    return st.one_of(*options)


# --- the policy loader --------------------------------------------------------------------

POLICY_NAME = "fuzz/policy.yaml"
YAMLISH = st.text(alphabet=st.sampled_from(list(":-[]{},&*!|>'\"#%@`?\t\n ab1.~\\")),
                  max_size=80)


@fuzz(800)
@given(raw=st.one_of(st.binary(max_size=200), YAMLISH, st.text(max_size=80)))
# Regressions found by this fuzzer (each raised another exception before its fix):
@example(raw="max_file_bytes: " + BIG_DIGITS)  # an int Python will not convert: ValueError
@example(raw="name: \ud800\n")  # text that cannot be UTF-8: UnicodeEncodeError
@example(raw="name: !!float abc\n")  # an explicit tag on a value it cannot construct
def test_random_text_as_policy_is_a_policy_error(raw: str | bytes) -> None:
    try:
        parse_policy_text(raw, POLICY_NAME)
    except PolicyError as exc:
        assert_clear(exc.problems, POLICY_NAME, raw, str(exc))


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("policies")
    (root / "base.yaml").write_text("version: 1\nname: base\nexclude: [vendor/]\n")
    return root


EXTENDS = st.sampled_from(
    ["builtin:mojaloop", "builtin:nope", "base.yaml", "missing.yaml", "policy.yaml",
     "../base.yaml", "sub/dir.yaml"]
) | st.lists(st.sampled_from(["base.yaml", "builtin:mojaloop", "policy.yaml"]), max_size=3)


@fuzz(500)
@given(text=serialised(schema_documents(policy_schema(), {"extends": EXTENDS})))
@example(text='scanners: {semgrep: {rules: ["a\\0b"]}}\n')  # a NUL in a path: ValueError
@example(text='advisories: {database: "a\\0b"}\n')
def test_near_valid_policy_loads_or_is_a_policy_error(policy_dir: Path, text: str) -> None:
    path = policy_dir / "policy.yaml"
    path.write_text(text, "utf-8", errors="surrogatepass")
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        assert exc.problems and str(exc)
        for problem in exc.problems:
            assert problem.message
            assert problem.file in (str(path), "builtin:nope") or problem.file.startswith(
                str(policy_dir)
            ), problem
            if problem.file == str(path) and problem.line is not None:
                assert 1 <= problem.line <= lines_of(text) + 1
    else:
        assert policy.files[-1] == str(path)
        assert len(policy.sha256) == 64


# --- the waivers loader -------------------------------------------------------------------

WAIVERS_NAME = ".policy-gate/waivers.yaml"


def _finding(rule: str, path: str, ids: tuple[str, ...] = ()) -> Finding:
    return Finding(
        category="sast", sources=(Source("bandit", rule, None, None, "m"),), path=path,
        start_line=1, end_line=1, message="m", flaw_key=rule, cwe=ids,
        fingerprint="0" * 32,
    )


@fuzz(600)
@given(raw=st.one_of(st.binary(max_size=200), YAMLISH))
@example(raw="version: " + BIG_DIGITS)
def test_random_text_as_waivers_is_a_policy_error(raw: str | bytes) -> None:
    try:
        load_waivers(raw, WAIVERS_NAME)
    except PolicyError as exc:
        assert_clear(exc.problems, WAIVERS_NAME, raw, str(exc))


@fuzz(400)
@given(text=serialised(schema_documents(waivers_schema())))
def test_near_valid_waivers_load_or_are_a_policy_error(text: str) -> None:
    try:
        loaded = load_waivers(text, WAIVERS_NAME)
    except PolicyError as exc:
        assert_clear(exc.problems, WAIVERS_NAME, text, str(exc))
        return
    for waiver in loaded.waivers:
        assert waiver.reason and waiver.owner and waiver.describe()
    # what the evaluator then does with every finding
    for finding in (_finding("B602", "scripts/a.py"), _finding("x", "a.py", ("CVE-2026-1",))):
        loaded.matching(finding)


# --- the baseline loader ------------------------------------------------------------------

BASELINE_NAME = "baseline.json"
HEX32 = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)
TIMESTAMPS = choice(
    ["2026-01-31T12:00:00Z", "2026-01-31T12:00:00+00:00", "9999-12-31T23:59:59Z"],
    st.sampled_from(["2026-01-31T12:00:00+01:00", "2026-01-31", "2026-13-01T00:00:00Z",
                     "0001-01-01T00:00:00-01:00", "2026-01-31T12:00:00.123456789Z",
                     "yesterday"]),
)
BASELINE_ENTRY = shaped({
    "fingerprint": HEX32, "match_key": HEX32,
    "category": choice(["sast", "secret", "dependency"], st.just("")),
    "rule": choice(["bandit:B602", "semgrep:x"]),
    "path": choice(["a.py", "src/b.js", "dir/"]),
    "line": mostly(st.none() | st.integers(1, 10**12), st.sampled_from([0, -3, True])),
    "severity": choice(["critical", "high", "medium", "low", "info", None], st.just("HIGH")),
    "title": ODD_TEXT, "ids": st.lists(ODD_TEXT, max_size=2),
}, WEIRD_JSON)
BASELINE_DOC = shaped({
    "about": ODD_TEXT, "version": choice([1], st.sampled_from([2, 0, True, 1.0])),
    "created": TIMESTAMPS, "tool_version": ODD_TEXT,
    "policy_sha256": st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    "entries": st.lists(BASELINE_ENTRY, max_size=4),
}, WEIRD_JSON)


@st.composite
def baseline_text(draw: st.DrawFn) -> str:
    doc = draw(BASELINE_DOC)
    text = json_text(doc, ascii_only=draw(st.booleans()))
    if doc and draw(_one_in(10, st.just(True), st.just(False))):  # a key given twice
        key = draw(st.sampled_from(sorted(map(str, doc))))
        text = "{" + json.dumps(key) + ": " + json_text(draw(WEIRD_JSON)) + ", " + text[1:]
    return draw(mutated(st.just(text)))


@fuzz(300)
@given(raw=st.one_of(baseline_text(), st.binary(max_size=120),
                     baseline_text().map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_baseline_loads_or_is_a_baseline_error(raw: str | bytes) -> None:
    try:
        loaded = bl.loads(raw, BASELINE_NAME)
    except bl.BaselineError as exc:
        assert_clear(exc.problems, BASELINE_NAME, raw, str(exc))
        return
    assert bl.loads(bl.dumps(loaded), BASELINE_NAME) == loaded  # what create would write
    assert len(bl.unmatched_entries(loaded, bl.match(loaded, []))) == len(loaded.entries)


# --- the safe YAML reader itself ----------------------------------------------------------


@fuzz(400)
@given(raw=st.one_of(YAMLISH, serialised(WEIRD), st.binary(max_size=80)),
       mode=st.sampled_from(["policy", "workflow", "failsafe"]))
def test_yamlsafe_returns_located_data_or_a_problem(raw: str | bytes, mode: str) -> None:
    try:
        located = yamlsafe.load(raw, yaml12_booleans=mode == "workflow",
                                failsafe=mode == "failsafe")
    except yamlsafe.YamlProblem as exc:
        assert exc.message
        if exc.line is not None:
            assert 1 <= exc.line <= lines_of(raw) + 1
        return
    for path, (line, column) in located.lines.items():
        assert located.where(path) == (line, column)
        assert 1 <= line <= lines_of(raw) + 1


# --- scanner output parsers (the tool is replaced by an answer hypothesis draws) ---------


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small tree the fuzzed tool output talks about."""
    root = tmp_path_factory.mktemp("scanned")
    files = {
        "app.py": "import subprocess\nsubprocess.call('x', shell=True)\npassword = 'x'\n",
        "web/index.js": "eval(location.hash)\n",
        "requirements.txt": "a==1.0\nb==2.0\n",
        ".github/workflows/ci.yml": "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
        "      - uses: actions/checkout@v4\n",
    }
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)
    return root


def context(root: Path, scanner: str, work: Path | None = None) -> ScanContext:
    """The scanner's context as the offline test policy configures it (its thresholds too:
    a coverage report only turns into findings against them)."""
    return ScanContext(fileset=walk(root), settings=_policy().scanners[scanner], work_dir=work)


@cache
def _policy() -> Policy:
    return load_policy(OFFLINE_POLICY)


class _Printed:
    """A started tool (process.Started) whose answer is already known."""

    def __init__(self, completed: Completed) -> None:
        self.completed = completed

    def finish(self, **_kwargs: Any) -> Completed:
        return self.completed

    def abandon(self) -> None:
        pass


@contextmanager
def tool_prints(module: ModuleType, answers: Sequence[tuple[int, str, str]]) -> Iterator[None]:
    """The scanner's tool answers with these (exit code, stdout, stderr), one per run,
    however the scanner starts it: run_tool, or start_tool then finish (kingfisher, which
    starts its tool before it fills the tool's input; patching run_tool alone left the
    real kingfisher answering every case and the generated answers unread)."""
    replies = list(answers)

    def answer(argv: Sequence[str]) -> Completed:
        code, out, err = replies.pop(0) if len(replies) > 1 else replies[0]
        return Completed(tuple(argv), code, out, err, 0.0)

    def run_tool(scanner: str, argv: Sequence[str], **_kwargs: Any) -> Completed:
        return answer(argv)

    def start_tool(scanner: str, argv: Sequence[str], **_kwargs: Any) -> _Printed:
        return _Printed(answer(argv))

    with ExitStack() as stack:
        stack.enter_context(patch.object(module, "run_tool", run_tool))
        if hasattr(module, "start_tool"):
            stack.enter_context(patch.object(module, "start_tool", start_tool))
        yield


def assert_scans_or_fails_closed(scanner: Scanner, ctx: ScanContext, module: ModuleType,
                                 answers: Sequence[tuple[int, str, str]]) -> None:
    """A ScanOutput whose findings add up and merge, or a ScannerError naming the scanner."""
    with tool_prints(module, answers), patch.object(type(scanner), "version",
                                                    return_value="fuzz"):
        try:
            output = scanner.scan(ctx)
        except ScannerError as exc:
            assert exc.scanner == scanner.name and exc.reason
            return
    check_output(output)


def check_output(output: ScanOutput) -> None:
    assert sum(len(f.sources) for f in output.findings) == output.raw_results
    merge_findings(output.findings)  # the runner's next step with every finding


def tool_answer(report: SearchStrategy[Any], codes: Sequence[int] = (0, 1),
                ) -> SearchStrategy[tuple[int, str, str]]:
    """What a tool prints: its JSON report (maybe broken), or any text, with an exit code
    (usually one of the tool's own ``codes``)."""
    return st.tuples(
        choice(codes, st.sampled_from([1, 2, 64, -9])),
        _one_in(3, mutated(report.map(json_text)) | st.text(max_size=40), report.map(json_text)),
        st.one_of(st.just(""), st.text(max_size=30), st.just(
            "failed to load file://./.github/workflows/ci.yml as workflow\nCaused by:\n 0: x")),
    )


PATHS = choice(["./app.py", "app.py", "././app.py", "web/index.js", "./nope.py",
                ".github/workflows/ci.yml"],
               st.sampled_from(["../outside.py", "/etc/passwd", "app.py/.."]) | ODD_TEXT)
LINES = mostly(st.integers(1, 4), st.sampled_from([0, -2, 10**12, True]))
LEVELS = choice(["HIGH", "MEDIUM", "LOW", "UNDEFINED", "high", "Informational"])

BANDIT_REPORT = shaped({
    "results": st.lists(shaped({
        "test_id": choice(["B602", "B105", "B101"]), "filename": PATHS,
        "line_number": LINES, "issue_text": ODD_TEXT, "issue_severity": LEVELS,
        "issue_confidence": LEVELS, "line_range": st.lists(LINES, max_size=3) | ODD_TEXT,
        "issue_cwe": st.one_of(shaped({"id": NUMBERS}), NUMBERS, ODD_TEXT),
        "test_name": ODD_TEXT, "more_info": ODD_TEXT,
    }, WEIRD_JSON), max_size=3),
    "errors": st.lists(shaped({"filename": PATHS, "reason": ODD_TEXT}, WEIRD_JSON), max_size=2),
}, WEIRD_JSON)


@fuzz(500)
@given(answer=tool_answer(BANDIT_REPORT))
@example(answer=(0, '{"results": [], "errors": [' + BIG_DIGITS + "]}", ""))  # ValueError
@example(answer=(0, "[" * 100_000, ""))  # RecursionError
@example(answer=(0, json.dumps({"results": [{  # line_range with no line in it: max() of []
    "test_id": "B602", "filename": "./app.py", "line_number": 1, "issue_text": "",
    "issue_severity": "HIGH", "issue_confidence": "HIGH", "line_range": "0"}],
    "errors": []}), ""))
@example(answer=(0, json.dumps({"results": [{  # a path with a NUL: ValueError in read_line
    "test_id": "B602", "filename": "\x00", "line_number": 1, "issue_text": "",
    "issue_severity": "HIGH", "issue_confidence": "HIGH"}], "errors": []}), ""))
def test_bandit_output(scanned: Path, answer: tuple[int, str, str]) -> None:
    assert_scans_or_fails_closed(bandit.BanditScanner(), context(scanned, "bandit"), bandit,
                                 [answer])


SEMGREP_REPORT = shaped({
    "version": choice(["1.0.0", ""], WEIRD_JSON),
    "results": st.lists(shaped({
        "check_id": choice(["rules.python-shell-true", "x"]),
        "path": PATHS, "start": shaped({"line": LINES, "col": LINES}),
        "end": shaped({"line": LINES}),
        "extra": shaped({
            "message": ODD_TEXT, "severity": LEVELS | st.sampled_from(["ERROR", "WARNING"]),
            "metadata": shaped({
                "severity": LEVELS, "confidence": LEVELS,
                "cwe": st.one_of(st.lists(ODD_TEXT | NUMBERS, max_size=2), ODD_TEXT, NUMBERS,
                                 st.just("CWE-798: Hard-coded Credentials")),
                "references": st.lists(ODD_TEXT, max_size=2), "fix": ODD_TEXT,
            }, WEIRD_JSON),
        }, WEIRD_JSON),
    }, WEIRD_JSON), max_size=3),
    "errors": st.lists(shaped({
        "path": PATHS, "type": choice(["Timeout", ["Syntax error", 1]], WEIRD_JSON),
        "message": ODD_TEXT,
    }, WEIRD_JSON), max_size=2),
}, WEIRD_JSON)


@fuzz(500)
@given(answer=tool_answer(SEMGREP_REPORT))
@example(answer=(2, '{"results": [], "errors": {"": null}}', ""))  # KeyError explaining exit 2
def test_semgrep_output(scanned: Path, answer: tuple[int, str, str]) -> None:
    assert_scans_or_fails_closed(semgrep.SemgrepScanner(), context(scanned, "semgrep"),
                                 semgrep, [answer])


SHA1S = mostly(st.text(alphabet="0123456789abcdefABCDEF", min_size=40, max_size=40), ODD_TEXT)
DETECT_SECRETS_REPORT = shaped({
    "results": st.dictionaries(PATHS, st.lists(shaped({
        "type": choice(["Secret Keyword", "Private Key", "AWS Access Key"]),
        "filename": PATHS, "hashed_secret": SHA1S, "line_number": LINES,
        "is_verified": st.booleans(),
    }, WEIRD_JSON), max_size=2), max_size=2),
}, WEIRD_JSON)


@fuzz(200)
@given(answer=tool_answer(DETECT_SECRETS_REPORT, codes=[0]))
def test_detect_secrets_output(scanned: Path, answer: tuple[int, str, str]) -> None:
    assert_scans_or_fails_closed(detect_secrets.DetectSecretsScanner(),
                                 context(scanned, "detect-secrets"),
                                 detect_secrets, [answer])


# kingfisher's JSON lines: findings (their values are secrets: never in an error or a
# message) and the audit record that must account for them and for the files given.
KF_SNIPPET = "kf-fuzz-value-" + "q" * 12
KF_RULE = {"id": st.sampled_from(["betterleaks.github-pat", "policy-gate.credential-assignment",
                                  "veles.secrets/x"]),
           "name": st.sampled_from(["github-pat", "policy-gate.credential-assignment"])}
KF_FOUND = {
    "snippet": st.sampled_from([KF_SNIPPET, "", f"-----BEGIN RSA PRIVATE KEY-----\n{KF_SNIPPET}"
                                "\n-----END RSA PRIVATE KEY-----"]),
    "line": st.integers(1, 3), "confidence": st.sampled_from(["low", "medium", "high"]),
    "path": st.sampled_from(["./tree/app.py", "./tree/web/index.js"]),
}
KF_CLEAN = st.fixed_dictionaries({"rule": st.fixed_dictionaries(KF_RULE),
                                  "finding": st.fixed_dictionaries(KF_FOUND)})
KF_FINDING = shaped({
    "rule": shaped({k: mostly(v, ODD_TEXT) for k, v in KF_RULE.items()}, WEIRD_JSON),
    "finding": shaped({**{k: mostly(v) for k, v in KF_FOUND.items()}, "line": LINES,
                       "path": choice(["./tree/app.py", "app.py", "./renamed/1/x"])},
                      WEIRD_JSON),
}, WEIRD_JSON)


KF_AUDIT_DIRTY = shaped({"audit": shaped({
    "summary": shaped({k: choice([0, 1]) for k in ("scan_failed", "scan_partial", "pending")},
                      WEIRD_JSON),
    "repositories": st.lists(shaped({
        "scan": shaped({"status": choice(["completed", "failed"])}, WEIRD_JSON),
        "stats": shaped({k: choice([0, 1, 4]) for k in ("blobs_scanned", "findings")},
                        WEIRD_JSON),
    }, WEIRD_JSON), max_size=2),
}, WEIRD_JSON)}, WEIRD_JSON)


@st.composite
def kingfisher_report(draw: st.DrawFn) -> str:
    """Findings (half of the time all well formed), then an audit record that accounts
    for them and the tree's 4 files (half of the time), or one of any shape."""
    findings = draw(st.lists(KF_CLEAN if draw(st.booleans()) else KF_FINDING, max_size=3))
    exact = {"audit": {
        "summary": {"scan_failed": 0, "scan_partial": 0, "pending": 0},
        "repositories": [{"scan": {"status": "completed"},
                          "stats": {"blobs_scanned": 4, "findings": len(findings)}}],
    }}
    audit = draw(_one_in(2, KF_AUDIT_DIRTY, st.just(exact)))
    return "\n".join(json_text(r) for r in [*findings, audit])


KINGFISHER_ANSWER = st.tuples(
    choice([0, 200, 205], st.sampled_from([1, 2, -9])),
    _one_in(3, mutated(kingfisher_report()) | st.text(max_size=40), kingfisher_report()),
    st.one_of(st.just(""), st.text(max_size=30), st.just(f"Error: '{KF_SNIPPET}'")),
)


@fuzz(150)
@given(answer=KINGFISHER_ANSWER)
def test_kingfisher_output(scanned: Path, answer: tuple[int, str, str]) -> None:
    """Findings that add up, or a failure naming kingfisher that never quotes a value."""
    scanner = kingfisher.KingfisherScanner()
    with tool_prints(kingfisher, [answer]), patch.object(type(scanner), "version",
                                                         return_value="fuzz"):
        try:
            output = scanner.scan(context(scanned, "kingfisher"))
        except ScannerError as exc:
            assert exc.scanner == "kingfisher" and exc.reason
            assert KF_SNIPPET[:20] not in exc.reason
            return
    check_output(output)
    assert KF_SNIPPET[:20] not in repr(output.findings)


PACKAGES = choice(["a", "b", "A", "c"])
PIN_VERSIONS = choice(["1.0", "2.0", "1.0.0", "v1"])


def pip_audit_dependency(name: SearchStrategy[str], version: SearchStrategy[str],
                         ) -> SearchStrategy[dict[str, Any]]:
    """One entry of pip-audit's report: audited (with vulns) or skipped."""
    return shaped({
        "name": name, "version": version,
        "skip_reason": _one_in(5, ODD_TEXT, st.just(MISSING)),
        "vulns": st.lists(shaped({
            "id": choice(["PYSEC-1", "GHSA-x", "CVE-1"]),
            "fix_versions": st.lists(PIN_VERSIONS, max_size=2),
            "aliases": st.lists(mostly(ODD_TEXT, NUMBERS), max_size=2),
            "description": ODD_TEXT,
        }, WEIRD_JSON), max_size=2),
    }, WEIRD_JSON).map(lambda d: {k: v for k, v in d.items() if v is not MISSING})


# pip-audit is given a==1.0 and b==2.0 (the tree's requirements.txt): it must report on both
PIP_AUDIT_REPORT = shaped({
    "dependencies": mostly(
        st.tuples(pip_audit_dependency(st.just("a"), choice(["1.0", "1.0.0"])),
                  pip_audit_dependency(st.just("B"), choice(["2.0"]))).flatmap(
            lambda deps: st.permutations(list(deps))),
        st.lists(pip_audit_dependency(PACKAGES, PIN_VERSIONS), max_size=3)),
}, WEIRD_JSON)


@fuzz(200)
@given(answer=tool_answer(PIP_AUDIT_REPORT))
def test_pip_audit_output(scanned: Path, tmp_path_factory: pytest.TempPathFactory,
                          answer: tuple[int, str, str]) -> None:
    ctx = context(scanned, "pip-audit", tmp_path_factory.getbasetemp() / "pip-audit-work")
    assert_scans_or_fails_closed(pip_audit.PipAuditScanner(), ctx, pip_audit, [answer])


SAFETY_REPORT = shaped({
    "vulnerabilities": st.lists(shaped({
        "vulnerability_id": mostly(st.integers(0, 99999), ODD_TEXT), "package_name": PACKAGES,
        "analyzed_version": PIN_VERSIONS, "advisory": ODD_TEXT,
        "fixed_versions": st.lists(PIN_VERSIONS, max_size=2), "CVE": ODD_TEXT,
    }, WEIRD_JSON), max_size=3),
}, WEIRD_JSON)


@fuzz(400)
@given(answer=tool_answer(SAFETY_REPORT, codes=[0, 64]), banner=st.booleans())
@example(answer=(64, json.dumps({"vulnerabilities": [{  # fixed_versions a number: TypeError
    "vulnerability_id": 1, "package_name": "a", "analyzed_version": "1.0", "advisory": "x",
    "fixed_versions": 5}]}), ""), banner=False)
@example(answer=(0, '{"vulnerabilities": ' + BIG_DIGITS + "}", ""), banner=True)  # ValueError
def test_safety_output(scanned: Path, tmp_path_factory: pytest.TempPathFactory,
                       answer: tuple[int, str, str], banner: bool) -> None:
    code, out, err = answer
    if banner:  # safety 3.x may print a deprecation banner before its JSON
        out = "DEPRECATED: use scan\n" + out
    ctx = context(scanned, "safety", tmp_path_factory.getbasetemp() / "safety-work")
    assert_scans_or_fails_closed(safety.SafetyScanner(), ctx, safety, [(code, out, err)])


POINTS = shaped({"row": LINES, "column": LINES})
ZIZMOR_REPORT = st.lists(shaped({
    "ident": choice(["unpinned-uses", "artipacked"]),
    "desc": ODD_TEXT, "url": ODD_TEXT,
    "determinations": shaped({"severity": LEVELS, "confidence": LEVELS}),
    "locations": st.lists(shaped({
        "symbolic": shaped({
            "kind": choice(["Primary", "Related"]),
            "annotation": ODD_TEXT,
            "key": shaped({"Local": shaped({
                "verbatim_path": st.sampled_from(["./.github/workflows/ci.yml"]) | PATHS,
            })}),
        }),
        "concrete": shaped({"location": shaped({"start_point": POINTS, "end_point": POINTS})}),
    }, WEIRD_JSON), max_size=2),
    "ignored": st.booleans(), "fixes": st.lists(shaped({"title": ODD_TEXT}), max_size=1),
}, WEIRD_JSON), max_size=3)
TRIGGERS = st.sampled_from(["pull_request_target", "push", ["workflow_run", 1], {"on": None}])
WORKFLOW = shaped({
    "on": mostly(TRIGGERS),
    "jobs": st.dictionaries(ODD_TEXT, shaped({"steps": st.lists(shaped({
        "uses": choice(["actions/checkout@v4", "ACTIONS/CHECKOUT", "x"]),
        "with": shaped({"ref": choice(
            ["${{ github.event.pull_request.head.sha }}", "refs/pull/1/merge"])}),
        "run": choice(["gh pr checkout 1", "git fetch origin refs/pull/1/head"]),
    }), max_size=2)}), max_size=2),
})


@fuzz(200)
@given(answers=st.lists(tool_answer(ZIZMOR_REPORT, codes=[0]), min_size=1, max_size=2),
       workflow=serialised(WORKFLOW).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_zizmor_output_and_the_workflow_check(
    tmp_path_factory: pytest.TempPathFactory, answers: list[tuple[int, str, str]],
    workflow: bytes,
) -> None:
    root = tmp_path_factory.getbasetemp() / "workflows-tree"
    (root / ".github/workflows").mkdir(parents=True, exist_ok=True)
    (root / ".github/workflows/ci.yml").write_bytes(workflow)
    assert_scans_or_fails_closed(workflows.WorkflowsScanner(), context(root, "workflows"),
                                 workflows,
                                 answers)


# --- manifests and lockfiles of the scanned tree ------------------------------------------


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, dict[str, str | bytes]],
                                                                  Path]:
    """A directory per test, whose files are rewritten for every example."""
    def build(name: str, files: dict[str, str | bytes]) -> Path:
        root = tmp_path_factory.getbasetemp() / f"fuzz-{name}"
        for path in root.rglob("*") if root.exists() else ():
            if path.is_file():
                path.unlink()
        for rel, content in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, str):
                content = content.encode("utf-8", "surrogatepass")
            target.write_bytes(content)
        return root

    return build


def assert_lockfile(root: Path, rel: str) -> None:
    try:
        packages = npm.parse_lockfile(root, rel)
    except npm.LockfileError as exc:
        assert exc.reason and exc.path in (rel, rel.rsplit("/", 1)[0] + "/package.json",
                                           "package.json")
        if exc.line is not None:
            assert exc.line >= 1
        return
    for package in packages:
        assert package.name is not None and package.version is not None and package.path


NPM_NAMES = choice(["a", "b", "@s/c", "lodash", "ws"])
NPM_VERSIONS = choice(["1.0.0", "2.3.4-rc.1", "file:../x", "npm:real@1.0.0", "npm:@s/r@2.0.0",
                       "v1", "1.0.0+build", "latest"])
NPM_RANGES = choice(["^1.0.0", "1.0.0", "*", "npm:real@^1", "workspace:*"])
DEP_MAP = st.dictionaries(NPM_NAMES, NPM_RANGES, max_size=3)
LOCATIONS = choice(["", "node_modules/a", "node_modules/b", "node_modules/@s/c",
                    "node_modules/a/node_modules/b", "packages/ws", "node_modules/ws"])
V2_ENTRY = shaped({
    "name": NPM_NAMES, "version": NPM_VERSIONS, "resolved": ODD_TEXT,
    "dev": st.booleans(), "optional": st.booleans(), "devOptional": st.booleans(),
    "peer": st.booleans(), "link": st.booleans(),
    "license": st.one_of(ODD_TEXT, shaped({"type": ODD_TEXT}), st.lists(ODD_TEXT, max_size=2)),
    "dependencies": DEP_MAP, "optionalDependencies": DEP_MAP, "peerDependencies": DEP_MAP,
    "devDependencies": DEP_MAP,
}, WEIRD_JSON)
V1_ENTRY = st.recursive(
    shaped({"version": NPM_VERSIONS, "dev": st.booleans(), "requires": DEP_MAP}, WEIRD_JSON),
    lambda inner: shaped({"version": NPM_VERSIONS, "requires": DEP_MAP,
                          "dependencies": st.dictionaries(NPM_NAMES, inner, max_size=2)},
                         WEIRD_JSON),
    max_leaves=4,
)
PACKAGE_LOCK = st.one_of(
    shaped({"lockfileVersion": choice([2, 3], WEIRD_JSON),
            "packages": st.dictionaries(LOCATIONS, V2_ENTRY, min_size=1, max_size=5)},
           WEIRD_JSON),
    shaped({"lockfileVersion": mostly(st.just(1), WEIRD_JSON),
            "dependencies": st.dictionaries(NPM_NAMES, V1_ENTRY, min_size=1, max_size=3)},
           WEIRD_JSON),
)
PACKAGE_JSON = st.one_of(
    st.none(),
    shaped({f: DEP_MAP for f in npm.DEP_FIELDS}, WEIRD_JSON).map(json_text),
    mutated(st.just('{"dependencies": {"a": "^1.0.0"}}')),
)


@fuzz(700)
@given(lock=mutated(PACKAGE_LOCK.map(json_text)) | st.binary(max_size=60).map(
           lambda b: b.decode("latin-1")),
       manifest=PACKAGE_JSON, name=st.sampled_from(["package-lock.json", "npm-shrinkwrap.json"]))
@example(lock=json.dumps({"lockfileVersion": 2, "packages": {  # no root entry: KeyError
    "node_modules/a": {"version": "1.0.0"}}}), manifest=None, name="package-lock.json")
@example(lock='{"lockfileVersion": ' + BIG_DIGITS + "}", manifest=None,
         name="package-lock.json")
@example(lock="[" * 100_000, manifest=None, name="package-lock.json")
@example(lock='{"lockfileVersion": 1, "dependencies": {}}', manifest="[" * 100_000,
         name="package-lock.json")
@example(lock=json.dumps({"lockfileVersion": 1, "dependencies": {  # half a surrogate pair
    "\ud800": {"version": "1.0.0"}}}), manifest=None, name="package-lock.json")
def test_package_lock(fresh: Callable[..., Path], lock: str, manifest: str | None,
                      name: str) -> None:
    files: dict[str, str | bytes] = {name: lock}
    if manifest is not None:
        files["package.json"] = manifest
    assert_lockfile(fresh("package-lock", files), name)


@st.composite
def yarn_classic(draw: st.DrawFn) -> str:
    """yarn.lock v1 text, built line by line, sometimes with bad quoting or indentation."""
    def token(s: SearchStrategy[str]) -> SearchStrategy[str]:
        return mostly(s | s.map(json.dumps),
                      s.map(lambda t: '"' + t) | s.map(lambda t: '"' + t + '\\q"'))

    lines = ["# THIS IS AN AUTOGENERATED FILE.", "# yarn lockfile v1", ""]
    for _ in range(draw(st.integers(0, 4))):
        specs = draw(st.lists(st.builds(lambda n, r: f"{n}@{r}", NPM_NAMES, NPM_RANGES),
                              min_size=1, max_size=2))
        lines.append(", ".join(draw(token(st.just(s))) for s in specs) + ":")
        for key in draw(st.lists(st.sampled_from(["version", "resolved", "integrity"]),
                                 max_size=3)):
            lines.append(f"  {key} {draw(token(NPM_VERSIONS))}")
        for section in draw(st.lists(st.sampled_from(["dependencies", "optionalDependencies"]),
                                     max_size=2)):
            lines.append(f"  {section}:")
            for dep, rng in draw(DEP_MAP).items():
                indent = draw(choice(["    "], st.sampled_from(["   ", "\t", "      "])))
                lines.append(f"{indent}{draw(token(st.just(dep)))} {draw(token(st.just(rng)))}")
        lines.append("")
    return "\n".join(lines)


BERRY_ENTRY = shaped({
    "version": NPM_VERSIONS, "resolution": choice(
        ["a@npm:1.0.0", "b@npm:2.0.0", "root@workspace:.", "ws@workspace:packages/ws"]),
    "dependencies": DEP_MAP, "linkType": st.sampled_from(["hard", "soft"]),
    "languageName": st.just("node"), "checksum": ODD_TEXT,
})
BERRY = st.builds(
    lambda entries: {"__metadata": {"version": 6, "cacheKey": 8}, **entries},
    st.dictionaries(choice(["a@npm:^1.0.0", "b@npm:^2, b@npm:2.0.0", "root@workspace:.",
                            "ws@workspace:packages/ws"]),
                    mostly(BERRY_ENTRY), max_size=4),
)


@fuzz(700)
@given(lock=mutated(yarn_classic() | BERRY.map(yaml_text)), manifest=PACKAGE_JSON)
@example(lock='"a@^1":\n  version "1.0.0"\n', manifest=None)  # unterminated quote
@example(lock='a@^1:\n  version "\\q"\n', manifest=None)  # not a JSON escape
@example(lock="__metadata:\n  version: 6\n'a@npm:1':\n  resolution: a@npm:1.0.0\n"
         "  version: 1.0.0\n  dependencies: [b]\n", manifest=None)  # AttributeError
def test_yarn_lock(fresh: Callable[..., Path], lock: str, manifest: str | None) -> None:
    files: dict[str, str | bytes] = {"yarn.lock": lock}
    if manifest is not None:
        files["package.json"] = manifest
    assert_lockfile(fresh("yarn", files), "yarn.lock")


REQ_NAMES = choice(["a", "Django_Foo", "b.c", "-x", "a b", "ünï"])
SPECIFIERS = st.sampled_from(
    ["", "==1.0", "===1.0", ">=1", "==1.*", "~=1.0", "==1.0,==2.0", "==1.0,<1.0", "==abc",
     "==1.0; python_version<'3'", "[extra]==1.0", " @ git+https://user:token@h/x.git",
     "; ((((python_version>'1'))))", "==" + "9" * 5000])
REQ_LINES = st.one_of(
    st.builds(lambda n, s: n + s, REQ_NAMES, SPECIFIERS),
    st.sampled_from(["-r other.txt", "-r ../up.txt", "--requirement=/etc/x.txt", "-c c.txt",
                     "-e .", "-e git+https://h/x.git#egg=pkg", "--hash=sha256:abc",
                     "--index-url https://user:pw@host/simple", "./local.whl",
                     "https://h/x-1.0.tar.gz", "# comment", "a==1.0 \\", "\\", "-", "--"]),
    ODD_TEXT,
)
PEP508 = mostly(st.builds(lambda n, s: n + s, REQ_NAMES, SPECIFIERS), WEIRD_TOML)
POETRY_DEP = st.one_of(
    choice(["1.0", "^1.0", "~1", "*", "==1.0", ">=1,<2", "abc"]),
    shaped({"version": st.sampled_from(["1.0", "^1"]), "markers": ODD_TEXT,
            "git": ODD_TEXT, "path": ODD_TEXT}, WEIRD_TOML),
    st.lists(shaped({"version": st.sampled_from(["1.0", "^1"])}, WEIRD_TOML), max_size=2),
)
PYPROJECT = shaped({
    "project": shaped({
        "name": REQ_NAMES, "dependencies": st.lists(PEP508, max_size=3),
        "optional-dependencies": st.dictionaries(ODD_TEXT, st.lists(PEP508, max_size=2),
                                                 max_size=2),
    }, WEIRD_TOML),
    "dependency-groups": st.dictionaries(ODD_TEXT, st.lists(
        PEP508 | shaped({"include-group": ODD_TEXT}, WEIRD_TOML), max_size=2), max_size=2),
    "tool": shaped({"poetry": shaped({
        "dependencies": st.dictionaries(REQ_NAMES, POETRY_DEP, max_size=3),
        "dev-dependencies": st.dictionaries(REQ_NAMES, POETRY_DEP, max_size=2),
        "group": st.dictionaries(ODD_TEXT, shaped({"dependencies": st.dictionaries(
            REQ_NAMES, POETRY_DEP, max_size=2)}, WEIRD_TOML), max_size=2),
    }, WEIRD_TOML)}, WEIRD_TOML),
}, WEIRD_TOML)
LOCK_PACKAGE = shaped({
    "name": REQ_NAMES, "version": PIN_VERSIONS | st.sampled_from(["1.0.post1", "1!2.0"]),
    "source": shaped({"type": st.sampled_from(["git", "directory", "legacy"]),
                      "registry": ODD_TEXT, "git": ODD_TEXT, "editable": ODD_TEXT,
                      "virtual": ODD_TEXT}, WEIRD_TOML),
    "marker": ODD_TEXT, "vcs": shaped({"url": ODD_TEXT}, WEIRD_TOML),
}, WEIRD_TOML)
PIPFILE_LOCK = shaped({
    "_meta": WEIRD_JSON,
    "default": st.dictionaries(REQ_NAMES, shaped({
        "version": st.sampled_from(["==1.0", "===1.0", ">=1", "==1.*", "1.0", "==abc"]),
        "markers": ODD_TEXT, "git": ODD_TEXT, "editable": st.booleans(),
    }, WEIRD_JSON), max_size=3),
    "develop": st.dictionaries(REQ_NAMES, WEIRD_JSON, max_size=2),
}, WEIRD_JSON)


def toml_text(value: Any) -> str:
    return tomli_w.dumps(value).replace(json.dumps(BIG), BIG_DIGITS)


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, str | bytes]:
    kind = draw(st.sampled_from(["requirements", "pyproject", "lock", "pipfile", "bytes"]))
    if kind == "requirements":
        text = "\n".join(draw(st.lists(REQ_LINES, max_size=6)))
        return {"requirements.txt": text, "other.txt": "x==1\n-r requirements.txt\n",
                "requirements/dev.txt": draw(REQ_LINES)}
    if kind == "pyproject":
        return {"pyproject.toml": draw(mutated(PYPROJECT.map(toml_text))),
                "poetry.lock": 'package = [{name = "a", version = "1.0"}]\n'}
    if kind == "lock":
        name, key = draw(st.sampled_from([("poetry.lock", "package"), ("uv.lock", "package"),
                                          ("pylock.toml", "packages"),
                                          ("pylock.dev.toml", "packages")]))
        doc = {key: draw(mostly(st.lists(LOCK_PACKAGE, max_size=3), WEIRD_TOML))}
        return {name: draw(mutated(st.just(toml_text(doc))))}
    if kind == "pipfile":
        return {"Pipfile.lock": draw(mutated(PIPFILE_LOCK.map(json_text)))}
    name = draw(st.sampled_from(["requirements.txt", "pyproject.toml", "uv.lock",
                                 "Pipfile.lock"]))
    return {name: draw(st.binary(max_size=60) | st.sampled_from(
        [b"[" * 5000, b"a = " + b"[" * 5000, b"x = " + BIG_DIGITS.encode(),
         b"\xef\xbb\xbf" + b"a==1\n"]))}


@fuzz(1200)
@given(files=manifests())
@example(files={"requirements.txt": "a==" + BIG_DIGITS})  # packaging's Version: ValueError
@example(files={"requirements.txt": "a>=" + BIG_DIGITS + ",==1.0"})
@example(files={"uv.lock": "a = " + "[" * 5000})  # tomllib: RecursionError
@example(files={"uv.lock": "a = " + BIG_DIGITS})
@example(files={"Pipfile.lock": "[" * 100_000})
@example(files={"Pipfile.lock": '{"default": ' + BIG_DIGITS + "}"})
@example(files={"Pipfile.lock": '{"default": {"\\ud800": {}}}'})  # unhashable name text
def test_python_manifests(fresh: Callable[..., Path], files: dict[str, str | bytes]) -> None:
    root = fresh("python", files)
    scan = python.parse_manifests(walk(root))
    assert set(scan.manifests) <= set(walk(root).files)
    for error in scan.errors:
        assert error.reason and error.path in scan.manifests
    for pin in scan.pinned:
        assert python._NAME.match(pin.name) and pin.version  # safe to write for pip-audit
        assert "\n" not in pin.version and not pin.version.startswith("-")
    pip_audit.manifest_findings("pip-audit", scan)  # what pip-audit reports of them


# --- coverage reports ----------------------------------------------------------------------

VALID_COUNTS = st.integers(0, 50)
ODD_COUNTS = st.sampled_from([-1, 10**30, BIG]) | ODD_TEXT
COUNTS = mostly(VALID_COUNTS, ODD_COUNTS)
NAMES = st.text(alphabet=string.ascii_letters + "_$", min_size=1, max_size=8)


@st.composite
def cobertura(draw: st.DrawFn) -> str:
    """Cobertura XML: half the time well-formed with sane values, else with odd ones."""
    clean = draw(st.booleans())

    def pick(valid: SearchStrategy[Any], odd: SearchStrategy[Any]) -> SearchStrategy[Any]:
        return valid if clean else mostly(valid, odd)

    def attr(name: str, value: SearchStrategy[Any], optional: bool = False) -> str:
        drawn = draw(pick(value, st.just(MISSING)) if not optional else
                     st.just(MISSING) | value)
        return "" if drawn is MISSING else f" {name}={quoteattr(str(drawn))}"

    counts = pick(VALID_COUNTS, ODD_COUNTS)
    conditions = pick(st.sampled_from(["50% (1/2)", "100% (2/2)"]), st.sampled_from(
        ["(3/2)", "x", f"0% (0/{BIG_DIGITS})", f"50% ({BIG_DIGITS}/2)"]))
    parts = [draw(pick(st.sampled_from(["", '<?xml version="1.0"?>',
                                        '<!DOCTYPE coverage SYSTEM "x.dtd">']),
                       st.sampled_from(['<?xml version="1.0" encoding="nope"?>',
                                        '<!DOCTYPE c [<!ENTITY a "aa">]>'])))]
    parts.append(f"<{draw(pick(st.just('coverage'), st.just('report')))}>")
    parts.append("<sources><source>" + escape(draw(ODD_TEXT)) + "</source></sources>")
    for _ in range(draw(st.integers(0, 3))):
        lines = "".join(
            f"<line{attr('number', counts)}{attr('hits', counts)}"
            f"{attr('branch', st.sampled_from(['true', 'false']), optional=True)}"
            f"{attr('condition-coverage', conditions, optional=True)}/>"
            for _ in range(draw(st.integers(0, 3))))
        methods = "".join(
            f"<method{attr('name', ODD_TEXT)}{attr('hits', counts)}><lines>{lines}</lines>"
            "</method>" for _ in range(draw(st.integers(0, 1))))
        filename = attr("filename", pick(st.sampled_from(["src/a.js", "a.js", "/abs/src/a.js",
                                                          "../x.js"]), ODD_TEXT))
        parts.append(f"<packages><package><classes><class{filename}><methods>{methods}"
                     f"</methods><lines>{lines}</lines></class></classes></package></packages>")
    parts.append("</coverage>")
    return "".join(parts)


@st.composite
def lcov(draw: st.DrawFn) -> str:
    """An lcov tracefile: half the time well-formed with sane values, else with odd ones."""
    clean = draw(st.booleans())

    def pick(valid: SearchStrategy[Any], odd: SearchStrategy[Any]) -> SearchStrategy[Any]:
        return valid if clean else mostly(valid, odd)

    counts = pick(VALID_COUNTS, ODD_COUNTS).map(str)
    names = pick(NAMES, ODD_TEXT)
    records = []
    for _ in range(draw(st.integers(0, 3))):
        body = [f"SF:{draw(pick(st.sampled_from(['src/a.js', 'a.js']), ODD_TEXT))}"]
        for _ in range(draw(st.integers(0, 5))):
            body.append(draw(st.one_of(
                st.builds("DA:{},{}".format, counts, counts),
                st.builds("FN:{},{}".format, counts, names),
                st.builds("FN:{},{},{}".format, counts, counts, names),
                st.builds("FNDA:{},{}".format, counts, names),
                st.builds("BRDA:{},{},{},{}".format, counts, counts, names,
                          counts | st.just("-")),
                st.builds("{}:{}".format, pick(st.sampled_from(
                    ["LF", "LH", "FNF", "FNH", "BRF", "BRH", "TN", "VER"]), st.just("XX")),
                    counts),
            )))
        if draw(pick(st.just(True), st.just(False))):
            body.append("end_of_record")
        records.append("\n".join(body))
    return "\n".join(records)


METRIC = shaped({"total": COUNTS, "covered": COUNTS, "skipped": COUNTS, "pct": COUNTS},
                WEIRD_JSON)
SUMMARY = st.builds(
    lambda total, files: {"total": total, **files},
    shaped({m: METRIC for m in coverage.METRICS}, WEIRD_JSON),
    st.dictionaries(choice(["src/a.js", "/abs/src/a.js"]),
                    shaped({m: METRIC for m in coverage.METRICS}, WEIRD_JSON), max_size=2),
)
REPORTS = st.one_of(
    st.tuples(st.just("coverage.xml"), mutated(cobertura())),
    st.tuples(st.just("lcov.info"), mutated(lcov())),
    st.tuples(st.just("coverage-summary.json"), mutated(SUMMARY.map(json_text))),
    st.tuples(st.sampled_from(["coverage.xml", "lcov.info", "coverage-summary.json"]),
              st.binary(max_size=60).map(lambda b: b.decode("latin-1"))),
)


@fuzz(600)
@given(report=REPORTS)
@example(report=("coverage.xml", '<?xml version="1.0" encoding="nope"?><coverage/>'))
@example(report=("coverage-summary.json", json.dumps({  # half a surrogate pair in a path
    p: {m: {"total": 10, "covered": 1} for m in coverage.METRICS}
    for p in ("total", "\ud800.js")})))
@example(report=("coverage.xml", '<coverage><packages><package><classes><class filename="a">'
                 f'<lines><line number="1" hits="1" condition-coverage="50% ({BIG_DIGITS}/2)"/>'
                 "</lines></class></classes></package></packages></coverage>"))
def test_coverage_reports(fresh: Callable[..., Path], report: tuple[str, str]) -> None:
    name, text = report
    data = text.encode("utf-8", "surrogatepass")
    try:
        coverage.parse_report(name, data)
    except coverage.ReportError as exc:
        assert exc.reason
    # the scanner reads it from the tree: a bad report is an unscanned finding, never a crash
    root = fresh("coverage", {f"coverage/{name}": data, "src/a.js": "x\n"})
    check_output(coverage.CoverageScanner().scan(context(root, "coverage")))


# --- advisory records ----------------------------------------------------------------------

ADV_VERSIONS = choice(["0", "1.0.0", "1.0.0-rc.1", "1.2", "2.10", "v1.0.0", "*", "1!2.0",
                       "abc"]) | NUMBERS
EVENTS = st.lists(mostly(st.dictionaries(st.sampled_from(["introduced", "fixed",
                                                          "last_affected", "limit"]),
                                          ADV_VERSIONS, max_size=2)), max_size=3)
VECTORS = choice([
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.0/AV:N", "CVSS:4.0/AV:N/AC:L/AT:N/"
    "PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "CVSS:4.0/AV:X", "AV:N/AC:L/Au:N/C:P/I:P/A:P",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:Q"])
ECOSYSTEMS = st.sampled_from(["npm", "PyPI", "Go"])
TIMES = choice(["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.5+02:00", "2024-01-01 00:00:00"],
              st.sampled_from(["2024-13-01T00:00:00Z", "2024-01-01T00:00:00+99:00",
                               "0001-01-01T00:00:00+01:00", "soon"])
              | st.datetimes(timezones=st.sampled_from([None, dt.UTC])) | WEIRD)
OSV_RECORD = shaped({
    "id": choice(["GHSA-1", "CVE-1", "PYSEC-1", "GHSA-2"]),
    "modified": TIMES, "published": TIMES, "withdrawn": st.none() | TIMES,
    "aliases": st.lists(choice(["CVE-1", "GHSA-1", "GHSA-2"], WEIRD), max_size=2),
    "summary": ODD_TEXT, "details": ODD_TEXT,
    "severity": st.lists(shaped({"type": st.sampled_from(["CVSS_V3", "CVSS_V4", "X"]),
                                 "score": VECTORS}), max_size=2),
    "database_specific": shaped({"severity": st.sampled_from(["HIGH", "moderate", "x"])}),
    "affected": st.lists(shaped({
        "package": shaped({"ecosystem": ECOSYSTEMS, "name": st.sampled_from(["a", "A_b"])}),
        "versions": st.lists(ADV_VERSIONS, max_size=3),
        "ranges": st.lists(shaped({"type": st.sampled_from(["SEMVER", "ECOSYSTEM", "GIT"]),
                                   "events": EVENTS}), max_size=2),
        "severity": st.lists(shaped({"type": st.just("CVSS_V3"), "score": VECTORS}),
                             max_size=1),
    }), max_size=2),
})


@fuzz(800)
@given(records=st.lists(OSV_RECORD | WEIRD, min_size=1, max_size=4),
       queries=st.lists(st.tuples(ECOSYSTEMS, st.sampled_from(["a", "a-b", "A_b"]),
                                  st.sampled_from(["1.0.0", "0.5", "2.0.0-rc.1", "x"])),
                        min_size=1, max_size=3))
@example(records=[{"id": "X", "modified": "2024-13-01T00:00:00Z"}], queries=[("npm", "a", "1")])
@example(records=[{"id": "X", "modified": "2024-01-01T00:00:00+99:00"}],
         queries=[("npm", "a", "1")])
@example(records=[{"id": "X", "modified": dt.datetime(1, 1, 1, tzinfo=dt.timezone(
    dt.timedelta(hours=1)))}], queries=[("npm", "a", "1")])  # OverflowError
@example(records=[{"id": "X", "affected": 5}], queries=[("npm", "a", "1")])  # TypeError
@example(records=[{"id": "X", "severity": 5, "affected": [{"package": {
    "ecosystem": "npm", "name": "a"}, "versions": ["1.0.0"]}]}], queries=[("npm", "a", "1.0.0")])
@example(records=[{"id": "X", "affected": [{"package": {"ecosystem": "npm", "name": "a"},
                                             "ranges": [{"type": "SEMVER", "events": 5}]}]}],
         queries=[("npm", "a", "1.0.0")])
@example(records=[{"id": "X", "details": b"bytes"}], queries=[("npm", "a", "1")])  # not JSON
def test_osv_records(records: list[Any], queries: list[tuple[str, str, str]]) -> None:
    try:
        index = AdvisoryIndex.from_records(copy.deepcopy(records), "fuzz-db")
    except AdvisoryDBError as exc:
        assert str(exc).startswith("fuzz-db: ")
        return
    index.info.to_dict()
    index.info.summary()
    json.dumps(list(index.records.values()))  # what the local OSV server serves pip-audit
    for ecosystem, name, version in queries:
        advisories = index.advisories(ecosystem, name, version)
        fix_version(ecosystem, name, version, advisories, index)
        fix_version(ecosystem, name, version, advisories)
        index.query(ecosystem, name, None)


# --- Dockerfiles, licences, PyPI metadata --------------------------------------------------

IMAGES = choice(["python:3.12.1", "python", "python:latest", "node@sha256:" + "a" * 64,
                 "${BASE}", "$IMG:${TAG:-1.0.0}", "scratch", "base AS build",
                 "--platform=$X img:1.2.3"])
FROM = st.builds("FROM {}".format, IMAGES)
INSTRUCTIONS = mostly(st.one_of(
    FROM,
    st.builds("ARG {}".format, st.sampled_from(["BASE=python:3.12.1", "TAG", "X=${Y}"])),
    st.builds("ENV {}".format, st.sampled_from(["A=1 B=2", "A 1", "P=${P:+x}"])),
    st.builds("USER {}".format, st.sampled_from(["root", "0", "app", "0:0", "${U}", ""])),
    st.builds("EXPOSE {}".format, st.sampled_from(["80", "80/tcp", "1-65535", "99999", "${P}",
                                                   "x", "-1", "8080/udp 443"])),
    st.builds("RUN {}".format, st.sampled_from(["apt-get upgrade -y", "apk upgrade",
                                                "<<EOF", '["sh", "-c", "yum update"]',
                                                "apt-get -o x upgrade", "x \\"])),
    st.sampled_from(["ADD http://x/y /z", "COPY <<-EOF /x", "EOF", "# escape=`", "# syntax=x",
                     "HEALTHCHECK NONE", "ONBUILD RUN x"]),
), st.sampled_from(["FROM", "\\", "COPY <<EOF", "\tRUN"]) | ODD_TEXT)


@fuzz(300)
@given(text=mutated(st.builds(lambda first, rest: "\n".join([first, *rest]),
                              mostly(FROM, INSTRUCTIONS), st.lists(INSTRUCTIONS, max_size=7))))
def test_dockerfile(text: str) -> None:
    try:
        found = dockerfile.check("dockerfile", "Dockerfile", text, frozenset({80}))
    except dockerfile.DockerfileError as exc:
        assert exc.reason
        if exc.line is not None:
            assert 1 <= exc.line <= lines_of(text)
        return
    for finding in found:
        assert finding.path == "Dockerfile" and finding.sources


EXPRESSIONS = choice(["MIT", "MIT OR Apache-2.0", "(MIT AND BSD-3-Clause) OR GPL-3.0",
                      "Apache-2.0 WITH LLVM-exception", "LicenseRef-x", "UNLICENSED",
                      "SEE LICENSE IN x", "mit", "((", "MIT OR", "GPL-2.0+",
                      "(" * 300 + "MIT" + ")" * 300])


@fuzz(400)
@given(declared=st.none() | EXPRESSIONS, allow=st.lists(EXPRESSIONS, max_size=3),
       deny=st.lists(EXPRESSIONS, max_size=2))
def test_spdx_expressions(declared: str | None, allow: list[str], deny: list[str]) -> None:
    parsed = spdx.parse(declared)
    assert parsed.expression is not None or parsed.reason
    spdx.Judge(allow, deny).judge(declared)


PYPI_DOCUMENT = shaped({"info": shaped({
    "license_expression": EXPRESSIONS, "license": EXPRESSIONS | st.just("MIT\n" * 50),
    "classifiers": st.lists(choice(["License :: OSI Approved :: MIT License",
                                    "License :: OSI Approved", "License :: Other"], WEIRD_JSON),
                            max_size=3),
}, WEIRD_JSON)}, WEIRD_JSON)


@fuzz(150)
@given(document=PYPI_DOCUMENT | WEIRD_JSON)
def test_pypi_metadata(document: Any) -> None:
    found = license_from_metadata(document)
    assert found.license is not None or found.reason


def test_the_fuzzing_budget_is_at_least_ten_thousand_cases() -> None:
    """The issue asks for 10,000 generated cases in total; count what this file runs."""
    total = sum(
        obj._hypothesis_internal_use_settings.max_examples
        for name, obj in globals().items()
        if name.startswith("test_") and hasattr(obj, "hypothesis")
    )
    assert total >= 10_000, total
