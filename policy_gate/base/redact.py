"""Keeping secret values out of every output.

A secret is shown only as a masked preview (a few characters at each end for long values,
nothing for short ones) and a hash, so a reader can tell which credential to rotate
without the report becoming a second leak.
"""

from __future__ import annotations

import hashlib
import re

_QUOTED = re.compile(r"""(['"`])(?:(?!\1).){1,2000}\1""")


def mask(value: str) -> str:
    """'ABCDEFGHIJKLMNOPQRST' -> 'AB****************ST'; short values are fully masked."""
    if len(value) >= 16:
        return value[:2] + "*" * (len(value) - 4) + value[-2:]
    return "*" * max(len(value), 8)


def sha1_hex(value: str) -> str:
    """The hash detect-secrets reports as ``hashed_secret`` (used to correlate)."""
    return hashlib.sha1(value.encode("utf-8"), usedforsecurity=False).hexdigest()


def redact_message(message: str) -> str:
    """Mask every quoted literal in a scanner message that may quote a credential.

    A literal runs from a quote to the *last* quote of the same kind, so a value holding
    that quote (or a newline) is masked whole; masking too much is the safe side. Linear
    in the message's length, whatever it holds."""
    out: list[str] = []
    i = 0
    while True:
        starts = [k for k in (message.find(q, i) for q in "'\"`") if k != -1]
        if not starts:
            break
        start = min(starts)
        end = message.rfind(message[start], start + 1)
        if end == -1:  # no closing quote of this kind: look for the next kind after it
            out.append(message[i : start + 1])
            i = start + 1
            continue
        out.append(message[i : start + 1] + mask(message[start + 1 : end]) + message[end])
        i = end + 1
    out.append(message[i:])
    return "".join(out)


def redact_after(message: str, marker: str) -> str:
    """Everything after ``marker`` replaced by a masked preview of it.

    For messages that end with the credential ("Possible hardcoded password: '…'"): the
    value is not parsed out of the quotes it came in (a quote or newline inside it would
    fool that), the whole remainder is the value. Without the marker (another wording),
    every quoted literal is masked instead."""
    head, sep, value = message.partition(marker)
    if not sep:
        return redact_message(message)
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return f"{head}{sep}'{mask(value)}'"


# A URL in free text: a scheme, then everything up to white space. A quote does not end
# it (a token may hold one); a closing quote masked with a value is the safe side.
_URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]{0,31}://)(\S+)")
_HOST_PORT = re.compile(r"[^/:@]*:[0-9]+(?:/|$)")
# pip's fragment keys that name the file, not a credential (#egg=name, #sha256=<hash>).
_PUBLIC_FRAGMENT_KEYS = frozenset(
    {"egg", "subdirectory", "md5", "sha1", "sha224", "sha256", "sha384", "sha512"}
)


def redact_urls(text: str) -> str:
    """Mask what a URL can carry a credential in, wherever one is echoed: the userinfo
    (``user:token@``), every query value (``?private_token=…``, ``?sig=…``) and the
    fragment's values. Scheme, host and path stay readable."""
    if "://" not in text:
        return text
    return _URL.sub(_masked_url, text)


def _masked_url(match: re.Match[str]) -> str:
    scheme, rest = match.group(1), match.group(2)
    ends = [k for k in (rest.find("?"), rest.find("#")) if k != -1]
    cut = min(ends) if ends else len(rest)
    head, tail = rest[:cut], rest[cut:]
    slash = head.find("/")
    at = head.rfind("@", 0, slash if slash != -1 else len(head))
    if at == -1:
        # a password with an unencoded "/" ends the authority early: user:pa/ss@host
        first = head.find("@")
        if first != -1 and ":" in head[:first] and not _HOST_PORT.match(head):
            at = first
    if at != -1:
        user, colon, password = head[:at].partition(":")
        head = mask(user) + colon + (mask(password) if colon else "") + head[at:]
    return scheme + head + _masked_parameters(tail)


def _masked_parameters(tail: str) -> str:
    """'?a=1&b=2#sha256=…' with every query value masked, and a bare query (``?TOKEN``);
    in the fragment, every value but pip's public ones (a bare fragment is a git ref)."""
    out: list[str] = []
    section = ""
    for part in re.split(r"([?#&;])", tail):
        if part == "#" or (part == "?" and not section):  # a "?" in the fragment is text
            section = part
            out.append(part)
        elif part in ("?", "&", ";") or not part:
            out.append(part)
        else:
            key, eq, value = part.partition("=")
            if section == "#" and (not eq or key.lower() in _PUBLIC_FRAGMENT_KEYS):
                out.append(part)
            else:
                out.append(key + eq + mask(value) if eq else mask(part))
    return "".join(out)


def find_secret(line: str, hashed_secret: str, max_len: int = 512) -> str | None:
    """Recover which substring of a line detect-secrets flagged, by its SHA-1.

    detect-secrets reports only the hash; to show a masked preview we search the line's
    token-like substrings for one with that hash. Bounded: lines are cut to max_len.
    """
    line = line[:max_len]
    candidates = _candidate_tokens(line)
    for token in candidates:
        if sha1_hex(token) == hashed_secret:
            return token
    # Fall back to every substring (short lines only, to stay cheap).
    if len(line) <= 200:
        for start in range(len(line)):
            for end in range(start + 1, len(line) + 1):
                if sha1_hex(line[start:end]) == hashed_secret:
                    return line[start:end]
    return None


def _candidate_tokens(line: str) -> list[str]:
    pieces = set(re.split(r"""[\s'"`=:,;(){}\[\]<>]+""", line))
    pieces |= {m.group(0)[1:-1] for m in _QUOTED.finditer(line)}
    pieces |= {line.strip()}
    return [p for p in pieces if p]
