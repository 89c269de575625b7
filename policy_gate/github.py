"""GitHub Actions glue: annotations, step outputs, the job summary and the sticky PR comment.

Entry points (all pure or file/HTTP only; the CLI decides when to call them):

* :func:`escape_data` / :func:`escape_property` — exactly @actions/core ``command.ts``.
* :func:`annotations` ``(data, *, per_type_limit=10, total_limit=50, path_prefix="",
  include_scanners=True) -> (lines, not_emitted)`` — ``::error``/``::warning`` workflow
  commands, most important first, capped at what GitHub displays; print each line to
  stdout. Pass ``not_emitted`` to ``markdown.render(annotations_not_shown=...)``. The
  gate's notices are annotations too: a failing one (a change to the gate's own policy,
  waivers or baseline; a stale waiver under ``stale: fail``) an ``::error`` on the file it
  concerns, the others (expired, expiring, over-long waivers) ``::warning`` at the
  waiver's line.
* :func:`gate_outputs` ``(data, report_paths) -> dict[str, str]`` and
  :func:`write_outputs` ``(path, outputs)`` — ``$GITHUB_OUTPUT`` in the heredoc form.
* :func:`write_step_summary` ``(path, markdown, *, max_bytes=1 MiB) -> int`` — appends to
  ``$GITHUB_STEP_SUMMARY`` without ever taking the step over GitHub's limit.
* :func:`comment_body` ``(data, *, links=None, annotations_not_shown=0) -> str`` — marker +
  Markdown report rendered to fit a comment.
* :func:`upsert_pr_comment` ``(api_url, repo, pr_number, token, body, marker=MARKER, *,
  author=None, timeout=30.0) -> CommentResult`` — the sticky comment, only ever one the
  token's own identity wrote (:func:`token_identity`); raises :class:`GitHubAPIError`
  (never containing the token).
* :func:`pr_number_from_event` / :func:`head_sha_from_event` ``(event_path)`` — from
  ``$GITHUB_EVENT_PATH`` on ``pull_request`` / ``pull_request_target`` events.

GitHub limits honoured (verified against GitHub's docs and the runner/toolkit sources):
10 error + 10 warning (+ 10 notice) annotations per step and 50 per job; a step summary of
at most 1 MiB (the runner aborts the upload: "supports content up to a size of 1024k");
a comment body of at most 65,536 characters ("Body is too long (maximum is 65536
characters)").
"""

import ipaddress
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policy_gate.policy.evaluate import Decision, Notice, Status
from policy_gate.reports import markdown
from policy_gate.reports.interface import ReportData, notice_repo_path, printable, repo_path
from policy_gate.reports.markdown import COMMENT_MAX_CHARS, SUMMARY_MAX_BYTES, LinkBuilder, fit

MARKER = "<!-- policy-gate -->"
ERRORS_PER_STEP = 10
WARNINGS_PER_STEP = 10
ANNOTATIONS_PER_JOB = 50
API_VERSION = "2022-11-28"
MAX_MESSAGE = 1000  # characters of an annotation's message


# -- workflow commands -------------------------------------------------------------------


def escape_data(s: str) -> str:
    """A workflow command's message, as @actions/core ``escapeData``."""
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    """A workflow command's property value, as @actions/core ``escapeProperty``."""
    return (
        s.replace("%", "%25")
        .replace("\r", "%0D")
        .replace("\n", "%0A")
        .replace(":", "%3A")
        .replace(",", "%2C")
    )


def _inert(s: str) -> str:
    """A value as it may go into a workflow command: CR and LF are left to the escaping
    GitHub undoes (so a file name with a newline still names its file), every other
    character that is not printable — a terminal escape, a bidi override, an undecodable
    byte of a file name — is shown escaped, as on the terminal."""
    if s.isprintable():
        return s
    return "".join(ch if ch in "\r\n" else printable(ch) for ch in s)


def command(name: str, properties: Mapping[str, str | int | None], message: str) -> str:
    """``::name k=v,k=v::message`` as @actions/core ``Command.toString`` (empty values
    are left out)."""
    props = ",".join(
        f"{key}={escape_property(_inert(str(value)))}"
        for key, value in properties.items()
        if value is not None and str(value) != ""
    )
    return f"::{name}{' ' + props if props else ''}::{escape_data(_inert(message))}"


def _annotation(d: Decision, kind: str, path_prefix: str) -> str:
    f = d.finding
    title = f"policy-gate: {f.qualified_rule} ({d.severity.label})"
    parts = [f.message]
    if f.ids:
        parts.append(f"[{', '.join(f.ids)}]")
    if f.fix:
        parts.append(f"Fix: {f.fix}")
    if d.status is Status.BELOW_THRESHOLD:
        parts.append("(below the fail threshold: reported, not failing)")
    message = " ".join(parts)
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    path = repo_path(path_prefix, f.path) if f.path else f.path
    end = f.end_line if f.start_line and f.end_line and f.end_line >= f.start_line else None
    return command(
        kind,
        {
            "file": path or None,
            "line": f.start_line or None,
            "endLine": end,
            "title": title,
        },
        message,
    )


_NOTICE_TITLES = {
    "policy-change": "policy change needs security review",
    "stale-waiver": "stale waiver",
    "expired-waiver": "expired waiver",
    "expiring-waiver": "waiver expiring soon",
    "waiver-too-long": "waiver lasts too long",
}


def _notice_annotation(n: Notice, data: ReportData, path_prefix: str) -> str:
    message = n.message
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    return command(
        "error" if n.fails else "warning",
        {
            "file": notice_repo_path(n, path_prefix),
            "line": n.line,
            "title": f"policy-gate: {_NOTICE_TITLES.get(n.kind, n.kind)}",
        },
        message,
    )


def annotations(
    data: ReportData,
    *,
    per_type_limit: int = ERRORS_PER_STEP,
    total_limit: int = ANNOTATIONS_PER_JOB,
    path_prefix: str = "",
    include_scanners: bool = True,
) -> tuple[list[str], int]:
    """Workflow-command lines for GitHub annotations, and how many were not emitted.

    ``::error`` for every violation (the policy's ``annotate`` threshold governs only what
    is below the fail threshold), ``::warning`` for below-threshold findings whose
    decision says ``annotate``; with ``include_scanners``, a failed scanner is an
    ``::error`` and a skipped one a ``::warning`` (no file), listed first. Notices come
    next (the policy change first): ``::error`` when they fail the build, else
    ``::warning``, on the file (and line) they concern. Accepted findings (waived,
    baselined, suppressed inline, pre-existing) are not annotated: they do not fail and
    the summary counts them. Most important
    first (:meth:`ReportData.ordered`); at most ``per_type_limit`` of each kind and
    ``total_limit`` in all — GitHub shows 10 errors and 10 warnings per step and 50
    annotations per job, and drops the rest silently. ``path_prefix`` is joined to paths
    when the scanned root is not the repository root (annotations need repo paths).

    Every value is escaped as @actions/core does, so a file name with ``%``, CR, LF,
    ``::`` or ``,`` cannot end the command or start another. Findings carry masked
    previews only, so no secret value can reach an annotation.
    """
    errors: list[str] = []
    warnings: list[str] = []
    if include_scanners:
        for run in data.result.runs:
            reason = run.reason or "no reason given"
            if run.status == "failed":
                errors.append(
                    command(
                        "error",
                        {"title": f"policy-gate: {run.name} failed"},
                        f"{run.name} failed, so the gate cannot pass: {reason}",
                    )
                )
            elif run.status == "skipped":
                warnings.append(
                    command(
                        "warning",
                        {"title": f"policy-gate: {run.name} skipped"},
                        f"{run.name} failed and is optional in the policy, so it was "
                        f"skipped: {reason}",
                    )
                )
    for n in data.notices():
        (errors if n.fails else warnings).append(_notice_annotation(n, data, path_prefix))
    for d in data.ordered():
        if d.status is Status.VIOLATION:
            errors.append(_annotation(d, "error", path_prefix))
        elif d.status is Status.BELOW_THRESHOLD and d.annotate:
            warnings.append(_annotation(d, "warning", path_prefix))

    shown_errors = errors[: max(0, min(per_type_limit, total_limit))]
    room = max(0, total_limit - len(shown_errors))
    shown_warnings = warnings[: max(0, min(per_type_limit, room))]
    lines = shown_errors + shown_warnings
    return lines, len(errors) + len(warnings) - len(lines)


# -- step outputs and summary ------------------------------------------------------------

_OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def key_value_message(key: str, value: str) -> str:
    """One ``$GITHUB_OUTPUT``/``$GITHUB_ENV`` entry in the heredoc form, as @actions/core
    ``prepareKeyValueMessage``: ``key<<ghadelimiter_<uuid>`` / value / delimiter. The
    delimiter is random and is regenerated should it ever occur in the value."""
    if not _OUTPUT_NAME.fullmatch(key):
        raise ValueError(f"invalid output name {key!r}")
    while True:
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        if delimiter not in value and delimiter not in key:
            break
    eol = "\n"
    return f"{key}<<{delimiter}{eol}{value}{eol}{delimiter}{eol}"


def write_outputs(path: str | os.PathLike[str], outputs: Mapping[str, str]) -> None:
    """Append every output to the ``$GITHUB_OUTPUT`` file (heredoc form, any value)."""
    text = "".join(key_value_message(k, v) for k, v in outputs.items())
    with Path(path).open("a", encoding="utf-8", newline="") as fh:
        fh.write(text)


def read_outputs(path: str | os.PathLike[str]) -> dict[str, str]:
    """Parse an outputs file as the runner does (both ``k=v`` and heredoc forms); for
    tests and for tooling that inspects what a step set."""
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    out: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            value: list[str] = []
            while i < len(lines) and lines[i] != delimiter:
                value.append(lines[i])
                i += 1
            if i >= len(lines):
                raise ValueError(f"matching delimiter not found for {key!r}")
            i += 1
            out[key] = "\n".join(value)
        else:
            key, _, val = line.partition("=")
            out[key] = val
    return out


def gate_outputs(data: ReportData, report_paths: Mapping[str, str] | None = None) -> dict[str, str]:
    """The action's outputs: ``verdict``, ``exit-code``, ``violations``, ``findings``,
    ``review-required`` (``true`` when the change modifies the gate's own policy, waivers
    or baseline — whether the policy makes that fail or only warns), the accepted counts
    ``waived``, ``baselined``, ``pre-existing`` and ``suppressed``, ``counts`` (JSON: by
    status, by category/severity/status, budgets exceeded, notices by kind), ``reports``
    (JSON: format -> path) and ``report-<format>`` for each report."""
    ev = data.evaluation
    counts = {
        "by_status": dict(Counter(d.status.value for d in ev.decisions)),
        "by_category": {
            cat: {sev: dict(c) for sev, c in sevs.items() if c}
            for cat, sevs in data.table().items()
        },
        "budgets_exceeded": len(ev.budgets),
        "scanners": {r.name: r.status for r in data.result.runs},
        "notices": dict(Counter(n.kind for n in ev.notices)),
    }
    reports = dict(report_paths or {})
    out = {
        "verdict": ev.verdict.value,
        "exit-code": str(ev.verdict.exit_code),
        "violations": str(len(ev.violations)),
        "findings": str(len(ev.decisions)),
        "review-required": "true" if ev.policy_change is not None else "false",
        "waived": str(ev.count(Status.WAIVED)),
        "baselined": str(ev.count(Status.BASELINED)),
        "pre-existing": str(ev.count(Status.PRE_EXISTING)),
        "suppressed": str(ev.count(Status.SUPPRESSED)),
        "counts": json.dumps(counts, sort_keys=True),
        "reports": json.dumps(reports, sort_keys=True),
    }
    for fmt, report in reports.items():
        out[f"report-{fmt}"] = report
    return out


_SUMMARY_NOTE = "\n*(truncated to fit GitHub's size limit)*\n"


def write_step_summary(
    path: str | os.PathLike[str], markdown: str, *, max_bytes: int = SUMMARY_MAX_BYTES
) -> int:
    """Append ``markdown`` to the ``$GITHUB_STEP_SUMMARY`` file, truncated (at a line
    boundary, with a note) so that the file — one per step — stays within ``max_bytes``.
    Returns the bytes written (0 when nothing more fits)."""
    target = Path(path)
    used = target.stat().st_size if target.exists() else 0
    room = max_bytes - used
    if room < len(_SUMMARY_NOTE.encode("utf-8")) + 1:
        return 0  # not even the truncation note fits: add nothing
    text = fit(markdown, room, _SUMMARY_NOTE)
    data = text.encode("utf-8")
    with target.open("ab") as fh:
        fh.write(data)
    return len(data)


# -- event payload -----------------------------------------------------------------------


def _event(event_path: str | os.PathLike[str] | None) -> dict[str, Any]:
    if not event_path:
        return {}
    try:
        payload = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def pr_number_from_event(event_path: str | os.PathLike[str] | None) -> int | None:
    """The pull request number of a ``pull_request``/``pull_request_target`` event
    (``$GITHUB_EVENT_PATH``); None for other events or an unreadable payload."""
    pr = _event(event_path).get("pull_request")
    if not isinstance(pr, dict):
        return None
    number = pr.get("number")
    return number if isinstance(number, int) and number > 0 else None


def head_sha_from_event(event_path: str | os.PathLike[str] | None) -> str | None:
    """The PR head commit (``GITHUB_SHA`` is the test merge commit on PR events)."""
    pr = _event(event_path).get("pull_request")
    head = pr.get("head") if isinstance(pr, dict) else None
    sha = head.get("sha") if isinstance(head, dict) else None
    return sha if isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{40,64}", sha) else None


def base_sha_from_event(event_path: str | os.PathLike[str] | None) -> str | None:
    """The PR's base commit: what diff mode compares against by default in Actions."""
    pr = _event(event_path).get("pull_request")
    base = pr.get("base") if isinstance(pr, dict) else None
    sha = base.get("sha") if isinstance(base, dict) else None
    return sha if isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{40,64}", sha) else None


# -- sticky pull-request comment ---------------------------------------------------------


class GitHubAPIError(RuntimeError):
    """A GitHub API call failed. The message names the method, URL and status and the
    API's own message; it never contains the token."""

    def __init__(self, method: str, url: str, status: int | None, detail: str) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.detail = detail
        where = f"{method} {url}"
        super().__init__(
            f"GitHub API {where} failed"
            + (f" with HTTP {status}" if status is not None else "")
            + (f": {detail}" if detail else "")
        )


@dataclass(frozen=True)
class CommentResult:
    action: str  # "created" | "updated"
    id: int
    url: str  # html_url when the API returned it


_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
MAX_PAGES = 100  # 10,000 comments


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are not followed: the token must only ever go to ``api_url``."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _check_api_url(api_url: str) -> urllib.parse.SplitResult:
    parts = urllib.parse.urlsplit(api_url)
    if parts.scheme == "https" and parts.hostname:
        return parts
    if parts.scheme == "http" and parts.hostname:
        try:
            loopback = ipaddress.ip_address(parts.hostname).is_loopback
        except ValueError:
            loopback = parts.hostname == "localhost"
        if loopback:  # a local test server; never send a token in clear over a network
            return parts
    raise ValueError(f"refusing to send a token to {api_url!r}: use an https:// API URL")


class _Client:
    def __init__(self, api_url: str, token: str, timeout: float) -> None:
        self.base = api_url.rstrip("/")
        self.origin = _check_api_url(self.base)
        self.token = token
        self.timeout = timeout
        self.opener = urllib.request.build_opener(_NoRedirect)

    def _scrub(self, text: str) -> str:
        return text.replace(self.token, "***") if self.token else text

    def call(self, method: str, url: str, body: Any = None) -> tuple[Any, Mapping[str, str]]:
        parts = urllib.parse.urlsplit(url)
        if (parts.scheme, parts.netloc) != (self.origin.scheme, self.origin.netloc):
            raise GitHubAPIError(method, self._scrub(url), None, "URL outside the API origin")
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - checked
        req.add_header("Accept", "application/vnd.github+json")
        req.add_header("X-GitHub-Api-Version", API_VERSION)
        req.add_header("User-Agent", "policy-gate")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        # not carried over to a redirect (and redirects are not followed anyway)
        req.add_unredirected_header("Authorization", f"Bearer {self.token}")
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                raw = resp.read()
                headers = {k.lower(): v for k, v in resp.headers.items()}
        except urllib.error.HTTPError as exc:
            detail = ""
            try:
                payload = json.loads(exc.read() or b"{}")
                if isinstance(payload, dict):
                    detail = str(payload.get("message", ""))
                    errors = payload.get("errors")
                    if errors:
                        detail += f" {json.dumps(errors)[:500]}"
            except (ValueError, OSError):
                detail = exc.reason if isinstance(exc.reason, str) else ""
            raise GitHubAPIError(
                method, self._scrub(url), exc.code, self._scrub(detail)[:1000]
            ) from None
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GitHubAPIError(method, self._scrub(url), None, self._scrub(str(reason))) from None
        try:
            return (json.loads(raw) if raw else None), headers
        except ValueError:
            raise GitHubAPIError(method, self._scrub(url), None, "response is not JSON") from None


def _truncate_comment(body: str, limit: int = COMMENT_MAX_CHARS) -> str:
    if len(body) <= limit:
        return body
    note = "\n\n*(truncated: the comment exceeded GitHub's 65,536-character limit)*\n"
    head = body[: limit - len(note)]
    cut = head.rfind("\n")
    return (head[: cut + 1] if cut > 0 else head) + note


def comment_body(
    data: ReportData,
    *,
    links: LinkBuilder | None = None,
    annotations_not_shown: int = 0,
    marker: str = MARKER,
) -> str:
    """The sticky comment's body: ``marker`` + the Markdown report, within 65,536
    characters (the report is rendered to fit, so the violation list is shortened with a
    note rather than cut by :func:`upsert_pr_comment`)."""
    head = f"{marker}\n"
    return head + markdown.render(
        data,
        links=links,
        max_bytes=COMMENT_MAX_CHARS - len(head.encode("utf-8")),
        annotations_not_shown=annotations_not_shown,
    )


# The account GITHUB_TOKEN (the GitHub Actions app's installation token) writes as.
ACTIONS_BOT_LOGIN = "github-actions[bot]"
ACTIONS_APP_SLUG = "github-actions"
# GET /user answers these for an installation token ("Resource not accessible by
# integration"), which has no user of its own.
_NO_USER_STATUSES = frozenset({401, 403, 404})


@dataclass(frozen=True)
class CommentAuthor:
    """Whose comments the gate may update: the token's own identity. ``login`` with
    ``bot`` set matches only comments whose ``user.type`` is ``Bot`` — a user account
    cannot have a ``[bot]`` login, or a Bot type."""

    login: str
    bot: bool
    how: str  # how the identity was determined, for messages

    def wrote(self, comment: Mapping[str, Any]) -> bool:
        user = comment.get("user")
        if not isinstance(user, Mapping):
            return False
        is_bot = user.get("type") == "Bot"
        if self.bot != is_bot:
            return False
        if user.get("login") == self.login:
            return True
        # GITHUB_TOKEN on a GitHub Enterprise Server whose Actions app has another login:
        # still a Bot comment made through the github-actions app.
        app = comment.get("performed_via_github_app")
        return (self.bot and self.login == ACTIONS_BOT_LOGIN and isinstance(app, Mapping)
                and app.get("slug") == ACTIONS_APP_SLUG)


def token_identity(client: _Client) -> CommentAuthor:
    """The identity behind the token: ``GET /user`` for a user's token (a PAT, an OAuth
    token); when the API says the token has no user (an installation token: GITHUB_TOKEN),
    the GitHub Actions bot. Any other failure raises: without knowing who we are, no
    comment is touched."""
    try:
        user, _ = client.call("GET", f"{client.base}/user")
    except GitHubAPIError as exc:
        if exc.status in _NO_USER_STATUSES:
            return CommentAuthor(ACTIONS_BOT_LOGIN, True, "installation token (GITHUB_TOKEN)")
        raise
    login = user.get("login") if isinstance(user, dict) else None
    if not isinstance(login, str) or not login:
        raise GitHubAPIError("GET", f"{client.base}/user", None, "no login in the answer")
    return CommentAuthor(login, user.get("type") == "Bot", "GET /user")


def upsert_pr_comment(
    api_url: str,
    repo: str,
    pr_number: int,
    token: str,
    body: str,
    marker: str = MARKER,
    *,
    author: str | None = None,
    timeout: float = 30.0,
) -> CommentResult:
    """Create or update the one policy-gate comment on a pull request.

    Lists the PR's issue comments (``per_page=100``, following ``Link: rel="next"``),
    takes the first whose body contains ``marker`` **and that the token's own identity
    wrote** (:func:`token_identity`; ``author`` names a login instead, of a Bot when it
    ends in ``[bot]``) — anyone can quote the marker, and a comment someone else wrote
    could be edited back by them after the gate updated it — then PATCHes it, or POSTs a
    new comment if none matches. ``marker`` is put at the top of ``body`` when it is
    missing, and the body is cut to 65,536 characters with a note. ``api_url`` is
    ``$GITHUB_API_URL``; only https (or http to a loopback address, for tests) is
    accepted, redirects are never followed, and pagination links must stay on the same
    origin, so the token cannot be sent elsewhere.
    """
    if not _REPO.fullmatch(repo):
        raise ValueError(f"invalid repository {repo!r} (expected owner/name)")
    if isinstance(pr_number, bool) or not isinstance(pr_number, int) or pr_number <= 0:
        raise ValueError(f"invalid pull request number {pr_number!r}")
    if not token:
        raise ValueError("a token is required to comment on a pull request")
    if marker not in body:
        body = f"{marker}\n{body}"
    body = _truncate_comment(body)
    client = _Client(api_url, token, timeout)
    base = f"{client.base}/repos/{repo}"
    me = (CommentAuthor(author, author.endswith("[bot]"), "given") if author
          else token_identity(client))

    url: str | None = f"{base}/issues/{pr_number}/comments?per_page=100"
    found: dict[str, Any] | None = None
    pages = 0
    while url and found is None and pages < MAX_PAGES:
        pages += 1
        listing, headers = client.call("GET", url)
        if not isinstance(listing, list):
            raise GitHubAPIError("GET", url, None, "expected a list of comments")
        for comment in listing:
            if not isinstance(comment, dict):
                continue
            text = comment.get("body")
            if isinstance(text, str) and marker in text and me.wrote(comment):
                found = comment
                break
        match = _LINK_NEXT.search(headers.get("link", ""))
        url = match.group(1) if match else None

    if found is not None and isinstance(found.get("id"), int):
        comment_id = found["id"]
        result, _ = client.call("PATCH", f"{base}/issues/comments/{comment_id}", {"body": body})
        action = "updated"
    else:
        result, _ = client.call("POST", f"{base}/issues/{pr_number}/comments", {"body": body})
        action = "created"
    if not isinstance(result, dict) or not isinstance(result.get("id"), int):
        raise GitHubAPIError("POST" if action == "created" else "PATCH", base, None, "no id")
    return CommentResult(action, result["id"], str(result.get("html_url") or result.get("url")))


__all__ = [
    "ANNOTATIONS_PER_JOB",
    "ERRORS_PER_STEP",
    "MARKER",
    "WARNINGS_PER_STEP",
    "CommentAuthor",
    "CommentResult",
    "GitHubAPIError",
    "annotations",
    "command",
    "comment_body",
    "escape_data",
    "escape_property",
    "gate_outputs",
    "head_sha_from_event",
    "key_value_message",
    "pr_number_from_event",
    "read_outputs",
    "token_identity",
    "upsert_pr_comment",
    "write_outputs",
    "write_step_summary",
]
