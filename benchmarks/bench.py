#!/usr/bin/env python3
"""Benchmark ``policy-gate scan`` against running the same scanners one after another.

For every workload the gate is timed (wall clock, median of ``--runs``) and so is the
by-hand baseline: bandit, semgrep (policy-gate's rule pack), detect-secrets and pip-audit
(one run per requirements file, against the same offline OSV database) started one after
the other on the same tree. Peak memory is sampled from /proc (the summed RSS of the whole
process tree) and taken from wait4 (the largest single process). Finding counts of the gate
(its per-scanner ``raw_results``) are compared with what the tools report by hand.

Run it with the interpreter of the venv policy-gate is installed in (it imports
``policy_gate.osv.server`` to serve the advisory database to the by-hand pip-audit):

    python benchmarks/bench.py --runs 3 --write

Workloads are built under ``benchmarks/.work`` (gitignored): a generated tree, Django 4.2
from its wheel (unpacked, never run) and, when npm is available, @mojaloop/central-ledger
from its npm tarball plus a package-lock.json (``npm install --package-lock-only
--ignore-scripts``; nothing is installed or run).
"""

from __future__ import annotations

import argparse
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


def run_gate(tree: Path, out: Path, jobs: int | None) -> tuple[Measured, dict[str, Any]]:
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
        "--format",
        "json",
        "--output",
        str(out),
    ]
    if jobs:
        argv += ["--jobs", str(jobs)]
    if out.exists():
        out.unlink()
    m = measure(argv)
    check(m, (0, 1), "policy-gate")
    return m, json.loads(out.read_text("utf-8"))


def requirement_files(tree: Path) -> list[Path]:
    pattern = re.compile(r"^(?:.*[-_.])?requirements(?:[-_.].*)?\.txt$", re.IGNORECASE)
    found = []
    for dirpath, dirs, files in os.walk(tree):
        dirs[:] = [d for d in dirs if d not in ("node_modules", ".git")]
        for name in files:
            if name.endswith(".txt") and (
                pattern.match(name) or Path(dirpath).name == "requirements"
            ):
                found.append(Path(dirpath, name))
    return sorted(found)


def by_hand(
    tree: Path, osv_url: str, jobs: int | None, idle: float
) -> dict[str, tuple[Measured, Any]]:
    """The four tools, one after another, each with its own file discovery."""
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
            total.seconds += m.seconds
            total.cpu_seconds += m.cpu_seconds
            total.foreign_cpu += m.foreign_cpu
            total.tree_rss_kb = max(total.tree_rss_kb, m.tree_rss_kb)
            total.max_rss_kb = max(total.max_rss_kb, m.max_rss_kb)
    runs["pip-audit"] = (total, reports)
    return runs


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
        where = Counter()
        for (path, _line, rule), n in diff.items():
            bucket = "unscanned" if rule == "file-not-analysed" else rule
            where[f"{top_dir(path, depth)} {bucket}"] += n
        top = ", ".join(f"{k} x{n}" for k, n in where.most_common(4))
        more = f" (+{len(where) - 4} more groups)" if len(where) > 4 else ""
        bits.append(f"{label} {sum(diff.values())}: {top}{more}")
    return "; ".join(bits) or "identical"


# --------------------------------------------------------------------------- the report


@dataclass
class WorkloadResult:
    key: str
    title: str
    files: Counter[str]
    gate_files: int
    gate: list[Measured] = field(default_factory=list)
    gate_scanner_seconds: dict[str, list[float]] = field(default_factory=dict)
    hand: dict[str, list[Measured]] = field(default_factory=dict)
    hand_totals: list[float] = field(default_factory=list)
    counts: list[tuple[str, int, int, int, str]] = field(default_factory=list)
    gate_verdict: str = ""
    notes: list[str] = field(default_factory=list)

    def gate_median(self) -> float:
        return statistics.median(m.seconds for m in self.gate)

    def hand_median(self) -> float:
        return statistics.median(self.hand_totals)

    def foreign(self, side: str) -> float:
        """Cores' worth of CPU other processes used during this side's runs."""
        ms = self.gate if side == "gate" else [m for t in self.hand.values() for m in t]
        wall = sum(m.seconds for m in ms)
        return sum(m.foreign_cpu for m in ms) / wall if wall else 0.0


def mib(kb: int) -> str:
    return f"{kb / 1024:,.0f} MiB"


def med(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.1f}"


def render(results: list[WorkloadResult], runs: int, jobs: int | None) -> str:
    cores = os.cpu_count()
    lines = [
        f"Measured {dt.date.today().isoformat()} on {platform.node() or 'this machine'}: "
        f"{cores} cores (`os.cpu_count()`), Linux {platform.release()}, Python "
        f"{platform.python_version()}; median of {runs} run(s)"
        + (f", `--jobs {jobs}`" if jobs else "")
        + ". Times are wall-clock seconds; *other load* is the CPU other processes on the "
        "machine used meanwhile, in cores (0 = the machine was otherwise idle).",
        "",
        "| workload | files (.py / .js) | bandit | semgrep | detect-secrets | pip-audit "
        "| by hand, sequential | **policy-gate** | **gate / by hand** | gate peak RSS (tree) "
        "| by-hand peak RSS (tree) | CPU s gate / by hand | other load gate / by hand |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        hand_cpu = statistics.median(
            sum(r.hand[t][i].cpu_seconds for t in r.hand) for i in range(len(r.hand_totals))
        )
        lines.append(
            f"| {r.title} | {r.files['all']:,} ({r.files['.py']:,} / {r.files['.js']:,}) | "
            + " | ".join(med([m.seconds for m in r.hand[t]]) for t in r.hand)
            + f" | {r.hand_median():.1f} | **{r.gate_median():.1f}** | "
            f"**{r.gate_median() / r.hand_median():.2f}** | "
            f"{mib(max(m.tree_rss_kb for m in r.gate))} | "
            f"{mib(max(m.tree_rss_kb for t in r.hand for m in r.hand[t]))} | "
            f"{statistics.median(m.cpu_seconds for m in r.gate):.0f} / {hand_cpu:.0f} | "
            f"{r.foreign('gate'):.2f} / {r.foreign('hand'):.2f} |"
        )
    lines += [
        "",
        "Inside the gate (median seconds each scanner took, concurrently; the gate's wall "
        "time also includes loading the advisory database, the walk and the report):",
        "",
        "| workload | bandit | semgrep | detect-secrets | pip-audit | gate wall | runs (s) "
        "| largest single process |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in results:
        per = r.gate_scanner_seconds
        lines.append(
            f"| {r.key} | "
            + " | ".join(
                med(per[t]) if t in per else "-"
                for t in ("bandit", "semgrep", "detect-secrets", "pip-audit")
            )
            + f" | {r.gate_median():.1f} | "
            + ", ".join(f"{m.seconds:.1f}" for m in r.gate)
            + f" | {mib(max(m.max_rss_kb for m in r.gate))} |"
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
        for scanner, raw, unscanned, hand, why in r.counts:
            lines.append(f"| {r.key} | {scanner} | {raw:,} | {unscanned:,} | {hand:,} | {why} |")
    notes = [f"- {r.key}: {n}" for r in results for n in r.notes]
    if notes:
        lines += ["", "Notes from the runs:", "", *notes]
    return "\n".join(lines) + "\n"


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


def bench_workload(
    key: str, tree: Path, runs: int, jobs: int | None, url: str, idle: float
) -> WorkloadResult:
    title = WORKLOADS[key][0]
    result = WorkloadResult(key, title, count_files(tree), 0)
    out = WORK / "reports" / f"{key}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    gate_report: dict[str, Any] = {}
    hand_reports: dict[str, Any] = {}
    for i in range(runs):
        # Alternate which side goes first, so neither always gets the warm page cache.
        order = ("gate", "hand") if i % 2 == 0 else ("hand", "gate")
        for side in order:
            if side == "gate":
                wait_for_idle(idle)
                log(f"{key}: policy-gate run {i + 1}/{runs} …")
                m, gate_report = run_gate(tree, out, jobs)
                result.gate.append(m)
                for s in gate_report["scanners"]:
                    if s["status"] == "ok":
                        result.gate_scanner_seconds.setdefault(s["name"], []).append(s["seconds"])
                    elif s["status"] != "disabled":
                        raise RuntimeError(f"gate: {s['name']} {s['status']}: {s['reason']}")
                log(f"{key}: gate {m.seconds:.1f} s (exit {m.returncode})")
            else:
                log(f"{key}: by hand run {i + 1}/{runs} …")
                hand = by_hand(tree, url, jobs, idle)
                for name, (m, report) in hand.items():
                    result.hand.setdefault(name, []).append(m)
                    hand_reports[name] = report
                result.hand_totals.append(sum(m.seconds for m, _ in hand.values()))
                log(
                    f"{key}: by hand {result.hand_totals[-1]:.1f} s ("
                    + ", ".join(f"{n} {m.seconds:.1f}" for n, (m, _) in hand.items())
                    + ")"
                )
    result.gate_files = gate_report["scan"]["files"]
    result.gate_verdict = gate_report["verdict"]
    excluded = gate_report["scan"]["excluded"]
    if excluded:
        result.notes.append(
            f"gate excluded {len(excluded)} path(s) by policy: {', '.join(excluded[:5])}"
        )
    for s in gate_report["scanners"]:
        if s["status"] == "ok":
            for note in s["notes"]:
                result.notes.append(f"gate {s['name']}: {note}")
    for s in gate_report["scanners"]:
        # osv (npm lockfiles) and licenses run in-process and have no by-hand twin here
        if s["status"] != "ok" or s["name"] not in hand_reports:
            continue
        name = s["name"]
        gk = gate_keys(gate_report, name)
        hk = hand_keys(name, hand_reports[name])
        unscanned = sum(1 for k in gk if k[2] in ("file-not-analysed", "dependency-not-audited"))
        why = explain(gk, hk, depth=3 if name == "pip-audit" else 2)
        result.counts.append((name, s["raw_results"], unscanned, len(hk), why))
    result.notes.append(
        f"gate verdict {result.gate_verdict}; {result.gate_files:,} files in scope of "
        f"{result.files['all']:,}"
    )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per side (median reported)")
    parser.add_argument("--write", action="store_true", help="rewrite README.md's results")
    parser.add_argument("--jobs", type=int, help="pass --jobs N to the gate (and the tools)")
    parser.add_argument(
        "--workload",
        action="append",
        choices=list(WORKLOADS),
        help="run only these workloads (repeatable; default: all)",
    )
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=60.0,
        metavar="S",
        help="before each measurement wait up to S seconds for other processes to go quiet",
    )
    args = parser.parse_args(argv)
    if not ADVISORIES.is_dir():
        sys.exit(f"bench: advisory database not found at {ADVISORIES}")
    WORK.mkdir(parents=True, exist_ok=True)
    log(f"python {sys.executable}; {os.cpu_count()} cores")

    trees: list[tuple[str, Path]] = []
    for key in args.workload or list(WORKLOADS):
        tree = WORKLOADS[key][1]()
        if tree is not None:
            trees.append((key, tree))

    results = []
    with osv_server() as (url, load_seconds):
        log(f"OSV server for the by-hand pip-audit at {url} (loaded in {load_seconds:.1f} s)")
        for key, tree in trees:
            results.append(bench_workload(key, tree, args.runs, args.jobs, url, args.idle_wait))
    table = render(results, args.runs, args.jobs)
    table += (
        f"\nThe by-hand pip-audit used an in-process OSV server over the same database; "
        f"loading it took {load_seconds:.1f} s, not counted in the by-hand times (the gate "
        "loads it on every run, inside its time).\n"
    )
    print(table)
    if args.write:
        write_readme(table)
        log(f"wrote {README.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
