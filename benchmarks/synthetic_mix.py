"""What the overhead part's synthetic findings are made of: the share of each kind after
merging, the bandit tests and JavaScript lines they point at, the secret kinds, and the
gate's own semgrep rules (so rule ids, grades and CWEs are the real ones).
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from common import RULES

from policy_gate.findings import cwe_id

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
WORKFLOW_RULES = ("unpinned-uses", "excessive-permissions", "template-injection", "artipacked")

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
