"""Synthetic findings for the overhead part: about N findings (after merging) built the
way the scanner adapters build them (the same constructors, CWE flaw keys, content keys,
SecretInfo and DependencyInfo), with inline suppressions and a waivers file, over a tree
of ~3,000 paths with several findings per file.

A real tree with 10,000 findings would take minutes to scan; building them directly
leaves only the gate's own work to time. Everything is drawn from one seeded generator in
a fixed order, so every run times the same findings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from synthetic_mix import (
    BANDIT,
    DUPLICATE_SHARE,
    JS_CODE,
    MIX,
    N_WAIVERS,
    SECRET_KINDS,
    SUPPRESSED_SHARE,
    WORDS,
    WORKFLOW_RULES,
    SemgrepRule,
    semgrep_rules,
)

from policy_gate.base.redact import mask, sha1_hex
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
    merge_findings,
)
from policy_gate.packages import Package
from policy_gate.policy.suppressions import bare_findings
from policy_gate.results import NOSEC, NOSEMGREP, Suppression
from policy_gate.scanners import data_protection as dp
from policy_gate.scanners import detect_secrets as ds
from policy_gate.scanners.dockerfile import HELP as DOCKER_HELP
from policy_gate.scanners.dockerfile import TITLES as DOCKER_TITLES
from policy_gate.scanners.interface import unscanned_finding
from policy_gate.scanners.vulnerability import vulnerable_package


@dataclass
class Synthetic:
    """What the scanners would have handed back, plus the gate's own inputs."""

    root: Path
    files: list[str]
    outputs: dict[str, list[Finding]] = field(default_factory=dict)  # scanner -> findings
    inventory: dict[str, list[Package]] = field(default_factory=dict)  # scanner -> packages
    suppressions: list[Suppression] = field(default_factory=list)
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


@dataclass
class Layout:
    """The paths of the synthetic tree, by kind."""

    py: list[str]
    tests: list[str]
    js: list[str]
    config: list[str]
    fixtures: list[str]
    dockerfiles: list[str]
    workflows: list[str]
    requirements: list[str]
    lockfiles: list[str]

    def files(self) -> list[str]:
        return sorted(
            {
                *self.py,
                *self.tests,
                *self.js,
                *self.config,
                *self.fixtures,
                *self.dockerfiles,
                *self.workflows,
                *self.requirements,
                *self.lockfiles,
                *(f"docs/{w}.md" for w in WORDS),
            }
        )


def layout(rng: random.Random) -> Layout:
    """~3,000 paths: Python services and tests, a JS front end, configuration, fixtures,
    Dockerfiles, workflows, requirements files and npm lockfiles."""
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
    return Layout(py, tests, js, config, fixtures, dockerfiles, workflows, requirements, lockfiles)


def build(n: int, root: Path, seed: int = 7) -> Synthetic:
    """About ``n`` findings after merging, spread over a tree of ~3,000 files.

    Every kind draws from the same generator, in this order; reordering the calls changes
    the findings (and so what is timed)."""
    b = Builder(n, root, random.Random(seed))
    b.sast()
    b.secrets()
    b.data_protection()
    b.audit("pip-audit", "PyPI", b.tree.requirements, b.want["pip-audit"])
    b.audit("osv", "npm", b.tree.lockfiles, b.want["osv"])
    b.unpinned()
    b.licenses()
    b.unscanned()
    b.ci()
    b.bare_suppressions()
    b.out.waivers_yaml = waivers_file(b.out, b.rng)
    return b.out


class Builder:
    """Adds each kind of finding to one ``Synthetic``, drawing from one generator."""

    def __init__(self, n: int, root: Path, rng: random.Random) -> None:
        self.rng = rng
        self.want = {k: round(v * n) for k, v in MIX.items()}
        self.tree = layout(rng)
        self.out = Synthetic(root, self.tree.files())
        self.places = Places(rng, self.tree.py)
        self.js_places = Places(rng, self.tree.js)

    def add(self, scanner: str, finding: Finding) -> None:
        self.out.outputs.setdefault(scanner, []).append(finding)

    # -- SAST: bandit, some with a semgrep twin on the same line and CWE -------------------

    def sast(self) -> None:
        rules = semgrep_rules()
        py_rules = [r for r in rules if not r.js]
        js_rules = [r for r in rules if r.js]
        twins = {
            c: [r for r in py_rules if r.cwes and r.cwes[0] == c]
            for c in {f"CWE-{b[2]}" for b in BANDIT}
        }
        self.bandit(twins)
        self.semgrep_only(py_rules, js_rules)

    def bandit(self, twins: dict[str, list[SemgrepRule]]) -> None:
        rng, want, tests = self.rng, self.want, self.tree.tests
        for i in range(want["bandit"] + want["bandit-tests"]):
            test_id, name, cwe, sev, conf, text, code = rng.choice(BANDIT)
            if i < want["bandit"]:
                path, line = self.places.take()
            else:
                path, line = self.places.take(rng.choice(tests))
            code = code.format(n=rng.randint(0, 9))  # repeats in a file: occurrence indexes
            flaw = cwe_id(cwe) or f"bandit:{test_id}"
            self.add(
                "bandit",
                Finding(
                    category=SAST,
                    sources=(
                        Source(
                            "bandit", test_id, Severity.parse(sev), Confidence.parse(conf), text
                        ),
                    ),
                    path=path,
                    start_line=line,
                    end_line=line,
                    message=text,
                    flaw_key=flaw,
                    content_key=content_key(code),
                    cwe=(flaw,),
                    title=name,
                    help_url=f"https://bandit.readthedocs.io/en/1.7.10/plugins/"
                    f"{test_id.lower()}_{name}.html",
                ),
            )
            if twins.get(flaw) and rng.random() < DUPLICATE_SHARE:
                self.add("semgrep", self.semgrep(rng.choice(twins[flaw]), path, line, code))
            if rng.random() < SUPPRESSED_SHARE:
                self.out.suppressions.append(
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

    def semgrep_only(self, py_rules: list[SemgrepRule], js_rules: list[SemgrepRule]) -> None:
        rng = self.rng
        for i in range(self.want["semgrep"]):
            if i % 4 == 3:  # some Python results bandit has no test for
                rule = rng.choice(py_rules)
                path, line = self.places.take()
            else:
                rule = rng.choice(js_rules)
                path, line = self.js_places.take()
            code = rng.choice(JS_CODE).format(n=rng.randint(0, 9))
            self.add("semgrep", self.semgrep(rule, path, line, code))

    def semgrep(self, rule: SemgrepRule, path: str, line: int, code: str) -> Finding:
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
            end_line=line + self.rng.choice((0, 0, 1, 2)),
            message=message,
            flaw_key=rule.cwes[0] if rule.cwes else f"semgrep:{rule.id}",
            content_key=content_key(code),
            cwe=rule.cwes,
            title=rule.id,
            fix=rule.fix,
            help_url=rule.url,
        )

    # -- secrets: detect-secrets and the gate's data-protection scanner --------------------

    def secrets(self) -> None:
        rng, t = self.rng, self.tree
        secret_places = Places(rng, [*t.config, *t.py, *t.js, *t.fixtures])
        values = [
            hashlib.sha256(f"secret-{i}".encode()).hexdigest()[: rng.randint(20, 40)]
            for i in range(self.want["detect-secrets"] // 2 + 1)
        ]
        for _ in range(self.want["detect-secrets"]):
            kind = rng.choice(SECRET_KINDS)
            value = rng.choice(values)  # the same secret in several files
            hashed = sha1_hex(value)
            severity, confidence = ds.GRADES.get(kind, ds.UNKNOWN_GRADE)
            preview = mask(value)
            message = (
                f"{kind} committed to the repository ({preview}, sha1:{hashed[:7]}…). Rotate "
                "it, remove it from the code and history, and load it from a secret store."
            )
            path, line = secret_places.take()
            self.add(
                "detect-secrets",
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
                ),
            )

    def data_protection(self) -> None:
        pans = sorted(dp.TEST_PANS)
        data_places = Places(self.rng, self.tree.fixtures + self.tree.config)
        for i in range(self.want["data-protection"]):
            path, line = data_places.take()
            if i % 10 == 9:  # key material detect-secrets misses
                self.add("data-protection", private_key(i, path, line))
            else:
                self.add("data-protection", card_number(self.rng.choice(pans), i, path, line))

    # -- dependencies: vulnerable pins (pip-audit), npm lockfiles (osv), licences ----------

    def advisories(self, k: int) -> list[tuple[str, list[str]]]:
        rng = self.rng
        out_ = []
        for _ in range(k):
            ghsa = "GHSA-" + "-".join(
                "".join(rng.choice("23456789cfghjmpqrvwx") for _ in range(4)) for _ in range(3)
            )
            out_.append((ghsa, [f"CVE-20{rng.randint(18, 24)}-{rng.randint(1000, 49999)}"]))
        return out_

    def audit(self, scanner: str, ecosystem: str, manifests: list[str], count: int) -> None:
        made = 0
        i = 0
        while made < count:
            pkg = self.package(ecosystem, manifests[i % len(manifests)], i)
            self.out.inventory.setdefault(scanner, []).append(pkg)
            for advisory, aliases in self.advisories(self.rng.randint(1, 5)):
                fix = f"{int(pkg.version.split('.')[0]) + 1}.0.0"
                self.add(
                    scanner,
                    vulnerable_package(
                        scanner,
                        pkg,
                        advisory=advisory,
                        aliases=aliases,
                        fixed=[fix],
                        description="A crafted request can make the parser allocate unbounded "
                        "memory or run attacker-controlled code. " * 4,
                        fix=fix,
                        severity=self.rng.choice(list(Severity)[1:]),
                    ),
                )
                made += 1
            i += 1

    def package(self, ecosystem: str, manifest: str, i: int) -> Package:
        """The ``i``-th package of an inventory; npm ones mostly transitive."""
        rng = self.rng
        name = f"{rng.choice(WORDS)}-{'lib' if ecosystem == 'npm' else 'py'}-{i}"
        version = f"{rng.randint(0, 4)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
        direct = ecosystem == "PyPI" or rng.random() < 0.2
        above = [f"{rng.choice(WORDS)}-dep-{j}@1.{j}.0" for j in range(rng.randint(1, 4))]
        chain = () if direct else (*above, f"{name}@{version}")
        return Package(
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

    def unpinned(self) -> None:
        for i in range(self.want["unpinned"]):
            manifest = self.rng.choice(self.tree.requirements)
            name = f"{self.rng.choice(WORDS)}-unpinned-{i}"
            message = f"{name}>=1.0 is not pinned to one version, so it cannot be audited."
            self.add(
                "pip-audit",
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
                ),
            )

    def licenses(self) -> None:
        npm = self.out.inventory["osv"]
        for pkg in self.rng.sample(npm, min(self.want["licenses"], len(npm))):
            self.add("licenses", license_denied(pkg))

    # -- files a scanner could not analyse, CI files, bare suppressions --------------------

    def unscanned(self) -> None:
        rng, t = self.rng, self.tree
        everything = [*t.py, *t.js, *t.fixtures]
        unparsed = iter(rng.sample(everything, len(everything)))
        for i in range(self.want["unscanned"]):
            scanner = ("bandit", "semgrep", "detect-secrets")[i % 3]
            path = next(p for p in unparsed if scanner != "bandit" or p.endswith(".py"))
            reason = rng.choice(
                (
                    "syntax error while parsing AST from file",
                    "Syntax error: unexpected token at line 3",
                    "text that is not valid UTF-8; not scanned for secrets",
                )
            )
            self.add(scanner, unscanned_finding(scanner, path, reason))

    def ci(self) -> None:
        """Dockerfile (hadolint) and workflow (zizmor) findings."""
        docker_rules = sorted(DOCKER_TITLES)
        docker_places = Places(self.rng, self.tree.dockerfiles)
        workflow_places = Places(self.rng, self.tree.workflows)
        for i in range(self.want["dockerfile"]):
            path, line = docker_places.take()
            rule_id = docker_rules[i % len(docker_rules)]
            self.add("dockerfile", dockerfile_finding(rule_id, i, path, line))
        for i in range(self.want["workflows"]):
            path, line = workflow_places.take()
            rule_id = WORKFLOW_RULES[i % 4]
            self.add("workflows", workflow_finding(rule_id, i, path, line))

    def bare_suppressions(self) -> None:
        for i in range(self.want["suppression"]):
            path, line = self.places.take() if i % 3 else self.js_places.take()
            kind, text = (NOSEC, "nosec") if path.endswith(".py") else (NOSEMGREP, "nosemgrep")
            self.out.suppressions.append(Suppression(path, line, kind, (), "", line, text))


# --------------------------------------------------------------------------- single findings


def private_key(i: int, path: str, line: int) -> Finding:
    """Key material detect-secrets misses, as the data-protection scanner reports it."""
    digest = hashlib.sha256(f"key-{i}".encode()).hexdigest()
    message = (
        f"Private key committed (sha256:{digest[:12]}…). Keys belong in a "
        "secret store or HSM, not the repository (M12)."
    )
    return Finding(
        category=SECRET,
        sources=(Source(dp.SCANNER, dp.RULE_PEM, Severity.HIGH, Confidence.HIGH, message),),
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


def card_number(digits: str, i: int, path: str, line: int) -> Finding:
    """A card number (mostly published test numbers) as the data-protection scanner
    reports it."""
    test = i % 7 != 0
    hashed, ident = dp.pan_digest(digits, None)
    rule_id = dp.RULE_TEST_PAN if test else dp.RULE_PAN
    message = f"Card number ({dp.preview(digits)}) committed."
    return Finding(
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


def license_denied(pkg: Package) -> Finding:
    message = f"npm package {pkg.ref} fails the licence policy: GPL-3.0-only is denied."
    return Finding(
        category=LICENSE,
        sources=(Source("licenses", "license-denied", Severity.HIGH, Confidence.HIGH, message),),
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


def dockerfile_finding(rule_id: str, i: int, path: str, line: int) -> Finding:
    message = f"{DOCKER_TITLES[rule_id]} (line {line})."
    return Finding(
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


def workflow_finding(rule_id: str, i: int, path: str, line: int) -> Finding:
    message = f"{rule_id}: see the zizmor audit documentation."
    return Finding(
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


def waivers_file(s: Synthetic, rng: random.Random) -> str:
    """A realistic waivers file: fingerprints (from a merge done here, not timed), rules
    in some places, and advisories; valid for 20 days, created today."""

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
