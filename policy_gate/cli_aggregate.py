"""`policy-gate aggregate`: the command line of the organisation view (policy_gate/org/).
Its own module so the scan's command line stays one screenful per command; cli.py adds it."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click


class InputError(click.ClickException):
    """A bad report, list or output path: one line on stderr, exit 2 (cli.main prints it)."""

    exit_code = 2


@click.command()
@click.argument("reports", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the organisation view as JSON here ('-' for stdout).")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write it as Markdown (e.g. $GITHUB_STEP_SUMMARY). Default when no output "
                   "is given: Markdown on stdout.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write it as one self-contained HTML page.")
@click.option("--expiring-within", type=click.IntRange(0, 3650), default=30, show_default=True,
              metavar="DAYS", help="List waivers that expire within DAYS (and expired ones).")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="The day expiries are counted from (default: today, UTC).")
@click.option("--expect", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The repositories that should have a report (a JSON list, or one name per "
                   "line): each one without is listed as failed to report.")
@click.option("--jobs", type=click.IntRange(1, 256), help="Processes reading reports "
              "(default: all cores).")
def aggregate(reports: tuple[Path, ...], json_path: Path | None, markdown_path: Path | None,
              html_path: Path | None, expiring_within: int, as_of: dt.datetime | None,
              expect: Path | None, jobs: int | None) -> None:
    """One view over many repositories' JSON reports (files, or directories searched for
    *.json, each named by its folder): verdicts, a repository x control matrix, advisories
    by repositories hit, waivers expiring soon by owner, scanner failures and stale data."""
    from policy_gate.org import html, json_out, markdown, reader, view

    try:
        named = reader.report_files(reports)
        if not named:
            raise InputError("no *.json report found in " + ", ".join(map(str, reports)))
        summaries = reader.read_all(_distinct_names(named), jobs)
        expected = reader.expected_names(expect) if expect else []
    except reader.ReportError as exc:
        raise InputError(str(exc)) from None
    today = as_of.date() if as_of else dt.datetime.now(dt.UTC).date()
    org = view.build(summaries, today, expiring_within, expected)
    outputs = [(json_path, json_out.render), (markdown_path, markdown.render),
               (html_path, html.render)]
    if not any(path for path, _ in outputs):
        outputs = [(Path("-"), markdown.render)]
    for path, render in outputs:
        if path is None:
            continue
        text = render(org)
        if str(path) == "-":
            sys.stdout.write(text)
            continue
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    click.echo(f"policy-gate: aggregated {len(summaries)} reports: "
               + ", ".join(f"{n} {v}" for v, n in sorted(org.verdicts.items())), err=True)


def _distinct_names(named: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
    """A second report with a name already used is named with its file too."""
    seen: set[str] = set()
    out = []
    for name, path in named:
        if name in seen:
            name = f"{name} ({path})"
        seen.add(name)
        out.append((name, path))
    return out
