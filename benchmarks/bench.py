#!/usr/bin/env python3
"""Benchmark ``policy-gate scan`` against issue 7's speed targets, each as a ratio in one run.

Parts (``--only``, default all), each on every workload (``--workload``):

* ``full``: the gate (every report format written) against running the same scanners
  one after another by hand: bandit, semgrep (policy-gate's rule pack), detect-secrets,
  pip-audit (one run per requirements file, against the same offline OSV database) and,
  when the tree has them, hadolint (Dockerfiles) and zizmor --offline (GitHub workflows).
  From the same gate runs: its overhead (wall time minus the slowest scanner, which all
  run concurrently) and its peak memory (the summed RSS of the process tree, from /proc).
  Finding counts of the gate (its per-scanner ``raw_results``) are compared with what the
  tools report by hand.
* ``overhead``: what the gate does after its scanners return, in-process, on 10,000
  synthetic findings (``benchmarks/overhead.py``).
* ``cache``: ``--cache-dir``: a cold run (empty cache) against a warm re-run of an
  unchanged copy of the tree (same findings?), then a re-run after one file changed (only
  that file rescanned?).
* ``diff``: pull-request diff mode (``--diff-base main``) against ``--full-scan`` on a
  scratch git repository of the tree with one commit on a ``pr`` branch changing one file.

Run it with the interpreter of the venv policy-gate is installed in (it imports
``policy_gate`` to serve the advisory database to the by-hand pip-audit):

    python benchmarks/bench.py --runs 3 --write
    python benchmarks/bench.py --runs 1 --workload django --only full,cache

Workloads are built under ``benchmarks/.work`` (gitignored): a generated tree, Django 4.2
from its wheel (unpacked, never run) and, when npm is available, @mojaloop/central-ledger
from its npm tarball plus a package-lock.json (``npm install --package-lock-only
--ignore-scripts``; nothing is installed or run).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work"
README = HERE / "README.md"
RULES = REPO / "policy_gate" / "rules" / "semgrep"
ADVISORIES = Path(__file__).resolve().parents[2] / "shared" / "advisories" / "pypa" / "vulns"
BIN = Path(sys.executable).parent
DJANGO = "4.2"
CENTRAL_LEDGER = "19.5.5"
GENERATOR_VERSION = "3"
N_PY_PACKAGES, N_PY_MODULES = 40, 50  # 2,000 modules + 40 __init__.py
N_JS_DIRS, N_JS_FILES = 26, 20  # 520 JavaScript files
PARTS = ("full", "overhead", "cache", "diff")
# Every format the CLI writes, so that the timed gate runs include writing every report
# (the terminal report goes to stdout, captured).
REPORTS = {
    "json": "gate.json",
    "sarif": "gate.sarif",
    "junit": "gate.junit.xml",
    "markdown": "gate.md",
    "cyclonedx": "gate.cdx.json",
    "openvex": "gate.openvex.json",
    "compliance": "compliance.md",  # and compliance.html beside it
}
HAND_TOOLS = ("bandit", "semgrep", "detect-secrets", "pip-audit", "hadolint", "zizmor")
# Scanners whose result for a file depends on that file alone; asked of the registry, this
# is the fallback if policy_gate cannot say.
FILE_LOCAL = ("bandit", "semgrep", "detect-secrets", "data-protection", "dockerfile", "workflows")
# The one-file change of the cache and diff parts: a line every SAST scanner flags, so the
# re-run must also find something new there.
MARK = "added by benchmarks/bench.py"
APPENDED = {
    ".py": f'import hashlib; hashlib.md5(b"x")  # {MARK}',
    ".js": f"require('crypto').createHash('md5').update('x') // {MARK}",
}
# git for the scratch repository: no hooks, no signing, no user configuration needed.
GIT = [
    "git",
    "-c", "core.hooksPath=/dev/null",
    "-c", "commit.gpgsign=false",
    "-c", "core.autocrlf=false",
    "-c", "user.name=policy-gate bench",
    "-c", "user.email=bench@example.invalid",
]  # fmt: skip
DIFF_REPO_VERSION = "1"
# Report fields that differ between two runs of the same scan.
VOLATILE = frozenset({"seconds", "generated_at", "cache"})
GIB = 1024 * 1024  # in KiB
IDLE_WAIT = 60.0
RESULTS_BEGIN = "<!-- results:begin (bench.py --write rewrites this section) -->"
RESULTS_END = "<!-- results:end -->"

# What the gate's scanners run with (policy_gate.process.scanner_env); the by-hand runs get
# the same, so that neither side pays for semgrep's version check or metrics.
ENV = {
    **os.environ,
    "SEMGREP_ENABLE_VERSION_CHECK": "0",
    "SEMGREP_SEND_METRICS": "off",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "NO_COLOR": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}
ENV.pop("FORCE_COLOR", None)

DS_FILTERS = "detect_secrets.filters."


def tool(name: str) -> str:
    """A scanner beside this interpreter (the gate looks there first), else on PATH."""
    beside = BIN / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if not found:
        sys.exit(f"bench: '{name}' not found beside {sys.executable} or on PATH")
    return found


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- measuring


@dataclass
class Measured:
    argv: list[str]
    seconds: float
    returncode: int
    stdout: str
    stderr: str
    tree_rss_kb: int  # peak of the summed RSS of the process and all its descendants
    max_rss_kb: int  # largest single process (wait4's ru_maxrss)
    cpu_seconds: float  # user + system of the whole tree
    foreign_cpu: float = 0.0  # CPU seconds other processes on the machine used meanwhile


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy since boot (/proc/stat)."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def wait_for_idle(max_wait: float, threshold: float = 0.15) -> float:
    """Wait (up to max_wait s) until the rest of the machine uses < threshold of one core
    over a second; return the load seen last. Other jobs on a small machine would
    otherwise be measured as the scanners' time."""
    deadline = time.monotonic() + max_wait
    while True:
        before = busy_cpu_seconds()
        time.sleep(1.0)
        load = busy_cpu_seconds() - before
        if load < threshold or time.monotonic() >= deadline:
            return load
        log(f"machine busy ({load:.2f} cores used by other processes); waiting …")


def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, rss pages) for every process we can see."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        # fields[0] is the state (field 3); ppid is field 4, rss field 24.
        table[int(entry.name)] = (int(fields[1]), int(fields[21]))
    return table


class TreeSampler(threading.Thread):
    """Sum the RSS of a process and its descendants every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self.stop = threading.Event()
        self.page_kb = os.sysconf("SC_PAGE_SIZE") // 1024

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                table = _proc_table()
            except OSError:
                table = {}
            children: dict[int, list[int]] = {}
            for pid, (ppid, _rss) in table.items():
                children.setdefault(ppid, []).append(pid)
            total, todo = 0, [self.pid]
            while todo:
                pid = todo.pop()
                if pid in table:
                    total += table[pid][1]
                todo.extend(children.get(pid, ()))
            self.peak_kb = max(self.peak_kb, total * self.page_kb)
            self.stop.wait(self.interval)


def measure(argv: Sequence[str], *, cwd: Path | None = None) -> Measured:
    """Run to completion, timing the wall clock and sampling memory."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        busy_before = busy_cpu_seconds()
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=ENV, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        cpu = usage.ru_utime + usage.ru_stime
        foreign = max(0.0, busy_cpu_seconds() - busy_before - cpu)
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        return Measured(
            argv=list(argv),
            seconds=seconds,
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            tree_rss_kb=sampler.peak_kb,
            max_rss_kb=usage.ru_maxrss,
            cpu_seconds=cpu,
            foreign_cpu=foreign,
        )


def check(m: Measured, ok: Sequence[int], what: str) -> None:
    if m.returncode not in ok:
        tail = (m.stderr.strip() or m.stdout.strip())[-1500:]
        raise RuntimeError(f"{what} exited {m.returncode}: {' '.join(m.argv[:6])} …\n{tail}")


# --------------------------------------------------------------------------- workloads

PY_HEADER = '''"""{doc}"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
from dataclasses import dataclass

LOG = logging.getLogger(__name__)
'''

PY_CLASS = '''

@dataclass
class {cls}:
    """A {noun} record kept by the {pkg} service."""

    ident: str
    amount: int = 0
    currency: str = "{cur}"

    def total(self, fees: list[int]) -> int:
        value = self.amount
        for fee in fees:
            if fee < 0:
                raise ValueError("negative fee")
            value += fee
        return value

    def to_json(self) -> str:
        return json.dumps({{"id": self.ident, "amount": self.amount, "currency": self.currency}})
'''

PY_FUNCS = [
    '''

def {name}(items: list[dict[str, int]], limit: int = {n}) -> list[int]:
    """Sum the values of at most ``limit`` items."""
    out = []
    for item in items[:limit]:
        out.append(sum(v for v in item.values() if isinstance(v, int)))
    LOG.debug("processed %d items", len(out))
    return out
''',
    '''

def {name}(path: str) -> dict[str, str]:
    """Read a key=value settings file."""
    settings: dict[str, str] = {{}}
    if not os.path.exists(path):
        return settings
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            key, _, value = line.partition("=")
            if key.strip() and not key.startswith("#"):
                settings[key.strip()] = value.strip()
    return settings
''',
    '''

def {name}(text: str) -> str:
    """A stable digest of the text, used as a cache key."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:{n}]
''',
    """

def {name}(records: list[str], sep: str = ",") -> list[list[str]]:
    rows = []
    for index, record in enumerate(records):
        fields = [f.strip() for f in record.split(sep)]
        if len(fields) < 2:
            LOG.warning("row %d has %d fields", index, len(fields))
            continue
        rows.append(fields)
    return rows
""",
]

PY_FLAWS = [
    (
        "shell",
        """

def run_report(name):
    cmd = "generate-report --name " + name
    return subprocess.call(cmd, shell=True)
""",
    ),
    (
        "md5",
        """

def legacy_checksum(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
""",
    ),
    (
        "eval",
        """

def parse_expression(expr):
    return eval(expr)
""",
    ),
    (
        "yaml",
        """

def load_config(text):
    import yaml

    return yaml.load(text)
""",
    ),
    (
        "sql",
        """

def find_user(cursor, name):
    cursor.execute("SELECT * FROM users WHERE name = '%s'" % name)
    return cursor.fetchall()
""",
    ),
    (
        "pickle",
        """

def restore(blob):
    import pickle

    return pickle.loads(blob)
""",
    ),
    (
        "verify",
        """

def fetch(url):
    import requests

    return requests.get(url, verify=False, timeout=10).text
""",
    ),
    (
        "password",
        """

DB_PASSWORD = "hunter2-{tag}"
""",
    ),
]

JS_BODY = """'use strict'

const path = require('path')
const {{ promisify }} = require('util')

/**
 * {doc}
 */
class {cls} {{
  constructor (options = {{}}) {{
    this.limit = options.limit || {n}
    this.items = []
  }}

  add (item) {{
    if (this.items.length >= this.limit) {{
      throw new Error('limit reached')
    }}
    this.items.push(item)
    return this.items.length
  }}

  total () {{
    return this.items.reduce((sum, item) => sum + (item.amount || 0), 0)
  }}
}}

async function {fn} (db, id) {{
  const rows = await db('transfers').where({{ transferId: id }}).select()
  return rows.map(r => ({{ id: r.transferId, amount: r.amount, currency: r.currency }}))
}}

function resolve{cls} (base, name) {{
  return path.join(base, String(name).replace(/[^a-z0-9_-]/gi, ''))
}}
"""

JS_FLAWS = [
    (
        "eval",
        """
function evaluate (expr) {
  return eval(expr)
}
""",
    ),
    (
        "exec",
        """
const { exec } = require('child_process')
function archive (name) {
  exec('tar czf /tmp/out.tgz ' + name)
}
""",
    ),
    (
        "md5",
        """
const crypto = require('crypto')
function etag (body) {
  return crypto.createHash('md5').update(body).digest('hex')
}
""",
    ),
    (
        "tls",
        """
const https = require('https')
const agent = new https.Agent({ rejectUnauthorized: false })
""",
    ),
]

WORDS = (
    "transfer",
    "quote",
    "party",
    "participant",
    "settlement",
    "position",
    "ledger",
    "account",
    "fee",
    "limit",
    "callback",
    "notification",
    "bulk",
    "batch",
    "report",
    "audit",
)
CURRENCIES = ("USD", "EUR", "TZS", "XOF", "KES", "ZMW")


def fake_secret(rng: random.Random, kind: str) -> str:
    """Credential-shaped strings, built at run time so this file holds none."""
    upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    if kind == "aws":
        return "AK" + "IA" + "".join(rng.choice(upper) for _ in range(16))
    if kind == "github":
        return "gh" + "p_" + "".join(rng.choice(alnum) for _ in range(36))
    if kind == "slack":
        digits = "".join(rng.choice("0123456789") for _ in range(10))
        return "xo" + "xb-" + digits + "-" + "".join(rng.choice(alnum) for _ in range(24))
    return "".join(rng.choice(alnum) for _ in range(40))  # a high-entropy blob


def generate(dest: Path) -> None:
    """A deterministic mono-repo: Python services, a JS front end, requirements files,
    a few binaries, a vendored node_modules/ (excluded by the policy) and tests/."""
    rng = random.Random(20240601)
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "services").mkdir(parents=True)
    secret_kinds = ("aws", "github", "slack", "entropy")
    for p in range(N_PY_PACKAGES):
        pkg = f"{WORDS[p % len(WORDS)]}_{p:02d}"
        base = dest / "services" / pkg
        if p % 10 == 9:  # some packages are test suites (semgrep skips tests/ by default)
            base = dest / "tests" / pkg
        base.mkdir(parents=True)
        (base / "__init__.py").write_text(f'"""The {pkg} package."""\n')
        for m in range(N_PY_MODULES):
            i = p * N_PY_MODULES + m
            noun = rng.choice(WORDS)
            parts = [PY_HEADER.format(doc=f"{noun.title()} handling for {pkg} (module {m}).")]
            parts.append(
                PY_CLASS.format(
                    cls=f"{noun.title()}{m}", noun=noun, pkg=pkg, cur=rng.choice(CURRENCIES)
                )
            )
            for k in range(rng.randint(2, 6)):
                template = rng.choice(PY_FUNCS)
                parts.append(template.format(name=f"{noun}_{k}_{m}", n=rng.randint(5, 40)))
            if i % 7 == 0:
                _tag, flaw = PY_FLAWS[(i // 7) % len(PY_FLAWS)]
                parts.append(flaw.format(tag=i))
            if i % 97 == 0:
                kind = secret_kinds[(i // 97) % len(secret_kinds)]
                parts.append(f'\nAPI_TOKEN = "{fake_secret(rng, kind)}"\n')
            (base / f"mod_{m:03d}.py").write_text("".join(parts))
    web = dest / "web" / "src"
    for d in range(N_JS_DIRS):
        folder = web / f"{WORDS[d % len(WORDS)]}-{d:02d}"
        folder.mkdir(parents=True)
        for f in range(N_JS_FILES):
            i = d * N_JS_FILES + f
            noun = rng.choice(WORDS)
            text = JS_BODY.format(
                doc=f"{noun} helpers ({i})",
                cls=f"{noun.title()}Store{f}",
                fn=f"load{noun.title()}{f}",
                n=rng.randint(10, 500),
            )
            if i % 5 == 0:
                text += JS_FLAWS[(i // 5) % len(JS_FLAWS)][1]
            if i % 61 == 0:
                text += f"\nconst token = '{fake_secret(rng, secret_kinds[i % 4])}'\n"
            text += f"\nmodule.exports = {{ {noun.title()}Store{f}, load{noun.title()}{f} }}\n"
            (folder / f"{noun}-{f}.js").write_text(text)
    # Third-party code the policy excludes (node_modules/); by hand it is scanned.
    vendored = dest / "web" / "node_modules" / "left-pad"
    vendored.mkdir(parents=True)
    for f in range(30):
        (vendored / f"lib{f}.js").write_text(
            JS_BODY.format(doc="vendored", cls=f"Pad{f}", fn=f"pad{f}", n=f) + JS_FLAWS[0][1]
        )
    (vendored / "package.json").write_text('{"name": "left-pad", "version": "1.3.0"}\n')
    # Binary files (NUL bytes): the gate does not give them to detect-secrets.
    assets = dest / "web" / "assets"
    assets.mkdir()
    for f in range(20):
        blob = bytes(rng.getrandbits(8) for _ in range(2048))
        (assets / f"icon-{f}.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + blob)
    key_header = "-----BEGIN " + "RSA PRIVATE KEY-----"
    (dest / "deploy").mkdir()
    (dest / "deploy" / "dev-key.pem").write_text(
        key_header + "\n" + fake_secret(rng, "entropy") + "\n-----END " + "RSA PRIVATE KEY-----\n"
    )
    (dest / "deploy" / ".env").write_text(
        f"AWS_ACCESS_KEY_ID={fake_secret(rng, 'aws')}\nDB_HOST=db.internal\n"
    )
    (dest / "requirements.txt").write_text(
        textwrap.dedent("""\
        Django==3.2.0
        requests==2.19.0
        PyYAML==5.3
        Jinja2==2.10
        urllib3==1.24.1
        click==8.1.7
        """)
    )
    (dest / "requirements").mkdir()
    (dest / "requirements" / "dev.txt").write_text(
        textwrap.dedent("""\
        pytest==7.4.0
        Pillow==8.0.0
        cryptography==3.2
        """)
    )
    (dest / "services" / "requirements-worker.txt").write_text(
        textwrap.dedent("""\
        requests==2.19.0
        Flask==0.12
        """)
    )


def prepare_generated() -> Path:
    dest = WORK / "generated"
    marker = WORK / ".generated.ready"  # outside the tree: the gate would count it
    if not (marker.exists() and marker.read_text() == GENERATOR_VERSION):
        log("generating the synthetic tree …")
        generate(dest)
        marker.write_text(GENERATOR_VERSION)
    return dest


def prepare_django() -> Path:
    dest = WORK / "django"
    marker = WORK / ".django.ready"
    if marker.exists():
        return dest
    dl = WORK / "dl"
    wheels = list(dl.glob(f"[Dd]jango-{DJANGO}-py3-none-any.whl"))
    if not wheels:
        log(f"downloading Django {DJANGO} (wheel, no dependencies) …")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary",
                ":all:",
                f"django=={DJANGO}",
                "-d",
                str(dl),
            ],
            check=True,
            env=ENV,
            stdout=subprocess.DEVNULL,
        )
        wheels = list(dl.glob(f"[Dd]jango-{DJANGO}-py3-none-any.whl"))
    if dest.exists():
        shutil.rmtree(dest)
    with zipfile.ZipFile(wheels[0]) as whl:  # a wheel is a zip; nothing is executed
        whl.extractall(dest)
    marker.write_text(DJANGO)
    return dest


def prepare_central_ledger() -> Path | None:
    dest = WORK / "central-ledger"
    marker = WORK / ".central-ledger.ready"
    if marker.exists():
        return dest
    npm = shutil.which("npm")
    if not npm:
        log("npm not found: skipping the central-ledger workload")
        return None
    dl = WORK / "dl"
    dl.mkdir(parents=True, exist_ok=True)
    log(f"npm pack @mojaloop/central-ledger@{CENTRAL_LEDGER} + package-lock (~30 s) …")
    try:
        subprocess.run(
            [
                npm,
                "pack",
                f"@mojaloop/central-ledger@{CENTRAL_LEDGER}",
                "--pack-destination",
                str(dl),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
        if dest.exists():
            shutil.rmtree(dest)
        with tarfile.open(dl / f"mojaloop-central-ledger-{CENTRAL_LEDGER}.tgz") as tar:
            tar.extractall(dest, filter="data")
        pkg = dest / "package"
        # The published package has no lockfile; resolve one (no install, no scripts).
        subprocess.run(
            [
                npm,
                "install",
                "--package-lock-only",
                "--ignore-scripts",
                "--legacy-peer-deps",
                "--no-audit",
                "--no-fund",
            ],
            cwd=pkg,
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        log(f"central-ledger workload unavailable ({exc}); skipping it")
        return None
    marker.write_text(CENTRAL_LEDGER)
    return dest


WORKLOADS: dict[str, tuple[str, Callable[[], Path | None]]] = {
    "generated": ("generated tree (2,040 .py + 520 .js)", prepare_generated),
    "django": (f"Django {DJANGO} (wheel contents)", prepare_django),
    "central-ledger": (f"@mojaloop/central-ledger {CENTRAL_LEDGER} (npm)", prepare_central_ledger),
}


def count_files(root: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for _dir, _dirs, files in os.walk(root):
        for name in files:
            counts["all"] += 1
            suffix = Path(name).suffix.lower()
            if suffix in (".py", ".js"):
                counts[suffix] += 1
    return counts


# --------------------------------------------------------------------------- the runs


def optional_tool(name: str) -> str | None:
    try:
        return tool(name)
    except SystemExit:
        return None


def gate_argv(tree: Path, out_dir: Path, jobs: int | None, extra: Sequence[str]) -> list[str]:
    argv = [
        tool("policy-gate"),
        "scan",
        str(tree),
        # The Mojaloop policy with only the M4a data-age limit lifted: the shared advisory
        # database is a fixed 2024 snapshot.
        "--policy",
        str(REPO / "examples" / "policy.yaml"),
        "--advisories",
        str(ADVISORIES),
    ]
    for fmt, name in REPORTS.items():
        argv += ["--format", fmt, "--output", str(out_dir / name)]
    if jobs:
        argv += ["--jobs", str(jobs)]
    return [*argv, *extra]


def run_gate(
    tree: Path,
    out_dir: Path,
    jobs: int | None,
    extra: Sequence[str] = (),
    ok: Sequence[int] = (0, 1),
) -> tuple[Measured, dict[str, Any]]:
    """One gate run writing every report format; its JSON report ({} unless exit 0/1)."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    m = measure(gate_argv(tree, out_dir, jobs, extra))
    check(m, ok, "policy-gate")
    if m.returncode not in (0, 1):
        return m, {}
    return m, json.loads((out_dir / REPORTS["json"]).read_text("utf-8"))


@dataclass
class GateTiming:
    """One gate run, and where its JSON report says the time went. Scanners run
    concurrently, so whatever the gate's wall time exceeds the slowest scanner by is time
    the gate spent on its own work: start-up, policy, walk, advisory database, merging,
    evaluation and writing the reports."""

    measured: Measured
    scan_seconds: float  # runner.scan(): walk, advisory database, scanners, merge
    slowest: str
    slowest_seconds: float

    @property
    def wall(self) -> float:
        return self.measured.seconds

    @property
    def overhead(self) -> float:
        return self.wall - self.slowest_seconds

    @property
    def outside_runner(self) -> float:
        """Start-up, policy and waivers, evaluation, every report."""
        return self.wall - self.scan_seconds

    @property
    def runner_not_scanners(self) -> float:
        """The walk, loading the advisory database, merging (inside runner.scan)."""
        return self.scan_seconds - self.slowest_seconds


def gate_timing(m: Measured, report: dict[str, Any]) -> GateTiming:
    timed = [(s["seconds"], s["name"]) for s in report["scanners"] if s["status"] != "disabled"]
    seconds, name = max(timed, default=(0.0, "-"))
    return GateTiming(m, report["scan"]["seconds"], name, seconds)


def walk_tree(tree: Path) -> list[str]:
    """Files by hand-tool rules: everything but .git and node_modules."""
    found = []
    for dirpath, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d not in ("node_modules", ".git"))
        found += [Path(dirpath, f).relative_to(tree).as_posix() for f in sorted(files)]
    return found


def requirement_files(tree: Path) -> list[Path]:
    pattern = re.compile(r"^(?:.*[-_.])?requirements(?:[-_.].*)?\.txt$", re.IGNORECASE)
    found = []
    for rel in walk_tree(tree):
        path = Path(rel)
        if path.suffix == ".txt" and (
            pattern.match(path.name) or path.parent.name == "requirements"
        ):
            found.append(tree / rel)
    return sorted(found)


def ci_files(tree: Path) -> tuple[list[str], list[str]]:
    """(Dockerfiles, GitHub workflow and action files), as the gate's scanners pick them."""
    try:
        from policy_gate.scanners.dockerfile import is_dockerfile
        from policy_gate.scanners.workflows import is_workflow
    except ImportError:  # an older policy-gate: the names these scanners look for

        def is_dockerfile(path: str) -> bool:
            name = path.rsplit("/", 1)[-1]
            return name in ("Dockerfile", "Containerfile") or name.endswith(".Dockerfile")

        def is_workflow(path: str) -> bool:
            return "/.github/workflows/" in f"/{path}" and path.endswith((".yml", ".yaml"))

    files = walk_tree(tree)
    return [f for f in files if is_dockerfile(f)], [f for f in files if is_workflow(f)]


def by_hand(
    tree: Path, osv_url: str, jobs: int | None, idle: float
) -> dict[str, tuple[Measured, Any]]:
    """The tools, one after another, each with its own file discovery (hadolint and zizmor,
    which take no directory, get the files the gate would give its CI scanners)."""
    runs: dict[str, tuple[Measured, Any]] = {}
    wait_for_idle(idle)
    bandit = [tool("bandit"), "-r", ".", "-f", "json", "-q", "--ignore-nosec"]
    m = measure(bandit, cwd=tree)
    check(m, (0, 1), "bandit")
    runs["bandit"] = (m, json.loads(m.stdout))

    semgrep = [
        tool("semgrep"),
        "scan",
        "--config",
        str(RULES),
        "--json",
        "--metrics=off",
        "--disable-version-check",
        "--quiet",
        "--disable-nosem",
        "--no-git-ignore",
    ]
    if jobs:
        semgrep.append(f"--jobs={jobs}")
    wait_for_idle(idle)
    m = measure([*semgrep, "."], cwd=tree)
    check(m, (0, 1), "semgrep")
    runs["semgrep"] = (m, json.loads(m.stdout))

    secrets = [tool("detect-secrets")]
    if jobs:
        secrets += ["--cores", str(jobs)]
    secrets += [
        "scan",
        "--all-files",
        "--no-verify",
        "--disable-filter",
        DS_FILTERS + "allowlist.is_line_allowlisted",
        "--disable-filter",
        DS_FILTERS + "heuristic.is_swagger_file",
        ".",
    ]
    wait_for_idle(idle)
    m = measure(secrets, cwd=tree)
    check(m, (0,), "detect-secrets")
    runs["detect-secrets"] = (m, json.loads(m.stdout))

    reports = []
    total = Measured([], 0.0, 0, "", "", 0, 0, 0.0)
    wait_for_idle(idle)
    with tempfile.TemporaryDirectory(prefix="bench-pip-audit-") as cache:
        for req in requirement_files(tree):
            argv = [
                tool("pip-audit"),
                "--disable-pip",
                "--no-deps",
                "-r",
                str(req),
                "-s",
                "osv",
                "--osv-url",
                osv_url,
                "-f",
                "json",
                "--progress-spinner",
                "off",
                "--cache-dir",
                cache,
            ]
            m = measure(argv, cwd=tree)
            check(m, (0, 1), "pip-audit")
            reports.append((str(req.relative_to(tree)), json.loads(m.stdout)))
            add_up(total, m)
    runs["pip-audit"] = (total, reports)

    dockerfiles, workflows = ci_files(tree)
    hadolint, zizmor = optional_tool("hadolint"), optional_tool("zizmor")
    if dockerfiles and hadolint:
        wait_for_idle(idle)
        m = measure([hadolint, "--no-fail", "--no-color", "-f", "json", *dockerfiles], cwd=tree)
        check(m, (0,), "hadolint")
        runs["hadolint"] = (m, json.loads(m.stdout or "[]"))
    if workflows and zizmor:
        wait_for_idle(idle)
        argv = [zizmor, "--offline", "--no-exit-codes", "--format", "json", *workflows]
        m = measure(argv, cwd=tree)
        check(m, (0,), "zizmor")
        runs["zizmor"] = (m, json.loads(m.stdout or "[]"))
    return runs


def add_up(total: Measured, m: Measured) -> None:
    """Fold one of several sequential runs into their total."""
    total.seconds += m.seconds
    total.cpu_seconds += m.cpu_seconds
    total.foreign_cpu += m.foreign_cpu
    total.tree_rss_kb = max(total.tree_rss_kb, m.tree_rss_kb)
    total.max_rss_kb = max(total.max_rss_kb, m.max_rss_kb)


# --------------------------------------------------------------------------- one changed file


def change_target(tree: Path) -> Path:
    """The file the cache and diff parts change: a Python module (JavaScript in a tree
    without any) of ordinary size, outside tests and vendored code, chosen the same way
    every time."""
    for suffix in APPENDED:
        candidates = [
            rel
            for rel in walk_tree(tree)
            if rel.endswith(suffix)
            and not rel.endswith(("__init__.py", ".min.js"))
            and "test" not in rel
            and 2_000 <= (tree / rel).stat().st_size <= 40_000
        ]
        if candidates:
            return tree / candidates[len(candidates) // 2]
    raise RuntimeError(f"no .py or .js file to change in {tree}")


def append_line(path: Path) -> int:
    """Append the flagged line; return its line number."""
    text = path.read_text("utf-8")
    if text and not text.endswith("\n"):
        text += "\n"
    text += APPENDED[path.suffix] + "\n"
    path.write_text(text, "utf-8")
    return text.count("\n")


def file_local_scanners() -> frozenset[str]:
    try:
        from policy_gate.scanners import registry

        return frozenset(name for name, s in registry().items() if s.file_local)
    except ImportError:
        return frozenset(FILE_LOCAL)


def stable(value: Any) -> Any:
    """A report value without what differs between two runs of the same scan."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """How two reports of the same tree differ in verdict, summary and findings."""
    out = []
    for key in ("verdict", "summary"):
        if stable(a.get(key)) != stable(b.get(key)):
            out.append(f"{key} differs")
    fa, fb = stable(a.get("findings", [])), stable(b.get("findings", []))
    if fa != fb:
        ka = Counter(json.dumps(f, sort_keys=True) for f in fa)
        kb = Counter(json.dumps(f, sort_keys=True) for f in fb)
        only_a, only_b = ka - kb, kb - ka
        if not only_a and not only_b:
            out.append(f"the same {len(fa)} findings, in another order")
            return out
        where = Counter(json.loads(f)["path"].split("/")[0] for f in (only_a + only_b).elements())
        out.append(
            f"findings differ ({len(fa)} vs {len(fb)}: {sum(only_a.values())} only in the "
            f"first, {sum(only_b.values())} only in the second, under "
            + ", ".join(f"{d}/ x{n}" for d, n in where.most_common(3))
            + ")"
        )
    return out


# --------------------------------------------------------------------------- cache


@dataclass
class CacheResult:
    supported: bool
    reason: str = ""
    changed_file: str = ""
    cold: list[Measured] = field(default_factory=list)
    warm: list[Measured] = field(default_factory=list)
    changed: list[Measured] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)  # warm vs cold, any run
    vs_uncached: list[str] | None = None  # cold vs the full part's report, if it ran
    # After the one-file change: per scanner (name, status, cache stats or None).
    changed_scanners: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)
    rescanned_ok: list[bool] = field(default_factory=list)  # file-local files_scanned <= 1
    new_finding: list[bool] = field(default_factory=list)  # the appended line is reported
    others_unchanged: list[bool] = field(default_factory=list)  # every other file's findings

    def ratio(self) -> float:
        return med_of(self.warm) / med_of(self.cold)

    def complete_runs(self) -> int:
        """Runs whose one-file change found the new line and left every other file alone."""
        pairs = zip(self.new_finding, self.others_unchanged, strict=True)
        return sum(new and same for new, same in pairs)


def med_of(ms: Sequence[Measured]) -> float:
    return statistics.median(m.seconds for m in ms)


def bench_cache(
    key: str,
    tree: Path,
    runs: int,
    jobs: int | None,
    idle: float,
    uncached: dict[str, Any] | None,
) -> CacheResult:
    """Cold (empty cache) vs warm (unchanged tree) vs one file changed, on a copy of the
    tree so that the change never touches the workload the other parts measure."""
    base = WORK / "cache" / key
    copy, cache_dir, out = base / "tree", base / "cache-dir", base / "reports"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(tree, copy, symlinks=True)
    target = change_target(copy)
    original = target.read_bytes()
    rel = target.relative_to(copy).as_posix()
    result = CacheResult(True, changed_file=rel)
    local = file_local_scanners()
    extra = ["--cache-dir", str(cache_dir)]
    for i in range(runs):
        if cache_dir.exists():
            shutil.rmtree(cache_dir)
        target.write_bytes(original)
        wait_for_idle(idle)
        log(f"{key}: cache run {i + 1}/{runs}: cold …")
        m, cold = run_gate(copy, out / "cold", jobs, extra, ok=(0, 1, 2))
        if m.returncode == 2:
            tail = (m.stderr.strip().splitlines() or [""])[-1]
            return CacheResult(False, f"`--cache-dir` rejected (exit 2: {tail[:200]})")
        result.cold.append(m)
        if i == 0 and uncached is not None:
            result.vs_uncached = differences(uncached, cold)
        wait_for_idle(idle)
        log(f"{key}: cold {m.seconds:.1f} s; warm …")
        m, warm = run_gate(copy, out / "warm", jobs, extra)
        result.warm.append(m)
        result.mismatches += [f"run {i + 1}: {d}" for d in differences(cold, warm)]
        line = append_line(target)
        try:
            wait_for_idle(idle)
            log(f"{key}: warm {m.seconds:.1f} s; after changing {rel} …")
            m, changed = run_gate(copy, out / "changed", jobs, extra)
        finally:
            target.write_bytes(original)
        result.changed.append(m)
        log(f"{key}: one file changed {m.seconds:.1f} s")
        result.changed_scanners = [
            (s["name"], s["status"], s.get("cache")) for s in changed["scanners"]
        ]
        stats = [c for name, st, c in result.changed_scanners if name in local and st == "ok"]
        result.rescanned_ok.append(
            bool(stats)
            and all(c is not None and c.get("files_scanned", sys.maxsize) <= 1 for c in stats)
        )
        result.new_finding.append(
            any(f["path"] == rel and f["start_line"] == line for f in changed["findings"])
        )
        before = [f for f in stable(cold["findings"]) if f["path"] != rel]
        after = [f for f in stable(changed["findings"]) if f["path"] != rel]
        result.others_unchanged.append(before == after)
    return result


# --------------------------------------------------------------------------- diff mode


@dataclass
class DiffResult:
    changed_file: str
    full: list[Measured] = field(default_factory=list)
    diff: list[Measured] = field(default_factory=list)
    changed_files: int | None = None  # as the diff-mode report counts them
    scanned_files: int | None = None
    verdict: str = ""
    new_finding: str = ""  # the appended line's finding: its status, or "not reported"

    def ratio(self) -> float:
        return med_of(self.diff) / med_of(self.full)


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        [*GIT, "-C", str(repo), *args],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**ENV, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"},
    )


def prepare_diff_repo(key: str, tree: Path) -> tuple[Path, str, int]:
    """A git repository of the tree: everything committed on `main`, then a `pr` branch
    with one commit appending a flagged line to one file. Reused while it matches."""
    base = WORK / "diff" / key
    repo, marker = base / "repo", base / ".ready"
    if marker.exists():
        version, rel, number = marker.read_text().split("\n")[:3]
        if version == DIFF_REPO_VERSION:
            return repo, rel, int(number)
    log(f"{key}: building the scratch git repository for diff mode …")
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    shutil.copytree(tree, repo, symlinks=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A", "-f", ".")  # -f: a .gitignore in the tree must not drop files
    git(repo, "commit", "-q", "-m", "the workload as unpacked")
    git(repo, "checkout", "-q", "-b", "pr")
    target = change_target(repo)
    rel = target.relative_to(repo).as_posix()
    line = append_line(target)
    git(repo, "commit", "-q", "-a", "-m", f"change one file: {rel}")
    marker.write_text(f"{DIFF_REPO_VERSION}\n{rel}\n{line}\n")
    return repo, rel, line


def bench_diff(key: str, tree: Path, runs: int, jobs: int | None, idle: float) -> DiffResult:
    repo, rel, line = prepare_diff_repo(key, tree)
    result = DiffResult(rel)
    out = WORK / "diff" / key / "reports"
    for i in range(runs):
        order = ("full", "diff") if i % 2 == 0 else ("diff", "full")
        for side in order:
            wait_for_idle(idle)
            log(f"{key}: {side} scan {i + 1}/{runs} …")
            extra = ["--full-scan"] if side == "full" else ["--diff-base", "main"]
            m, report = run_gate(repo, out / side, jobs, extra)
            log(f"{key}: {side} scan {m.seconds:.1f} s")
            if side == "full":
                result.full.append(m)
                continue
            result.diff.append(m)
            scope = report.get("diff") or {}
            result.changed_files = scope.get("changed_files")
            result.scanned_files = scope.get("scanned_files")
            result.verdict = report["verdict"]
            hits = [f for f in report["findings"] if f["path"] == rel and f["start_line"] == line]
            result.new_finding = (
                ", ".join(sorted({f"{f['rule_id']}: {f['status']}" for f in hits}))
                or "not reported"
            )
    return result


# --------------------------------------------------------------------------- full


@dataclass
class FullResult:
    gate: list[GateTiming] = field(default_factory=list)
    gate_scanner_seconds: dict[str, list[float]] = field(default_factory=dict)
    hand: dict[str, list[Measured]] = field(default_factory=dict)
    hand_totals: list[float] = field(default_factory=list)
    counts: list[tuple[str, int, int, int, str]] = field(default_factory=list)
    gate_files: int = 0
    gate_verdict: str = ""
    report: dict[str, Any] = field(default_factory=dict)  # the last gate run's JSON

    def gate_median(self) -> float:
        return statistics.median(t.wall for t in self.gate)

    def hand_median(self) -> float:
        return statistics.median(self.hand_totals)

    def ratio(self) -> float:
        return self.gate_median() / self.hand_median()

    def rss_median(self) -> float:
        return statistics.median(t.measured.tree_rss_kb for t in self.gate)

    def overhead(self) -> tuple[float, float]:
        """Median seconds, and median share of the gate's wall time."""
        return (
            statistics.median(t.overhead for t in self.gate),
            statistics.median(t.overhead / t.wall for t in self.gate),
        )

    def foreign(self, side: str) -> float:
        """Cores' worth of CPU other processes used during this side's runs."""
        ms = (
            [t.measured for t in self.gate]
            if side == "gate"
            else [m for t in self.hand.values() for m in t]
        )
        wall = sum(m.seconds for m in ms)
        return sum(m.foreign_cpu for m in ms) / wall if wall else 0.0


def bench_full(
    key: str, tree: Path, runs: int, jobs: int | None, url: str, idle: float
) -> FullResult:
    result = FullResult()
    out = WORK / "reports" / key
    hand_reports: dict[str, Any] = {}
    for i in range(runs):
        # Alternate which side goes first, so neither always gets the warm page cache.
        order = ("gate", "hand") if i % 2 == 0 else ("hand", "gate")
        for side in order:
            if side == "gate":
                wait_for_idle(idle)
                log(f"{key}: policy-gate run {i + 1}/{runs} …")
                m, report = run_gate(tree, out, jobs)
                result.gate.append(gate_timing(m, report))
                result.report = report
                for s in report["scanners"]:
                    if s["status"] == "ok":
                        result.gate_scanner_seconds.setdefault(s["name"], []).append(s["seconds"])
                    elif s["status"] != "disabled":
                        raise RuntimeError(f"gate: {s['name']} {s['status']}: {s['reason']}")
                t = result.gate[-1]
                log(
                    f"{key}: gate {m.seconds:.1f} s (exit {m.returncode}; slowest scanner "
                    f"{t.slowest} {t.slowest_seconds:.1f} s, overhead {t.overhead:.1f} s)"
                )
            else:
                log(f"{key}: by hand run {i + 1}/{runs} …")
                hand = by_hand(tree, url, jobs, idle)
                for name, (m, hand_report) in hand.items():
                    result.hand.setdefault(name, []).append(m)
                    hand_reports[name] = hand_report
                result.hand_totals.append(sum(m.seconds for m, _ in hand.values()))
                log(
                    f"{key}: by hand {result.hand_totals[-1]:.1f} s ("
                    + ", ".join(f"{n} {m.seconds:.1f}" for n, (m, _) in hand.items())
                    + ")"
                )
    report = result.report
    result.gate_files = report["scan"]["files"]
    result.gate_verdict = report["verdict"]
    for s in report["scanners"]:
        # osv (npm lockfiles), licences, data-protection, dockerfile (hadolint's rules are
        # not the gate's) have no by-hand twin to count against
        if s["status"] != "ok" or s["name"] not in hand_reports:
            continue
        name = s["name"]
        gk = gate_keys(report, name)
        hk = hand_keys(name, hand_reports[name])
        unscanned = sum(1 for k in gk if k[2] in ("file-not-analysed", "dependency-not-audited"))
        why = explain(gk, hk, depth=3 if name == "pip-audit" else 2)
        result.counts.append((name, s["raw_results"], unscanned, len(hk), why))
    return result


@dataclass
class WorkloadResult:
    key: str
    title: str
    files: Counter[str]
    full: FullResult | None = None
    cache: CacheResult | None = None
    diff: DiffResult | None = None
    notes: list[str] = field(default_factory=list)


def bench_workload(
    key: str, tree: Path, parts: Sequence[str], args: argparse.Namespace, url: str
) -> WorkloadResult:
    result = WorkloadResult(key, WORKLOADS[key][0], count_files(tree))
    runs, jobs, idle = args.runs, args.jobs, args.idle_wait
    if "full" in parts:
        result.full = bench_full(key, tree, runs, jobs, url, idle)
        report = result.full.report
        excluded = report["scan"]["excluded"]
        if excluded:
            result.notes.append(
                f"gate excluded {len(excluded)} path(s) by policy: {', '.join(excluded[:5])}"
            )
        for s in report["scanners"]:
            if s["status"] == "ok":
                result.notes += [f"gate {s['name']}: {note}" for note in s["notes"]]
        dockerfiles, workflows = ci_files(tree)
        for files, name in ((dockerfiles, "hadolint"), (workflows, "zizmor")):
            if files and name not in result.full.hand:
                result.notes.append(f"{len(files)} file(s) for {name}, but {name} not found")
        if not dockerfiles and not workflows:
            result.notes.append("no Dockerfiles or workflow files: hadolint/zizmor not run")
        result.notes.append(
            f"gate verdict {result.full.gate_verdict}; {result.full.gate_files:,} files in "
            f"scope of {result.files['all']:,}"
        )
    if "cache" in parts:
        uncached = result.full.report if result.full else None
        result.cache = bench_cache(key, tree, runs, jobs, idle, uncached)
        if not result.cache.supported:
            log(f"{key}: cache: not supported by this policy-gate ({result.cache.reason})")
    if "diff" in parts:
        result.diff = bench_diff(key, tree, runs, jobs, idle)
    return result


# --------------------------------------------------------------------------- counting

Key = tuple[str, int | None, str]


def _ds_rule(kind: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-") or "unknown"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _rel(path: str) -> str:
    while path.startswith("./"):
        path = path[2:]
    return path


def hand_keys(name: str, report: Any) -> list[Key]:
    """(path, line, rule) for every result (and every per-file error) a tool reported."""
    if name == "bandit":
        return [
            (_rel(r["filename"]), r["line_number"], r["test_id"]) for r in report["results"]
        ] + [(_rel(e["filename"]), None, "file-not-analysed") for e in report["errors"]]
    if name == "semgrep":
        return [
            (_rel(r["path"]), r["start"]["line"], r["check_id"].rsplit(".", 1)[-1])
            for r in report["results"]
        ] + [(_rel(str(e.get("path"))), None, "file-not-analysed") for e in report["errors"]]
    if name == "detect-secrets":
        return [
            (_rel(path), item["line_number"], _ds_rule(item["type"]))
            for path, items in report["results"].items()
            for item in items
        ]
    # pip-audit: one key per vulnerability entry, by (requirements file, package)
    return [
        (req, None, canonical(dep["name"]))
        for req, rep in report
        for dep in rep["dependencies"]
        for vuln in dep.get("vulns", [])
    ]


def gate_keys(report: dict[str, Any], scanner: str) -> list[Key]:
    keys = []
    for finding in report["findings"]:
        for source in finding["sources"]:
            if source["scanner"] != scanner:
                continue
            rule = source["rule_id"]
            line = finding["start_line"]
            if rule == "file-not-analysed":
                line = None
            if scanner == "pip-audit":
                if rule != "vulnerable-dependency":
                    continue  # unpinned / not audited: pip-audit never saw these
                rule = canonical(finding["dependency"]["package"])
                line = None
            keys.append((finding["path"], line, rule))
    return keys


def top_dir(path: str, depth: int) -> str:
    parts = path.split("/")
    return "/".join(parts[:depth]) + ("/" if len(parts) > depth else "")


def explain(gate: list[Key], hand: list[Key], depth: int = 2) -> str:
    """Where the two sides differ, by directory and rule."""
    g, h = Counter(gate), Counter(hand)
    only_gate, only_hand = g - h, h - g
    bits = []
    for label, diff in (("gate only", only_gate), ("by hand only", only_hand)):
        if not diff:
            continue
        where: Counter[str] = Counter()
        for (path, _line, rule), n in diff.items():
            bucket = "unscanned" if rule == "file-not-analysed" else rule
            where[f"{top_dir(path, depth)} {bucket}"] += n
        top = ", ".join(f"{k} x{n}" for k, n in where.most_common(4))
        more = f" (+{len(where) - 4} more groups)" if len(where) > 4 else ""
        bits.append(f"{label} {sum(diff.values())}: {top}{more}")
    return "; ".join(bits) or "identical"


# --------------------------------------------------------------------------- the report


def mib(kb: float) -> str:
    return f"{kb / 1024:,.0f} MiB"


def med(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.1f}"


def outcome(ok: bool | str | None) -> str:
    """pass / **FAIL**; n/a when not measured; a word for a row that has no target."""
    if isinstance(ok, str):
        return ok
    return "n/a" if ok is None else ("pass" if ok else "**FAIL**")


Row = tuple[str, str, str, str, str, bool | str | None]  # target, what, workload, measured, goal, ok


def target_rows(results: list[WorkloadResult], overhead: Any) -> list[Row]:
    """One row per target and workload, in the issue's order."""
    rows: list[Row] = []
    for r in results:
        f, c, d = r.full, r.cache, r.diff
        if f:
            rows.append(
                (
                    "1",
                    "full scan / the same scanners by hand",
                    r.key,
                    f"{f.ratio():.2f}",
                    "≤ 0.60",
                    f.ratio() <= 0.60,
                )
            )
            seconds, share = f.overhead()
            rows.append(
                (
                    "2a",
                    "gate overhead: (wall - slowest scanner) / wall",
                    r.key,
                    f"{share:.1%} ({seconds:.1f} s)",
                    "< 3 %",
                    share < 0.03,
                )
            )
            rows.append(
                (
                    "5",
                    "peak memory, gate process tree",
                    r.key,
                    mib(f.rss_median()),
                    "< 1.5 GiB",
                    f.rss_median() < 1.5 * GIB,
                )
            )
        if c and not c.supported:
            rows.append(
                ("3", "results cache", r.key, "not supported by this policy-gate", "", None)
            )
        elif c:
            rows += [
                (
                    "3",
                    "warm re-run / cold run (`--cache-dir`)",
                    r.key,
                    f"{c.ratio():.2f}",
                    "≤ 0.10",
                    c.ratio() <= 0.10,
                ),
                (
                    "3",
                    "warm run: findings, verdict, summary = cold run's",
                    r.key,
                    "identical" if not c.mismatches else "; ".join(c.mismatches[:2]),
                    "identical",
                    not c.mismatches,
                ),
                (
                    "3",
                    "one file changed: file-local scanners rescan ≤ 1 file",
                    r.key,
                    f"{sum(c.rescanned_ok)} of {len(c.rescanned_ok)} run(s)",
                    "every run",
                    all(c.rescanned_ok),
                ),
                (
                    "3",
                    "one file changed: its new finding reported, other files' unchanged",
                    r.key,
                    f"{c.complete_runs()} of {len(c.new_finding)} run(s)",
                    "every run",
                    all(c.new_finding) and all(c.others_unchanged),
                ),
            ]
        if d:
            # The target is set on Django; the other workloads are shown for reference.
            on_django = r.key == "django"
            rows.append(
                (
                    "4",
                    "diff mode, one file changed / full scan",
                    r.key,
                    f"{d.ratio():.3f}",
                    "≤ 0.05" if on_django else "(target set on Django)",
                    d.ratio() <= 0.05 if on_django else "reference",
                )
            )
    if overhead is not None:
        rows.append(
            (
                "2b",
                f"gate steps after the scanners, {overhead.findings:,} findings",
                "synthetic",
                f"{overhead.total:.2f} s",
                "< 1 s",
                overhead.passed,
            )
        )
    order = ("1", "2a", "2b", "3", "4", "5")
    return sorted(rows, key=lambda row: order.index(row[0]))  # stable: workloads keep order


def render(
    results: list[WorkloadResult],
    args: argparse.Namespace,
    parts: Sequence[str],
    overhead: Any,
    osv_load: float | None,
) -> str:
    cores = os.cpu_count()
    lines = [
        f"Measured {dt.date.today().isoformat()} on {platform.node() or 'this machine'}: "
        f"**{cores} cores** (`os.cpu_count()`), Linux {platform.release()}, Python "
        f"{platform.python_version()}; median of {args.runs} run(s)"
        + (f", `--jobs {args.jobs}`" if args.jobs else "")
        + f"; parts: {', '.join(parts)}; workloads: "
        + (", ".join(r.key for r in results) or "none")
        + ". Times are wall-clock seconds.",
        "",
        "Reproduce: `" + reproduce(args) + "`",
        "",
        "| target | measure | workload | measured | goal | result |",
        "|---|---|---|---:|---|---|",
        *(
            f"| {t} | {what} | {key} | {value} | {goal} | {outcome(ok)} |"
            for t, what, key, value, goal, ok in target_rows(results, overhead)
        ),
    ]
    full = [r for r in results if r.full]
    if full:
        lines += render_full(full)
    if overhead is not None:
        from overhead import render as render_overhead

        lines += [
            "",
            "### 2b. The gate's own steps on synthetic findings (`overhead.py`)",
            "",
            render_overhead(overhead).rstrip(),
        ]
    cached = [r for r in results if r.cache]
    if cached:
        lines += render_cache(cached)
    diffs = [r for r in results if r.diff]
    if diffs:
        lines += render_diff(diffs)
    notes = [f"- {r.key}: {n}" for r in results for n in r.notes]
    if osv_load is not None and full:
        notes.append(
            f"- The by-hand pip-audit used an in-process OSV server over the same database; "
            f"loading it took {osv_load:.1f} s, not counted in the by-hand times (the gate "
            "loads it on every run, inside its time)."
        )
    if notes:
        lines += ["", "Notes from the runs:", "", *notes]
    return "\n".join(lines) + "\n"


def reproduce(args: argparse.Namespace) -> str:
    argv = ["python", "benchmarks/bench.py", "--runs", str(args.runs)]
    if args.jobs:
        argv += ["--jobs", str(args.jobs)]
    for key in args.workload or ():
        argv += ["--workload", key]
    if args.only != list(PARTS):
        argv += ["--only", ",".join(args.only)]
    if args.overhead_findings != 10_000:
        argv += ["--overhead-findings", str(args.overhead_findings)]
    if args.overhead_runs is not None:
        argv += ["--overhead-runs", str(args.overhead_runs)]
    if args.idle_wait != IDLE_WAIT:
        argv += ["--idle-wait", f"{args.idle_wait:g}"]
    return " ".join(argv) + (" --write" if args.write else "")


def render_full(results: list[WorkloadResult]) -> list[str]:
    tools = [t for t in HAND_TOOLS if any(r.full and t in r.full.hand for r in results)]
    lines = [
        "",
        "### 1, 2a, 5. Full scan vs the same scanners by hand",
        "",
        "*other load* is the CPU other processes on the machine used meanwhile, in cores "
        "(0 = the machine was otherwise idle); RSS is the median peak of the summed RSS of "
        "the process tree.",
        "",
        "| workload | files (.py / .js) | "
        + " | ".join(tools)
        + " | by hand, sequential | **policy-gate** | **gate / by hand** | gate peak RSS "
        "| by-hand peak RSS | CPU s gate / by hand | other load gate / by hand |",
        "|---|---|" + "---:|" * len(tools) + "---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        f = r.full
        assert f is not None
        hand_cpu = statistics.median(
            sum(f.hand[t][i].cpu_seconds for t in f.hand) for i in range(len(f.hand_totals))
        )
        lines.append(
            f"| {r.title} | {r.files['all']:,} ({r.files['.py']:,} / {r.files['.js']:,}) | "
            + " | ".join(med([m.seconds for m in f.hand[t]]) if t in f.hand else "-" for t in tools)
            + f" | {f.hand_median():.1f} | **{f.gate_median():.1f}** | **{f.ratio():.2f}** | "
            f"{mib(f.rss_median())} | "
            f"{mib(max(m.tree_rss_kb for t in f.hand for m in f.hand[t]))} | "
            f"{statistics.median(t.measured.cpu_seconds for t in f.gate):.0f} / "
            f"{hand_cpu:.0f} | {f.foreign('gate'):.2f} / {f.foreign('hand'):.2f} |"
        )
    lines += [
        "",
        "Gate overhead (2a), from the same gate runs (every report format written). The "
        "scanners run concurrently, so overhead = wall - the slowest scanner's `seconds`; "
        "it splits into the time outside `runner.scan` (start-up, policy, evaluation, "
        "reports: wall - `scan.seconds`) and the runner's own time (walk, advisory "
        "database, merge: `scan.seconds` - slowest scanner):",
        "",
        "| workload | gate wall | slowest scanner | **overhead** | **share of wall** "
        "| outside the runner | runner, not scanners | largest single process |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        f = r.full
        assert f is not None
        seconds, share = f.overhead()
        slowest = Counter(t.slowest for t in f.gate).most_common(1)[0][0]
        lines.append(
            f"| {r.key} | {f.gate_median():.1f} | {slowest} "
            f"{statistics.median(t.slowest_seconds for t in f.gate):.1f} | **{seconds:.2f}** "
            f"| **{share:.1%}** | {statistics.median(t.outside_runner for t in f.gate):.2f} | "
            f"{statistics.median(t.runner_not_scanners for t in f.gate):.2f} | "
            f"{mib(max(t.measured.max_rss_kb for t in f.gate))} |"
        )
    names = list(dict.fromkeys(n for r in results if r.full for n in r.full.gate_scanner_seconds))
    lines += [
        "",
        "Inside the gate: median seconds each scanner took (concurrently):",
        "",
        "| workload | " + " | ".join(names) + " | gate wall | runs (s) |",
        "|---|" + "---:|" * len(names) + "---:|---|",
    ]
    for r in results:
        f = r.full
        assert f is not None
        per = f.gate_scanner_seconds
        lines.append(
            f"| {r.key} | "
            + " | ".join(med(per[n]) if n in per else "-" for n in names)
            + f" | {f.gate_median():.1f} | "
            + ", ".join(f"{t.wall:.1f}" for t in f.gate)
            + " |"
        )
    lines += [
        "",
        "Findings: the gate's per-scanner `raw_results` (of which `unscanned` = files it "
        "reports it could not analyse) vs the results the tool printed by hand:",
        "",
        "| workload | scanner | gate raw_results | of which unscanned | by hand "
        "| where they differ |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in results:
        assert r.full is not None
        for scanner, raw, unscanned, hand, why in r.full.counts:
            lines.append(f"| {r.key} | {scanner} | {raw:,} | {unscanned:,} | {hand:,} | {why} |")
    return lines


def render_cache(results: list[WorkloadResult]) -> list[str]:
    lines = [
        "",
        "### 3. Results cache (`--cache-dir`, on a copy of the tree)",
        "",
        "| workload | changed file | cold | warm | **warm / cold** | warm = cold "
        "| cold = uncached full run | one file changed | its new finding | other files "
        "unchanged |",
        "|---|---|---:|---:|---:|---|---|---:|---|---|",
    ]
    stats: list[str] = []
    for r in results:
        c = r.cache
        assert c is not None
        if not c.supported:
            lines.append(
                f"| {r.key} | cache: not supported by this policy-gate ({c.reason}) "
                "| | | | | | | | |"
            )
            continue
        uncached = (
            "not compared (no full part)"
            if c.vs_uncached is None
            else "; ".join(c.vs_uncached) or "identical"
        )
        lines.append(
            f"| {r.key} | `{c.changed_file}` | {med_of(c.cold):.1f} | {med_of(c.warm):.1f} | "
            f"**{c.ratio():.2f}** | {'; '.join(c.mismatches) or 'identical'} | {uncached} | "
            f"{med_of(c.changed):.1f} | {sum(c.new_finding)}/{len(c.new_finding)} runs | "
            f"{sum(c.others_unchanged)}/{len(c.others_unchanged)} runs |"
        )
        for name, status, cache in c.changed_scanners:
            if status == "disabled":
                continue
            if cache is None:
                stats.append(f"| {r.key} | {name} | {status} | - | - | - (no `cache` field) |")
                continue
            stats.append(
                f"| {r.key} | {name} | {status} | {cache.get('files_from_cache')} | "
                f"{cache.get('files_scanned')} | {cache.get('run_from_cache')} |"
            )
    if stats:
        lines += [
            "",
            "After the one-file change (last run), each scanner's `cache` in the JSON report "
            "(file-local scanners must have `files_scanned` ≤ 1):",
            "",
            "| workload | scanner | status | files_from_cache | files_scanned | run_from_cache |",
            "|---|---|---|---:|---:|---|",
            *stats,
        ]
    return lines


def render_diff(results: list[WorkloadResult]) -> list[str]:
    lines = [
        "",
        "### 4. Pull-request diff mode (scratch git repository, one commit changing one file)",
        "",
        "| workload | changed file | `--full-scan` | `--diff-base main` | **diff / full** "
        "| changed files | files given to file-local scanners | verdict | the added line |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        d = r.diff
        assert d is not None
        lines.append(
            f"| {r.key} | `{d.changed_file}` | {med_of(d.full):.1f} | {med_of(d.diff):.1f} | "
            f"**{d.ratio():.3f}** | {d.changed_files} | {d.scanned_files} | {d.verdict} | "
            f"{d.new_finding} |"
        )
    return lines


def write_readme(table: str) -> None:
    text = README.read_text("utf-8") if README.exists() else ""
    block = f"{RESULTS_BEGIN}\n{table}{RESULTS_END}"
    if RESULTS_BEGIN in text and RESULTS_END in text:
        head, rest = text.split(RESULTS_BEGIN, 1)
        _old, tail = rest.split(RESULTS_END, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n## Results\n\n" + block + "\n"
    README.write_text(text, "utf-8")


# --------------------------------------------------------------------------- main


@contextmanager
def osv_server() -> Iterator[tuple[str, float]]:
    try:
        from policy_gate.osv.server import serve_advisories
    except ImportError:
        sys.exit("bench: run me with the python of the venv policy-gate is installed in")
    started = time.perf_counter()
    with serve_advisories(ADVISORIES) as url:
        yield url, time.perf_counter() - started


def parts_arg(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        raise argparse.ArgumentTypeError(
            f"unknown part(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(PARTS)}"
        )
    return [p for p in PARTS if p in parts]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Parts: full = gate (all report formats) vs the scanners by hand, gate "
        "overhead, peak memory (targets 1, 2a, 5); overhead = the gate's steps after the "
        "scanners on synthetic findings, in-process (2b; no workload needed); cache = cold "
        "vs warm `--cache-dir` runs and a one-file change (3); diff = `--diff-base` vs "
        "`--full-scan` on a scratch git repository with one changed file (4).",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--write", action="store_true", help="rewrite README.md's results")
    parser.add_argument("--jobs", type=int, help="pass --jobs N to the gate (and the tools)")
    parser.add_argument(
        "--workload",
        action="append",
        choices=list(WORKLOADS),
        help="run only these workloads (repeatable; default: all)",
    )
    parser.add_argument(
        "--only",
        type=parts_arg,
        default=list(PARTS),
        metavar="PARTS",
        help=f"comma-separated parts to run, of {','.join(PARTS)} (default: all)",
    )
    parser.add_argument(
        "--overhead-findings",
        type=int,
        default=10_000,
        metavar="N",
        help="synthetic findings for the overhead part (default 10,000)",
    )
    parser.add_argument(
        "--overhead-runs",
        type=int,
        metavar="N",
        help="fresh interpreters for the overhead part (default: max(5, --runs))",
    )
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=IDLE_WAIT,
        metavar="S",
        help="before each measurement wait up to S seconds for other processes to go quiet",
    )
    args = parser.parse_args(argv)
    parts: list[str] = args.only
    if "full" in parts and not ADVISORIES.is_dir():
        sys.exit(f"bench: advisory database not found at {ADVISORIES}")
    WORK.mkdir(parents=True, exist_ok=True)
    log(f"python {sys.executable}; {os.cpu_count()} cores; parts {', '.join(parts)}")
    sys.path.insert(0, str(HERE))
    from overhead import compile_package

    compile_package()

    trees: list[tuple[str, Path]] = []
    if {"full", "cache", "diff"} & set(parts):
        for key in args.workload or list(WORKLOADS):
            tree = WORKLOADS[key][1]()
            if tree is not None:
                trees.append((key, tree))

    results = []
    osv_load: float | None = None
    with contextlib.ExitStack() as stack:
        url = ""
        if "full" in parts:
            url, osv_load = stack.enter_context(osv_server())
            log(f"OSV server for the by-hand pip-audit at {url} (loaded in {osv_load:.1f} s)")
        for key, tree in trees:
            results.append(bench_workload(key, tree, parts, args, url))
    overhead = None
    if "overhead" in parts:
        sys.path.insert(0, str(HERE))
        from overhead import measure as measure_overhead

        n_runs = args.overhead_runs or max(5, args.runs)
        log(f"overhead: {args.overhead_findings:,} synthetic findings, {n_runs} runs …")
        overhead = measure_overhead(args.overhead_findings, n_runs, log)
    table = render(results, args, parts, overhead, osv_load)
    print(table)
    if args.write:
        write_readme(table)
        log(f"wrote {README.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
