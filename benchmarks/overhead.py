#!/usr/bin/env python3
"""Time what policy-gate does after its scanners return, on 10,000 synthetic findings.

Issue 7 asks that the gate's own work (everything that is not a scanner) stays under 1 s
for 10,000 findings. A real tree with that many findings would take minutes to scan and
the scanners' time would drown the gate's, so this builds the findings directly, the way
the scanner adapters do (the same constructors, CWE flaw keys, content keys, SecretInfo
and DependencyInfo), and times each step the gate then runs, through the functions the
CLI uses:

* loading the built-in ``mojaloop`` policy and a waivers file (before the scanners);
* ``bare_findings`` + ``merge_findings`` (merging, fingerprinting), as the runner does;
* ``evaluate`` with the ``Inputs`` that ``gate.run`` builds (waivers, suppressions);
* every report, through ``cli.write_reports`` as ``policy-gate scan --format … --output
  …`` writes them: json, sarif, junit, markdown, cyclonedx, openvex and compliance
  (Markdown + HTML) files and the terminal summary. With more than one core and this many
  findings it forks a second process that writes about half of the files meanwhile. Each
  format alone, rendered one after another, is also shown, not in the total.

Each run is a fresh interpreter (``--child``), so the steps pay the lazy imports the real
CLI pays once per scan; the median of ``--runs`` is reported. Interpreter start-up and
the CLI's imports are timed separately (``policy-gate --version``) and not in the total.

    python benchmarks/overhead.py --runs 5 [--findings 10000] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RULES = REPO / "policy_gate" / "rules" / "semgrep"
POLICY = "builtin:mojaloop"
LIMIT_SECONDS = 1.0
FORMATS = ("json", "sarif", "junit", "markdown", "cyclonedx", "openvex")

# --------------------------------------------------------------------------- the mix

# Shares of the findings a report holds after merging (they add up to 1). Modelled on the
# generated workload and on Mojaloop services: SAST dominates, then dependencies.
MIX = {
    "bandit": 0.50,
    "semgrep": 0.17,  # JavaScript and Python rules semgrep alone reports
    "detect-secrets": 0.06,
    "data-protection": 0.03,
    "pip-audit": 0.05,
    "osv": 0.06,
    "unpinned": 0.01,
    "licenses": 0.02,
    "unscanned": 0.03,
    "dockerfile": 0.01,
    "workflows": 0.01,
    "suppression": 0.02,  # bare `# nosec` / `// nosemgrep` comments
    "bandit-tests": 0.03,  # more bandit results, in test code
}
DUPLICATE_SHARE = 0.4  # of bandit results with a semgrep twin (same CWE, same line)
SUPPRESSED_SHARE = 0.02  # of bandit results under a `# nosec B…` naming their rule
N_WAIVERS = 60

# bandit tests the generated workload triggers: (id, name, CWE, severity, confidence,
# issue text, line of code).
BANDIT = (
    (
        "B101",
        "assert_used",
        703,
        "LOW",
        "HIGH",
        "Use of assert detected. The enclosed code will be removed when compiling to "
        "optimised byte code.",
        "assert amount >= 0, 'negative amount'",
    ),
    (
        "B105",
        "hardcoded_password_string",
        259,
        "LOW",
        "MEDIUM",
        "Possible hardcoded password: '[REDACTED]'",
        'DB_PASSWORD = "changeme-{n}"',
    ),
    (
        "B311",
        "blacklist",
        330,
        "LOW",
        "HIGH",
        "Standard pseudo-random generators are not suitable for security/cryptographic purposes.",
        "token = random.randint(0, {n})",
    ),
    (
        "B324",
        "hashlib",
        327,
        "HIGH",
        "HIGH",
        "Use of weak MD5 hash for security. Consider usedforsecurity=False",
        "return hashlib.md5(data).hexdigest()",
    ),
    (
        "B602",
        "subprocess_popen_with_shell_equals_true",
        78,
        "HIGH",
        "HIGH",
        "subprocess call with shell=True identified, security issue.",
        "return subprocess.call(cmd, shell=True)",
    ),
    (
        "B603",
        "subprocess_without_shell_equals_true",
        78,
        "LOW",
        "HIGH",
        "subprocess call - check for execution of untrusted input.",
        "subprocess.run([TOOL, '--json', path{n}], check=False)",
    ),
    (
        "B608",
        "hardcoded_sql_expressions",
        89,
        "MEDIUM",
        "LOW",
        "Possible SQL injection vector through string-based query construction.",
        "cursor.execute(\"SELECT * FROM transfers WHERE id = '%s'\" % ident)",
    ),
    (
        "B301",
        "blacklist",
        502,
        "MEDIUM",
        "HIGH",
        "Pickle and modules that wrap it can be unsafe when used to deserialize untrusted "
        "data, possible security issue.",
        "return pickle.loads(blob)",
    ),
    (
        "B506",
        "yaml_load",
        20,
        "MEDIUM",
        "HIGH",
        "Use of unsafe yaml load. Allows instantiation of arbitrary objects. Consider "
        "yaml.safe_load().",
        "return yaml.load(text)",
    ),
    (
        "B501",
        "request_with_no_cert_validation",
        295,
        "HIGH",
        "HIGH",
        "Call to requests with verify=False disabling SSL certificate checks, security issue.",
        "requests.get(url, verify=False, timeout={n})",
    ),
    (
        "B404",
        "blacklist",
        78,
        "LOW",
        "HIGH",
        "Consider possible security implications associated with the subprocess module.",
        "import subprocess",
    ),
)
JS_CODE = (
    "exec('tar czf /tmp/out.tgz ' + name{n})",
    "return eval(expr{n})",
    "crypto.createHash('md5').update(body{n}).digest('hex')",
    "const agent = new https.Agent({{ rejectUnauthorized: false }})",
    "knex.raw(`SELECT * FROM quote WHERE id = ${{id{n}}}`)",
)
SECRET_KINDS = (
    "AWS Access Key",
    "GitHub Token",
    "Slack Token",
    "Secret Keyword",
    "Base64 High Entropy String",
    "Hex High Entropy String",
    "Private Key",
    "JSON Web Token",
    "Basic Auth Credentials",
)
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
)


@dataclass(frozen=True)
class SemgrepRule:
    id: str
    js: bool
    severity: str
    confidence: str
    cwes: tuple[str, ...]
    message: str
    fix: str
    url: str | None


def semgrep_rules() -> list[SemgrepRule]:
    """The gate's own rule pack, so rule ids, grades and CWEs are the real ones."""
    import yaml

    from policy_gate.findings import cwe_id

    rules = []
    for path in sorted(RULES.glob("*.yaml")):
        for rule in yaml.safe_load(path.read_text("utf-8"))["rules"]:
            meta = rule.get("metadata", {})
            raw = meta.get("cwe", [])
            cwes = tuple(
                c for c in (cwe_id(x) for x in (raw if isinstance(raw, list) else [raw])) if c
            )
            refs = meta.get("references") or [None]
            rules.append(
                SemgrepRule(
                    rule["id"],
                    "javascript" in rule.get("languages", []) or "js" in rule.get("languages", []),
                    str(meta.get("severity", "medium")),
                    str(meta.get("confidence", "medium")),
                    cwes,
                    " ".join(str(rule.get("message", "")).split()),
                    str(meta.get("fix", "")),
                    refs[0],
                )
            )
    return rules


# --------------------------------------------------------------------------- building


@dataclass
class Synthetic:
    """What the scanners would have handed back, plus the gate's own inputs."""

    root: Path
    files: list[str]
    outputs: dict[str, list[Any]] = field(default_factory=dict)  # scanner -> findings
    inventory: dict[str, list[Any]] = field(default_factory=dict)  # scanner -> packages
    suppressions: list[Any] = field(default_factory=list)
    waivers_yaml: str = ""


class Places:
    """Files and distinct lines in them: several findings per file, as in real code."""

    def __init__(self, rng: random.Random, paths: Sequence[str]) -> None:
        self.rng, self.paths = rng, list(paths)
        self.next_line: dict[str, int] = {}

    def take(self, path: str | None = None) -> tuple[str, int]:
        path = path or self.rng.choice(self.paths)
        line = self.next_line.get(path, self.rng.randint(3, 20)) + self.rng.randint(1, 12)
        self.next_line[path] = line
        return path, line


def build(n: int, root: Path, seed: int = 7) -> Synthetic:
    """About ``n`` findings after merging, spread over a tree of ~3,000 files."""
    from policy_gate.findings import (
        CI,
        DATA,
        DEPENDENCY,
        LICENSE,
        SAST,
        SECRET,
        Confidence,
        DependencyInfo,
        Finding,
        SecretInfo,
        Severity,
        Source,
        content_key,
        cwe_id,
    )
    from policy_gate.redact import mask, sha1_hex
    from policy_gate.scanners import data_protection as dp
    from policy_gate.scanners import detect_secrets as ds
    from policy_gate.scanners.dockerfile import HELP as DOCKER_HELP
    from policy_gate.scanners.dockerfile import TITLES as DOCKER_TITLES
    from policy_gate.scanners.interface import unscanned_finding
    from policy_gate.scanners.vulnerability import vulnerable_package
    from policy_gate.suppressions import NOSEC, NOSEMGREP, Suppression

    rng = random.Random(seed)
    want = {k: round(v * n) for k, v in MIX.items()}
    py = [
        f"services/{WORDS[p % len(WORDS)]}_{p:02d}/{rng.choice(WORDS)}_{m}.py"
        for p in range(40)
        for m in range(45)
    ]
    tests = [f"tests/{WORDS[p % len(WORDS)]}/test_{m}.py" for p in range(10) for m in range(30)]
    js = [
        f"web/src/{WORDS[d % len(WORDS)]}-{d}/{rng.choice(WORDS)}-{f}.js"
        for d in range(30)
        for f in range(20)
    ]
    config = [
        f"deploy/{env}/{name}"
        for env in ("dev", "qa", "perf", "prod")
        for name in ("values.yaml", ".env", "config.json", "docker-compose.yml")
    ]
    fixtures = [f"tests/fixtures/{w}-{i}.json" for w in WORDS for i in range(4)]
    dockerfiles = [f"docker/{w}/Dockerfile" for w in WORDS] + ["Dockerfile"]
    workflows = [f".github/workflows/{w}.yml" for w in ("ci", "release", "nightly", "pr")]
    requirements = [
        "requirements.txt",
        "requirements/dev.txt",
        "requirements/test.txt",
        "services/requirements-worker.txt",
        "tools/requirements.txt",
    ]
    lockfiles = ["package-lock.json", "web/package-lock.json", "tools/cli/package-lock.json"]
    files = sorted(
        {
            *py,
            *tests,
            *js,
            *config,
            *fixtures,
            *dockerfiles,
            *workflows,
            *requirements,
            *lockfiles,
            *(f"docs/{w}.md" for w in WORDS),
        }
    )
    out = Synthetic(root, files)
    places = Places(rng, py)
    add = out.outputs.setdefault

    # -- SAST: bandit, some with a semgrep twin on the same line and CWE -------------------
    rules = semgrep_rules()
    py_rules = [r for r in rules if not r.js]
    js_rules = [r for r in rules if r.js]
    twins = {
        c: [r for r in py_rules if r.cwes and r.cwes[0] == c]
        for c in {f"CWE-{b[2]}" for b in BANDIT}
    }

    def semgrep(rule: SemgrepRule, path: str, line: int, code: str) -> Finding:
        message = rule.message
        return Finding(
            category=SAST,
            sources=(
                Source(
                    "semgrep",
                    rule.id,
                    Severity.parse(rule.severity),
                    Confidence.parse(rule.confidence),
                    message,
                ),
            ),
            path=path,
            start_line=line,
            end_line=line + rng.choice((0, 0, 1, 2)),
            message=message,
            flaw_key=rule.cwes[0] if rule.cwes else f"semgrep:{rule.id}",
            content_key=content_key(code),
            cwe=rule.cwes,
            title=rule.id,
            fix=rule.fix,
            help_url=rule.url,
        )

    bandit_places: list[tuple[str, int, str]] = []
    for i in range(want["bandit"] + want["bandit-tests"]):
        test_id, name, cwe, sev, conf, text, code = rng.choice(BANDIT)
        path, line = places.take() if i < want["bandit"] else places.take(rng.choice(tests))
        code = code.format(n=rng.randint(0, 9))  # repeats in a file: occurrence indexes
        flaw = cwe_id(cwe) or f"bandit:{test_id}"
        add("bandit", []).append(
            Finding(
                category=SAST,
                sources=(
                    Source("bandit", test_id, Severity.parse(sev), Confidence.parse(conf), text),
                ),
                path=path,
                start_line=line,
                end_line=line,
                message=text,
                flaw_key=flaw,
                content_key=content_key(code),
                cwe=(flaw,),
                title=name,
                help_url=f"https://bandit.readthedocs.io/en/1.7.10/plugins/{test_id.lower()}_"
                f"{name}.html",
            )
        )
        bandit_places.append((path, line, test_id))
        if twins.get(flaw) and rng.random() < DUPLICATE_SHARE:
            add("semgrep", []).append(semgrep(rng.choice(twins[flaw]), path, line, code))
        if rng.random() < SUPPRESSED_SHARE:
            out.suppressions.append(
                Suppression(
                    path,
                    line,
                    NOSEC,
                    (test_id,),
                    "reviewed: input is a constant",
                    line,
                    f"nosec {test_id} - reviewed: input is a constant",
                )
            )

    js_places = Places(rng, js)
    for i in range(want["semgrep"]):
        if i % 4 == 3:  # some Python results bandit has no test for
            rule = rng.choice(py_rules)
            path, line = places.take()
        else:
            rule = rng.choice(js_rules)
            path, line = js_places.take()
        code = rng.choice(JS_CODE).format(n=rng.randint(0, 9))
        add("semgrep", []).append(semgrep(rule, path, line, code))

    # -- secrets: detect-secrets and the gate's data-protection scanner --------------------
    secret_places = Places(rng, [*config, *py, *js, *fixtures])
    values = [
        hashlib.sha256(f"secret-{i}".encode()).hexdigest()[: rng.randint(20, 40)]
        for i in range(want["detect-secrets"] // 2 + 1)
    ]
    for _ in range(want["detect-secrets"]):
        kind = rng.choice(SECRET_KINDS)
        value = rng.choice(values)  # the same secret in several files
        hashed = sha1_hex(value)
        severity, confidence = ds.GRADES.get(kind, ds.UNKNOWN_GRADE)
        preview = mask(value)
        message = (
            f"{kind} committed to the repository ({preview}, sha1:{hashed[:7]}…). Rotate it, "
            "remove it from the code and history, and load it from a secret store."
        )
        path, line = secret_places.take()
        add("detect-secrets", []).append(
            Finding(
                category=SECRET,
                sources=(
                    Source("detect-secrets", ds.rule_id(kind), severity, confidence, message),
                ),
                path=path,
                start_line=line,
                end_line=line,
                message=message,
                flaw_key=f"secret:{hashed}",
                content_key=hashed,
                title=f"{kind} in source",
                secret=SecretInfo(kind=kind, preview=preview, hash=f"sha1:{hashed}"),
            )
        )
    pans = sorted(dp.TEST_PANS)
    data_places = Places(rng, fixtures + config)
    for i in range(want["data-protection"]):
        path, line = data_places.take()
        if i % 10 == 9:  # key material detect-secrets misses
            digest = hashlib.sha256(f"key-{i}".encode()).hexdigest()
            message = (
                f"Private key committed (sha256:{digest[:12]}…). Keys belong in a "
                "secret store or HSM, not the repository (M12)."
            )
            add("data-protection", []).append(
                Finding(
                    category=SECRET,
                    sources=(
                        Source(dp.SCANNER, dp.RULE_PEM, Severity.HIGH, Confidence.HIGH, message),
                    ),
                    path=path,
                    start_line=line,
                    end_line=line,
                    message=message,
                    flaw_key=f"{dp.RULE_PEM}:{digest[:12]}",
                    content_key=digest[:32],
                    title="Private key in repository",
                    fix="Rotate the key.",
                    secret=SecretInfo(
                        kind="Private key (PEM)", preview=dp.KEY_PREVIEW, hash=f"sha256:{digest}"
                    ),
                )
            )
            continue
        digits = rng.choice(pans)
        test = i % 7 != 0
        hashed, ident = dp.pan_digest(digits, None)
        rule_id = dp.RULE_TEST_PAN if test else dp.RULE_PAN
        message = f"Card number ({dp.preview(digits)}) committed."
        add("data-protection", []).append(
            Finding(
                category=DATA,
                sources=(
                    Source(
                        dp.SCANNER,
                        rule_id,
                        Severity.LOW if test else Severity.HIGH,
                        Confidence.HIGH,
                        message,
                    ),
                ),
                path=path,
                start_line=line,
                end_line=line,
                message=message,
                flaw_key=f"pan:{ident[:12]}",
                content_key=ident[:32],
                title="Payment card number in repository",
                help_url=dp.HELP_URL,
                fix="Replace it with a published test number or a token.",
                secret=SecretInfo(kind=dp.PAN_KIND, preview=dp.preview(digits), hash=hashed),
            )
        )

    # -- dependencies: vulnerable pins (pip-audit), npm lockfiles (osv), licences ----------
    from policy_gate.dependencies.inventory import Package

    def advisories(k: int) -> list[tuple[str, list[str]]]:
        out_ = []
        for _ in range(k):
            ghsa = "GHSA-" + "-".join(
                "".join(rng.choice("23456789cfghjmpqrvwx") for _ in range(4)) for _ in range(3)
            )
            out_.append((ghsa, [f"CVE-20{rng.randint(18, 24)}-{rng.randint(1000, 49999)}"]))
        return out_

    def audit(scanner: str, ecosystem: str, manifests: list[str], count: int) -> None:
        made = 0
        i = 0
        while made < count:
            manifest = manifests[i % len(manifests)]
            name = f"{rng.choice(WORDS)}-{'lib' if ecosystem == 'npm' else 'py'}-{i}"
            version = f"{rng.randint(0, 4)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
            direct = ecosystem == "PyPI" or rng.random() < 0.2
            above = [f"{rng.choice(WORDS)}-dep-{j}@1.{j}.0" for j in range(rng.randint(1, 4))]
            chain = () if direct else (*above, f"{name}@{version}")
            pkg = Package(
                ecosystem,
                name,
                version,
                manifest,
                line=10 + i,
                direct=direct,
                dev=rng.random() < 0.3,
                path=chain,
                license=rng.choice(("MIT", "ISC", "Apache-2.0", "GPL-3.0-only", None)),
            )
            out.inventory.setdefault(scanner, []).append(pkg)
            for advisory, aliases in advisories(rng.randint(1, 5)):
                fix = f"{int(version.split('.')[0]) + 1}.0.0"
                add(scanner, []).append(
                    vulnerable_package(
                        scanner,
                        pkg,
                        advisory=advisory,
                        aliases=aliases,
                        fixed=[fix],
                        description="A crafted request can make the parser allocate unbounded "
                        "memory or run attacker-controlled code. " * 4,
                        fix=fix,
                        severity=rng.choice(list(Severity)[1:]),
                    )
                )
                made += 1
            i += 1

    audit("pip-audit", "PyPI", requirements, want["pip-audit"])
    audit("osv", "npm", lockfiles, want["osv"])
    for i in range(want["unpinned"]):
        manifest = rng.choice(requirements)
        name = f"{rng.choice(WORDS)}-unpinned-{i}"
        message = f"{name}>=1.0 is not pinned to one version, so it cannot be audited."
        add("pip-audit", []).append(
            Finding(
                category=DEPENDENCY,
                sources=(
                    Source(
                        "pip-audit",
                        "unpinned-requirement",
                        Severity.MEDIUM,
                        Confidence.HIGH,
                        message,
                    ),
                ),
                path=manifest,
                start_line=200 + i,
                end_line=200 + i,
                message=message,
                flaw_key="unpinned-requirement",
                content_key=content_key(f"{name}>=1.0"),
                title=f"Unpinned requirement: {name}",
                dependency=DependencyInfo("PyPI", name, None, requirement=f"{name}>=1.0"),
            )
        )
    npm = out.inventory["osv"]
    for pkg in rng.sample(npm, min(want["licenses"], len(npm))):
        message = f"npm package {pkg.ref} fails the licence policy: GPL-3.0-only is denied."
        add("licenses", []).append(
            Finding(
                category=LICENSE,
                sources=(
                    Source("licenses", "license-denied", Severity.HIGH, Confidence.HIGH, message),
                ),
                path=pkg.manifest,
                start_line=pkg.line,
                end_line=pkg.line,
                message=message,
                flaw_key=f"license:{pkg.name}@{pkg.version}",
                content_key=content_key(f"{pkg.ref}:GPL-3.0-only"),
                title=f"Licence denied: {pkg.ref}",
                dependency=DependencyInfo(
                    pkg.ecosystem,
                    pkg.name,
                    pkg.version,
                    direct=pkg.direct,
                    dev=pkg.dev,
                    path=pkg.path,
                    license="GPL-3.0-only",
                ),
            )
        )

    # -- files a scanner could not analyse, CI files, bare suppressions --------------------
    unparsed = iter(rng.sample([*py, *js, *fixtures], len(py) + len(js) + len(fixtures)))
    for i in range(want["unscanned"]):
        scanner = ("bandit", "semgrep", "detect-secrets")[i % 3]
        path = next(p for p in unparsed if scanner != "bandit" or p.endswith(".py"))
        reason = rng.choice(
            (
                "syntax error while parsing AST from file",
                "Syntax error: unexpected token at line 3",
                "text that is not valid UTF-8; not scanned for secrets",
            )
        )
        add(scanner, []).append(unscanned_finding(scanner, path, reason))
    docker_rules = sorted(DOCKER_TITLES)
    docker_places, workflow_places = Places(rng, dockerfiles), Places(rng, workflows)
    for i in range(want["dockerfile"]):
        path, line = docker_places.take()
        rule_id = docker_rules[i % len(docker_rules)]
        message = f"{DOCKER_TITLES[rule_id]} (line {line})."
        add("dockerfile", []).append(
            Finding(
                category=CI,
                sources=(Source("dockerfile", rule_id, Severity.MEDIUM, Confidence.HIGH, message),),
                path=path,
                start_line=line,
                end_line=line,
                message=message,
                flaw_key=f"dockerfile:{rule_id}",
                content_key=content_key(f"FROM node:{i}"),
                title=DOCKER_TITLES[rule_id],
                help_url=DOCKER_HELP.get(rule_id),
            )
        )
    for i in range(want["workflows"]):
        path, line = workflow_places.take()
        rule_id = ("unpinned-uses", "excessive-permissions", "template-injection", "artipacked")[
            i % 4
        ]
        message = f"{rule_id}: see the zizmor audit documentation."
        add("workflows", []).append(
            Finding(
                category=CI,
                sources=(Source("workflows", rule_id, Severity.MEDIUM, Confidence.HIGH, message),),
                path=path,
                start_line=line,
                end_line=line,
                message=message,
                flaw_key=f"workflows:{rule_id}",
                content_key=content_key(f"uses: actions/x@v{i}"),
                title=rule_id,
                help_url=f"https://docs.zizmor.sh/audits/#{rule_id}",
            )
        )
    for i in range(want["suppression"]):
        path, line = places.take() if i % 3 else js_places.take()
        kind, text = (NOSEC, "nosec") if path.endswith(".py") else (NOSEMGREP, "nosemgrep")
        out.suppressions.append(Suppression(path, line, kind, (), "", line, text))

    out.waivers_yaml = waivers_file(out, rng)
    return out


def waivers_file(s: Synthetic, rng: random.Random) -> str:
    """A realistic waivers file: fingerprints (from a merge done here, not timed), rules
    in some places, and advisories; valid for 20 days, created today."""
    from policy_gate.findings import merge_findings
    from policy_gate.suppressions import bare_findings

    merged = merge_findings(
        [f for fs in s.outputs.values() for f in fs] + bare_findings(s.suppressions)
    )
    today = dt.date.today()
    expires = (today + dt.timedelta(days=20)).isoformat()
    lines = ["version: 1", "waivers:"]

    def entry(key: str, value: str, extra: str = "") -> None:
        lines.extend(
            [
                f"  - {key}: {value}",
                *([extra] if extra else []),
                "    reason: accepted until the next release; tracked in the risk register",
                f"    owner: team-{rng.choice(WORDS)}@example.org",
                f"    expires: {expires}",
                f"    created: {today.isoformat()}",
            ]
        )

    for f in rng.sample(merged, N_WAIVERS // 2):
        entry("fingerprint", f.fingerprint)
    scoped = sorted({(test[0], word) for test in BANDIT for word in WORDS})
    for test_id, word in rng.sample(scoped, N_WAIVERS // 4):
        entry("rule", f"bandit:{test_id}", f'    paths: ["services/{word}_*/**"]')
    deps = [f for f in merged if f.dependency is not None and f.dependency.advisory]
    for f in rng.sample(deps, N_WAIVERS // 4):
        assert f.dependency is not None
        entry("advisory", str(f.dependency.advisory), f"    package: {f.dependency.package}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- one timed run


@contextmanager
def step(times: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    times[name] = time.perf_counter() - started


def child(n: int) -> dict[str, Any]:
    """One pass in this (fresh) interpreter: build untimed, then time each gate step."""
    import policy_gate.cli as cli  # what start-up imports before any scan
    from policy_gate.fileset import FileSet
    from policy_gate.findings import merge_findings
    from policy_gate.policy.evaluate import Inputs, evaluate
    from policy_gate.policy.loader import load_policy
    from policy_gate.reports import terminal
    from policy_gate.reports.interface import ReportData
    from policy_gate.runner import ScannerRun, ScanResult
    from policy_gate.scanners import registry
    from policy_gate.scanners.interface import ScanOutput
    from policy_gate.suppressions import bare_findings
    from policy_gate.waivers import load_waivers

    times: dict[str, float] = {}
    reference: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="overhead-") as tmp:
        root = Path(tmp, "repo")
        root.mkdir()
        reports = Path(tmp, "reports")
        synthetic = build(n, root)

        with step(times, "load policy (builtin:mojaloop)"):
            policy = load_policy(POLICY)
        with step(times, f"load waivers ({N_WAIVERS})"):
            waivers = load_waivers(synthetic.waivers_yaml.encode(), ".policy-gate/waivers.yaml")

        runs = []
        for name, scanner in registry().items():
            settings = policy.scanners.get(name)
            if settings is not None and not settings.enabled:
                runs.append(ScannerRun(name, "disabled", "disabled by the policy"))
                continue
            found = synthetic.outputs.get(name, [])
            not_checked = "no coverage report found" if name == "coverage" else ""
            output = ScanOutput(
                found,
                "1.0.0",
                sum(len(f.sources) for f in found),
                len(scanner.targets(FileSet(root, tuple(synthetic.files)))),
                inventory=synthetic.inventory.get(name, []),
                not_checked=not_checked,
            )
            runs.append(ScannerRun(name, "ok", version="1.0.0", seconds=1.0, output=output))
        raw = [f for r in runs if r.output for f in r.output.findings]

        with step(times, "merge + fingerprint"):
            raw += bare_findings(synthetic.suppressions)
            merged = merge_findings(raw)
        result = ScanResult(
            root=root,
            fileset=FileSet(root, tuple(synthetic.files)),
            runs=runs,
            findings=merged,
            started=time.time(),
            seconds=1.0,
            suppressions=synthetic.suppressions,
        )
        with step(times, "evaluate"):
            inputs = Inputs(
                today=dt.date.today(), waivers=waivers, suppressions=tuple(synthetic.suppressions)
            )
            evaluation = evaluate(policy, merged, (r.outcome for r in runs), inputs)
        gc.freeze()  # as policy_gate.cli does before writing the reports
        data = ReportData(result, policy, evaluation)
        reports.mkdir()
        requests = [(fmt, reports / fmt) for fmt in FORMATS]
        requests.append(("compliance", reports / "compliance.md"))
        every = "every report, as the CLI writes them (`cli.write_reports`)"
        with reports.joinpath("terminal.txt").open("w") as fh, step(times, every):
            cli.write_reports(data, requests, partial(terminal.render, data, cli._console(fh)))
        # For reference (not in the total): each format alone, rendered one after another
        # in this process (their modules are imported by now).
        for fmt, _ in requests:
            with step(reference, fmt):
                cli._render_text(fmt, data, page=True)
        with step(reference, "terminal"):
            terminal.render(data, cli._console(io.StringIO()))
        sizes = {p.name: p.stat().st_size for p in reports.iterdir()}
        keep = os.environ.get("OVERHEAD_KEEP")  # a directory to copy the reports to
        if keep:
            shutil.copytree(reports, keep, dirs_exist_ok=True)
    return {
        "times": times,
        "reference": reference,
        "raw_results": len(raw),
        "findings": len(merged),
        "violations": len(evaluation.violations),
        "by_category": _count(f.category for f in merged),
        "verdict": evaluation.verdict.value,
        "notices": len(evaluation.notices),
        "report_bytes": sizes,
    }


def _count(items: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


# --------------------------------------------------------------------------- the parent


@dataclass
class OverheadResult:
    findings: int
    runs: int
    steps: dict[str, float]  # step -> median seconds
    reference: dict[str, float]  # each report format alone (median seconds; not in total)
    total: float  # median of the per-run totals
    startup: float  # median wall time of `policy-gate --version`
    detail: dict[str, Any]  # the last run's counts

    @property
    def passed(self) -> bool:
        return self.total < LIMIT_SECONDS


def startup_seconds() -> float:
    """Interpreter start-up plus the CLI's imports: what every scan pays first."""
    exe = shutil.which("policy-gate", path=str(Path(sys.executable).parent)) or shutil.which(
        "policy-gate"
    )
    argv = [exe, "--version"] if exe else [sys.executable, "-m", "policy_gate", "--version"]
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def compile_package() -> None:
    """Byte-compile the gate's own modules, as `pip install` does for an installed package
    (and the container image has). An editable install under PYTHONDONTWRITEBYTECODE=1
    would otherwise compile ~60 modules from source in every run (~0.15 s of start-up)."""
    import compileall

    compileall.compile_dir(REPO / "policy_gate", quiet=1)


def measure(
    n: int = 10_000, runs: int = 5, log: Callable[[str], None] | None = None
) -> OverheadResult:
    """``runs`` fresh interpreters, each timing one pass; medians per step and of totals."""
    per_run: list[dict[str, Any]] = []
    compile_package()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    for i in range(runs):
        done = subprocess.run(
            [sys.executable, __file__, "--child", "--findings", str(n)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        per_run.append(json.loads(done.stdout))
        if log:
            log(f"overhead run {i + 1}/{runs}: {sum(per_run[-1]['times'].values()):.2f} s")
    names = list(per_run[0]["times"])
    steps = {k: statistics.median(r["times"][k] for r in per_run) for k in names}
    reference = {
        k: statistics.median(r["reference"][k] for r in per_run) for k in per_run[0]["reference"]
    }
    total = statistics.median(sum(r["times"].values()) for r in per_run)
    startup = statistics.median(startup_seconds() for _ in range(runs))
    return OverheadResult(
        per_run[-1]["findings"], runs, steps, reference, total, startup, per_run[-1]
    )


def render(r: OverheadResult) -> str:
    """Markdown: the steps, the total against the 1 s target, and what was built."""
    d = r.detail
    lines = [
        f"{r.findings:,} findings after merging ({d['raw_results']:,} scanner results; "
        + ", ".join(f"{k} {v:,}" for k, v in d["by_category"].items())
        + f"); verdict {d['verdict']}, {d['violations']:,} violations, {d['notices']} "
        f"notices; median of {r.runs} fresh interpreter(s):",
        "",
        "| step | seconds |",
        "|---|---:|",
        *(f"| {k} | {v:.3f} |" for k, v in r.steps.items()),
        f"| **total (target < {LIMIT_SECONDS:g} s)** | **{r.total:.3f}** "
        f"({'pass' if r.passed else 'FAIL'}) |",
        f"| *not in the total:* start-up (`policy-gate --version`) | {r.startup:.3f} |",
        *(f"| *not in the total:* `{k}` alone, rendered in-process | {v:.3f} |"
          for k, v in r.reference.items()),
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--findings", type=int, default=10_000, help="findings after merging")
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters (median)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.findings)))
        return 0
    result = measure(
        args.findings,
        args.runs,
        lambda m: print(f"[{time.strftime('%H:%M:%S')}] {m}", file=sys.stderr),
    )
    if args.json:
        print(json.dumps({**result.__dict__, "passed": result.passed}, indent=2))
    else:
        print(render(result))
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
