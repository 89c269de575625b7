"""Hostile repositories, built by the tests at run time (issue 8, part 3).

Each test builds a tree an attacker could push and runs the real gate on it the way CI
does: a separate process, real scanners, every report format, GitHub mode (annotations on
stdout, the job summary, step outputs) and the terminal report. What is checked is what a
user relies on: links out of the tree are listed and never opened; a file of hundreds of
MB costs neither memory nor time and is reported; undecodable bytes in files and names
break nothing (and do not let a finding slip out of diff mode); 100,000 files scan in CI
time; file names cannot inject annotations, workflow commands or Markdown and are still
scanned; and nothing in the tree is ever executed. Fake credentials are assembled at run
time from pieces.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import string
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from policy_gate import github
from policy_gate.base.redact import mask, sha1_hex
from policy_gate.cli_output import FORMATS
from policy_gate.reports.interface import printable
from policy_gate.reports.markdown import ZWJ
from tests import gfm
from tests.conftest import EXAMPLE_ADVISORIES, OFFLINE_POLICY, WITH_DETECT_SECRETS

REPOSITORY = "acme/switch"
SHA = "0123456789abcdef0123456789abcdef01234567"
SERVER = "https://github.com"
BLOB = f"{SERVER}/{REPOSITORY}/blob/{SHA}/"
MIB = 1024 * 1024

# Generated: this file holds no credential in a form a scanner would report (an AWS key
# id is "AKIA" and 16 base32 characters, which the secret engines check).
AWS_KEY = "AKIA" + "".join(random.Random(46).choices(string.ascii_uppercase + "234567", k=16))
VULN_PY = "import os, sys\nos.system(sys.argv[1])\n"  # tainted: semgrep and bandit
CLEAN_PY = "def add(a, b):\n    return a + b\n"


# --------------------------------------------------------------------------- running


@dataclass
class FullRun:
    """One gate process and everything it wrote."""

    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]  # file name -> text: every report, the HTML page, summary, outputs
    seconds: float
    cpu_seconds: float  # user + system time of the gate and every scanner process
    peak_rss_kib: int  # the largest process of the gate's tree (gate or scanner)

    @cached_property
    def report(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads(self.outputs["report.json"])
        return report

    def texts(self) -> dict[str, str]:
        """Every channel a reader (or a log) sees, by name."""
        return {"stdout": self.stdout, "stderr": self.stderr, **self.outputs}

    def findings(self, **match: Any) -> list[dict[str, Any]]:
        return [f for f in self.report["findings"]
                if all(f.get(k) == v for k, v in match.items())]

    def scanners_at(self, path: str) -> set[str]:
        return {s for f in self.findings(path=path) for s in f["scanners"]}

    def annotations(self) -> list[Command]:
        return [c for c in runner_commands(self.stdout) if c.name in ("error", "warning")]


def gate_env(out: Path, *, github_mode: bool, extra: Mapping[str, str] | None = None
             ) -> dict[str, str]:
    """The environment of a CI step, minus anything of the real CI the tests may run in
    (a GITHUB_EVENT_PATH would switch on diff mode; a token must never be in reach)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "RUNNER_", "ACTIONS_", "INPUT_"))}
    env["NO_COLOR"] = "1"
    if github_mode:
        (out / "step-summary.md").touch()
        (out / "step-outputs.txt").touch()
        env.update(GITHUB_STEP_SUMMARY=str(out / "step-summary.md"),
                   GITHUB_OUTPUT=str(out / "step-outputs.txt"),
                   GITHUB_REPOSITORY=REPOSITORY, GITHUB_SHA=SHA, GITHUB_SERVER_URL=SERVER)
    env.update(extra or {})
    return env


def run_gate(root: Path | str, out: Path, *args: str, cwd: Path | None = None,
             command: Iterable[str] = (), github_mode: bool = True,
             env: Mapping[str, str] | None = None, formats: Iterable[str] = FORMATS,
             timeout: float = 600) -> FullRun:
    """``policy-gate scan ROOT`` with every report format (and GitHub mode): its exit
    code, stdout, stderr, every file it wrote into ``out``, wall time and peak RSS."""
    out.mkdir(parents=True)
    argv = [*(command or (sys.executable, "-m", "policy_gate")), "scan", str(root),
            "--policy", str(OFFLINE_POLICY), "--advisories", str(EXAMPLE_ADVISORIES)]
    for fmt in formats:
        argv += ["--format", fmt, "--output", str(out / f"report.{fmt}")]
    if github_mode:
        argv.append("--github")
    argv += args
    streams = out.with_name(out.name + ".streams")
    streams.mkdir()
    started = time.monotonic()
    with (streams / "stdout").open("wb") as so, (streams / "stderr").open("wb") as se:
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=so, stderr=se,
                                env=gate_env(out, github_mode=github_mode, extra=env))
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            # wait4: the rusage of the gate and every process it waited for (the scanners)
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    outputs = {p.name: p.read_text("utf-8") for p in sorted(out.iterdir())}
    return FullRun(
        code=proc.returncode,
        # strictly UTF-8: the runner reads the step's output as UTF-8
        stdout=(streams / "stdout").read_bytes().decode("utf-8"),
        stderr=(streams / "stderr").read_bytes().decode("utf-8"),
        outputs=outputs,
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_kib=usage.ru_maxrss,
    )


def build(root: Path, files: Mapping[str | bytes, str | bytes]) -> Path:
    """Write files verbatim; a bytes name is a file name that is not UTF-8."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = os.path.join(bytes(root), rel) if isinstance(rel, bytes) else str(root / rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        with open(path, "wb") as fh:
            fh.write(data)
    return root


def assert_scanners_ran(run: FullRun) -> None:
    problems = {s["name"]: s["reason"] for s in run.report["scanners"]
                if s["status"] not in ("ok", "disabled")}
    assert not problems, (problems, run.stderr[-2000:])


# ------------------------------------------------------------------- workflow commands


@dataclass(frozen=True)
class Command:
    name: str
    properties: dict[str, str]
    message: str
    line: str


# Every command the runner registers (its command extensions plus stop-commands).
RUNNER_COMMANDS = frozenset({
    "set-env", "set-output", "save-state", "add-mask", "add-path", "add-matcher",
    "remove-matcher", "debug", "warning", "error", "notice", "group", "endgroup", "echo",
    "stop-commands",
})


def _unescape(value: str, pairs: tuple[tuple[str, str], ...]) -> str:
    for escaped, raw in pairs:
        value = value.replace(escaped, raw)
    return value


# actions/runner ActionCommand: the order it unescapes in (%25 last).
_PROPERTY = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))
_DATA = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))


def parse_command(line: str) -> Command | None:
    """A line as actions/runner ActionCommand.TryParseV2 reads it (`::name k=v,...::data`
    after leading blanks), else None."""
    text = line.lstrip()
    if not text.startswith("::"):
        return None
    end = text.find("::", 2)
    if end < 0:
        return None
    info = text[2:end]
    name, _, props = info.partition(" ")
    properties: dict[str, str] = {}
    for pair in props.strip().split(","):
        key, sep, value = pair.partition("=")
        if pair and sep and key and value:
            properties[key] = _unescape(value, _PROPERTY)
    return Command(name, properties, _unescape(text[end + 2:], _DATA), line)


def runner_lines(text: str) -> list[str]:
    """Lines as the runner reads a step's output (.NET ReadLine: CR, LF or CRLF)."""
    return re.split(r"\r\n|\r|\n", text)


def runner_commands(text: str) -> list[Command]:
    """Every line of ``text`` the runner would process as a workflow command; a legacy
    `##[name]` command (found anywhere in a line) fails the test outright."""
    found = []
    for line in runner_lines(text):
        parsed = parse_command(line)
        if parsed is not None:
            found.append(parsed)
            continue
        legacy = re.search(r"##\[([^\] ]*)", line)
        assert legacy is None or legacy.group(1) not in RUNNER_COMMANDS, line
    return found


def assert_only_own_commands(run: FullRun) -> None:
    """stdout carries the gate's annotations and nothing else the runner would obey;
    stderr carries no command at all."""
    for cmd in runner_commands(run.stdout):
        assert cmd.line.startswith(("::error ", "::warning ")), cmd.line
        assert cmd.properties.get("title", "").startswith("policy-gate: "), cmd.line
    assert runner_commands(run.stderr) == []


# ----------------------------------------------------------------------- symlinks


class FifoWatch:
    """A FIFO that notices being opened: a thread blocks opening it for writing, which
    returns only once something opens it to read (with or without O_NONBLOCK)."""

    def __init__(self, path: Path, payload: bytes) -> None:
        os.mkfifo(path)
        self.path = path
        self.payload = payload
        self.opened = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        fd = os.open(self.path, os.O_WRONLY)
        try:
            if not self._closing:
                self.opened.set()
                os.write(fd, self.payload)  # what a reader would have got
        except OSError:
            pass
        finally:
            os.close(fd)

    def close(self) -> bool:
        """Stop watching; whether anything else ever opened the FIFO."""
        self._closing = True
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)  # releases the watcher
        self._thread.join(10)
        os.close(fd)
        return self.opened.is_set()


def _private_key(body: str) -> str:
    kind = "RSA PRIVATE KEY"
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"


def test_links_out_of_the_tree_are_listed_and_never_opened(tmp_path: Path) -> None:
    secrets = {
        "aws": "AKIA" + "H0STL1NKSECRET42",
        "github": "ghp_" + "H0stL1nkT0kenNeverRead" + "0123456789ab",
        "password": "Sup3r" + "HostPassw0rd" + "NeverRead",
        "key": "MIIEpA" + "IBAAKCAQEAhostkeybodyneverread0123456789abcdefXYZ",
    }
    host = build(tmp_path / "host", {
        "creds.env": f"AWS_ACCESS_KEY_ID={secrets['aws']}\nGH_TOKEN={secrets['github']}\n"
                     f"DATABASE_URL=postgres://ledger:{secrets['password']}@db:5432/ledger\n",
        "keys/id_rsa": _private_key(secrets["key"]),
        "app.py": f"{VULN_PY}KEY = '{secrets['aws']}'\n",
    })
    fifo = FifoWatch(host / "pipe", f"TOKEN={secrets['github']}\n".encode())
    root = build(tmp_path / "repo", {"app.py": CLEAN_PY, "src/__init__.py": ""})
    links: dict[str, str | Path] = {
        "creds.env": "../host/creds.env",  # relative, out of the tree
        "config/prod.env": host / "creds.env",
        "keys": host / "keys",  # a directory
        "vendor/host": host,  # a directory holding everything, the FIFO included
        "src/handler.py": host / "app.py",
        "pipe.txt": host / "pipe",
        "deep/er/still/key.pem": host / "keys" / "id_rsa",
        "dangling.py": tmp_path / "nowhere.py",
        "loop-a": "loop-b",
        "loop-b": "loop-a",
        "etc": "/etc",
        "alias.py": "app.py",  # inside the tree, still not followed
    }
    for rel, target in links.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).symlink_to(target)
    try:
        run = run_gate(root, tmp_path / "out")
    finally:
        opened = fifo.close()

    assert not opened, "a link out of the tree was followed to a FIFO and opened"
    assert run.code == 0, run.stdout[-3000:]
    assert_scanners_ran(run)
    assert set(run.report["scan"]["symlinks_not_followed"]) == set(links)
    assert f"{len(links)} symlinks not followed" in run.stdout
    behind_links = [f["path"] for f in run.report["findings"]
                    if any(f["path"] == p or f["path"].startswith(f"{p}/") for p in links)]
    assert behind_links == []
    for channel, text in run.texts().items():
        for name, value in secrets.items():
            # neither the value, nor the preview or hash a read would have produced
            for shown in (value, mask(value), sha1_hex(value)):
                assert shown not in text, (channel, name)
    assert_only_own_commands(run)


# ---------------------------------------------------------------- a file of 400 MiB

HUGE = 400 * MIB
# The huge file under several names, and who must report it as unscanned.
HUGE_FILES = {
    "huge.py": {"bandit", "semgrep", "kingfisher", "data-protection"},
    "web/huge.js": {"semgrep", "kingfisher", "data-protection"},
    "huge.txt": {"kingfisher", "data-protection"},
    "package.json": {"kingfisher", "data-protection", "osv", "licenses"},
}
LOCKFILE = json.dumps({"name": "svc", "lockfileVersion": 3, "requires": True,
                       "packages": {"": {"name": "svc", "version": "1.0.0"}}})


def test_a_file_of_hundreds_of_mb_is_reported_not_read(tmp_path: Path) -> None:
    root = build(tmp_path / "repo", {"app.py": CLEAN_PY, "package-lock.json": LOCKFILE,
                                     **{name: "import os\n" for name in HUGE_FILES}})
    for name in HUGE_FILES:
        os.truncate(root / name, HUGE)  # sparse: costs no disk
        assert (root / name).stat().st_blocks * 512 < MIB
    run = run_gate(root, tmp_path / "out")

    assert run.code in (0, 1), run.stderr[-2000:]
    assert_scanners_ran(run)
    for name, scanners in HUGE_FILES.items():
        unscanned = [f for f in run.findings(path=name) if f["category"] == "unscanned"]
        assert {s for f in unscanned for s in f["scanners"]} >= scanners, name
        assert all("larger than" in f["message"] for f in unscanned), unscanned
    # No process of the gate held the file: the largest one (semgrep-core's baseline
    # varies by a few hundred MiB between machines) grew by far less than the file's
    # size over the same tree with the huge files a few bytes long.
    control = build(tmp_path / "control", {"app.py": CLEAN_PY, "package-lock.json": LOCKFILE,
                                           **{name: "import os\n" for name in HUGE_FILES}})
    baseline = run_gate(control, tmp_path / "control-out")
    assert baseline.code in (0, 1), baseline.stderr[-2000:]
    grew = (run.peak_rss_kib - baseline.peak_rss_kib) * 1024
    assert grew < HUGE // 2, (run.peak_rss_kib, baseline.peak_rss_kib)
    assert run.peak_rss_kib * 1024 < HUGE, run.peak_rss_kib
    assert run.cpu_seconds < 60, run.cpu_seconds  # CPU, not wall time: load-independent


# ------------------------------------------------ binary and undecodable files and names

UNDECODABLE_FILES: dict[str | bytes, str | bytes] = {
    "app.py": CLEAN_PY,
    "blob.bin": random.Random(8).randbytes(4096) + b"\x00",
    "logo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
    "utf16.txt": "password = 'not-read-as-text'\n".encode("utf-16"),
    "latin1.py": b"# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n" + VULN_PY.encode(),
    "bad.js": b"var s = '\xff\xfe';\n",
    "cut.txt": b"half a character: \xe2\x82",
    "bom.py": b"\xef\xbb\xbf" + VULN_PY.encode(),
    "firmware.bin": b"\x00\x01\x02" + _private_key("MIIEow" + "IBAAKCAQEAfirmware0123").encode(),
    b"caf\xe9.py": VULN_PY,
    b"d\xe9p\xf4t/x.js": "eval(userInput);\n",
    b"\xff\xfe.txt": f"aws_access_key_id = {AWS_KEY}\n",
}


def test_binary_and_undecodable_files_and_names(tmp_path: Path) -> None:
    root = build(tmp_path / "repo", UNDECODABLE_FILES)
    # both secret engines: detect-secrets' decoded copies are tested too
    run = run_gate(root, tmp_path / "out", "--policy", str(WITH_DETECT_SECRETS))

    assert run.code == 1, run.stderr[-2000:]
    assert "internal error" not in run.stderr
    assert_scanners_ran(run)
    # undecodable names are scanned and reported under their own (surrogate-escaped) path
    assert run.scanners_at("caf\udce9.py") >= {"bandit", "semgrep"}
    assert run.scanners_at("d\udce9p\udcf4t/x.js") >= {"semgrep"}
    assert run.scanners_at("\udcff\udcfe.txt") >= {"detect-secrets", "kingfisher"}
    assert run.scanners_at("bom.py") >= {"bandit", "semgrep"}
    assert run.scanners_at("latin1.py") >= {"bandit", "semgrep"}
    assert run.scanners_at("firmware.bin") == {"data-protection"}  # a key inside a binary
    # text detect-secrets cannot read itself is read for it (issue 14): UTF-16, a declared
    # encoding, or undecodable bytes replaced; nothing left unscanned for secrets
    for name in ("latin1.py", "bad.js", "cut.txt", "utf16.txt"):
        assert not [f for f in run.findings(path=name, category="unscanned")
                    if "detect-secrets" in f["scanners"]], name
    notes = {n for s in run.report["scanners"] for n in s["notes"]}
    assert any("binary files not scanned for secrets" in n for n in notes), notes
    assert any("declare no encoding" in n for n in notes), notes
    # every channel stays readable: JSON, XML, UTF-8 annotations naming the file as the
    # terminal does, a job summary linking to the file's real bytes
    json.loads(run.outputs["report.sarif"])
    ET.fromstring(run.outputs["report.junit"])
    files = {c.properties.get("file") for c in run.annotations()}
    assert "caf\\udce9.py" in files
    assert f"{BLOB}caf%E9.py#L2" in run.outputs["step-summary.md"]
    assert "caf\\udce9.py" in run.stdout
    assert_only_own_commands(run)


def git(repo: Path, *args: str) -> str:
    """The tests' own git: no user or system configuration, no hooks."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.org",
         "-c", "commit.gpgsign=false", "-c", f"core.hooksPath={os.devnull}", *args],
        cwd=repo, check=True, capture_output=True, env=env,
    ).stdout.decode("utf-8", "surrogateescape").strip()


def repo_with_change(root: Path, base: Mapping[str | bytes, str | bytes],
                     change: Mapping[str | bytes, str | bytes]) -> Path:
    """A git repository: `main` holds ``base``, branch `pr` (checked out) adds ``change``."""
    build(root, base)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", "base")
    git(root, "checkout", "-q", "-b", "pr")
    build(root, change)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "change")
    return root


def test_undecodable_file_names_in_a_pull_request_are_judged(tmp_path: Path) -> None:
    """semgrep prints a name's undecodable bytes raw: read as U+FFFD, the finding named
    no file of the change, so diff mode took it for pre-existing and the gate passed."""
    root = repo_with_change(tmp_path / "repo", {"app.py": CLEAN_PY}, {
        b"d\xe9p\xf4t/x.js": "eval(userInput);\n",
        b"caf\xe9.py": VULN_PY,
    })
    run = run_gate(root, tmp_path / "out", "--diff-base", "main", formats=["json"],
                   github_mode=False)
    assert run.code == 1, run.stdout[-2000:]
    status = {(f["path"], s): f["status"] for f in run.report["findings"] for s in f["scanners"]}
    assert status[("d\udce9p\udcf4t/x.js", "semgrep")] == "violation"
    assert status[("caf\udce9.py", "semgrep")] == "violation"
    assert status[("caf\udce9.py", "bandit")] == "violation"


# ------------------------------------------------------------------ hostile file names

# Names that survive the round trip through an annotation exactly: printable text, CR, LF.
ROUND_TRIP_NAMES = (
    "new\nline.py",
    "carriage\rreturn.py",
    "\n# heading\n- item.py",
    "per%cent%0A%3A%2C%25.py",
    "colons::error::pwned.py",
    "::warning file=x.py::fake.py",
    "comma,line=1,title=x.py",
    "##[stop-commands]tok.py",
    "##[set-output name=verdict;]pass.py",
    "$(touch pwned).py",
    "`touch pwned`.py",
    "semi;colon && rm -rf ~.py",
    "quote'dq\"back\\slash.py",
    "<img src=x onerror=alert(1)>.py",
    "<script>alert(1)</script>.py",  # a directory '<script>alert(1)<' and a file
    "[x](https:evil.example).py",
    "](javascript:alert(1)).py",
    "](http:/evil.example/x).py",  # directories '](http:' and 'evil.example'
    "-rf.py",
    "--help.py",
    "@everyone #1 .py",
    "|pipe|cell|.py",
    "~tilde*star_under_{{7*7}}.py",
    "&amp;entity.py",
    "a,b:c/inner.py",
    "ünïcödé 中文.py",
)
# Names with characters no annotation may carry raw: shown escaped, as on the terminal.
ESCAPED_NAMES = ("\x1b[31mred\x1b[0m.py", "\u202erlo.py", "tab\there.py")
HOSTILE_NAMES = ROUND_TRIP_NAMES + ESCAPED_NAMES
HOSTILE_CONTENT = f"{VULN_PY}KEY = '{AWS_KEY}'\n"


# The elements the gate's own Markdown makes (headings, lists, tables, its bold, the policy
# hash in code, links to files and help pages): nothing else may appear.
MARKDOWN_TAGS = frozenset({"p", "h1", "h2", "h3", "hr", "ul", "li", "strong", "code",
                           "a", "table", "thead", "tbody", "tr", "th", "td"})


def test_hostile_file_names_are_scanned_and_stay_inert(tmp_path: Path) -> None:
    root = build(tmp_path / "repo", dict.fromkeys(HOSTILE_NAMES, HOSTILE_CONTENT))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    before = sorted(p.name for p in root.rglob("*"))
    run = run_gate(root, tmp_path / "out", cwd=cwd)

    assert run.code == 1, run.stderr[-2000:]
    assert_scanners_ran(run)
    # every file scanned, every finding under its real path
    for name in HOSTILE_NAMES:
        assert run.scanners_at(name) >= {"bandit", "semgrep", "kingfisher"}, repr(name)
    # nothing ran: no shell ever saw a name
    assert sorted(p.name for p in root.rglob("*")) == before
    assert list(cwd.iterdir()) == []

    # stdout/stderr: only the gate's own annotations, and the terminal shows no control
    # character raw
    assert_only_own_commands(run)
    shown = {c.properties["file"] for c in run.annotations()}
    assert shown and shown <= {*ROUND_TRIP_NAMES, *map(_escaped, ESCAPED_NAMES)}
    for ch in ("\x1b", "\u202e", "\t", "\r"):
        assert ch not in run.stdout + run.stderr, repr(ch)

    # Markdown (job summary, Markdown and compliance reports), rendered as GitHub renders
    # it: no link, heading, list, mention, table cell or HTML of the names' making
    shown: list[str] = []
    for name in ("step-summary.md", "report.markdown", "report.compliance"):
        page = gfm.render(run.outputs[name])
        for url in page.hrefs:
            assert url.startswith((BLOB, "https://")), (name, url)
            if url.startswith(BLOB):
                assert unquote(url[len(BLOB):].split("#L")[0]) in HOSTILE_NAMES, url
        assert set(page.tags) - {"em"} <= MARKDOWN_TAGS, (name, set(page.tags) - MARKDOWN_TAGS)
        # the compliance report's own note under its title is the only emphasis
        assert page.tags.count("em") == (name == "report.compliance"), name
        assert page.active() == [], name  # no mention, issue reference or autolink
        for table in page.tables:  # a '|' in a name adds no column
            assert len({len(row) for row in table}) == 1, (name, table)
        shown += page.text
    for payload in ("<script>", "<img src=x", "`touch pwned`", "@everyone"):
        assert payload in "".join(shown).replace(ZWJ, ""), payload  # shown as text, as it is
    blob_links = {unquote(u[len(BLOB):].split("#L")[0])
                  for u in gfm.render(run.outputs["step-summary.md"]).hrefs
                  if u.startswith(BLOB)}
    assert blob_links, "the job summary links to the files"
    html = run.outputs["report.compliance.html"]
    assert "<script" not in html.lower() and "<img" not in html
    assert "&lt;script&gt;" in html

    # SARIF locations and JUnit: every name round-trips
    sarif = json.loads(run.outputs["report.sarif"])
    uris = {unquote(loc["physicalLocation"]["artifactLocation"]["uri"])
            for r in sarif["runs"] for res in r["results"] for loc in res["locations"]}
    assert set(HOSTILE_NAMES) <= uris
    junit = ET.fromstring(run.outputs["report.junit"])
    assert junit.iter("testcase")
    # the step outputs are the gate's and no more
    outputs = github.read_outputs(tmp_path / "out" / "step-outputs.txt")
    reports = {f"report-{fmt}" for fmt in json.loads(outputs["reports"])}
    assert set(outputs) == STEP_OUTPUTS | reports
    assert outputs["verdict"] == "fail"


STEP_OUTPUTS = frozenset({"verdict", "exit-code", "violations", "findings", "review-required",
                          "waived", "baselined", "pre-existing", "suppressed", "counts",
                          "reports"})


def _escaped(name: str) -> str:
    return "".join(ch if ch in "\r\n" else printable(ch) for ch in name)


def test_every_hostile_name_round_trips_through_an_annotation(scan_data: Any) -> None:
    """GitHub shows 10 errors per step, so the CLI run annotates only some names: here
    every name is annotated (limits lifted) from a real scan, and parsed back as the
    runner parses it."""
    data = scan_data(dict.fromkeys(HOSTILE_NAMES, HOSTILE_CONTENT), only=["kingfisher"])
    lines, not_shown = github.annotations(data, per_type_limit=10**6, total_limit=10**6)
    assert not_shown == 0
    parsed = [parse_command(line) for line in lines]
    assert all(c is not None and c.line == line for c, line in zip(parsed, lines, strict=True))
    files = sorted(c.properties["file"] for c in parsed if c is not None)
    expected = sorted([*ROUND_TRIP_NAMES, *map(_escaped, ESCAPED_NAMES)])
    assert files == expected
    for c in parsed:
        assert c is not None and c.name == "error"
        assert set(c.properties) == {"file", "line", "endLine", "title"}
        assert c.properties["line"] == "3"
    for line in lines:
        assert "\n" not in line and "\r" not in line and line.isprintable()


# -------------------------------------------------------------------- execution bait

GIT_HOOKS = (
    "applypatch-msg", "pre-applypatch", "post-applypatch", "pre-commit", "pre-merge-commit",
    "prepare-commit-msg", "commit-msg", "post-commit", "pre-rebase", "post-checkout",
    "post-merge", "pre-push", "pre-receive", "update", "proc-receive", "post-receive",
    "post-update", "reference-transaction", "push-to-checkout", "pre-auto-gc",
    "post-rewrite", "sendemail-validate", "fsmonitor-watchman", "post-index-change",
)
# Modules a Python process would import from its working directory if the tree were on
# sys.path: the gate itself, its libraries, the scanners.
PLANTED_MODULES = ("policy_gate/__init__.py", "policy_gate/__main__.py", "click.py",
                   "rich/__init__.py", "yaml.py", "json.py", "detect_secrets/__init__.py",
                   "bandit/__init__.py", "semgrep/__init__.py", "pip_audit/__init__.py",
                   "sitecustomize.py", "usercustomize.py", "conftest.py")


def _writes(marker: Path) -> str:
    """Python that leaves ``marker`` behind if it is ever run."""
    return f"open({str(marker)!r}, 'w').write('executed')\n"


def bait_tree(markers: Path) -> dict[str | bytes, str | bytes]:
    """Every file of a repository that would run code if the gate installed, built,
    tested or imported anything from it; each leaves its own marker."""
    def sh(name: str) -> str:
        return f"touch {markers / name}"

    scripts = {hook: sh(f"npm-{hook}") for hook in
               ("preinstall", "install", "postinstall", "prepare", "prepack", "test")}
    files: dict[str | bytes, str | bytes] = {
        "setup.py": _writes(markers / "setup.py") + "from setuptools import setup\n"
                    "setup(name='bait', install_requires=['requests==2.19.0'])\n",
        "pyproject.toml": "[build-system]\nrequires = []\nbuild-backend = 'bait_backend'\n"
                          "backend-path = ['.']\n\n[project]\nname = 'bait'\nversion = '1.0'\n"
                          "dependencies = ['requests==2.19.0']\n",
        "bait_backend.py": _writes(markers / "build-backend"),
        "requirements.txt": "requests==2.19.0\n-e .\n",
        "package.json": json.dumps({"name": "bait", "version": "1.0.0", "scripts": scripts,
                                    "dependencies": {"left-pad": "1.3.0"}}),
        "package-lock.json": json.dumps({
            "name": "bait", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
            "packages": {"": {"name": "bait", "version": "1.0.0",
                              "dependencies": {"left-pad": "1.3.0"}},
                         "node_modules/left-pad": {
                             "version": "1.3.0", "license": "WTFPL",
                             "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz"}}}),
        "bait.pth": "import os; " + _writes(markers / "pth").strip() + "\n",
        "Makefile": f"all:\n\t{sh('make')}\n",
        "Dockerfile": f"FROM python:3.12.13-slim@sha256:{'a' * 64}\nRUN {sh('docker')}\n"
                      "USER 1000\n",
        ".github/workflows/ci.yml": "on: push\npermissions: {}\njobs:\n  x:\n"
                                   "    runs-on: ubuntu-latest\n    steps:\n"
                                   f"      - run: {sh('workflow')}\n",
        ".gitattributes": "* filter=bait diff=bait merge=bait\n",
        ".githooks/pre-commit": f"#!/bin/sh\n{sh('githooks-dir')}\n",
        "app.py": VULN_PY,
    }
    for module in PLANTED_MODULES:
        files[module] = _writes(markers / module.replace("/", "."))
    return files


def arm_git(repo: Path, markers: Path) -> None:
    """What a checked-out repository could make git run: every hook, and repository
    configuration naming programs (fsmonitor, filters, diff drivers, pager, editor...)."""
    hooks = repo / ".git" / "hooks"
    for hook in GIT_HOOKS:
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {markers / ('hook-' + hook)}\n")
        (hooks / hook).chmod(0o755)
    program = repo.parent / "git-bait.sh"
    program.write_text(f'#!/bin/sh\ntouch "{markers}/git-$1"\n')
    program.chmod(0o755)
    for key, what in (
        ("core.fsmonitor", "fsmonitor"), ("core.pager", "pager"), ("core.editor", "editor"),
        ("core.sshCommand", "ssh"), ("core.askPass", "askpass"), ("diff.external", "external"),
        ("filter.bait.clean", "clean"), ("filter.bait.smudge", "smudge"),
        ("filter.bait.process", "process"), ("diff.bait.textconv", "textconv"),
        ("diff.bait.command", "diff-command"), ("merge.bait.driver", "merge-driver"),
        ("credential.helper", "credential"), ("gpg.program", "gpg"),
    ):
        git(repo, "config", key, f"{program} {what}")
    git(repo, "config", "core.hooksPath", ".githooks")
    git(repo, "config", "filter.bait.required", "true")
    git(repo, "config", "log.showSignature", "true")
    git(repo, "config", "diff.renames", "copies")


def console_script() -> list[str]:
    """The `policy-gate` entry point pip installed beside this interpreter, if any."""
    script = Path(sys.executable).with_name("policy-gate")
    return [str(script)] if script.exists() else []


def test_nothing_from_the_tree_is_ever_executed(tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    root = repo_with_change(tmp_path / "repo", {"README.md": "# service\n"},
                            bait_tree(markers))
    arm_git(root, markers)
    runs = {
        "full scan": run_gate(root, tmp_path / "full"),
        "diff mode": run_gate(root, tmp_path / "diff", "--diff-base", "main"),
    }
    # From inside the tree, as the container runs (python -I: the tree is never on
    # sys.path), as `policy-gate` (pip's entry point puts its own directory first) and
    # with PYTHONSAFEPATH (set in the image): the planted policy_gate/, click.py... are not
    # imported. Which scanners run does not matter here: they always start in the tree.
    inside = {
        "python -I -m": [sys.executable, "-I", "-m", "policy_gate"],
        "PYTHONSAFEPATH": [sys.executable, "-m", "policy_gate"],
        "entry point": console_script(),
    }
    for label, command in inside.items():
        if command:
            runs[label] = run_gate(".", tmp_path / label.replace(" ", "-"), "--scanner",
                                   "data-protection", "--scanner", "pip-audit", cwd=root,
                                   command=command, env={"PYTHONSAFEPATH": "1"}
                                   if label == "PYTHONSAFEPATH" else None)

    assert sorted(p.name for p in markers.iterdir()) == []
    for label, run in runs.items():
        assert run.code in (0, 1), (label, run.stderr[-2000:])
        assert_scanners_ran(run)
        assert run.report["scan"]["files"] == len(bait_tree(markers)) + 1, label  # + README
    assert runs["full scan"].code == runs["diff mode"].code == 1  # app.py, requests 2.19.0
    diff = runs["diff mode"].report["diff"]
    assert diff is not None and diff["base"] == git(root, "rev-parse", "main")


# ------------------------------------------------------------------ 100,000 tiny files

TINY_FILES = 100_000
# Card number in one tiny file, credential in another: proof that the files were read.
CARD = "4556" + "7375" + "8689" + "9855"  # Luhn-valid Visa, not a published test number
CARD_FILE = "d063/f63001.txt"
SECRET_FILE = "d042/f42000.json"


def write_tiny_files(root: Path, count: int) -> None:
    """``count`` files of a few bytes in directories of 1,000, half .txt and half .json:
    types every scanner but detect-secrets and data-protection passes over."""
    for i in range(count):
        directory = root / f"d{i // 1000:03d}"
        if i % 1000 == 0:
            directory.mkdir(parents=True)
        name = f"f{i:05d}.json" if i % 2 == 0 else f"f{i:05d}.txt"
        fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, b'{"n": %d}\n' % i if i % 2 == 0 else b"line %d\n" % i)
        os.close(fd)
    (root / SECRET_FILE).write_text(f'{{"aws_access_key_id": "{AWS_KEY}"}}\n')
    (root / CARD_FILE).write_text(f"card number {CARD}\n")


def test_100000_tiny_files_are_all_read(tmp_path: Path) -> None:
    """The gate once took 92-96 s of wall time and 144 CPU-s here (2 cores): detect-secrets
    was started 200 times (500 files a run), each run sent its files one by one to a pool
    of one worker, and every file was read several times with a 5 MiB buffer mapped per
    read, by threads queueing on each other. Every file must still be read, and both
    planted findings found; the time it takes is the benchmarks' to measure."""
    root = tmp_path / "repo"
    write_tiny_files(root, TINY_FILES)
    try:
        run = run_gate(root, tmp_path / "out", formats=["json"], github_mode=False)
    finally:
        shutil.rmtree(root)  # 400 MB of inodes: not left for pytest's next sessions

    assert run.code == 1, run.stderr[-2000:]
    assert_scanners_ran(run)
    scanned = {s["name"]: s["files_scanned"] for s in run.report["scanners"]}
    assert scanned["kingfisher"] == scanned["data-protection"] == TINY_FILES
    assert run.scanners_at(SECRET_FILE) == {"kingfisher"}
    assert run.scanners_at(CARD_FILE) == {"data-protection"}
    # What it costs is measured by benchmarks/, not asserted here: CPU time on a shared
    # machine varies between runs (a budget of 100 CPU-s passed and failed the same code).
    print(f"100,000 files: {run.seconds:.1f} s, {run.cpu_seconds:.1f} CPU-s, "
          f"peak RSS {run.peak_rss_kib // 1024} MiB")
