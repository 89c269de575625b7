"""Free text from the gate's own files, kept out of every report when it may hold a secret
(pure: no I/O).

Waiver reasons, inline comments and a policy's reasons are quoted next to the findings
they decide, in every report. The secret engine reads those files as text, so a
credential pasted into a waiver's reason is a violation at that file and line, masked as
usual; without this module the same reason would then be printed whole beside the finding
it waives. Here, before evaluation, every such text that a secret finding covers is
replaced by a note saying where the secret is, and so is every text holding a
credential-shaped value (its file may not have been scanned: a policy outside the tree, a
waivers file diff mode read from the base, `--scanner bandit`). Evaluation and every
report then only ever see the note.
"""

from __future__ import annotations

import copy
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from policy_gate.base.redact import find_secret, mask
from policy_gate.findings import SECRET, Finding
from policy_gate.policy.loader import FREE_TEXT_KEYS, build
from policy_gate.policy.model import Policy
from policy_gate.policy.waivers import Waiver, WaiverSet
from policy_gate.results import Suppression

FOUND = "[withheld: a secret was found in this text at {}]"
SHAPED = "[withheld: this text holds a credential-shaped value ({})]"

# ------------------------------------------------------------------ credential shapes
# Conservative: what no reason needs to hold. A provider's format; a long token mixing
# upper case, lower case and digits (a key, not a word, an id or a hex digest); a URL's
# password; a password or token assigned a value that is not a plain word; a private key
# header; a card number (13-19 digits passing the Luhn check).
_PROVIDER = re.compile(
    r"(?:gh[pousr]_|github_pat_|glpat-|xox[abposr]-|[sr]k_(?:live|test)_|npm_|pypi-)"
    r"[A-Za-z0-9_\-]{16,}"
    r"|(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])"
    r"|AIza[0-9A-Za-z_\-]{35}"
    r"|-----BEGIN[A-Z ]*PRIVATE KEY"
)
_TOKEN = re.compile(r"[A-Za-z0-9+/=_\-]{20,}")
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s/@:]*:[^\s/@]+@")
_ASSIGNED = re.compile(
    r"\b(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|access[_-]?key|"
    r"private[_-]?key|credentials?)\s*[:=]\s*['\"]?(?=[^\s'\"]*[^a-z\s'\"])[^\s'\"]{6,}",
    re.IGNORECASE,
)
_CARD = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")


def credential_shaped(text: str) -> bool:
    """Whether ``text`` holds something shaped like a credential or a card number."""
    if _PROVIDER.search(text) or _URL_PASSWORD.search(text) or _ASSIGNED.search(text):
        return True
    for token in _TOKEN.findall(text):
        if (any(c.isupper() for c in token) and any(c.islower() for c in token)
                and any(c.isdigit() for c in token)):
            return True
    return any(_luhn(re.sub(r"[ -]", "", m)) for m in _CARD.findall(text))


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


# ------------------------------------------------------------------ where secrets are
class _SecretLines:
    """The lines of every file that hold a secret finding (any confidence, any status:
    an identifier below the threshold too; the safe side), with the value's hash."""

    def __init__(self, findings: Iterable[Finding]) -> None:
        self.by_path: dict[str, list[tuple[int, int, str | None]]] = {}
        for f in findings:
            span = f.span
            if f.category == SECRET and span is not None:
                digest = f.secret.hash.removeprefix("sha1:") if f.secret else None
                self.by_path.setdefault(f.path, []).append((*span, digest))

    def first(self, path: str | None, first: int, last: int) -> int | None:
        """The first line of a secret finding in ``path`` overlapping lines first..last."""
        hits = [a for a, b, _ in self.by_path.get(path or "", ()) if a <= last and b >= first]
        return min(hits, default=None)

    def on_line(self, path: str, line: int) -> list[str | None]:
        """The hashes of the secrets found on ``line`` (None: a finding without one)."""
        return [h for a, b, h in self.by_path.get(path, ()) if a <= line <= b]


@dataclass(frozen=True)
class Withheld:
    """The inputs of evaluation, with every free text that may hold a secret replaced."""

    findings: list[Finding]
    policy: Policy
    waivers: WaiverSet | None
    suppressions: tuple[Suppression, ...]


# A text some findings' messages quote, and the note to quote instead: a bare comment's
# finding quotes the comment (only its own: at that path and line), a licence finding
# quotes its exception's reason (anywhere, None).
_Quoted = tuple[str, str, tuple[str, int] | None]


def withhold(
    findings: Sequence[Finding],
    policy: Policy,
    waivers: WaiverSet | None,
    suppressions: Sequence[Suppression],
    policy_paths: Mapping[str, str] | None = None,
) -> Withheld:
    """Withhold every free text a secret finding covers or that is credential-shaped.

    ``policy_paths`` maps the display name of each policy file inside the scanned tree (as
    in ``Policy.files``) to its path relative to the root, as findings name it: a file
    outside the tree has no findings, and only the shape check applies to it."""
    secrets = _SecretLines(findings)
    quoted: list[_Quoted] = []
    kept_waivers = _waivers(waivers, secrets)  # no finding quotes a waiver
    kept_suppressions = tuple(_suppression(s, secrets, quoted) for s in suppressions)
    kept_policy = _policy(policy, secrets, policy_paths or {}, quoted)
    kept_findings = _rewritten(findings, quoted) if quoted else list(findings)
    return Withheld(kept_findings, kept_policy, kept_waivers, kept_suppressions)


def _note(text: str, secrets: _SecretLines, path: str | None, first: int, last: int,
          where: str) -> str | None:
    """The note replacing ``text``, or None when it may be shown."""
    line = secrets.first(path, first, last)
    if line is not None:
        return FOUND.format(f"{path}:{line}")
    if credential_shaped(text):
        return SHAPED.format(where)
    return None


def _waivers(waivers: WaiverSet | None, secrets: _SecretLines) -> WaiverSet | None:
    if waivers is None:
        return None
    out: list[Waiver] = []
    path = posixpath.normpath(waivers.file)  # as findings name it: `./x.yaml` is x.yaml
    for w in waivers.waivers:
        changes: dict[str, str] = {}
        for key, first, last in w.text_lines:
            text = getattr(w, key)
            if isinstance(text, str) and text:
                note = _note(text, secrets, path, first, last, f"{path}:{first}")
                if note is not None:
                    changes[key] = note
        out.append(replace(w, reason=changes.get("reason", w.reason),
                           owner=changes.get("owner", w.owner), id=changes.get("id", w.id))
                   if changes else w)
    return replace(waivers, waivers=tuple(out))


def _suppression(s: Suppression, secrets: _SecretLines, quoted: list[_Quoted]) -> Suppression:
    """A comment's text (only what follows its marker, already masked word by word) is
    withheld when a secret on its line may be in it: one whose value is not among the
    code's values on that line. Rule ids holding the value, or shaped like a credential,
    are masked (none can name a real rule)."""
    hashes = [h for h in secrets.on_line(s.path, s.line) if h not in s.code_values]
    where = f"{s.path}:{s.line}"
    if hashes:
        note = FOUND.format(where)
    elif credential_shaped(s.text) or credential_shaped(s.reason):
        note = SHAPED.format(where)
    else:
        return s
    rules = tuple(
        mask(r) if credential_shaped(r) or any(h and find_secret(r, h) for h in hashes) else r
        for r in s.rules
    )
    quoted.append((s.text, note, (s.path, s.line)))
    return replace(s, text=note, reason=note if s.reason else "", rules=rules)


def _policy(
    policy: Policy, secrets: _SecretLines, paths: Mapping[str, str], quoted: list[_Quoted]
) -> Policy:
    """The policy with each free text (rules' reasons, rationales, descriptions, licence
    exceptions' reasons and owners) withheld in its document and everything built from it."""
    notes: dict[str, str] = {}
    where: dict[str, str] = {}
    for src in policy.text_sources:
        path = paths.get(src.file)
        if src.text in notes:
            continue
        place = f"{path or src.file}:{src.first}"
        where.setdefault(src.text, place)
        note = _note(src.text, secrets, path, src.first, src.last, place)
        if note is not None:
            notes[src.text] = note
    present = False
    for text in _free_strings(policy.document):
        if text not in notes and credential_shaped(text):
            notes[text] = SHAPED.format(where.get(text, f"the policy {policy.name}"))
        present = present or text in notes
    if not notes:
        return policy
    quoted.extend((text, note, None) for text, note in notes.items())
    if not present:
        return policy
    document = _apply(copy.deepcopy(dict(policy.document)), notes)
    return replace(build(document, policy.files), sha256=policy.sha256)


def _free_strings(doc: Any) -> Iterator[str]:
    """Every non-empty string under a free-text key of a policy document."""
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            for key, child in node.items():
                if isinstance(child, (Mapping, list)):
                    stack.append(child)
                elif key in FREE_TEXT_KEYS and isinstance(child, str) and child:
                    yield child
        elif isinstance(node, list):
            stack.extend(node)


def _apply(doc: dict[str, Any], notes: Mapping[str, str]) -> dict[str, Any]:
    """``doc`` (a copy) with each free text in ``notes`` replaced, in place."""
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, child in node.items():
                if isinstance(child, (dict, list)):
                    stack.append(child)
                elif key in FREE_TEXT_KEYS and isinstance(child, str) and child in notes:
                    node[key] = notes[child]
        elif isinstance(node, list):
            stack.extend(node)
    return doc


def _literally(note: str) -> Callable[[re.Match[str]], str]:
    """A replacement that is ``note`` as written (a backslash in a path stays one)."""
    return lambda _match: note


def _rewritten(findings: Sequence[Finding], quoted: Sequence[_Quoted]) -> list[Finding]:
    """Findings whose messages quote a withheld text, with the note instead. A text is
    replaced where it stands as a whole (not inside a longer word), longest first."""
    patterns = [
        (re.compile(rf"(?<![A-Za-z0-9_]){re.escape(old)}(?![A-Za-z0-9_])"), note, where)
        for old, note, where in sorted(quoted, key=lambda q: len(q[0]), reverse=True)
        if old
    ]
    out: list[Finding] = []
    for f in findings:
        mine = [(rx, note) for rx, note, where in patterns
                if where is None or where == (f.path, f.start_line)]
        texts = (f.message, f.title, f.fix, *(src.message for src in f.sources))
        if not any(rx.search(t) for rx, _ in mine for t in texts):
            out.append(f)
            continue

        def scrub(text: str, mine: list[tuple[re.Pattern[str], str]] = mine) -> str:
            for rx, note in mine:
                text = rx.sub(_literally(note), text)
            return text

        sources = tuple(replace(src, message=scrub(src.message)) for src in f.sources)
        out.append(replace(f, message=scrub(f.message), title=scrub(f.title),
                           fix=scrub(f.fix), sources=sources))
    return out


__all__ = ["FOUND", "SHAPED", "Withheld", "credential_shaped", "withhold"]
