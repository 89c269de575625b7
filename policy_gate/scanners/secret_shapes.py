"""Secret or identifier? A secret scanner's hit graded by what the value is and where it
stands, so that entropy alone never fails a build and identifiers never do.

Every secret adapter calls one function on the raw value, before masking it::

    grade(kind_is_provider_pattern: bool, value: str, line: str, path: str = "",
          *, keyword: bool = False, before: str = "") -> Grade   # Grade(confidence, note)

- ``kind_is_provider_pattern``: the engine matched a provider's own format (``AKIA…``,
  ``ghp_…``, a PEM header, a URL with a password): HIGH, unless the value is an identifier.
- ``keyword``: the engine found the value by a credential name next to it (detect-secrets'
  ``Secret Keyword``, a generic ``password = …`` rule): at least MEDIUM, unless an identifier.
- neither (an entropy-only hit): MEDIUM (HIGH for a URL's password or a private key block)
  in credential context, otherwise LOW.
- ``value`` is the raw secret, ``line`` the text of the line it is on (the value need not be
  found on it), ``path`` the file's path relative to the scanned root, ``before`` the line
  above it if the adapter has it (a pretty-printed ``{"key": "dbPassword",`` /
  ``"value": "…"}`` pair, as Postman environments and collections write them).
- ``Grade.note`` says why, for the finding's message ("looks like a W3C trace id (an
  identifier, not a secret)"); it never quotes the value, nor any text of the file.

Identifiers (LOW, whatever the engine): hashes and checksums in hex, SRI ``sha256-…``
values, algorithm-labelled digests (``sha256:…``), UUIDs, git object ids, W3C
``traceparent`` values and trace/span ids, ILP conditions, fulfilments and packets, base64
images and ``data:`` URIs, the gate's own fingerprints. Structures that a random credential
cannot have by chance (a traceparent, an ILP packet that parses, an image) are identifiers
anywhere; shapes that a credential can have too (32 hex characters, a UUID, 32 bytes of
base64) are identifiers only when the name they are given says so (``checksum``,
``traceId``, ``condition``, ``fingerprint``…) or when nothing names them a credential.
docs/secrets.md is the rule in prose. Pure functions: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import NamedTuple

from policy_gate.findings import Confidence

__all__ = ["Grade", "credential_context", "grade", "identifier", "names_for"]


class Grade(NamedTuple):
    """The confidence a secret finding gets, and why (a note for its message, or None)."""

    confidence: Confidence
    note: str | None


IDENTIFIER = " (an identifier, not a secret)"
NO_CONTEXT = (
    "a high-entropy string with no provider format and no credential context (not "
    "assigned to or passed as a password, secret, token or key, not in a connection "
    "string or a private key)"
)


def grade(
    kind_is_provider_pattern: bool, value: str, line: str, path: str = "",
    *, keyword: bool = False, before: str = "",
) -> Grade:
    """How sure the gate is that ``value`` is a credential (see the module docstring)."""
    value = _core(value)
    line = _window(value, line)
    before = before[-_MARGIN:]
    what = identifier(value, line, path, unnamed=not kind_is_provider_pattern, before=before)
    if what is not None:
        return Grade(Confidence.LOW, f"looks like {what}{IDENTIFIER}")
    stand_in = None if kind_is_provider_pattern else _stand_in(value)
    if stand_in is not None:
        return Grade(Confidence.LOW, stand_in)
    if kind_is_provider_pattern:
        return Grade(Confidence.HIGH, None)
    why = credential_context(value, line, path, before=before)
    if why is not None:
        strong = why.startswith(_STRONG_CONTEXTS)
        return Grade(Confidence.HIGH if strong else Confidence.MEDIUM, why)
    if keyword:
        return Grade(Confidence.MEDIUM, "assigned to a name like a password, secret or token")
    return Grade(Confidence.LOW, NO_CONTEXT)


# A value a name-found credential can be that holds no secret: an address in place of a
# token (`"auth_token": "http://ledger/auth_token"`), or the word itself as a documented
# default (`mysql://user:password@localhost`, `\<password\>` in a Markdown table).
_ADDRESS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,31}://[^\s:/@?#]+(?::\d+)?(?:/[^\s?#@]*)?")
_STAND_IN_WORDS = frozenset({
    "password", "passwd", "pass", "pwd", "secret", "token", "apikey", "changeme", "example",
    "yourpassword", "mypassword", "userpassword", "dbpassword", "yoursecret", "yourtoken",
})


def _stand_in(value: str) -> str | None:
    """Why ``value`` (found by its name alone) is a stand-in, not a credential; or None."""
    if _ADDRESS.fullmatch(value):
        return "a URL with no password in it: an address, not a credential"
    bare = re.sub(r"[\\<>\[\]{}()_\-\s]", "", value).lower()
    if bare in _STAND_IN_WORDS:
        return "the word itself, a documented default or placeholder, not a credential"
    return None


# --- identifiers ------------------------------------------------------------------------

_HEX = re.compile(r"[0-9a-fA-F]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_B64 = re.compile(r"[A-Za-z0-9+/\-_]+={0,2}")
HEX_DIGESTS = {
    32: "an MD5 hash or a 128-bit id (a trace id, a policy-gate fingerprint)",
    40: "a SHA-1 hash or git object id",
    56: "a SHA-224 hash",
    64: "a SHA-256 hash",
    96: "a SHA-384 hash",
    128: "a SHA-512 hash",
}
_DIGEST_BYTES = {"md5": 16, "sha1": 20, "sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64}


def _sized(match: re.Match[str]) -> bool:
    """An SRI value or a labelled digest has exactly its algorithm's length."""
    size = _DIGEST_BYTES[match.group(1).lower()]
    body = match.group(2)
    if _HEX.fullmatch(body) and len(body) == 2 * size:
        return True
    decoded = _b64decode(body)
    return decoded is not None and len(decoded) == size


def _any(match: re.Match[str]) -> bool:
    del match
    return True


# Structures found on the line around the value: the value is an identifier when one of
# them contains it (so a scanner that took only part of it is judged by the whole).
_CONTAINERS: tuple[tuple[re.Pattern[str], str, Callable[[re.Match[str]], bool]], ...] = (
    (re.compile(r"(?<![0-9a-fA-F])[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}"
                r"(?![0-9a-fA-F])"), "a W3C traceparent (a trace id and a span id)", _any),
    (re.compile(r"\b(sha1|sha256|sha384|sha512)-([A-Za-z0-9+/]{27,86}={0,2})"),
     "a Subresource Integrity hash", _sized),
    (re.compile(r"\b(md5|sha1|sha224|sha256|sha384|sha512)[:=]([0-9a-fA-F]{32,128})\b",
                re.IGNORECASE), "a labelled digest", _sized),
    (re.compile(r"data:(?:image|font|audio|video)/[\w.+-]+(?:;[\w.=-]+)*;base64,"
                r"[A-Za-z0-9+/]*={0,2}", re.IGNORECASE), "a base64 data: URI", _any),
)


def identifier(
    value: str, line: str, path: str = "", *, unnamed: bool = True, before: str = ""
) -> str | None:
    """What identifier ``value`` looks like ("a W3C trace id"), or None if it is not one.

    ``unnamed``: whether a shape a credential can have too (32 hex characters, a UUID)
    counts when no name on the line calls it anything; adapters pass False for a provider
    pattern's match, which only a structure or an identifier's name (not a git name: a
    commit pin is no provider's format) turns into one."""
    del path  # nothing is an identifier because of where it is
    value = _core(value)
    what = _structure(value, line)
    if what is not None:
        return what
    shape = _ambiguous_shape(value)
    if shape is None:
        return None
    names = names_for(value, line, before)
    named = _identifier_name(names[0]) if names else None
    if named is not None and shape.form in named[1] and (unnamed or named[0] != GIT_ID):
        return _named_identifier(named[0], shape.what)
    if shape.needs_name or not unnamed or credential_context(value, line, before=before):
        return None
    return shape.what


def _structure(value: str, line: str) -> str | None:
    """An identifier that a random credential cannot be by chance: found on the line around
    the value, or the value itself decodes to it (an ILP packet, an image)."""
    for start in _occurrences(value, line):
        end = start + len(value)
        for pattern, what, check in _CONTAINERS:
            for match in pattern.finditer(line):
                if match.start() <= start and end <= match.end() and check(match):
                    return what
    for pattern, what, check in _CONTAINERS:
        whole = pattern.fullmatch(value)
        if whole and check(whole):
            return what
    raw = _b64decode(value)
    if raw is None:
        return None
    return _ilp_packet(raw) or _media(raw)


_MARGIN = 400


def _core(value: str) -> str:
    r"""The value without backslashes at its ends: detect-secrets' base64 alphabet has the
    backslash, so in escaped JSON (a Postman request body, ``\"condition\": \"…\"``) its
    value ends with the escape of the closing quote."""
    return value.strip("\\") or value


def _window(value: str, line: str, margin: int = _MARGIN) -> str:
    """The part of a (possibly minified, megabyte-long) line around the value's first
    occurrence: enough for its name and any structure that contains it."""
    if len(line) <= 2 * margin + len(value):
        return line
    start = line.find(value)
    if start == -1:
        return line[: 2 * margin]
    return line[max(0, start - margin) : start + len(value) + margin]


def _occurrences(value: str, line: str, limit: int = 8) -> list[int]:
    found: list[int] = []
    start = line.find(value) if value else -1
    while start != -1 and len(found) < limit:
        found.append(start)
        start = line.find(value, start + 1)
    return found


def _b64decode(value: str) -> bytes | None:
    """``value`` as standard or URL-safe base64 (padding optional), or None."""
    if len(value) < 16 or not _B64.fullmatch(value):
        return None
    body = value.rstrip("=")
    if len(body) % 4 == 1:
        return None
    try:
        return base64.b64decode(
            body.replace("-", "+").replace("_", "/") + "=" * (-len(body) % 4), validate=True
        )
    except (binascii.Error, ValueError):
        return None


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a base64 PNG image"),
    (b"\xff\xd8\xff", "a base64 JPEG image"),
    (b"GIF87a", "a base64 GIF image"),
    (b"GIF89a", "a base64 GIF image"),
    (b"<svg", "a base64 SVG image"),
    (b"<?xml", "a base64 XML document"),
    (b"\x00\x00\x01\x00", "a base64 icon"),
    (b"wOFF", "a base64 web font"),
    (b"wOF2", "a base64 web font"),
)


def _media(raw: bytes) -> str | None:
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "a base64 WebP image"
    return next((what for magic, what in _MAGIC if raw.startswith(magic)), None)


_ILP_TYPES = {1: "an ILP packet (Interledger v1 payment)", 12: "an ILP prepare packet",
              13: "an ILP fulfil packet", 14: "an ILP reject packet"}
_ILP_ADDRESS = re.compile(rb"[A-Za-z0-9._~-]{1,1023}")


def _ilp_packet(raw: bytes) -> str | None:
    """An Interledger packet in OER: a type byte, a length determinant equal to the rest,
    and the fields its type starts with."""
    if len(raw) < 3 or raw[0] not in _ILP_TYPES:
        return None
    parsed = _oer_length(raw, 1)
    if parsed is None or parsed[0] != len(raw) - parsed[1]:
        return None
    body = raw[parsed[1]:]
    kind = raw[0]
    if kind == 12:  # amount (8), expiresAt (17 digits), condition (32), destination…
        ok = len(body) > 57 and body[8:25].isdigit()
    elif kind == 13:  # fulfilment (32), data
        ok = len(body) >= 33
    elif kind == 14:  # code ("F02"), triggeredBy, message, data
        ok = re.fullmatch(rb"[FTR][0-9A-Z]{2}", body[:3]) is not None
    else:  # v1 payment: amount (8), account (ILP address), data
        address = _oer_octets(body, 8)
        ok = address is not None and _ILP_ADDRESS.fullmatch(address) is not None
    return _ILP_TYPES[kind] if ok else None


def _oer_length(raw: bytes, at: int) -> tuple[int, int] | None:
    """An OER length determinant at ``at``: (length, offset after it)."""
    if at >= len(raw):
        return None
    first = raw[at]
    if first < 0x80:
        return first, at + 1
    size = first & 0x7F
    if size == 0 or size > 4 or at + 1 + size > len(raw):
        return None
    return int.from_bytes(raw[at + 1 : at + 1 + size], "big"), at + 1 + size


def _oer_octets(raw: bytes, at: int) -> bytes | None:
    parsed = _oer_length(raw, at)
    if parsed is None or parsed[1] + parsed[0] > len(raw):
        return None
    return raw[parsed[1] : parsed[1] + parsed[0]]


class _Shape(NamedTuple):
    """A shape identifiers have and a credential may have too."""

    what: str  # what it looks like, for the note
    form: str  # "hex", "hex16", "uuid" or "b64": which identifier names it fits
    needs_name: bool  # an identifier only when a name says so


def _ambiguous_shape(value: str) -> _Shape | None:
    """Hex of a digest's length, a UUID and 32 bytes of base64 (an ILP condition) are
    identifiers unless named as credentials; 16 hex characters (a span id) and base64 of
    a longer digest's length only when an identifier's name says so. Shorter base64 is
    no identifier's shape: too many passwords have it."""
    if _UUID.fullmatch(value):
        return _Shape("a UUID", "uuid", False)
    if _HEX.fullmatch(value):
        if len(value) in HEX_DIGESTS:
            return _Shape(HEX_DIGESTS[len(value)], "hex", False)
        return _Shape("a 64-bit hex id", "hex16", True) if len(value) == 16 else None
    raw = _b64decode(value) if len(value) <= 90 else None
    if raw is None:
        return None
    if len(raw) == 32:
        return _Shape("32 bytes in base64 (an ILP condition or fulfilment, or a SHA-256 hash)",
                      "b64", False)
    if len(raw) in (48, 64):
        return _Shape(f"a {len(raw) * 8}-bit hash in base64", "b64", True)
    return None


_HEXES = frozenset({"hex", "hex16"})
# A git name (a pre-commit `rev:`, a `commit:`) says its hex value is a commit pin: an
# identifier for an entropy or keyword result, but no cover for a provider's format (a
# provider rule that matches hex needs the provider's name in the key: `sendbird_rev: …`).
GIT_ID = "a git object id"
# What a name says an identifier is, by the name's last word(s), and the shapes it fits.
_ID_NAMES: tuple[tuple[frozenset[str], str, frozenset[str]], ...] = (
    (frozenset({"fingerprint", "fingerprints"}), "a finding fingerprint", _HEXES),
    (frozenset({"traceparent"}), "a W3C traceparent", _HEXES),
    (frozenset({"trace", "traceid", "tracing"}), "a W3C trace id", _HEXES),
    (frozenset({"span", "spanid", "parentid", "parent"}), "a W3C span id", _HEXES),
    (frozenset({"etag"}), "an HTTP entity tag", frozenset({"hex", "b64"})),
    (frozenset({"condition", "executioncondition"}), "an ILP condition",
     frozenset({"b64", "hex"})),
    (frozenset({"fulfilment", "fulfillment", "fulfil", "fulfill", "preimage"}),
     "an ILP fulfilment", frozenset({"b64", "hex"})),
    (frozenset({"commit", "rev", "revision", "oid", "tree", "blob", "head", "ref", "sha"}),
     GIT_ID, frozenset({"hex"})),
    (frozenset({"hash", "hashed", "hashes", "checksum", "checksums", "digest", "digests",
                "sum", "shasum", "md5", "sha1", "sha224", "sha256", "sha384", "sha512",
                "integrity", "thumbprint", "x5t", "signature", "hmac", "mac"}),
     "a hash or checksum", frozenset({"hex", "hex16", "b64"})),
    (frozenset({"id", "ids", "uuid", "guid", "kid", "correlationid", "requestid",
                "transferid", "quoteid", "transactionid", "nonce"}), "an id",
     frozenset({"uuid", "hex", "hex16"})),
)


def _identifier_name(name: str) -> tuple[str, frozenset[str]] | None:
    """What a name calls its value and the shapes that fits, when the name (by its last
    word, or its last two run together: ``traceId``, ``ETag``) names an identifier."""
    words = name_words(name)
    for last in ("".join(words[-2:]), words[-1]) if words else ():
        for vocabulary, what, forms in _ID_NAMES:
            if last in vocabulary:
                return what, forms
    return None


def _named_identifier(named: str, shape: str) -> str:
    """The note for an ambiguous shape under an identifier's name: the name's meaning,
    with the shape when the name is generic."""
    if named in ("a hash or checksum", "an id"):
        return shape
    return named


# --- credential context -----------------------------------------------------------------

_STRONG_CONTEXTS = ("in a URL's password", "in a private key")
_CRED_PARTS = ("password", "passwd", "passphrase", "secret", "token", "apikey", "credential",
               "privatekey", "accesskey", "secretkey", "authkey", "signingkey",
               "encryptionkey", "masterkey", "sessionkey", "clientkey")
_CRED_WORDS = frozenset({"pwd", "pass", "pw", "auth", "authorization", "bearer", "oauth",
                         "creds", "cred", "apikey", "key", "keys", "pat", "jwt", "cookie",
                         "session", "dsn", "connectionstring", "sas", "psk"})
# "key" after one of these words names something that is not a credential.
_PUBLIC_KEYS = frozenset({
    "public", "pub", "cache", "idempotency", "primary", "foreign", "sort", "partition",
    "routing", "lookup", "map", "unique", "row", "object", "dict", "message", "locale", "i18n",
    "translation", "field", "column", "react", "list", "group", "hot", "short", "sequence",
    "kafka", "index", "search", "hash", "range", "composite", "natural", "surrogate",
    "candidate", "compound", "alternate", "shard", "bucket", "cursor", "continuation", "page",
    "dedup", "dedupe", "join", "match", "content", "flaw", "sorting", "grouping",
})
_PEM_PRIVATE = re.compile(r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")
_KEY_FILE = re.compile(r"(?:^|/)(?:id_(?:rsa|dsa|ecdsa|ed25519)|[^/]+\.(?:key|p8|ppk))$")
# a password may hold an unencoded "/" (base64): the userinfo runs to the last "@"
_URL_USERINFO = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,31}://([^\s/@'\"`]*:[^\s@'\"`]+)@")
_AUTH_SCHEME = re.compile(r"(?i:\b(?:bearer|basic|digest)\s+|authorization\W{1,4}\w+\s+)$")


def credential_context(value: str, line: str, path: str = "", *, before: str = "") -> str | None:
    """Why ``value`` stands where a credential stands, or None: a name like a password,
    secret, token or key; an ``Authorization`` scheme; a URL's password; a private key."""
    value = _core(value)
    for start in _occurrences(value, line) or [-1]:
        if start >= 0:
            for match in _URL_USERINFO.finditer(line):
                if match.start(1) <= start + len(value) and start < match.end(1):
                    return "in a URL's password (a connection string)"
            if _AUTH_SCHEME.search(line[:start]):
                return "an Authorization header's credentials"
    if _URL_USERINFO.search(value):
        return "in a URL's password (a connection string)"
    if _PEM_PRIVATE.search(line) or _KEY_FILE.search(path):
        return "in a private key"
    for name in names_for(value, line, before):
        if credential_name(name):
            return "assigned to or passed as a name like a password, secret, token or key"
    return None


def credential_name(name: str) -> bool:
    """Whether a name (a key, variable, argument, flag or header) calls its value a
    credential: by its words, unless its last word names an identifier (``tokenId``)."""
    words = name_words(name)
    if not words or _identifier_name(name) is not None:
        return False
    joined = "".join(words)
    if any(part in joined for part in _CRED_PARTS):
        return True
    for i, word in enumerate(words):
        if word in ("key", "keys"):
            if i == len(words) - 1 and (i == 0 or words[i - 1] not in _PUBLIC_KEYS):
                return True
        elif word in _CRED_WORDS:
            return True
    return False


_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def name_words(name: str) -> list[str]:
    """'AWS_SECRET_ACCESS_KEY' -> aws secret access key; 'apiKey' -> api key;
    'X-Api-Key' -> x api key; 'ilpPacket' -> ilp packet (lowercase words)."""
    words = [w.lower() for w in _WORD.findall(name)]
    # keep "sha256" and "md5" whole: a digit run after letters is part of the word
    merged: list[str] = []
    for word in words:
        if word.isdigit() and merged and merged[-1] in ("sha", "md", "x", "sha3"):
            merged[-1] += word
        else:
            merged.append(word)
    return merged


# --- the name a value is given ----------------------------------------------------------

_Q = r"""(?:\\?["'`])"""
_NAME = r"(?P<name>[A-Za-z_$@][\w$.\-]{0,80})"
_ASSIGNED = re.compile(
    _NAME + _Q + r"?\]?\s*(?:=>|:=|\?\?=|\|\|=|\+=|={1,3}|!==?|:|->)\s*"
    r"(?:[A-Za-z.]+\()?\s*(?:[bBrRuUfF]{0,2}" + _Q + r"|\[|\{)?\s*$"
)
_FLAG = re.compile(r"(?:^|\s)--?(?P<name>[A-Za-z][\w-]{1,80})(?:=|\s+)" + _Q + r"?$")
_ENV_LINE = re.compile(r"^\s*(?:ENV|ARG|export|set|setx|declare)\s+(?:-\w+\s+)?" + _NAME
                       + r"\s+" + _Q + r"?$")
_XML = re.compile(r"<(?P<name>[\w:.-]{1,80})(?:\s[^<>]*)?>\s*$")
_POSTMAN = re.compile(r"""\\?["']key\\?["']\s*:\s*\\?["'](?P<name>[^"'\\]{1,80})\\?["']""")
_LITERAL = re.compile(r"""(["'`])(?:\\.|(?!\1)[^\\])*\1""")
_CALLEE = re.compile(r"(?P<name>[A-Za-z_$][\w$.]{0,80})\s*$")
_ARG_NAME = re.compile(r"""^\\?(["'`])(?P<name>[\w.-]{1,80})\\?\1\s*,\s*""")


def names_for(value: str, line: str, before: str = "") -> list[str]:
    """The names ``value`` is given on its line, nearest first: the key or variable it is
    assigned to, the flag or header it follows, the function it is passed to and a name
    passed before it (``setHeader("X-Api-Key", value)``); for a ``"value"`` entry, the
    ``"key"`` beside it or on the line ``before`` it. Empty when none is found."""
    starts = _occurrences(value, line, 1)
    if not starts:
        return []
    prefix = line[: starts[0]]
    names: list[str] = []
    for pattern in (_ASSIGNED, _FLAG, _ENV_LINE, _XML):
        match = pattern.search(prefix)
        if match:
            names.append(match.group("name"))
            break
    if names and names[0].lower() == "value":
        postman = _POSTMAN.search(line) or _POSTMAN.search(before)
        if postman:
            names.insert(0, postman.group("name"))
    names.extend(_call_names(prefix))
    return names


def _call_names(prefix: str) -> list[str]:
    """A name given as a string argument before the value (``set("fulfilment", value)``),
    and the function whose argument list the prefix ends in; string literals are blanked
    so that their brackets do not count."""
    blank = _LITERAL.sub(lambda m: m.group(1) + " " * (len(m.group(0)) - 2) + m.group(1), prefix)
    depth = 0
    for i in range(len(blank) - 1, -1, -1):
        char = blank[i]
        if char in ")]}":
            depth += 1
        elif char in "([{":
            if depth == 0:
                if char != "(":
                    return []
                names = []
                argument = _ARG_NAME.match(prefix[i + 1 :].lstrip())
                if argument:
                    names.append(argument.group("name"))
                callee = _CALLEE.search(blank[:i])
                if callee:
                    names.append(callee.group("name"))
                return names
            depth -= 1
    return []
