"""data-protection scanner: card numbers (PANs) and committed key material, on trees built
per test.

Card numbers that would be reported are generated at run time (a random body plus its Luhn
digit), and published test numbers are written with "_" between groups, so this file holds
no number the gate itself would flag.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_gate.base.fileset import walk
from policy_gate.cache import summarise_file_notes
from policy_gate.catalogue import ScannerSettings
from policy_gate.findings import (
    DATA,
    SECRET,
    UNSCANNED,
    Confidence,
    Finding,
    Severity,
    merge_findings,
)
from policy_gate.results import ScanOutput
from policy_gate.scanners.data_protection import (
    BINARY_NOTE,
    KEY_ENV,
    DataProtectionScanner,
    brand,
    find_cards,
    luhn,
    preview,
)
from policy_gate.scanners.interface import ScanContext
from tests.conftest import make_tree

SCANNER = DataProtectionScanner()


def check_digit(body: str) -> str:
    for d in "0123456789":
        if luhn(body + d):
            return d
    raise AssertionError("unreachable")


def make_pan(prefix: str, length: int, seed: int = 0) -> str:
    """A Luhn-valid number with this prefix that is not a published test number."""
    rng = random.Random(f"{prefix}/{length}/{seed}")
    while True:
        body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
        pan = body + check_digit(body)
        if not any(pan[i] * 7 in pan for i in range(len(pan))):
            return pan


def grouped(pan: str, sep: str) -> str:
    if len(pan) == 15:  # Amex layout 4-6-5
        return sep.join((pan[:4], pan[4:10], pan[10:]))
    if len(pan) == 14:  # Diners 4-6-4
        return sep.join((pan[:4], pan[4:10], pan[10:]))
    return sep.join(pan[i : i + 4] for i in range(0, len(pan), 4))


def t(grouped_number: str) -> str:
    return grouped_number.replace("_", "")


# (brand, prefix, length)
BRANDS = [
    ("Visa", "4", 16), ("Visa", "4", 13), ("Visa", "4", 19),
    ("Mastercard", "51", 16), ("Mastercard", "55", 16), ("Mastercard", "2221", 16),
    ("Mastercard", "2720", 16),
    ("American Express", "34", 15), ("American Express", "37", 15),
    ("Discover", "6011", 16), ("Discover", "644", 16), ("Discover", "65", 19),
    ("JCB", "3528", 16), ("JCB", "3589", 19),
    ("Diners Club", "300", 14), ("Diners Club", "36", 14), ("Diners Club", "39", 16),
    ("UnionPay", "62", 16), ("UnionPay", "62", 19),
    ("Maestro", "6759", 16), ("Maestro", "50", 16), ("Maestro", "676770", 19),
    ("Mir", "2200", 16),
]
# The brief's list of published test numbers (Stripe, Adyen, PayPal).
TEST_NUMBERS = [
    t(n) for n in (
        "4111_1111_1111_1111", "4242_4242_4242_4242", "4012_8888_8888_1881",
        "4000_0566_5566_5556", "5555_5555_5555_4444", "5105_1051_0510_5100",
        "2223_0031_2200_3222", "3782_822463_10005", "3714_496353_98431",
        "6011_1111_1111_1117", "6011_0009_9013_9424", "3530_1113_3330_0000",
        "3566_0020_2036_0505", "3056_930902_5904", "3852_000002_3237", "6200_0000_0000_0005",
    )
]


def build(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    return make_tree(tmp_path / "repo", files)


def scan(repo: Path, **options: Any) -> ScanOutput:
    ctx = ScanContext(fileset=walk(repo), settings=ScannerSettings(options=options))
    return SCANNER.scan(ctx)


def cards(out: ScanOutput) -> list[Finding]:
    return [f for f in out.findings if f.category == DATA]


def assert_accounted(out: ScanOutput) -> None:
    assert sum(len(f.sources) for f in out.findings) == out.raw_results


def assert_never_shown(out: ScanOutput, *numbers: str) -> None:
    text = repr(out.findings) + json.dumps([f.to_dict() for f in out.findings]) + repr(out)
    for number in numbers:
        assert number not in text
        if number[6:-4] not in preview(number):  # not even the hidden middle digits
            assert number[6:-4] not in text
        assert grouped(number, " ") not in text and grouped(number, "-") not in text


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)


# --- the checks themselves ------------------------------------------------------------


def test_luhn_and_brand_table() -> None:
    assert luhn(TEST_NUMBERS[0]) and not luhn(TEST_NUMBERS[0][:-1] + "2")
    for name, prefix, length in BRANDS:
        assert brand(make_pan(prefix, length)) == name
    assert brand(make_pan("4", 15)) is None  # Visa is 13, 16 or 19 digits
    assert brand(make_pan("34", 16)) is None  # Amex is 15
    assert brand(make_pan("2721", 16)) is None  # just past Mastercard's 2-series
    assert brand(make_pan("1", 16)) is None and brand(make_pan("9", 16)) is None
    assert preview("4000123456789010") == "400012******9010"


# --- positives -------------------------------------------------------------------------


def _embed(ext: str, number: str) -> str:
    return {
        ".py": f'ACCOUNT = "{number}"\n',
        ".js": f"const account = '{number}';\n",
        ".json": json.dumps({"payer": {"account": number}}, indent=2) + "\n",
        ".yaml": f"payer:\n  account: {number}\n",
        ".log": f"2024-05-01T10:00:00.123Z info transfer accepted account={number} ok\n",
        ".csv": f"id,account,expiry\n17,{number},12/29\n",
    }[ext]


@pytest.mark.parametrize("name,prefix,length", BRANDS)
@pytest.mark.parametrize("ext", [".py", ".js", ".json", ".yaml", ".log", ".csv"])
def test_each_brand_in_each_file_type(
    tmp_path: Path, name: str, prefix: str, length: int, ext: str
) -> None:
    pan = make_pan(prefix, length)
    files: dict[str, str | bytes] = {f"plain{ext}": _embed(ext, pan)}
    if length in (14, 15, 16, 19):
        files[f"spaces{ext}"] = _embed(ext, grouped(pan, " "))
        files[f"dashes{ext}"] = _embed(ext, grouped(pan, "-"))
    out = scan(build(tmp_path, files))
    found = cards(out)
    assert sorted(f.path for f in found) == sorted(files)
    for f in found:
        assert f.rule_id == "pan" and f.qualified_rule == "data-protection:pan"
        assert f.severity == Severity.HIGH and f.confidence == Confidence.MEDIUM
        assert name in f.message and "PCI DSS 3.5.1" in f.message and "M12" in f.message
        assert "test numbers" in f.message and "tokens" in f.message
        assert f.secret is not None and f.secret.kind == "Payment card number"
        assert f.secret.preview == pan[:6] + "*" * (length - 10) + pan[-4:]
        assert f.start_line == {".json": 3, ".yaml": 2, ".csv": 2}.get(ext, 1)
    assert_never_shown(out, pan)
    assert_accounted(out)


@pytest.mark.parametrize(
    "line",
    [
        'cardNumber: "{n}"', "card_number={n}", "const pan = '{n}'", "CC: {n}",
        "customerCardNumber = {n}", "<creditCard>{n}</creditCard>",
    ],
)
def test_confidence_is_high_when_the_line_names_a_card(tmp_path: Path, line: str) -> None:
    pan = make_pan("4", 16, seed=3)
    out = scan(build(tmp_path, {"f.txt": line.format(n=pan) + "\n"}))
    (f,) = cards(out)
    assert f.confidence == Confidence.HIGH


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-01 {n} settled",  # a date's dashes glued by a space
        "order 12 {n}",  # a short number before it
        '{{"msg": "line one\\n{n}"}}',  # after a JSON escape
        "/cards/{n}/charge",  # in a URL path
        "{n},12/29,123",  # first CSV field
        "account:{n}.",  # end of a sentence
    ],
)
def test_found_in_awkward_but_real_places(tmp_path: Path, text: str) -> None:
    pan = make_pan("52", 16, seed=5)
    out = scan(build(tmp_path, {"f.txt": text.format(n=pan) + "\n"}))
    assert len(cards(out)) == 1


def test_published_test_numbers_are_graded_test_pan(tmp_path: Path) -> None:
    body = "".join(f"number_{i} = '{n}'\n" for i, n in enumerate(TEST_NUMBERS))
    out = scan(build(tmp_path, {"fixtures/cards.py": body}))
    found = cards(out)
    assert len(found) == len(TEST_NUMBERS)
    for f in found:
        assert f.rule_id == "test-pan" and f.severity == Severity.LOW
        assert f.secret is not None
    assert_never_shown(out, *TEST_NUMBERS)


def test_synthetic_numbers_are_graded_test_pan(tmp_path: Path) -> None:
    body = "4000120000000"
    number = body + "00" + "0"
    number = number[:-1] + check_digit(number[:-1])
    out = scan(build(tmp_path, {"a.txt": number + "\n"}))
    assert [f.rule_id for f in cards(out)] == ["test-pan"]


def test_one_finding_per_file_line_and_number(tmp_path: Path) -> None:
    a, b = make_pan("4", 16, 1), make_pan("4", 16, 2)
    text = f"{a} {a}\n{a}\n{a} and {b}\n"
    out = scan(build(tmp_path, {"x.log": text, "y.log": text}))
    found = cards(out)
    assert sorted((f.path, f.start_line) for f in found) == [
        ("x.log", 1), ("x.log", 2), ("x.log", 3), ("x.log", 3),
        ("y.log", 1), ("y.log", 2), ("y.log", 3), ("y.log", 3),
    ]
    merged = merge_findings(out.findings)
    assert len({f.fingerprint for f in merged}) == len(found)  # same number, two files: two


def test_keyed_hash_is_stable_and_unique(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "a-ci-secret")
    a, b = make_pan("4", 16, 1), make_pan("4", 16, 2)
    repo = build(tmp_path, {"x.txt": f"{a}\n{b}\n", "y.txt": f"\n\n{a}\n"})
    first, second = scan(repo), scan(repo)
    hashes = {(f.path, f.start_line): f.secret.hash for f in cards(first) if f.secret}
    assert all(h.startswith("hmac-sha256:") and len(h) == 12 + 64 for h in hashes.values())
    assert hashes[("x.txt", 1)] == hashes[("y.txt", 3)] != hashes[("x.txt", 2)]
    fps = [f.fingerprint for f in merge_findings(first.findings)]
    assert fps == [f.fingerprint for f in merge_findings(second.findings)]
    monkeypatch.setenv(KEY_ENV, "another-secret")
    assert {f.secret.hash for f in cards(scan(repo)) if f.secret}.isdisjoint(hashes.values())
    assert_never_shown(first, a, b)


def test_without_a_key_only_a_short_tag_is_kept(tmp_path: Path) -> None:
    pan = make_pan("4", 16, 9)
    out = scan(build(tmp_path, {"x.txt": pan}))
    (f,) = cards(out)
    assert f.secret is not None and f.secret.hash.startswith("sha256-tag:")
    assert len(f.secret.hash.split(":")[1]) == 2
    assert any(KEY_ENV in n for n in out.notes)


# --- negatives -------------------------------------------------------------------------

VISA = make_pan("4", 16, 11)
MC = make_pan("53", 16, 12)
AMEX = make_pan("37", 15, 13)

PACKAGE_LOCK = json.dumps(
    {
        "name": "central-ledger",
        "version": "19.5.5",
        "lockfileVersion": 3,
        "packages": {
            "node_modules/@hapi/hapi": {
                "version": "21.3.10",
                "resolved": "https://registry.npmjs.org/@hapi/hapi/-/hapi-21.3.10.tgz",
                "integrity": "sha512-CmEKtnQkYtO5KmDrLNn5uqE+oT2/"
                "4111111111111111/3Mk6BtLHHlTRFi8p1A7y3XeX4s7g1aR/"
                f"{VISA}+2M9zLsiXn0UU7m6S2nvuyaQ==",
                "engines": {"node": ">=14.15.0"},
            },
            "node_modules/long": {
                "version": "5.2.3",
                "resolved": "https://registry.npmjs.org/long/-/long-5.2.3.tgz",
                "integrity": f"sha1-{MC}a7Ut4Y0ydyHf2xVEb2o=",
            },
            "node_modules/uuid": {"version": "9.0.1", "license": "MIT"},
        },
    },
    indent=2,
)
DJANGO_LIKE = f'''
from django.db import migrations, models

MAX_INT = 9223372036854775807
EPOCH_MS = 1700000000000
BIG = 18446744073709551615


class Migration(migrations.Migration):
    initial = True
    dependencies = [("auth", "0012_alter_user_first_name_max_length")]
    operations = [
        migrations.CreateModel(
            name="Transfer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True)),
                ("amount", models.DecimalField(decimal_places=4, max_digits=18)),
            ],
        ),
    ]

ratio = 0.{VISA}
version = "1.{VISA}.0"
checksum = "d41d8cd98f00b204e9800998ecf8427e{MC}"
SECRET = "{VISA}abc"
ident = f"user-{VISA}"
negative = -{VISA}
'''
NEGATIVES: dict[str, str] = {
    "package-lock.json": PACKAGE_LOCK,
    "app/migrations/0001_initial.py": DJANGO_LIKE,
    "timestamps.log": "\n".join(
        f"{ms} event={i}" for i, ms in enumerate(range(1_700_000_000_000, 1_700_000_100_000, 997))
    ),
    "phones.txt": "+14155552671\n+44 20 7946 0958\n+27 82 123 4567\n+" + VISA + "\n"
    "00447700900123\n0027821234567\n",
    "ids.csv": "id,uuid\n"
    "1,123e4567-e89b-12d3-a456-426614174000\n"
    f"2,{VISA[:8]}-{VISA[8:12]}-{VISA[12:]}-8000-000000000000\n"
    f"3,550e8400-e29b-41d4-a716-{VISA[:12]}\n",
    "hex.txt": f"sha256:9f86d081884c7d659a2feaa0c55ad015{VISA}{MC}\n"
    f"0x{VISA}\n{VISA}deadbeef\n",
    "b64.txt": f"data:image/png;base64,iVBORw0KGgo{VISA}AAAANSUhEUgAAAAEAAAAB/{MC}/x\n",
    "ips_versions.txt": "10.0.0.1 192.168.100.200 2001:db8::1 v1.2.3 4.111.111.111\n"
    f"{VISA[:4]}.{VISA[4:8]}.{VISA[8:12]}.{VISA[12:]}\n",
    "decimals.json": json.dumps({"fx": f"0.{VISA}", "x": f"{VISA}.5", "e": f"{VISA}e3"}),
    "amounts.yaml": "amount: 1250000000000.00\nlimit: 99999999999999\nfee: 0.0004111\n",
    "long_runs.txt": f"9{VISA}\n{VISA}0\n{MC}{VISA}\n12 34 56 78 90 12 34 56\n",
    "mixed_groups.txt": f"{VISA[:4]}-{VISA[4:8]} {VISA[8:12]}-{VISA[12:]}\n"
    f"{VISA[:3]} {VISA[3:9]} {VISA[9:]}\n{grouped(VISA, ' ')} {VISA[:4]}\n",
    "not_issuers.txt": "\n".join(
        make_pan(p, n) for p, n in (("1", 16), ("7", 16), ("8", 19), ("9", 15), ("4", 15),
                                     ("34", 16), ("2721", 16), ("607", 16), ("31", 14))
    ),
    "luhn_fails.txt": "\n".join(
        pan[:-1] + str((int(pan[-1]) + 1) % 10) for pan in (VISA, MC, AMEX)
    ),
    "word_glued.txt": f"order_{VISA}\nID{AMEX}\n{MC}_x\n",
    "phones_grouped.txt": "(415) 555-2671 x 1234 5678\n0800 123 4567 8901\n",
}


def test_negative_corpus_has_no_findings(tmp_path: Path) -> None:
    out = scan(build(tmp_path, dict(NEGATIVES)))
    assert out.findings == [], [(f.location, f.rule_id) for f in out.findings]
    assert out.files_scanned == len(NEGATIVES)


def test_binary_files_are_not_searched_for_cards(tmp_path: Path) -> None:
    out = scan(build(tmp_path, {"blob.bin": b"\x00\x01" + VISA.encode() + b"\n"}))
    assert out.findings == []
    assert out.file_notes == {"blob.bin": BINARY_NOTE}
    assert summarise_file_notes(out.file_notes) == [
        "1 binary files checked for key stores only (no card numbers)"
    ]


def test_non_utf8_text_is_still_searched(tmp_path: Path) -> None:
    out = scan(build(tmp_path, {"latin1.txt": "café ".encode("latin-1") + VISA.encode()}))
    assert len(cards(out)) == 1


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from([p for _, p, _ in BRANDS]),
    length=st.integers(13, 19),
    body=st.text("0123456789", min_size=19, max_size=19),
    sep=st.sampled_from(["", " ", "-"]),
    wrap=st.sampled_from(["{}", "x = '{}'", '{{"n": "{}"}}', "a,{},b", "{} {}"]),
)
def test_numbers_failing_luhn_never_fire(
    prefix: str, length: int, body: str, sep: str, wrap: str
) -> None:
    digits = (prefix + body)[: length - 1]
    bad = digits + str((int(check_digit(digits)) + 1) % 10)
    assert not luhn(bad)
    text = grouped(bad, sep) if sep else bad
    assert find_cards(wrap.format(text, text).encode()) == []


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_only_yield_valid_cards(data: bytes) -> None:
    for card in find_cards(data):
        assert luhn(card.digits) and brand(card.digits) == card.brand


# --- key material: tests/test_key_material.py -----------------------------------------


# --- accounting and gaps ---------------------------------------------------------------


def test_oversize_and_unreadable_files_are_unscanned(tmp_path: Path) -> None:
    repo = build(tmp_path, {"big.log": "x" * 2000 + VISA, "small.log": VISA, "gone.txt": "x"})
    (repo / "gone.txt").chmod(0)
    out = scan(repo, max_file_bytes=1000)
    unscanned = {f.path: f for f in out.findings if f.category == UNSCANNED}
    assert "big.log" in unscanned and "1000 bytes" in unscanned["big.log"].message
    assert [f.path for f in cards(out)] == ["small.log"]
    if "gone.txt" in unscanned:  # not when the tests run as root
        assert "could not be read" in unscanned["gone.txt"].message
    assert_accounted(out)
    assert out.raw_results == len(out.findings)


def test_scanner_metadata(tmp_path: Path) -> None:
    assert SCANNER.name == "data-protection" and SCANNER.file_local
    assert SCANNER.executable == ""
    assert DATA in SCANNER.categories and SECRET in SCANNER.categories
    out = scan(build(tmp_path, {"a.txt": "nothing here"}))
    assert out.version and out.files_scanned == 1 and out.raw_results == 0
