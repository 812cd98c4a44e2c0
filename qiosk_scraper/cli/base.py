"""The ``qiosk`` command group and what its commands share: one-line errors, the ``--db``
option, URL checks. The commands register themselves on :func:`main` (see ``cli/__init__``)."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from qiosk_scraper import __version__
from qiosk_scraper.archive import CRAWL_SOURCE, DEFAULT_DB, DatabaseError

F = TypeVar("F", bound=Callable[..., Any])


class Qiosk(click.Group):
    """The command group. A file or database the machine refuses (a path under a file, a full
    disk, no permission, a damaged SQLite file) ends any command with one line naming it, not a
    traceback; the exception types are only caught, the SQLite work stays in ``archive``.

    ``lazy`` names the module of ``qiosk_scraper.cli`` that defines each command; it is imported
    when the command is asked for, so a command does not pay for the others' imports (Datasette,
    Scrapy: seconds of CPU at every start)."""

    lazy: dict[str, str]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            importlib.import_module(f"qiosk_scraper.cli.{self.lazy[cmd_name]}")
        return super().get_command(ctx, cmd_name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["qiosk_args"] = list(args)  # for the message: which --db was given
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OSError as error:
            if error.filename is None:
                raise
            raise click.ClickException(f"{error.filename}: {error.strerror or error}") from error
        except DatabaseError as error:
            raise click.ClickException(
                f"{_database(ctx)}: damaged or not a SQLite database ({error})"
            ) from error


def _database(ctx: click.Context) -> str:
    """The ``--db`` the command was given (its default otherwise)."""
    args = ctx.meta.get("qiosk_args", [])
    for index, arg in enumerate(args):
        if arg == "--db" and index + 1 < len(args):
            return str(args[index + 1])
        if str(arg).startswith("--db="):
            return str(arg).removeprefix("--db=")
    return DEFAULT_DB


def check_http_url(url: str) -> str:
    """``url`` when it is an absolute http(s) URL with a host; ValueError (saying what is
    expected) otherwise. For the command line's ``--site``, ``--url`` and ``--base-url``."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # a port that is no number raises here
    except ValueError as error:
        raise ValueError(f"{url!r} is not a URL ({error})") from error
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r}: expected an http(s) URL such as https://example.org")
    del port
    return url.strip()


def http_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Option callback: an absolute http(s) URL, or a usage error saying so."""
    if value is None:
        return None
    try:
        return check_http_url(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from error


_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def source_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Option callback: the name of a web-archive source (letters, digits, '.', '_', '-'; not
    ``crawl``, the name of the site's own crawls in ``qiosk coverage --sources``)."""
    if not _SOURCE_NAME.match(value):
        raise click.BadParameter(
            f"{value!r}: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit",
            ctx,
            param,
        )
    if value.lower() == CRAWL_SOURCE:
        raise click.BadParameter(
            f"{value!r} names the site's own crawls: name the web archive", ctx, param
        )
    return value


@contextmanager
def command_errors(*errors: type[Exception]) -> Iterator[None]:
    """The failures a command expects (``errors``) end it in their one-line message."""
    try:
        yield
    except errors as error:
        raise click.ClickException(str(error)) from error


def db_option(help: str, *, exists: bool = False) -> Callable[[F], F]:
    """``--db``: the archive a command works on, with the default and path type they share
    (``crawl``'s stays text, as the spider argument it passes on)."""
    return click.option(
        "--db",
        default=DEFAULT_DB,
        show_default=True,
        type=click.Path(dir_okay=False, exists=exists, path_type=Path),
        help=help,
    )


@click.group(cls=Qiosk, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qiosk")
def main() -> None:
    """Archive Responsible Statecraft into a citable SQLite archive.

    Example: qiosk mirror serve --port 8765
    """
