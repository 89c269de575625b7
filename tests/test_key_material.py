"""data-protection's key material: key stores (PKCS#12, JKS, JCEKS, BKS) and private key
blocks (PEM, SSH2, PuTTY) in text and binary files, each identified as the secret engines
identify it, so that a key kingfisher reports too is one finding.

Every key is generated at run time (the labelled corpus's makers, seeded; `cryptography`
for key stores) and its armour is assembled from pieces, so this file holds none; an
assertion names the file, never the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_gate.base.fileset import walk
from policy_gate.catalogue import ScannerSettings
from policy_gate.findings import SECRET, Confidence, Finding, Severity
from policy_gate.results import ScanOutput
from policy_gate.scanners.data_protection import DataProtectionScanner, bks_keys, find_keys
from policy_gate.scanners.interface import ScanContext
from tests.conftest import make_tree
from tests.secret_corpus import (
    DSA_DER,
    EC_DER,
    ENCRYPTED_DER,
    OPENSSH_DER,
    PKCS8_DER,
    PRIV,
    RSA_DER,
    pem,
    pgp_key,
    putty_key,
    ssh2_key,
)

SCANNER = DataProtectionScanner()
DASHES = "-" * 5


def scan(tmp_path: Path, files: dict[str, str | bytes]) -> ScanOutput:
    root = make_tree(tmp_path / "repo", files)
    return SCANNER.scan(ScanContext(fileset=walk(root), settings=ScannerSettings()))


def secrets(out: ScanOutput) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {}
    for f in out.findings:
        if f.category == SECRET:
            found.setdefault(f.path, []).append(f)
    return found


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def body_lines(key: str) -> list[str]:
    """What of a key no finding may show: its lines other than armour and header fields."""
    return [x for x in key.split("\n") if len(x) >= 12 and "-----" not in x
            and "----" not in x and ": " not in x]


def assert_never_shown(out: ScanOutput, *keys: str) -> None:
    text = repr(out.findings) + json.dumps([f.to_dict() for f in out.findings])
    for key in keys:
        assert not [x for x in body_lines(key) if x in text]


# --------------------------------------------------------------------------- key blocks

RNG = random.Random("test_key_material")
# (path, the file's text around `{key}`, the key, the header the engines hash, its kind)
KEYS: dict[str, Callable[[random.Random], str]] = {
    "RSA " + PRIV: pem("RSA " + PRIV, RSA_DER, 1180),
    "EC " + PRIV: pem("EC " + PRIV, EC_DER, 110),
    "DSA " + PRIV: pem("DSA " + PRIV, DSA_DER, 430),
    "OPENSSH " + PRIV: pem("OPENSSH " + PRIV, OPENSSH_DER, 330, 70),
    PRIV: pem(PRIV, PKCS8_DER, 1150),
    "ENCRYPTED " + PRIV: pem("ENCRYPTED " + PRIV, ENCRYPTED_DER, 1240),
    "PGP " + PRIV + " BLOCK": pgp_key,
    "SSH2 ENCRYPTED " + PRIV: ssh2_key,
    "PuTTY-User-Key-File-2": putty_key(2),
    "PuTTY-User-Key-File-3": putty_key(3, encrypted=True),
}
PLACES = {  # where a key is kept: (path, text with `{key}`)
    "file": ("keys/{name}", "{key}\n"),
    "after a line": ("notes/{name}.txt", "The key, for the record:\n{key}\n\nRotate yearly.\n"),
    "markdown": ("docs/{name}.md", "# Key\n\n```\n{key}\n```\n"),
}


def _header(label: str) -> str:
    return label if label.startswith("PuTTY") else f"BEGIN {label}"


CASES = [(label, place) for label in KEYS for place in PLACES]


@pytest.mark.parametrize(("label", "place"), CASES, ids=[f"{lb}|{pl}" for lb, pl in CASES])
def test_every_private_key_format_is_found(tmp_path: Path, label: str, place: str) -> None:
    key = KEYS[label](random.Random(f"{label}:{place}"))
    path_tpl, text_tpl = PLACES[place]
    path = path_tpl.format(name=label.split()[0].lower())
    text = text_tpl.format(key=key)
    out = scan(tmp_path, {path: text})
    [finding] = secrets(out)[path]
    start = text[: text.index(key)].count("\n") + 1
    assert (finding.start_line, finding.end_line) == (start, start + key.count("\n"))
    assert finding.rule_id == ("putty-key" if "PuTTY" in label else "private-key")
    # identified as detect-secrets and kingfisher identify it: one finding with theirs
    assert finding.flaw_key == f"secret:{sha1(_header(label))}"
    assert finding.severity == Severity.HIGH and finding.confidence == Confidence.HIGH
    assert finding.secret is not None and finding.secret.preview == "<key material>"
    assert_never_shown(out, key)


def test_keys_where_code_and_configuration_keep_them(tmp_path: Path) -> None:
    """Indented in YAML, escaped in JSON, concatenated in JavaScript, cut short (no END
    line: what the engines' END-to-END rules miss), inside a binary file."""
    rsa = KEYS["RSA " + PRIV](RNG)
    putty = KEYS["PuTTY-User-Key-File-2"](RNG)
    lines = rsa.split("\n")
    files: dict[str, str | bytes] = {
        "helm/values.yaml": "jws:\n  key: |\n" + "".join(f"    {x}\n" for x in rsa.split("\n")),
        "config/putty.yaml": "ppk: |\n" + "".join(f"  {x}\n" for x in putty.split("\n")),
        "config/jws.json": json.dumps({"jwsSigningKey": rsa}, indent=2) + "\n",
        "src/key.js": "const key =\n  " + " +\n  ".join(json.dumps(x + "\n") for x in lines)
                      + ";\n",
        "keys/cut.pem": "\n".join(lines[:8]) + "\n",
        "firmware.bin": b"\x00\x01\x02" + rsa.encode() + b"\x00",
    }
    found = secrets(scan(tmp_path, files))
    starts = {path: [f.start_line for f in fs] for path, fs in found.items()}
    assert starts == {"helm/values.yaml": [3], "config/putty.yaml": [2], "config/jws.json": [2],
                      "src/key.js": [2], "keys/cut.pem": [1], "firmware.bin": [1]}
    assert found["keys/cut.pem"][0].end_line == 8


def test_placeholders_code_and_public_keys_are_not_keys(tmp_path: Path) -> None:
    begin, end = f"{DASHES}BEGIN RSA {PRIV}{DASHES}", f"{DASHES}END RSA {PRIV}{DASHES}"
    ssh2 = f"---- BEGIN SSH2 ENCRYPTED {PRIV} ----"
    putty = "PuTTY-User-" + "Key-File-3"
    public = ssh2_key(RNG).replace("ENCRYPTED " + PRIV, "PUBLIC KEY")
    files = {
        "docs/keys.md": f"Paste it:\n\n```\n{begin}\n...\n{end}\n```\n\n```\n{ssh2}\n"
                        f"<your key>\n```\n\n```\n{putty}: ssh-ed25519\nEncryption: none\n"
                        "Public-Lines: 2\n<public key lines>\nPrivate-Lines: 1\n"
                        "<private key lines>\nPrivate-MAC: <mac>\n```\n",
        "src/keys.py": f'HEADERS = ("{begin}", "{ssh2}", "{putty}:")\n'
                       f'FOOTER = "{end}"\n',
        "src/pem.js": f"const toPem = (b64) => '{begin}\\n' + wrap(b64) + '\\n{end}\\n'\n",
        "keys/jump-host.pub": public + "\n",
        "certs/ca.pem": pem("CERTIFICATE", "3082", 600)(RNG) + "\n",
    }
    assert secrets(scan(tmp_path, files)) == {}


# --------------------------------------------------------------------------- key stores


def _pkcs12(with_key: bool) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dfsp")])
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    enc = serialization.BestAvailableEncryption(b"changeit")
    if with_key:
        return pkcs12.serialize_key_and_certificates(b"dfsp", key, cert, None, enc)
    return pkcs12.serialize_key_and_certificates(b"ca", None, None, [cert], enc)


def _jks(entries: list[int], magic: bytes = b"\xfe\xed\xfe\xed") -> bytes:
    """A JKS/JCEKS laid out as keytool writes it (the contents are dummies)."""
    out = magic + struct.pack(">II", 2, len(entries))
    for tag in entries:
        alias = b"alias"
        out += struct.pack(">IH", tag, len(alias)) + alias + struct.pack(">Q", 0)
        if tag == 2:
            cert = b"\x30\x03\x02\x01\x00"
            out += struct.pack(">H", 5) + b"X.509" + struct.pack(">I", len(cert)) + cert
        else:
            out += struct.pack(">I", 4) + b"\x30\x02\x05\x00" + struct.pack(">I", 0)
    return out + b"\x00" * 20


def _utf(text: str) -> bytes:
    return struct.pack(">H", len(text)) + text.encode()


def _bks(entries: list[tuple[int, int]], seed: int = 0) -> bytes:
    """A BKS store as BouncyCastle's BcKeyStoreSpi writes it: per entry (its type: 1
    certificate, 2 key, 3 secret, 4 sealed; a key's type: 0 private, 1 public, 2 secret);
    the certificates and keys are dummies."""
    rng = random.Random(seed)
    cert = _utf("X.509") + struct.pack(">i", 5) + b"\x30\x03\x02\x01\x00"
    out = struct.pack(">ii", 2, 20) + rng.randbytes(20)
    out += struct.pack(">i", 1024 + rng.randrange(1024))
    for n, (kind, key_type) in enumerate(entries):
        out += bytes([kind]) + _utf(f"alias{n}") + struct.pack(">q", 1_700_000_000_000)
        out += struct.pack(">i", 1 if kind == 2 else 0) + (cert if kind == 2 else b"")
        if kind == 1:
            out += cert
        elif kind == 2:
            key = rng.randbytes(48)
            out += bytes([key_type]) + _utf("PKCS#8") + _utf("EC") + struct.pack(">i", 48) + key
        else:
            out += struct.pack(">i", 40) + rng.randbytes(40)
    return out + b"\x00" + rng.randbytes(20)


@pytest.mark.parametrize(("entries", "expected"), [
    ([(1, 0), (1, 0)], False),  # a trust store
    ([(2, 1)], False),  # a public key
    ([(1, 0), (2, 0)], True),  # a private key
    ([(2, 2)], True),  # a secret key
    ([(3, 0)], True),  # a secret
    ([(4, 0)], True),  # a sealed (encrypted) key
])
def test_bks_entries(entries: list[tuple[int, int]], expected: bool) -> None:
    assert bks_keys(_bks(entries)) is expected


def test_what_is_not_a_bks_store() -> None:
    good = _bks([(2, 0)])
    for data in (good[:-1], good + b"\x00", b"", b"\x00" * 64, random.Random(1).randbytes(400),
                 struct.pack(">ii", 3, 20) + good[8:], _jks([1])):
        assert bks_keys(data) is None


def test_key_stores_by_content_and_by_name(tmp_path: Path) -> None:
    p12 = _pkcs12(with_key=True)
    files: dict[str, str | bytes] = {
        "certs/dfsp.p12": p12,
        "certs/renamed.bin": p12,
        "certs/ca-only.pfx": _pkcs12(with_key=False),
        "java/server.jks": _jks([2, 1]),
        "java/secrets.jceks": _jks([3], magic=b"\xce\xce\xce\xce"),
        "java/truststore.jks": _jks([2, 2]),
        "java/truststore.jceks": _jks([2], magic=b"\xce\xce\xce\xce"),
        "android/client.bks": _bks([(1, 0), (2, 0)]),
        "android/renamed.dat": _bks([(4, 0)], seed=1),
        "android/truststore.bks": _bks([(1, 0), (1, 0)], seed=2),
        "android/debug.keystore": b"\x01\x02garbage",
        "android/broken.bks": _bks([(2, 0)])[:-5],
    }
    out = scan(tmp_path, files)
    found = {path: f for path, [f] in secrets(out).items()}
    grades = {path: (f.rule_id, f.confidence) for path, f in found.items()}
    high, medium, low = Confidence.HIGH, Confidence.MEDIUM, Confidence.LOW
    assert grades == {
        "certs/dfsp.p12": ("key-store", high), "certs/renamed.bin": ("key-store", high),
        "certs/ca-only.pfx": ("key-store", medium), "java/server.jks": ("key-store", high),
        "java/secrets.jceks": ("key-store", high), "android/client.bks": ("key-store", high),
        "android/renamed.dat": ("key-store", high),
        "android/debug.keystore": ("key-store", low), "android/broken.bks": ("key-store", low),
    }
    assert found["certs/dfsp.p12"].flaw_key == found["certs/renamed.bin"].flaw_key
    for f in found.values():
        assert f.severity == Severity.HIGH and f.secret is not None
        assert f.secret.preview == "<key material>" and f.secret.hash.startswith("sha256:")
    assert sum(len(f.sources) for f in out.findings) == out.raw_results


# --------------------------------------------------------------------------- with kingfisher


def test_a_key_kingfisher_reports_too_is_one_finding(scan_data: Callable[..., Any]) -> None:
    """The same key from the secret engine and from data-protection merges into one finding
    (its flaw key, header line and span agree), whatever its format."""
    rng = random.Random("one finding")
    keys = {
        "keys/server.key": KEYS["RSA " + PRIV](rng),
        "keys/tls.pem": KEYS["ENCRYPTED " + PRIV](rng),
        "keys/jump-host.ppk": KEYS["PuTTY-User-Key-File-2"](rng),
        "keys/bastion.ppk": KEYS["PuTTY-User-Key-File-3"](rng),
        "keys/id_rsa_2048_a": KEYS["SSH2 ENCRYPTED " + PRIV](rng),
    }
    data = scan_data({path: key + "\n" for path, key in keys.items()},
                     only=["kingfisher", "data-protection"])
    for path, key in keys.items():
        [finding] = [f for f in data.result.findings if f.path == path and f.category == SECRET]
        assert {s.scanner for s in finding.sources} == {"kingfisher", "data-protection"}, path
        assert (finding.start_line, finding.end_line) == (1, 1 + key.count("\n")), path


# --------------------------------------------------------------------------- hostile input


def test_a_file_of_headers_is_read_once(tmp_path: Path) -> None:
    """Thousands of headers with no key after them (or keys cut short, one after another):
    each block reaches no further than the next header, so the file is read once."""
    putty = ("PuTTY-User-" + "Key-File-2: ssh-rsa\nPrivate-Lines: 1\n") * 4000
    body = random.Random(7).randbytes(24).hex().upper()[:8] + "abcdefghIJKLMNOPqrstu"
    cut = "".join(f"{DASHES}BEGIN RSA {PRIV}{DASHES}\n{body}{n}\n" for n in range(4000))
    found = secrets(scan(tmp_path, {"a.ppk": putty, "b.pem": cut}))
    assert "a.ppk" not in found
    assert [(f.start_line, f.end_line) for f in found["b.pem"]] == [
        (2 * n + 1, 2 * n + 2) for n in range(4000)]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048), st.sampled_from(["a.bks", "a.ppk", "a.pem", "a.bin"]))
def test_arbitrary_bytes_never_break_the_key_search(data: bytes, name: str) -> None:
    for hit in find_keys(name, data):
        assert hit.line is None or 1 <= hit.line <= (hit.end_line or hit.line)
        assert hit.line is None or (hit.end_line or 0) <= data.count(b"\n") + 1


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_damaged_bks_store_is_never_taken_for_a_trust_store(data: st.DataObject) -> None:
    """A byte changed, cut or added anywhere: still parsed, or not a BKS store (reported by
    name), never an exception."""
    store = bytearray(_bks([(1, 0), (2, 0), (4, 0)]))
    at = data.draw(st.integers(0, len(store) - 1))
    store[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(store)))
    assert bks_keys(bytes(store[:cut])) in (True, None)
