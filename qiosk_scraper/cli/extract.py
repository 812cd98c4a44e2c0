"""``qiosk extract``, ``qiosk listing``, ``qiosk eval``: thin wrappers over
:mod:`qiosk_scraper.extract` and :mod:`qiosk_scraper.evaluate`."""

from __future__ import annotations

import gzip
import json
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path

import click

from qiosk_scraper.cli.base import command_errors, http_url, main
from qiosk_scraper.discover.listing import extract_listing
from qiosk_scraper.evaluate import EXACT_FIELDS, EvalError, evaluate, find_cases
from qiosk_scraper.extract import NotAnArticle, extract_article
from qiosk_scraper.extract.page import parse_html
from qiosk_scraper.extract.structured import meta_tags
from qiosk_scraper.profiles import profile_named, profiles


def _read(page: str) -> bytes:
    """The bytes of PAGE (``-`` for standard input), gunzipped when it ends in ``.gz``."""
    try:
        data = sys.stdin.buffer.read() if page == "-" else Path(page).read_bytes()
        if page.endswith(".gz") or data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as err:
        raise click.ClickException(f"cannot read {page}: {err}") from err
    return data


def _moment(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise click.BadParameter(f"not an ISO 8601 date-time: {value!r}") from err
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _canonical(data: bytes) -> str:
    try:
        meta = meta_tags(parse_html(data))
    except NotAnArticle as err:
        raise click.ClickException(f"not an article: {err.reason}") from err
    url = meta.canonical or meta.get("og:url")
    if not url or not url.startswith(("http://", "https://")):
        raise click.ClickException("the page has no absolute canonical link: give --url")
    return url


@main.command("extract")
@click.argument("page")
@click.option(
    "--url", callback=http_url, help="URL the page was fetched from (default: its canonical link)."
)
@click.option("--fetched-at", help="ISO 8601 fetch time, for relative dates (default: now).")
def extract_command(page: str, url: str | None, fetched_at: str | None) -> None:
    """Print the article record of one saved page as JSON.

    PAGE is an .html or .html.gz file, or - for standard input.

    Example: qiosk extract saved/golden-dome.html.gz --url https://responsiblestatecraft.org/golden-dome/
    """
    data = _read(page)
    when = _moment(fetched_at)
    try:
        article = extract_article(data, url or _canonical(data), when)
    except NotAnArticle as err:
        raise click.ClickException(f"not an article: {err.reason}") from err
    click.echo(json.dumps(article.to_record(), ensure_ascii=False, indent=2))


@main.command("listing")
@click.argument("page")
@click.option(
    "--url",
    required=True,
    callback=http_url,
    help="URL the listing (or load-more JSON) came from.",
)
def listing_command(page: str, url: str) -> None:
    """Print the teasers of a section, tag, author or home page (or load-more JSON) as JSON lines.

    Example: qiosk listing saved/tag-iran.html --url https://responsiblestatecraft.org/tag/iran/
    """
    try:
        teasers = extract_listing(_read(page), url)
    except NotAnArticle as err:
        raise click.ClickException(f"not a listing: {err.reason}") from err
    for teaser in teasers:
        click.echo(json.dumps(teaser.to_record(), ensure_ascii=False))


@main.command("eval")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--fetched-at", help="ISO 8601 fetch time, for relative dates.")
@click.option("--show", default=10, show_default=True, help="Mismatching pages to list.")
@click.option(
    "--profile",
    type=click.Choice(sorted(profiles())),
    default="responsiblestatecraft",
    show_default=True,
    help="Extract as a crawl with this profile does (generic: no outlet layer).",
)
def eval_command(directory: Path, fetched_at: str | None, show: int, profile: str) -> None:
    """Score extraction against gold records: per-field accuracy and body F1.

    DIRECTORY holds <name>.html[.gz] + <name>.json pairs, or is a mirror build (with gold/).

    Example: qiosk eval /tmp/mirror-build
    """
    with command_errors(EvalError):
        cases = find_cases(directory)
    layers = profile_named(profile).outlet_layers
    report = evaluate(cases, _moment(fetched_at) if fetched_at else None, outlet_layers=layers)
    click.echo(f"pages: {len(report.pages)}")
    for name in EXACT_FIELDS:
        click.echo(f"  {name:<13} {report.accuracy(name):7.2%}")
    click.echo(f"body F1: mean {report.f1_mean:.4f}  min {report.f1_min:.4f}")
    bad = [p for p in report.pages if p.error or p.mismatches][:show]
    for result in bad:
        reason = result.error or ", ".join(sorted(result.mismatches))
        click.echo(f"  {result.name}: {reason}")
