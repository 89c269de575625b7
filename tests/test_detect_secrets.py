"""detect-secrets adapter, against the real detect-secrets on trees built per test.

Fake credentials are assembled at run time so this file holds none in scannable form.
"""

from __future__ import annotations

import base64
import json
import random
import stat
import string
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from policy_gate.base.fileset import walk
from policy_gate.base.process import ScannerError, scanner_env
from policy_gate.base.redact import mask, sha1_hex
from policy_gate.cache import summarise_file_notes
from policy_gate.catalogue import ScannerSettings
from policy_gate.findings import SECRET, UNSCANNED, Finding, Severity
from policy_gate.results import ScanOutput
from policy_gate.scanners.detect_secrets import (
    BINARY_NOTE,
    DetectSecretsScanner,
    detect_secrets_command,
    rule_id,
)
from policy_gate.scanners.interface import ScanContext
from tests.conftest import make_tree, real_tool

SCANNER = DetectSecretsScanner()

AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
PRIVATE_KEY_BODY = "MIIEow" + "IBAAKCAQEAx4Yz0Lq9mQh3T8vJ7kP2wR5nXc1bV6tY0uZsA"
URL_PASSWORD = "Tr0ub4dor" + "AndHorse"
SLACK_TOKEN = "xoxb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def _b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


JWT = ".".join(
    [
        _b64({"alg": "HS256", "typ": "JWT"}),
        _b64({"sub": "1234567890", "name": "Payer FSP", "iat": 1516239022}),
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV" + "_adQssw5c",
    ]
)
RAW_SECRETS = (AWS_KEY, PRIVATE_KEY_BODY, URL_PASSWORD, SLACK_TOKEN, GITHUB_TOKEN, JWT)


def build(tmp_path: Path, files: Mapping[str, str | bytes]) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    for rel, content in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return repo


def scan(repo: Path, **options: Any) -> ScanOutput:
    ctx = ScanContext(
        fileset=walk(repo), settings=ScannerSettings(timeout=60, options=options), jobs=2
    )
    return SCANNER.scan(ctx)


def secrets_at(out: ScanOutput, path: str) -> list[Finding]:
    return [f for f in out.findings if f.category == SECRET and f.path == path]


def kinds_at(out: ScanOutput, path: str) -> dict[str, Finding]:
    return {f.secret.kind: f for f in secrets_at(out, path) if f.secret}


def assert_accounted(out: ScanOutput) -> None:
    """The lead's 'nothing lost' check: one Source per raw result."""
    assert sum(len(f.sources) for f in out.findings) == out.raw_results


# --- real detections -----------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> ScanOutput:
    tmp = tmp_path_factory.mktemp("corpus")
    repo = build(
        tmp,
        {
            "config/aws.py": f'# settings\nREGION = "eu-west-1"\nAWS_ACCESS_KEY_ID = "{AWS_KEY}"\n',
            "keys/id_rsa": "-----BEGIN RSA PRIVATE KEY-----\n"
            f"{PRIVATE_KEY_BODY}\n-----END RSA PRIVATE KEY-----\n",
            "src/db.js": f'const url = "postgres://admin:{URL_PASSWORD}@db.local:5432/central";\n',
            "src/notify.py": f'\n\nWEBHOOK_TOKEN = "{SLACK_TOKEN}"\n',
            ".github/workflows/ci.yml": f"env:\n  GH: {GITHUB_TOKEN}\n",
            "test/auth.test.js": f"const header = 'Bearer {JWT}';\n",
            "README.md": "Nothing to see here.\n",
        },
    )
    return scan(repo)


@pytest.mark.parametrize(
    ("path", "line", "kind", "severity"),
    [
        ("config/aws.py", 3, "AWS Access Key", Severity.HIGH),
        ("keys/id_rsa", 1, "Private Key", Severity.CRITICAL),
        ("src/db.js", 1, "Basic Auth Credentials", Severity.HIGH),
        ("src/notify.py", 3, "Slack Token", Severity.HIGH),
        (".github/workflows/ci.yml", 2, "GitHub Token", Severity.HIGH),
        ("test/auth.test.js", 1, "JSON Web Token", Severity.MEDIUM),
    ],
)
def test_detects_each_kind(
    corpus: ScanOutput, path: str, line: int, kind: str, severity: Severity
) -> None:
    found = kinds_at(corpus, path)
    assert kind in found, f"{kind} not reported in {path}: {sorted(found)}"
    f = found[kind]
    # a private key spans its block, BEGIN to END: a change to its body changes the key
    end = line + 1 + PRIVATE_KEY_BODY.count("\n") + 1 if kind == "Private Key" else line
    assert (f.start_line, f.end_line) == (line, end)
    assert f.severity == severity
    assert f.scanner == "detect-secrets"
    assert f.rule_id == rule_id(kind)
    assert f.secret is not None and f.secret.hash.startswith("sha1:")
    assert f.flaw_key == "secret:" + f.secret.hash.removeprefix("sha1:")
    if kind == "Private Key":
        # identified by the key's body, not the BEGIN line every RSA key shares
        assert f.content_key != f.secret.hash.removeprefix("sha1:")
    else:
        assert f.content_key == f.secret.hash.removeprefix("sha1:")


def test_no_secret_value_in_any_output(corpus: ScanOutput) -> None:
    dumped = json.dumps([f.to_dict() for f in corpus.findings])
    for raw in RAW_SECRETS:
        assert raw not in dumped
    assert "README.md" not in {f.path for f in corpus.findings}
    assert_accounted(corpus)
    assert corpus.files_scanned == 7
    assert corpus.version.startswith("1.")


def test_previews_are_masked(corpus: ScanOutput) -> None:
    aws = kinds_at(corpus, "config/aws.py")["AWS Access Key"]
    assert aws.secret is not None
    assert aws.secret.preview == "AK" + "*" * 16 + "LE"
    assert aws.secret.hash == "sha1:" + sha1_hex(AWS_KEY)
    assert "AK****************LE" in aws.message and "sha1:" in aws.message
    for f in corpus.findings:
        assert f.secret is not None
        assert f.secret.preview not in RAW_SECRETS
        assert "*" in f.secret.preview


def test_a_finding_names_the_whole_credential(corpus: ScanOutput) -> None:
    """detect-secrets hashes a GitHub token's "ghp" and a JWT without its signature; the
    finding is identified by the whole credential (as kingfisher identifies it, so the
    two engines merge: tests/test_engines_agree.py)."""
    for path, kind, value in ((".github/workflows/ci.yml", "GitHub Token", GITHUB_TOKEN),
                              ("test/auth.test.js", "JSON Web Token", JWT)):
        f = kinds_at(corpus, path)[kind]
        assert f.secret is not None and f.secret.hash == "sha1:" + sha1_hex(value), kind
        assert f.secret.preview == mask(value), kind


def test_rule_ids_are_stable_slugs() -> None:
    assert rule_id("AWS Access Key") == "aws-access-key"
    assert rule_id("Public IP (ipv4)") == "public-ip-ipv4"
    assert rule_id("NPM tokens") == "npm-tokens"


# --- what is (not) read ---------------------------------------------------------------


def test_binary_file_is_skipped_and_counted(tmp_path: Path) -> None:
    repo = build(
        tmp_path,
        {
            "blob.bin": b"\x00\x01\x02" + f'key = "{AWS_KEY}"\n'.encode(),
            "ok.txt": "hello\n",
        },
    )
    out = scan(repo)
    assert out.findings == []
    assert out.files_scanned == 1
    assert out.file_notes == {"blob.bin": BINARY_NOTE}
    assert out.unread == ("blob.bin",)
    assert summarise_file_notes(out.file_notes) == [
        "1 binary files not scanned for secrets (NUL byte found)"
    ]


def test_oversize_file_is_an_unscanned_finding(tmp_path: Path) -> None:
    repo = build(tmp_path, {"big.py": "x = 1\n" * 50 + f'key = "{AWS_KEY}"\n', "a.py": "y = 2\n"})
    out = scan(repo, max_file_bytes=100)
    assert [f.category for f in out.findings] == [UNSCANNED]
    gap = out.findings[0]
    assert gap.path == "big.py" and "larger than 100 bytes" in gap.message
    assert gap.scanner == "detect-secrets"
    assert out.raw_results == 1
    assert_accounted(out)


def test_text_in_other_encodings_is_scanned_line_for_line(tmp_path: Path) -> None:
    """detect-secrets drops text that is not UTF-8 without a word: the gate gives it a
    UTF-8 copy (UTF-16/32, a declared encoding, or undecodable bytes replaced) and maps
    the results back to the file, on the file's own line numbers."""
    line = f"aws_access_key_id = {AWS_KEY}\n"
    repo = build(tmp_path, {
        "legacy.txt": "caf\u00e9\n".encode("latin-1") + line.encode(),
        "utf16.env": ("# a\r\n# b\n" + line).encode("utf-16"),
        "utf32.cfg": ("\n" + line).encode("utf-32"),
        "declared.py": b"# -*- coding: cp1252 -*-\n# \x93quoted\x94\n" + line.encode(),
    })
    out = scan(repo)
    assert not [f for f in out.findings if f.category == UNSCANNED]
    found = {f.path: f for f in out.findings}
    assert {p: f.start_line for p, f in found.items()} == {
        "legacy.txt": 2, "utf16.env": 3, "utf32.cfg": 2, "declared.py": 3}
    assert all(f.secret is not None and f.secret.preview != "********"
               for f in found.values())
    assert summarise_file_notes(out.file_notes) == [
        "2 files in UTF-16/UTF-32 (byte-order mark) scanned as text",
        "1 files in the encoding they declare (e.g. Latin-1) scanned as text",
        "1 text files that are not valid UTF-8 and declare no encoding scanned with "
        "undecodable bytes replaced",
    ]
    assert_accounted(out)


def test_symlink_out_of_tree_is_never_read(tmp_path: Path) -> None:
    outside = tmp_path / "host-secret.py"
    outside.write_text(f'AWS = "{AWS_KEY}"\n')
    repo = build(tmp_path, {"clean.py": "x = 1\n"})
    (repo / "linked.py").symlink_to(outside)
    (repo / "linkdir").symlink_to(tmp_path, target_is_directory=True)
    out = scan(repo)
    assert out.findings == []
    assert out.files_scanned == 1


def test_awkward_file_names(tmp_path: Path) -> None:
    line = f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'
    names = ["-rf.txt", "--all-files", "we ird%20 name.txt", "new\nline.txt", "dir/-c"]
    repo = build(tmp_path, dict.fromkeys(names, line))
    out = scan(repo)
    for name in names:
        assert "AWS Access Key" in kinds_at(out, name), name
    assert out.files_scanned == len(names)


@pytest.mark.parametrize("others", [0, 3])
def test_backslash_in_name(tmp_path: Path, others: int) -> None:
    """detect-secrets turns '\\' into '/' when given a single file; must not be missed."""
    files = {f"f{i}.txt": "x\n" for i in range(others)}
    files["a\\b.py"] = f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'
    out = scan(build(tmp_path, files))
    assert "AWS Access Key" in kinds_at(out, "a\\b.py")
    assert_accounted(out)


def test_lock_and_swagger_files_are_scanned(tmp_path: Path) -> None:
    integrity = "sha512-" + base64.b64encode(bytes(range(64))).decode()
    lock = (
        '{\n  "packages": {\n    "node_modules/x": {\n'
        f'      "resolved": "https://ci:{URL_PASSWORD}@npm.example.com/x/-/x-1.0.0.tgz",\n'
        f'      "integrity": "{integrity}"\n    }}\n  }}\n}}\n'
    )
    repo = build(
        tmp_path,
        {"package-lock.json": lock, "src/interface/swagger.yaml": f"key: {AWS_KEY}\n"},
    )
    out = scan(repo)
    lock_kinds = kinds_at(out, "package-lock.json")
    assert set(lock_kinds) == {"Basic Auth Credentials"}  # no entropy noise from hashes
    assert lock_kinds["Basic Auth Credentials"].start_line == 4
    assert "AWS Access Key" in kinds_at(out, "src/interface/swagger.yaml")


def test_inline_allowlist_never_honoured_by_the_scanner(tmp_path: Path) -> None:
    """The gate, not detect-secrets, decides about a pragma (policy_gate.policy.suppressions): the
    secret is reported with either pragma form, and the old option changes nothing."""
    repo = build(
        tmp_path,
        {
            "app.py": f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"  # pragma: allowlist secret\n',
            "next.py": f'# pragma: allowlist nextline secret\nKEY = "{AWS_KEY}"\n',
        },
    )
    for out in (scan(repo), scan(repo, honour_inline_suppressions=True)):
        assert kinds_at(out, "app.py")["AWS Access Key"].start_line == 1
        assert kinds_at(out, "next.py")["AWS Access Key"].start_line == 2


def test_progress_is_reported(tmp_path: Path) -> None:
    repo = build(tmp_path, {f"f{i}.txt": "x\n" for i in range(5)})
    seen: list[tuple[str, str]] = []
    ctx = ScanContext(
        fileset=walk(repo),
        settings=ScannerSettings(timeout=60),
        jobs=2,
        progress=lambda s, m: seen.append((s, m)),
    )
    SCANNER.scan(ctx)
    assert seen and seen[-1] == ("detect-secrets", "5/5 files")


# --- fault injection -------------------------------------------------------------------

VERSION_OK = """
if sys.argv[1:] == ["--version"]:
    print("1.5.0")
    sys.exit(0)
"""

FAULTS: dict[str, str] = {
    "crash": VERSION_OK + "sys.stderr.write('Traceback: boom\\n'); sys.exit(1)",
    "garbage": VERSION_OK + "print('this is not json {')",
    "empty": VERSION_OK + "pass",
    "no-results": VERSION_OK + "print(json.dumps({'version': '1.5.0'}))",
    "results-not-object": VERSION_OK + "print(json.dumps({'results': []}))",
    "missing-field": VERSION_OK
    + "print(json.dumps({'results': {'a.py': [{'type': 'AWS Access Key', 'filename': 'a.py',"
    " 'is_verified': False, 'line_number': 1}]}}))",
    "bad-line": VERSION_OK
    + "print(json.dumps({'results': {'a.py': [{'type': 'AWS Access Key', 'filename': 'a.py',"
    " 'hashed_secret': '" + "0" * 40 + "', 'is_verified': False, 'line_number': '1'}]}}))",
    "timeout": VERSION_OK + "time.sleep(30)",
    "sigkill": VERSION_OK + "os.kill(os.getpid(), 9)",
    "version-fails": "sys.stderr.write('no version\\n'); sys.exit(2)",
    "version-garbage": "print('hello'); sys.exit(0)",
}


def fake_tool(tmp_path: Path, body: str) -> Path:
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    script = bindir / "detect-secrets"
    script.write_text(f"#!{sys.executable}\nimport json, os, sys, time\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return bindir


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_faults_fail_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    repo = build(tmp_path, {"a.py": "x = 1\n"})
    monkeypatch.setenv("POLICY_GATE_SCANNER_PATH", str(fake_tool(tmp_path, FAULTS[fault])))
    # 1 s only where the timeout is the fault: on a loaded machine a fake may take longer
    # than that to start, and every other fault must fail for its own reason
    timeout = 1 if fault == "timeout" else 60
    ctx = ScanContext(fileset=walk(repo), settings=ScannerSettings(timeout=timeout), jobs=2)
    with pytest.raises(ScannerError) as info:
        SCANNER.scan(ctx)
    assert info.value.scanner == "detect-secrets"
    expected: dict[str, Callable[[str], bool]] = {
        "crash": lambda r: "exited 1" in r and "boom" in r,
        "timeout": lambda r: "timed out" in r,
        "sigkill": lambda r: "SIGKILL" in r,
        "no-results": lambda r: "'results'" in r,
        "missing-field": lambda r: "'hashed_secret'" in r,
    }
    if fault in expected:
        assert expected[fault](info.value.reason), info.value.reason


def test_missing_executable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = build(tmp_path, {"a.py": "x = 1\n"})
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("POLICY_GATE_SCANNER_PATH", str(empty))
    with pytest.raises(ScannerError) as info:
        scan(repo)
    assert info.value.scanner == "detect-secrets"
    assert "not installed" in info.value.reason


def test_empty_tree_still_checks_the_tool(tmp_path: Path) -> None:
    repo = build(tmp_path, {})
    out = scan(repo)
    assert (out.findings, out.raw_results, out.files_scanned) == ([], 0, 0)
    assert out.version.startswith("1.")


def test_two_different_private_keys_are_told_apart(tmp_path: Path) -> None:
    """detect-secrets hashes only the BEGIN line; a baselined key replaced by another key
    must not keep the old key's identity (fingerprint)."""
    begin, end = "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----"
    other = PRIVATE_KEY_BODY[::-1]
    repo = make_tree(tmp_path / "keys", {
        "a.pem": f"{begin}\n{PRIVATE_KEY_BODY}\n{end}\n",
        "b.pem": f"{begin}\n{other}\n{end}\n",
        "c.pem": f"{begin}\n{PRIVATE_KEY_BODY}\n{end}\n",
    })
    out = scan(repo)
    keys = {f.path: f for f in out.findings if f.secret and f.secret.kind == "Private Key"}
    assert set(keys) == {"a.pem", "b.pem", "c.pem"}
    assert keys["a.pem"].flaw_key == keys["b.pem"].flaw_key  # the scanner cannot tell
    assert keys["a.pem"].content_key != keys["b.pem"].content_key  # the gate can
    assert keys["a.pem"].content_key == keys["c.pem"].content_key


# Fragments the random corpus below is made of: every plugin's trigger, near misses, and
# filler. Built at run time, so this file holds no scannable credential.
_FRAGMENTS = (
    "password", "api_key", "SECRET_TOKEN", "db_pass", "auth_key", "contrasena", "pwd",
    " = ", ": ", " := ", " => ", "==", "(", ")", "[", "]", ",", ";", " ", " ", "'", '"', "`",
    "AKIA", "ghp_", "xoxb-", "sk_live_", "rk_live_", "SG.", "npm_", "pypi-AgEIcHlwaS5vcmc",
    "sk-", "T3BlbkFJ", "AccountKey=", "sq0csp-", "https://", "user:", "@example.com", "eyJ",
    "-----BEGIN RSA PRIVATE KEY-----", "8.8.8.8", "10.0.0.1", "AIza", "$", "{{ value }}",
    "${VAR}", "xyz", "0123456789", "1234567890123456789012", "deadbeefcafebabe",
)
_SUFFIXES = (".py", ".js", ".ts", ".yaml", ".ini", ".properties", ".env", ".json", ".txt",
             ".go", ".c", ".cs", ".java", ".swift", ".tf", ".xml", ".md")


def _random_corpus(rng: random.Random, files: int, lines: int) -> dict[str, str]:
    alphabet = string.ascii_letters + string.digits + "+/=-_"
    out: dict[str, str] = {}
    for i in range(files):
        body = []
        for _ in range(lines):
            parts = []
            if rng.random() < 0.1:  # alone on its line, so no other plugin's trigger lets it in
                chars = rng.choice((alphabet, "0123456789abcdef"))
                n = rng.choice((8, 9, 10) if len(chars) == 16 else (22, 23, 24))
                body.append(f"x = '{''.join(rng.sample(chars, n))}'")
                continue
            for _ in range(rng.randint(1, 8)):
                roll = rng.random()
                if roll < 0.1:  # quoted, all characters distinct: entropy log2(n), at the limits
                    quote = rng.choice("'\"")
                    chars = rng.choice((alphabet, "0123456789abcdef"))
                    n = rng.randint(6, min(len(chars), 30))
                    parts.append(quote + "".join(rng.sample(chars, n)) + quote)
                elif roll < 0.4:
                    parts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(4, 48))))
                elif rng.random() < 0.15:
                    size = rng.randint(6, 40)
                    parts.append("".join(rng.choice("0123456789abcdef") for _ in range(size)))
                else:
                    parts.append(rng.choice(_FRAGMENTS))
            body.append("".join(parts))
        out[f"d{i % 5}/f{i}{_SUFFIXES[i % len(_SUFFIXES)]}"] = "\n".join(body) + "\n"
    return out


def _report(argv: list[str], repo: Path, files: list[str]) -> dict[str, Any]:
    completed = subprocess.run(
        [*argv, "--cores", "1", "scan", "--no-verify",
         "--disable-filter", "detect_secrets.filters.allowlist.is_line_allowlisted",
         *(f"./{f}" for f in files)],
        cwd=repo, capture_output=True, text=True, check=True, env=scanner_env(),
    )
    results: dict[str, Any] = json.loads(completed.stdout)["results"]
    return results


def test_line_prefilter_reports_exactly_what_detect_secrets_reports(tmp_path: Path) -> None:
    """The prefilter may only skip work: on a corpus mixing every plugin's triggers, near
    misses and entropy strings around the limits, in every file type detect-secrets treats
    differently, its report is detect-secrets' report."""
    plain = real_tool("detect-secrets")
    fast = detect_secrets_command()
    if plain is None or len(fast) == 1:
        pytest.skip("detect-secrets is not installed as a console script")
    corpus = _random_corpus(random.Random(7), files=60, lines=150)
    corpus["known.py"] = "\n".join(
        [f"aws = '{AWS_KEY}'", f"url = 'https://admin:{URL_PASSWORD}@db.example.com'",
         f"slack = '{SLACK_TOKEN}'", f"gh = '{GITHUB_TOKEN}'", f"jwt = '{JWT}'",
         "-----BEGIN RSA PRIVATE KEY-----", PRIVATE_KEY_BODY, "-----END RSA PRIVATE KEY-----"]
    ) + "\n"
    repo = build(tmp_path, corpus)
    files = sorted(corpus)
    expected = _report([plain], repo, files)
    found = _report(fast, repo, files)
    assert found == expected
    kinds = {item["type"] for items in expected.values() for item in items}
    # the corpus must exercise the plugins, or this comparison proves nothing
    assert sum(map(len, expected.values())) > 200, expected
    assert len(kinds) >= 10, kinds
