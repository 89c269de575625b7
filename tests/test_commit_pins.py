"""Commit and digest pins are identifiers, never secrets (issue 20, item 5).

Pinning is what the gate asks for (`.pre-commit-hooks.yaml`: `rev: <40-hex commit>`; the
action and the image by commit and digest), so a pin must never fail the gate: a
`rev:` in a pre-commit config, `uses: owner/repo@<commit>` in a workflow, an image
`@sha256:<digest>` (`FROM`, `docker://`, `image:`), npm `integrity`, `go.sum` `h1:`
hashes and the commit pins of other lockfiles. What decides is where the value stands (its
key, the `@` pin syntax), never the value alone: a 40-hex value under a credential's name
is a violation, and so is a provider's credential put in a pin's place. Every value here
is generated at run time; docs/secrets.md says the rule in prose.
"""

from __future__ import annotations

import base64
import random

import pytest

from policy_gate.findings import Confidence
from policy_gate.scanners.detect_secrets import locate
from policy_gate.scanners.secret_shapes import grade
from tests.conftest import WITH_DETECT_SECRETS, GateRun, gate_process, make_tree
from tests.secret_corpus import ALNUM, B32, HEX, crc_token, p, pick

RNG = random.Random(20)
Pinned = tuple[GateRun, list[tuple[str, int]], list[tuple[str, int]]]


def hx(n: int) -> str:
    return pick(RNG, HEX, n)


def b64(n: int) -> str:
    return base64.b64encode(RNG.randbytes(n)).decode()


# (path, line, value): a pin in each place a repository keeps one. A pre-commit config as
# pre-commit writes them, quoted values after a flow mapping included (detect-secrets
# reports those a line or two away from their own: the adapter finds them).
PINS: list[tuple[str, str, str]] = [
    (".pre-commit-config.yaml", "repos:", ""),
    (".pre-commit-config.yaml", '  - {{repo: https://github.com/psf/black, rev: "{v}"}}', hx(40)),
    (".pre-commit-config.yaml", "  - repo: https://github.com/mojaloop/policy-gate", ""),
    (".pre-commit-config.yaml", '    rev: "{v}"', hx(40)),
    (".pre-commit-config.yaml", "    hooks: [{{id: policy-gate}}]", ""),
    (".pre-commit-config.yaml", "  - repo: https://github.com/pre-commit/pre-commit-hooks", ""),
    (".pre-commit-config.yaml", "    rev: {v}  # frozen: v6.0.0", hx(40)),
    (".pre-commit-config.yaml", "    hooks:", ""),
    (".pre-commit-config.yaml", "      - id: check-yaml", ""),
    (".pre-commit-config.yaml", "  - repo: https://github.com/psf/black", ""),
    (".pre-commit-config.yaml", "    rev: '{v}'", hx(40)),
    (".github/workflows/ci.yml", "      - uses: actions/checkout@{v} # v4.2.2", hx(40)),
    (".github/workflows/ci.yml", "    uses: octo/shared/.github/workflows/b.yml@{v}", hx(40)),
    (".github/workflows/ci.yml", "      - uses: docker://ghcr.io/o/img@sha256:{v}", hx(64)),
    (".github/workflows/ci.yml", "    container: ghcr.io/o/img@sha256:{v}", hx(64)),
    ("action.yml", "    - uses: actions/setup-python@{v}", hx(40)),
    ("Dockerfile", "FROM python:3.11-slim@sha256:{v} AS base", hx(64)),
    ("Dockerfile", "COPY --from=ghcr.io/astral-sh/uv@sha256:{v} /uv /bin/uv", hx(64)),
    ("deploy/k8s.yaml", "      image: registry.example.org/app@sha256:{v}", hx(64)),
    ("package-lock.json", '      "integrity": "sha512-{v}"', b64(64)),
    ("go.sum", "github.com/pkg/errors v0.9.1 h1:{v}", b64(32)),
    ("requirements.txt", "requests==2.32.3 --hash=sha256:{v}", hx(64)),
    ("requirements.txt", "foo @ git+https://github.com/a/foo@{v}", hx(40)),
    ("Gemfile.lock", "  revision: {v}", hx(40)),
    ("Cargo.lock", 'checksum = "{v}"', hx(64)),
    ("Cargo.lock", 'source = "git+https://github.com/o/b?rev={v}#{v}"', hx(40)),
    ("composer.lock", '            "reference": "{v}"', hx(40)),
    ("package.json", '    "lib": "github:user/lib#{v}"', hx(40)),
    ("flake.lock", '      "rev": "{v}",', hx(40)),
    ("infra/main.tf", '  source = "git::https://github.com/org/vpc.git?ref={v}"', hx(40)),
]


def _aws_key_id() -> str:
    return p("AK", "IA") + pick(RNG, B32, 16)


# Credentials where a pin would stand, or named as credentials: each is a violation.
PLANTED: list[tuple[str, str, str]] = [
    (".pre-commit-config.yaml", "  - repo: https://github.com/x/y", ""),
    (".pre-commit-config.yaml", "    rev: {v}", crc_token(p("gh", "p_"))(RNG)),
    (".github/workflows/ci.yml", "      - uses: octo/act@{v}", _aws_key_id()),
    (".github/workflows/ci.yml", "      API_TOKEN: {v}", hx(40)),
    # a provider's rule (sendbird's: 40 hex under its name) is not lowered by a git word
    (".github/workflows/ci.yml", "      SENDBIRD_REV: {v}", hx(40)),
    (".pre-commit-config.yaml", '    # password: "{v}"', pick(RNG, ALNUM, 24) + "7"),
]


def _tree(entries: list[tuple[str, str, str]]) -> tuple[dict[str, str], list[tuple[str, int]]]:
    files: dict[str, list[str]] = {}
    where: list[tuple[str, int]] = []
    for path, template, value in entries:
        lines = files.setdefault(path, [])
        lines.append(template.format(v=value))
        if value:
            where.append((path, len(lines)))
    return {path: "\n".join(lines) + "\n" for path, lines in files.items()}, where


@pytest.mark.parametrize(("path", "template", "value"), [pin for pin in PINS if pin[2]])
def test_a_pin_is_an_identifier_for_an_entropy_engine(path: str, template: str,
                                                      value: str) -> None:
    """Whatever found it by its entropy (detect-secrets; a keyword rule), a pin is low."""
    got = grade(False, value, template.format(v=value), path)
    assert got.confidence == Confidence.LOW, got


@pytest.mark.parametrize("line", [
    "      - uses: octo/act@{v}", "    rev: {v}", "FROM img@{v}",
])
def test_a_provider_format_in_a_pins_place_stays_a_credential(line: str) -> None:
    """A pin's place lowers no provider rule: a GitHub token or an AWS key id where a
    commit would stand is what its rule says it is; so is hex that a provider's rule
    matched under a git name."""
    for value in (crc_token(p("gh", "p_"))(RNG), _aws_key_id(), hx(40)):
        assert grade(True, value, line.format(v=value)).confidence == Confidence.HIGH
    assert grade(True, value := hx(40), f"SENDBIRD_REV: {value}").confidence == Confidence.HIGH
    assert grade(False, value, f"    rev: {value}").confidence == Confidence.LOW


@pytest.mark.parametrize("line", [
    "      API_TOKEN: {v}", "    password: '{v}'", "export GITHUB_TOKEN={v}", "--token {v}",
])
def test_forty_hex_under_a_credentials_name_is_a_credential(line: str) -> None:
    """Some providers' keys are 40 hex characters, as a commit is: the key decides."""
    value = hx(40)
    assert grade(False, value, line.format(v=value)).confidence >= Confidence.MEDIUM


def test_detect_secrets_yaml_line_is_corrected_to_the_values_own() -> None:
    """detect-secrets reports a quoted YAML value after a flow mapping a line or two away
    from its own (a pre-commit config's `- {repo: …, rev: '…'}`): the value is found on
    the nearest line that has it, so it is graded where it stands, not failed as unfound."""
    from policy_gate.base.redact import sha1_hex

    first, second = hx(40), hx(40)
    lines = ["repos:", f"  - {{repo: x, rev: '{first}', hooks: [{{id: a}}]}}",
             "  - repo: y", f'    rev: "{second}"', "    hooks:", "      - id: b"]
    kind = "Hex High Entropy String"
    assert locate(kind, sha1_hex(first), lines, 3) == (2, first)
    assert locate(kind, sha1_hex(second), lines, 6) == (4, second)
    assert locate(kind, sha1_hex(hx(40)), lines, 3) == (3, None)  # not in the file: unfound
    # a provider's key (the same hash for every RSA key) is never looked for elsewhere
    assert locate("Private Key", sha1_hex(first), lines, 3) == (3, None)


@pytest.fixture(scope="module")
def both_engines(tmp_path_factory: pytest.TempPathFactory) -> Pinned:
    """One real gate run, kingfisher and detect-secrets, on a tree of every pin beside
    the planted credentials."""
    work = tmp_path_factory.mktemp("pins")
    files, pins = _tree(PINS)
    planted_files, planted = _tree(PLANTED)
    offset = {path: text.count("\n") for path, text in files.items()}
    for path, text in planted_files.items():
        files[path] = files.get(path, "") + text
    planted = [(path, line + offset.get(path, 0)) for path, line in planted]
    root = make_tree(work / "repo", dict(files))
    run = gate_process(work, root, "--policy", str(WITH_DETECT_SECRETS),
                       "--scanner", "kingfisher", "--scanner", "detect-secrets")
    assert run.report is not None, run.output
    return run, pins, planted


def test_pins_never_fail_and_credentials_in_their_place_do(
    both_engines: Pinned,
) -> None:
    run, pins, planted = both_engines
    for name in ("kingfisher", "detect-secrets"):
        scanner = run.scanner(name)
        assert scanner["status"] == "ok", scanner
        assert scanner["raw_results"] == scanner["results_in_report"], scanner
    violations = {(f["path"], f["start_line"]) for f in run.findings(status="violation")}
    assert violations == set(planted), run.output
    for f in run.findings(category="secret"):
        if (f["path"], f["start_line"]) in pins:
            assert f["confidence"] == "low" and "identifier" in f["message"], f
    assert run.code == 1
    shown = run.output + str(run.report)
    assert not [value for _, _, value in PLANTED if value and value in shown]

