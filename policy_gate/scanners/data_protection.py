"""Data protection (M12, PCI DSS 3.x): payment card numbers and key material committed to
the repository, found in-process by reading each file once as bytes.

=================  ============================================  ========  ==========
rule id            when                                          severity  category
=================  ============================================  ========  ==========
``pan``            a Luhn-valid number with a plausible issuer   high      ``data``
                   prefix and length
``test-pan``       a scheme's published test number, or a        low       ``data``
                   synthetic-looking one (7+ repeated digits)
``key-store``      PKCS#12, JKS, JCEKS or BKS holding private    high      ``secret``
                   or secret keys (by content; by name: lower
                   confidence)
``putty-key``      a PuTTY private key (.ppk, any format)        high      ``secret``
``private-key``    a PEM private key block (PKCS#1, PKCS#8,      high      ``secret``
                   encrypted, EC, DSA, OpenSSH, PGP) or an
                   SSH2 (SSH.com) one, in a text or binary file
=================  ============================================  ========  ==========

A private key in a text file is the secret engines' too (kingfisher, detect-secrets): it
is reported here as well, identified as they identify it (``secret:`` and the sha1 of its
header, at the header's line), so the same key from both is one finding, and a key is
found whichever engines the policy runs (or none), also where they need more than a
header (a block cut short, one in a binary file).

No finding holds a card number. A card is shown as PCI DSS 3.4.1 allows (first six, last
four) and identified by a *keyed* hash: an unkeyed hash of a PAN is reversed in well under
a second once its first six and last four digits are known (about 10^5 Luhn-valid
candidates), so the key comes from ``POLICY_GATE_PAN_KEY``; without it only a deliberately
ambiguous 8-bit tag is kept (see docs/data-protection.md).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from policy_gate import __version__
from policy_gate.base.fileset import FileSet
from policy_gate.base.treefile import TreeFileError, read_tree_file
from policy_gate.catalogue import DATA_PROTECTION
from policy_gate.findings import (
    DATA,
    SECRET,
    Confidence,
    Finding,
    SecretInfo,
    Severity,
    Source,
    sha256_hex,
)
from policy_gate.results import ScanOutput
from policy_gate.scanners.filetext import as_text
from policy_gate.scanners.interface import LeftOut, ScanContext, Scanner

SCANNER = "data-protection"
RULE_PAN = "pan"
RULE_TEST_PAN = "test-pan"
RULE_KEY_STORE = "key-store"
RULE_PUTTY = "putty-key"
RULE_PEM = "private-key"
PAN_KIND = "Payment card number"
KEY_ENV = "POLICY_GATE_PAN_KEY"
HELP_URL = "https://docs-prv.pcisecuritystandards.org/PCI%20DSS/Standard/PCI-DSS-v4_0.pdf"
BINARY_NOTE = "binary files checked for key stores only (no card numbers)"
PROGRESS_EVERY = 1000

# Issuer prefix ranges and lengths (ISO/IEC 7812 IIN table as published by the schemes and
# summarised in Wikipedia's "Payment card number"). Longer prefixes are tried first, so
# Maestro's 6304 wins over nothing and Discover's 6011 over nothing; no ranges overlap.
_IIN: tuple[tuple[str, tuple[tuple[int, int], ...], frozenset[int]], ...] = (
    ("Visa", ((4, 4),), frozenset({13, 16, 19})),
    ("Mastercard", ((51, 55), (2221, 2720)), frozenset({16})),
    ("American Express", ((34, 34), (37, 37)), frozenset({15})),
    ("Discover", ((6011, 6011), (644, 649), (65, 65)), frozenset(range(16, 20))),
    ("JCB", ((3528, 3589),), frozenset(range(16, 20))),
    ("Diners Club", ((300, 305), (36, 36), (38, 39)), frozenset(range(14, 20))),
    ("UnionPay", ((62, 62),), frozenset(range(16, 20))),
    ("Mir", ((2200, 2204),), frozenset(range(16, 20))),
    (
        "Maestro",
        ((50, 50), (56, 58), (6304, 6304), (6759, 6759), (676770, 676770), (676774, 676774)),
        frozenset(range(13, 20)),  # 12-digit Maestro is not looked for (see MIN_DIGITS)
    ),
)
# (prefix length, low, high, brand, lengths), longest prefixes first.
_PREFIXES = sorted(
    (
        (len(str(lo)), lo, hi, brand, lengths)
        for brand, ranges, lengths in _IIN
        for lo, hi in ranges
    ),
    key=lambda entry: -entry[0],
)
MIN_DIGITS, MAX_DIGITS = 13, 19

# Published test numbers (Stripe, Adyen, PayPal/Braintree): graded `test-pan`. Written
# with "_" between groups so that the gate does not report its own source.
_TEST_PANS_GROUPED = (
    # Visa
    "4111_1111_1111_1111", "4242_4242_4242_4242", "4012_8888_8888_1881",
    "4000_0566_5566_5556", "4222_2222_2222_2", "4000_0000_0000_0002", "4000_0000_0000_0077",
    "4000_0000_0000_0101", "4000_0000_0000_3220", "4000_0025_0000_3155", "4000_0027_6000_3184",
    "4012_0000_3333_0026", "4012_0000_7777_7777", "4917_6100_0000_0000", "4988_4388_4388_4305",
    "4166_6766_6766_6746", "4646_4646_4646_4644", "4444_3333_2222_1111", "4917_3008_0000_0000",
    # Mastercard
    "5555_5555_5555_4444", "5105_1051_0510_5100", "2223_0031_2200_3222",
    "5200_8282_8282_8210", "2223_0000_4840_0011", "5454_5454_5454_5454", "5500_0000_0000_0004",
    "2222_4000_7000_0005", "5101_1800_0000_0007", "5431_1111_1111_1111",
    # American Express
    "3782_822463_10005", "3714_496353_98431", "3787_344936_71000", "3700_000000_00002",
    "3400_000000_00009",
    # Discover
    "6011_1111_1111_1117", "6011_0009_9013_9424", "6011_0000_0000_0012",
    "6011_6011_6011_6611", "6445_6445_6445_6445",
    # JCB
    "3530_1113_3330_0000", "3566_0020_2036_0505", "3566_1111_1111_1113",
    "3569_9900_1009_5841",
    # Diners Club
    "3056_930902_5904", "3852_000002_3237", "3622_720627_1667", "3056_9300_0902_0004",
    "3600_666633_3344",
    # UnionPay
    "6200_0000_0000_0005", "6200_0000_0000_0047", "6205_5000_0000_0000_004",
    "6243_0300_0000_0001", "6250_9410_0652_8599",
    # Maestro
    "6759_6498_2643_8453", "5000_5500_0000_0029",
)
TEST_PANS = frozenset(number.replace("_", "") for number in _TEST_PANS_GROUPED)
# 7 identical digits in a row: real PANs almost never have them (p ~ 1e-5), fixtures do.
_SYNTHETIC = re.compile(r"(\d)\1{6}")

# Runs of 13+ digits, each optionally preceded by one space or dash: the only Python-level
# work is on these matches. Maximal: a run that is too short is also too short from any
# later start, so finditer never reports part of a longer run.
_RUN = re.compile(rb"\d(?:[ \-]?\d){12,}")
_SEP = re.compile(rb"[ \-]")
# How cards are printed when grouped (ISO 7812 and the schemes' layouts).
_GROUPINGS = frozenset(
    {
        (4, 4, 4, 4), (4, 4, 4, 4, 1), (4, 4, 4, 4, 2), (4, 4, 4, 4, 3),
        (4, 6, 5), (4, 6, 4), (4, 4, 5), (4, 3, 3, 3),
        (4, 4, 4, 1), (4, 4, 4, 2), (4, 4, 4, 3), (6, 13),
    }
)
_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_ESCAPES = frozenset(b"ntr")  # "\n4111…" in a JSON or C string: a separator, not a word
# Words on a line that say it is about a card (raises confidence to high).
_CARD_WORDS = frozenset(
    {
        "card", "cards", "cardnumber", "cardno", "creditcard", "debitcard", "pan", "pans",
        "cc", "ccn", "ccnum", "cvv", "cvc", "visa", "mastercard", "amex", "maestro",
    }
)
_BLOB_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-")
MIN_BLOB, MAX_BLOB_SCAN = 32, 4096  # a token this long in that alphabet, both cases: a blob
_IDENT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")

# Key blocks. Group 1 is the header the secret engines hash to identify a key
# (detect-secrets' PrivateKeyDetector, kingfisher's betterleaks.private-key and
# policy-gate's providers-keys.yaml); the block runs to its END line (or its last line).
_PEM = re.compile(rb"-----(BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?)-----")
_PEM_END = re.compile(rb"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_SSH2 = re.compile(rb"---- (BEGIN SSH2 ((?:ENCRYPTED )?)PRIVATE KEY) ----")
_SSH2_END = re.compile(rb"---- END SSH2 (?:ENCRYPTED )?PRIVATE KEY ----")
_PUTTY = re.compile(rb"(?m)^[ \t]*(PuTTY-User-Key-File-\d+):")
# PuTTY: the private blob's lines after `Private-Lines: N`, and the MAC that ends the file.
_PUTTY_PRIVATE = re.compile(rb"\r?\n[ \t]*Private-Lines:[ \t]*\d+[ \t]*\r?\n")
_PUTTY_END = re.compile(rb"(?:[ \t]*[A-Za-z0-9+/]{4,}={0,2}[ \t]*(?:\r?\n|$))+"
                        rb"(?:[ \t]*Private-MAC:[ \t]*[0-9A-Fa-f]+)?")
# A key's body, not a placeholder (`...`, `<your key>`, `REPLACE_ME`) nor code that reads
# one: right after its header (past quotes, `+`, escaped or real line breaks, and armour
# headers such as `Proc-Type:` or `Comment:`), a run of base64 in both cases. Each armour
# line ends at the first line break, so the pattern matches one way only (linear time).
_GAP = rb"(?:[\s\"'`+,(]|\\[nr])*"
_BODY = re.compile(_GAP + rb"(?:[\w-]+:[^\n\\]*(?:\n|\\n)" + _GAP + rb")*([A-Za-z0-9+/]{20,})")
MAX_KEY_BLOCK = 64 * 1024
KEY_STORE_SUFFIXES = (".p12", ".pfx", ".jks", ".jceks", ".keystore", ".bks", ".bcfks")
JKS_MAGIC, JCEKS_MAGIC = b"\xfe\xed\xfe\xed", b"\xce\xce\xce\xce"
# PKCS#12 PFX: SEQUENCE { INTEGER 3, ContentInfo { OID 1.2.840.113549.1.7.{1,2} ... } }
_PKCS7_OID = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07"
# keyBag / pkcs8ShroudedKeyBag (1.2.840.113549.1.12.10.1.{1,2}): visible when the key sits in
# an unencrypted ContentInfo, as OpenSSL, Java and `cryptography` write it.
_KEY_BAG_OIDS = (b"\x2a\x86\x48\x86\xf7\x0d\x01\x0c\x0a\x01\x01",
                 b"\x2a\x86\x48\x86\xf7\x0d\x01\x0c\x0a\x01\x02")
KEY_PREVIEW = "<key material>"


@dataclass(frozen=True, slots=True)
class Card:
    """A validated card number on one line (the digits stay in memory only)."""

    digits: str
    brand: str
    test: bool
    line: int
    named: bool  # the line speaks of cards


@dataclass(frozen=True, slots=True)
class KeyHit:
    rule: str
    kind: str  # e.g. "PKCS#12 key store"
    line: int | None
    confidence: Confidence
    material: bytes  # what is hashed for identity (never shown)
    detail: str = ""
    header: str = ""  # a key block's header, as the secret engines identify the key
    end_line: int | None = None


def luhn(digits: str) -> bool:
    """The ISO/IEC 7812 check digit: catches every single-digit typo, so 90% of random
    digit strings fail it."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def brand(digits: str) -> str | None:
    """The scheme whose issuer range and length fit, or None: a Luhn-valid number outside
    every range is an ordinary number."""
    for width, lo, hi, name, lengths in _PREFIXES:
        if len(digits) in lengths and lo <= int(digits[:width]) <= hi:
            return name
    return None


def is_test_number(digits: str) -> bool:
    return digits in TEST_PANS or _SYNTHETIC.search(digits[6:-1] or digits) is not None


def preview(digits: str) -> str:
    """PCI DSS 3.4.1's widest display: BIN (first six) and last four."""
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def pan_digest(digits: str, key: bytes | None) -> tuple[str, str]:
    """(SecretInfo.hash, identity hex) for a card number.

    Keyed (HMAC-SHA256 with POLICY_GATE_PAN_KEY): a stable, unique id that cannot be
    reversed without the key. Unkeyed: only 8 bits, so that with the preview (about 10^5
    candidates) the tag still leaves hundreds of numbers possible.
    """
    if key:
        mac = hmac.new(key, digits.encode("ascii"), hashlib.sha256).hexdigest()
        return f"hmac-sha256:{mac}", mac
    tag = hashlib.sha256(b"policy-gate/pan\x00" + digits.encode("ascii")).hexdigest()[:2]
    return f"sha256-tag:{tag}", tag


def _shape(text: bytes) -> str | None:
    """The digits if ``text`` is laid out like one card number (plain, or grouped the way
    cards are printed with one consistent separator), else None."""
    groups = _SEP.split(text)
    digits = b"".join(groups)
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return None
    if len(groups) > 1:
        if (b" " in text) == (b"-" in text):  # both separators: not one number
            return None
        if tuple(len(g) for g in groups) not in _GROUPINGS:
            return None
    return digits.decode("ascii")


def _left_ok(data: bytes, start: int) -> bool:
    """Nothing glues the number to what precedes it: a word character (hex, base64,
    identifiers), a decimal point or dot-separated version, a sign or phone '+', a dash."""
    if start == 0:
        return True
    b = data[start - 1]
    if b in _WORD:
        return b in _ESCAPES and start >= 2 and data[start - 2] == 0x5C  # "\n"
    return b not in b".+-"


def _right_ok(data: bytes, end: int) -> bool:
    if end >= len(data):
        return True
    b = data[end]
    if b in _WORD:
        return False
    nxt = data[end + 1] if end + 1 < len(data) else 0
    # 4111….5, 1.2.3, a UUID's or an id's next part
    return not (b in b".-" and nxt in _WORD)


def candidates(data: bytes) -> Iterator[tuple[int, int, str]]:
    """(start, end, digits) of every card-shaped number in ``data``, unvalidated."""
    for match in _RUN.finditer(data):
        start, end = match.span()
        text = match.group()
        digits = _shape(text)
        if digits is not None:
            if _left_ok(data, start) and _right_ok(data, end):
                yield start, end, digits
            continue
        if b" " not in text:
            continue
        # "2024-01-01 4111…", "Order 12 4111…": one space-separated word may be a card.
        pos = start
        words = text.split(b" ")
        for i, word in enumerate(words):
            w_start, w_end = pos, pos + len(word)
            pos = w_end + 1
            digits = _shape(word)
            if digits is None:
                continue
            if (i > 0 or _left_ok(data, w_start)) and (
                i < len(words) - 1 or _right_ok(data, w_end)
            ):
                yield w_start, w_end, digits


def in_blob(data: bytes, start: int, end: int) -> bool:
    """Whether the number sits inside a base64/base64url blob (an integrity hash, an
    embedded image): its '/', '+' and '=' would otherwise pass as word boundaries."""
    left = start
    while left > 0 and data[left - 1] in _BLOB_CHARS and start - left < MAX_BLOB_SCAN:
        left -= 1
    right = end
    while right < len(data) and data[right] in _BLOB_CHARS and right - end < MAX_BLOB_SCAN:
        right += 1
    token = data[left:right]
    return (
        len(token) >= MIN_BLOB
        and any(0x41 <= b <= 0x5A for b in token)
        and any(0x61 <= b <= 0x7A for b in token)
    )


def _names_a_card(line: bytes) -> bool:
    text = line.decode("utf-8", "replace")
    for token in re.findall(r"[A-Za-z]+", text):
        if token.lower() in _CARD_WORDS:
            return True
        if any(part.lower() in _CARD_WORDS for part in _IDENT.findall(token)):
            return True
    return False


def find_cards(data: bytes) -> list[Card]:
    """Every Luhn-valid, issuer-plausible number in a text file, one per (line, number)."""
    cards: list[Card] = []
    seen: set[tuple[int, str]] = set()
    for start, end, digits in candidates(data):
        if not luhn(digits):
            continue
        name = brand(digits)
        if name is None or in_blob(data, start, end):
            continue
        line = data.count(b"\n", 0, start) + 1
        if (line, digits) in seen:
            continue
        seen.add((line, digits))
        line_start = data.rfind(b"\n", 0, start) + 1
        line_end = data.find(b"\n", end)
        text = data[line_start : line_end if line_end >= 0 else len(data)]
        cards.append(Card(digits, name, is_test_number(digits), line, _names_a_card(text)))
    return cards


def _der_header(data: bytes, pos: int) -> int | None:
    """Offset of a DER/BER SEQUENCE's content at ``pos``, or None."""
    if len(data) < pos + 2 or data[pos] != 0x30:
        return None
    first = data[pos + 1]
    if first < 0x80:
        return pos + 2
    if first == 0x80:  # BER indefinite length (some PKCS#12 writers)
        return pos + 2
    width = first & 0x7F
    return pos + 2 + width if 1 <= width <= 4 else None


def is_pkcs12(data: bytes) -> bool:
    """A PFX: SEQUENCE { version 3, ContentInfo(pkcs7-data | signedData) … }."""
    body = _der_header(data, 0)
    if body is None or data[body : body + 3] != b"\x02\x01\x03":
        return False
    info = _der_header(data, body + 3)
    return info is not None and data[info : info + len(_PKCS7_OID)] == _PKCS7_OID


def java_keystore_keys(data: bytes) -> bool | None:
    """For a JKS/JCEKS file: True if it holds a private or secret key entry, False if only
    trusted certificates (a trust store, public), None if it cannot be parsed."""
    try:
        _magic, _version, count = struct.unpack_from(">4sII", data, 0)
        pos = 12
        for _ in range(min(count, 100_000)):
            (tag,) = struct.unpack_from(">I", data, pos)
            if tag in (1, 3):  # PrivateKeyEntry; JCEKS SecretKeyEntry
                return True
            if tag != 2:
                return None
            (alias_len,) = struct.unpack_from(">H", data, pos + 4)
            pos += 6 + alias_len + 8  # alias, timestamp
            (type_len,) = struct.unpack_from(">H", data, pos)
            pos += 2 + type_len  # certificate type ("X.509")
            (cert_len,) = struct.unpack_from(">I", data, pos)
            pos += 4 + cert_len
            if pos > len(data):
                return None
        return False
    except struct.error:
        return None


# BouncyCastle's BKS store (BcKeyStoreSpi): version 0-2, a salt (20 bytes as written), an
# iteration count, then entries in the clear (a type byte, 0 ending them; a key's own
# bytes are encrypted, not its entry) and a 20-byte HMAC-SHA1.
BKS_CERTIFICATE, BKS_KEY, BKS_SECRET, BKS_SEALED = 1, 2, 3, 4
BKS_PUBLIC_KEY = 1  # a key entry's key type: 0 private, 1 public, 2 secret
BKS_MAC = 20


def _bks_utf(data: bytes, pos: int) -> int:
    """The offset after a Java modified-UTF-8 string (u2 length, bytes) at ``pos``."""
    length: int = struct.unpack_from(">H", data, pos)[0]
    return pos + 2 + length


def _bks_blob(data: bytes, pos: int) -> int:
    length: int = struct.unpack_from(">i", data, pos)[0]
    if length < 0:
        raise struct.error("negative length")
    return pos + 4 + length


def _bks_certificate(data: bytes, pos: int) -> int:
    return _bks_blob(data, _bks_utf(data, pos))  # its type ("X.509"), its encoding


def bks_keys(data: bytes) -> bool | None:
    """For a BKS key store: True if it holds a private or secret key (sealed or not), False
    if only certificates and public keys (a trust store), None if it is not one (a
    whole-file parse: BKS has no magic number)."""
    try:
        version, salt = struct.unpack_from(">ii", data, 0)
        if version not in (0, 1, 2) or not 1 <= salt <= 1024:
            return None
        (iterations,) = struct.unpack_from(">i", data, 8 + salt)
        if not 1 <= iterations <= 10_000_000:
            return None
        pos, keys = 12 + salt, False
        while (kind := data[pos]) != 0:
            pos = _bks_utf(data, pos + 1) + 8  # alias, date
            (chain,) = struct.unpack_from(">i", data, pos)
            if not 0 <= chain <= 1000:
                return None
            pos += 4
            for _ in range(chain):
                pos = _bks_certificate(data, pos)
            if kind == BKS_CERTIFICATE:
                pos = _bks_certificate(data, pos)
            elif kind == BKS_KEY:
                keys |= data[pos] != BKS_PUBLIC_KEY
                pos = _bks_blob(data, _bks_utf(data, _bks_utf(data, pos + 1)))
            elif kind in (BKS_SECRET, BKS_SEALED):
                keys, pos = True, _bks_blob(data, pos)
            else:
                return None
        return keys if len(data) == pos + 1 + BKS_MAC else None
    except (struct.error, IndexError):
        return None


def _key_store(rel: str, data: bytes) -> KeyHit | None:
    lower = rel.lower()
    if data[:4] in (JKS_MAGIC, JCEKS_MAGIC):
        kind = "Java KeyStore (JKS)" if data[:4] == JKS_MAGIC else "Java KeyStore (JCEKS)"
        keys = java_keystore_keys(data)
        if keys is False:
            return None  # a trust store: certificates only
        confidence = Confidence.HIGH if keys else Confidence.MEDIUM
        return KeyHit(RULE_KEY_STORE, kind, None, confidence, data)
    if is_pkcs12(data):
        if any(oid in data for oid in _KEY_BAG_OIDS):
            return KeyHit(RULE_KEY_STORE, "PKCS#12 key store", None, Confidence.HIGH, data)
        return KeyHit(
            RULE_KEY_STORE, "PKCS#12 key store", None, Confidence.MEDIUM, data,
            " (no unencrypted key bag: it may hold only certificates, or encrypted keys)",
        )
    bks = bks_keys(data)
    if bks is not None:
        return KeyHit(RULE_KEY_STORE, "BKS key store", None, Confidence.HIGH, data) if bks else None
    if lower.endswith(KEY_STORE_SUFFIXES) and data and not _PEM.search(data):
        return KeyHit(
            RULE_KEY_STORE, "key store", None, Confidence.LOW, data,
            " (by its name only: the content is not a format the gate recognises)",
        )
    return None


def find_keys(rel: str, data: bytes) -> list[KeyHit]:
    """Key stores and private key blocks in one file's bytes (text as read, or binary)."""
    hits: list[KeyHit] = []
    store = _key_store(rel, data)
    if store is not None:
        hits.append(store)
    line_of = _LineOf(data)
    for match, limit in _headers(_PUTTY, data):
        private = _PUTTY_PRIVATE.search(data, match.end(), limit)
        blob = _PUTTY_END.match(data, private.end(), limit) if private else None
        if blob and private and _has_body(data, private.end(), limit):
            hits.append(_block(data, line_of, match, blob.end(), limit, RULE_PUTTY,
                               "PuTTY private key"))
    for pattern, end_pattern in ((_PEM, _PEM_END), (_SSH2, _SSH2_END)):
        for match, limit in _headers(pattern, data):
            if not _has_body(data, match.end(), limit):
                continue
            end = end_pattern.search(data, match.end(), limit)
            label = match.group(2).decode("ascii").strip()
            kind = (f"{label.title()} private key (PEM)" if label else "Private key (PEM)"
                    ) if pattern is _PEM else "SSH2 private key"
            hits.append(_block(data, line_of, match, end.end() if end else None, limit,
                               RULE_PEM, kind))
    return hits


def _headers(pattern: re.Pattern[bytes], data: bytes) -> Iterator[tuple[re.Match[bytes], int]]:
    """Each header and how far its block may reach: to the next header of its kind, at most
    MAX_KEY_BLOCK (so a file of headers is read once, not once per header)."""
    matches = list(pattern.finditer(data))
    for i, match in enumerate(matches):
        stop = matches[i + 1].start() if i + 1 < len(matches) else len(data)
        yield match, min(stop, match.end() + MAX_KEY_BLOCK)


def _has_body(data: bytes, pos: int, limit: int) -> bool:
    body = _BODY.match(data, pos, limit)
    if body is None:
        return False
    run = body.group(1)
    return run.lower() != run and run.upper() != run


class _LineOf:
    """The 1-based line of offsets given in increasing order, each byte counted once."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos, self.line = data, 0, 1

    def __call__(self, pos: int) -> int:
        if pos < self.pos:
            self.pos, self.line = 0, 1
        self.line += self.data.count(b"\n", self.pos, pos)
        self.pos = pos
        return self.line


def _block(data: bytes, line_of: _LineOf, header: re.Match[bytes], end: int | None,
           limit: int, rule: str, kind: str) -> KeyHit:
    """A key block from its header to ``end`` (its END line; else to the first blank line
    or ``limit``)."""
    start = header.start(1)
    if end is None:
        stop = data.find(b"\n\n", header.end(), limit)
        end = stop if stop >= 0 else limit
    line = line_of(start)
    block = data[start:end]
    return KeyHit(rule, kind, line, Confidence.HIGH, block,
                  header=header.group(1).decode("ascii"),
                  end_line=line + block.rstrip(b"\r\n").count(b"\n"))


class DataProtectionScanner(Scanner):
    info = DATA_PROTECTION
    executable = ""  # runs in-process: no tool to execute

    def version(self, ctx: ScanContext) -> str:
        return __version__

    def cache_inputs(self, ctx: ScanContext) -> Mapping[str, Any]:
        """Card numbers are identified by an HMAC under this key: a digest of it (never the
        key) keeps answers made under another key from being reused."""
        raw_key = os.environ.get(KEY_ENV, "")
        return {"pan_key": sha256_hex("policy-gate-cache", raw_key) if raw_key else ""}

    def targets(self, fileset: FileSet) -> tuple[str, ...]:
        return fileset.files

    def scan(self, ctx: ScanContext) -> ScanOutput:
        limit = ctx.max_file_bytes
        raw_key = os.environ.get(KEY_ENV, "")
        key = raw_key.encode("utf-8") if raw_key else None
        files = self.targets(ctx.fileset)
        findings: list[Finding] = []
        scanned = 0
        left_out = LeftOut(self.name)
        file_notes: dict[str, str] = {}
        for index, rel in enumerate(files, 1):
            if index % PROGRESS_EVERY == 0:
                ctx.progress(self.name, f"{index}/{len(files)} files")
            try:
                data = read_tree_file(ctx.root / rel, limit)
            except TreeFileError as exc:
                findings.append(
                    left_out.unreadable(ctx.root, rel, exc, "card numbers or key material"))
                continue
            scanned += 1
            findings += _search(rel, data, key, file_notes)
        notes = []
        if key is None:
            notes.append(
                f"{KEY_ENV} is not set: card numbers are identified by an 8-bit tag only "
                "(set it to a secret to get unique, stable keyed hashes)"
            )
        return ScanOutput(findings, self.version(ctx), len(findings), scanned, notes,
                          unread=left_out.unread, file_notes=file_notes)


def _search(rel: str, data: bytes, key: bytes | None, file_notes: dict[str, str]
            ) -> list[Finding]:
    """Cards and keys in one file's bytes. Text is searched as the secret engines read it
    (UTF-16 decoded, policy_gate.scanners.filetext), so a key is on the line they report
    it at; a binary file only for key material."""
    text = as_text(data, rel)
    if text is None:
        file_notes[rel] = BINARY_NOTE
        return [_key_finding(rel, hit) for hit in find_keys(rel, data)]
    body = text.data
    found = [_card_finding(rel, card, key) for card in find_cards(body)]
    if b"PRIVATE KEY" in body or b"PuTTY" in body or _maybe_store(rel, data):
        found += [_key_finding(rel, hit) for hit in find_keys(rel, body)]
    return found


def _maybe_store(rel: str, data: bytes) -> bool:
    return data[:1] == b"\x30" or rel.lower().endswith(KEY_STORE_SUFFIXES)


def _card_finding(rel: str, card: Card, key: bytes | None) -> Finding:
    shown = preview(card.digits)
    hashed, ident = pan_digest(card.digits, key)
    if card.test:
        rule, severity, confidence = RULE_TEST_PAN, Severity.LOW, Confidence.HIGH
        message = (
            f"{card.brand} test card number ({shown}) committed. Published test numbers carry "
            "no cardholder data; the policy grades `data-protection:test-pan` (M12)."
        )
        title = "Test card number in repository"
    else:
        rule, severity = RULE_PAN, Severity.HIGH
        confidence = Confidence.HIGH if card.named else Confidence.MEDIUM
        message = (
            f"{card.brand} card number ({shown}) committed: it passes the Luhn check and has "
            f"a {card.brand} issuer prefix and length. A real PAN in code, fixtures or logs "
            "breaks M12 and PCI DSS 3.5.1 (PAN unreadable wherever stored). Remove it from "
            "the code and the history; use the scheme's published test numbers or tokens."
        )
        title = "Payment card number in repository"
    return Finding(
        category=DATA,
        sources=(Source(SCANNER, rule, severity, confidence, message),),
        path=rel,
        start_line=card.line,
        end_line=card.line,
        message=message,
        flaw_key=f"pan:{ident[:12]}",
        content_key=ident[:32],
        title=title,
        help_url=HELP_URL,
        fix="Replace it with a published test number or a token; purge it from history.",
        secret=SecretInfo(kind=PAN_KIND, preview=shown, hash=hashed),
    )


def _key_finding(rel: str, hit: KeyHit) -> Finding:
    """A key store, identified by its bytes; a key block, as the secret engines identify
    it (``secret:`` and the sha1 of its header, at its line), so that their findings of
    the same key and this one are one (findings.merge_findings)."""
    digest = hashlib.sha256(hit.material).hexdigest()
    flaw = f"{hit.rule}:{digest[:12]}"
    if hit.header:
        flaw = "secret:" + hashlib.sha1(hit.header.encode(), usedforsecurity=False).hexdigest()
    message = (
        f"{hit.kind} committed{hit.detail} (sha256:{digest[:12]}…). Keys belong in a secret "
        "store or HSM, not the repository (M12). Revoke or rotate it, remove it from the "
        "code and history; a store holding only certificates can be committed as PEM "
        "certificates instead."
    )
    return Finding(
        category=SECRET,
        sources=(Source(SCANNER, hit.rule, Severity.HIGH, hit.confidence, message),),
        path=rel,
        start_line=hit.line,
        end_line=hit.end_line or hit.line,
        message=message,
        flaw_key=flaw,
        content_key=digest[:32],
        title=f"{hit.kind} in repository",
        fix="Rotate the key; load it from a secret store at run time.",
        secret=SecretInfo(kind=hit.kind, preview=KEY_PREVIEW, hash=f"sha256:{digest}"),
    )
