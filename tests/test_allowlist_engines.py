"""The allowlist pragma (`pragma: allowlist secret`, and its nextline form) speaks to every
secret engine of the catalogue, not to detect-secrets alone: since issue 16 kingfisher is
the default engine, and switching engines must not change what a comment silences. It
never silences data-protection (card numbers, key stores, private keys it reports), and
under `inline_suppressions: ignore` (builtin:mojaloop) it silences nothing.

The real kingfisher runs on a tree built here; credentials are generated at run time from
a seeded RNG (no provider prefix written out whole), so this file holds none.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from policy_gate.catalogue import BY_NAME, SCANNERS, SECRET_ENGINES
from policy_gate.findings import DATA, SECRET, Confidence, Finding, Severity, Source
from policy_gate.policy.suppressions import covering, covers, names
from policy_gate.results import ALLOWLIST, SCANNERS_OF, Suppression
from tests.conftest import OFFLINE_POLICY, GateRun

RNG = random.Random(0xA110)
ALNUM = string.ascii_letters + string.digits
REASON = "fake password for the contract tests"


WINDOW = 8  # no run of this many characters of a secret may be shown anywhere


def leaks(texts: dict[str, str], secrets: list[str]) -> list[str]:
    """Where a secret, or any WINDOW characters of one, is shown."""
    parts = {s[i:i + WINDOW] for s in secrets for i in range(len(s) - WINDOW + 1)}
    return [f"{name} at {i}" for name, text in texts.items()
            for i in range(len(text) - WINDOW + 1) if text[i:i + WINDOW] in parts]


def _value(n: int = 24) -> str:
    return "".join(RNG.choice(ALNUM) for _ in range(n))


def github_token() -> str:
    return "gh" + "p_" + _value(36)


# ---------------------------------------------------------------------------- the model


def test_the_pragma_names_every_secret_engine_of_the_catalogue() -> None:
    engines = tuple(s.name for s in SCANNERS if s.secret_engine)
    assert SCANNERS_OF[ALLOWLIST] == SECRET_ENGINES == engines
    assert {"detect-secrets", "kingfisher"} <= set(engines)
    assert not BY_NAME["data-protection"].secret_engine
    assert all(SECRET in BY_NAME[name].categories for name in engines)


def _finding(*scanners: str, line: int = 3, category: str = SECRET) -> Finding:
    return Finding(
        category=category,
        sources=tuple(Source(s, "rule", Severity.HIGH, Confidence.HIGH, "m") for s in scanners),
        path="a.txt", start_line=line, end_line=line + 2, message="m", flaw_key="secret:x",
    )


def test_names_a_result_of_each_engine_never_data_protection() -> None:
    pragma = Suppression("a.txt", 2, ALLOWLIST, (), REASON, 3, f"# pragma: allowlist "
                         f"nextline secret - {REASON}")
    for engine in SECRET_ENGINES:
        f = _finding(engine)
        assert names(pragma, f, f.sources[0]) and covers(pragma, f)
    both = _finding(*SECRET_ENGINES)  # the same value on the same line: one finding
    assert covers(pragma, both)
    # data-protection's private key (or key store): never named, alone or merged
    assert not covers(pragma, _finding("data-protection"))
    merged = _finding("kingfisher", "data-protection")
    assert not covers(pragma, merged)
    assert [bool(found) for _, found in covering([pragma], merged)] == [True, False]
    # a card number is data, not a secret
    assert not covers(pragma, _finding("data-protection", category=DATA))
    # the pragma applies to the line an engine reports (a key's BEGIN line), only that one
    assert not covers(pragma, _finding("kingfisher", line=4))


# ---------------------------------------------------------------------------- the gate

CONFIG = (
    'DB_PASSWORD = "{p1}"  # pragma: allowlist secret - ' + REASON + "\n"  # 1
    "# pragma: allowlist nextline secret - generated fixture token\n"  # 2
    'API_TOKEN = "{t1}"\n'  # 3
    'OTHER_PASSWORD = "{p2}"\n'  # 4: no comment
    'CARD_NUMBER = "{pan}"  # pragma: allowlist secret - a test card\n'  # 5: data
)


def _pan() -> str:
    """A Luhn-valid Visa-prefixed number that is no scheme's published test card."""
    body = "4" + "".join(RNG.choice(string.digits) for _ in range(14))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (1 if i % 2 else 2)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def _key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"fixture-passphrase"),
    ).decode()


@pytest.fixture(scope="module")
def planted() -> dict[str, str]:
    return {"p1": _value(), "t1": github_token(), "p2": _value(), "pan": _pan(), "key": _key()}


def _run(gate: Callable[..., GateRun], root: Path, planted: dict[str, str],
         mode: str | None) -> GateRun:
    config = CONFIG.format(**planted)
    (root / "config.py").write_text(config)
    (root / "keys").mkdir(exist_ok=True)
    (root / "keys" / "deploy.txt").write_text(
        "# pragma: allowlist nextline secret - the key is a fixture\n" + planted["key"])
    if mode is None:
        return gate(root, "--scanner", "kingfisher", "--scanner", "data-protection")
    policy = root.parent / "policy.yaml"
    policy.write_text(f"version: 1\nextends: {OFFLINE_POLICY}\nname: pragma-{mode}\n"
                      f"inline_suppressions: {mode}\n")
    return gate(root, "--scanner", "kingfisher", "--scanner", "data-protection",
                "--policy", str(policy))


def _by_line(run: GateRun, path: str) -> dict[int, dict[str, Any]]:
    assert run.report is not None
    return {f["start_line"]: f for f in run.report["findings"]
            if f["path"] == path and f["category"] in (SECRET, DATA)}


@pytest.mark.parametrize("mode", ["honour", "require-reason"])
def test_the_pragma_silences_kingfisher_when_the_policy_honours_it(
    gate: Callable[..., GateRun], tmp_path: Path, planted: dict[str, str], mode: str
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    run = _run(gate, root, planted, mode)
    assert run.report is not None
    assert {s["name"]: s["status"] for s in run.report["scanners"]
            if s["name"] in ("kingfisher", "data-protection")} == {
        "kingfisher": "ok", "data-protection": "ok"}
    found = _by_line(run, "config.py")
    assert "kingfisher" in found[1]["scanners"] and "kingfisher" in found[3]["scanners"]
    same_line, next_line = found[1], found[3]
    assert same_line["status"] == "suppressed", same_line["decision"]
    assert same_line["suppression"]["reason"] == REASON  # shown: the value is the code's
    assert same_line["suppression"]["honoured"] is True
    assert any(REASON in step for step in same_line["decision"])
    assert next_line["status"] == "suppressed"
    assert next_line["suppression"]["reason"] == "generated fixture token"
    assert found[4]["status"] == "violation"  # no comment
    assert found[5]["category"] == DATA and found[5]["status"] == "violation"
    # data-protection's encrypted key under a nextline pragma: never silenced
    keys = _by_line(run, "keys/deploy.txt")
    assert keys and all(f["status"] == "violation" for f in keys.values()), keys
    assert any("data-protection" in f["scanners"] for f in keys.values())
    assert run.code == 1
    assert leaks({"out": run.output, "report": str(run.report)},
                 [planted["p1"], planted["t1"], planted["p2"]]) == []


def test_under_the_mojaloop_policy_the_pragma_silences_nothing(
    gate: Callable[..., GateRun], tmp_path: Path, planted: dict[str, str]
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    run = _run(gate, root, planted, None)  # OFFLINE_POLICY: builtin:mojaloop's `ignore`
    found = _by_line(run, "config.py")
    assert {line: f["status"] for line, f in found.items()} == {
        1: "violation", 3: "violation", 4: "violation", 5: "violation"}
    assert found[1]["suppression"]["honoured"] is False
    assert found[1]["suppression"]["reason"] == REASON
    assert run.report is not None
    uses = {(u["path"], u["line"]): u for u in run.report["suppressions"]}
    assert uses["config.py", 1]["honoured"] is False and uses["config.py", 1]["covered"] == 1
    assert all(not u["honoured"] for u in uses.values())
    assert run.code == 1
