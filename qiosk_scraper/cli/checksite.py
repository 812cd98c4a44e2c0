"""``qiosk check-site``: a first look at a live site before a long crawl."""

from __future__ import annotations

import click

from qiosk_scraper.checksite import CheckError, check_site, field_lines, warnings
from qiosk_scraper.cli.base import command_errors, http_url, main


@main.command("check-site")
@click.argument("site", callback=http_url)
@click.option("--sample", "size", default=10, show_default=True, type=click.IntRange(1, 200),
              help="Article pages to fetch and extract.")  # fmt: skip
@click.option("--delay", default=1.0, show_default=True, type=click.FloatRange(0),
              help="Seconds between two requests.")  # fmt: skip
def check_site_command(site: str, size: int, delay: float) -> None:
    """Fetch robots.txt, the sitemaps, a feed and a sample of article pages politely; print
    per field how many pages had it and which extraction layer found it. Archives nothing.

    Example: qiosk check-site https://responsiblestatecraft.org --sample 10
    """
    with command_errors(CheckError):
        look = check_site(site, size, delay)
    click.echo(f"robots.txt: HTTP {look.robots_status}")
    feeds = ", ".join(f"{url} ({n} links)" for url, n in look.feeds.items()) or "none"
    click.echo(f"sitemaps read: {len(look.sitemaps)}; feeds: {feeds}")
    click.echo(f"article candidates: {len(look.candidates)}")
    refused = ", ".join(f"{reason} {n}" for reason, n in look.refused.most_common())
    click.echo(
        f"sampled: {len(look.articles)} articles"
        + (f"; not articles: {refused}" if refused else "")
        + (f"; disallowed by robots.txt: {look.disallowed}" if look.disallowed else "")
    )
    if not look.articles:
        raise click.ClickException(f"{site}: no article page found in its sitemaps and feeds")
    click.echo("field        found  layers")
    for line in field_lines(look.articles):
        click.echo(line)
    for line in warnings(look.articles):
        click.echo(f"warning: {line}")
