"""The README documents every command, and every command's help carries an example."""

from __future__ import annotations

from pathlib import Path

import pytest

from qiosk_scraper.cli import main
from qiosk_scraper.cli.docs import iter_contexts, reference_markdown

README = Path(__file__).resolve().parent.parent / "README.md"
CONTEXTS = list(iter_contexts(main))


@pytest.mark.parametrize("ctx", CONTEXTS, ids=[c.command_path for c in CONTEXTS])
def test_command_is_documented_in_readme(ctx):
    text = README.read_text(encoding="utf-8")
    assert f"### `{ctx.command_path}`" in text, f"{ctx.command_path} is missing from README.md"
    assert ctx.command.get_help(ctx) in text, f"README help of {ctx.command_path} is stale"


@pytest.mark.parametrize("ctx", CONTEXTS, ids=[c.command_path for c in CONTEXTS])
def test_command_help_has_an_example(ctx):
    assert "Example:" in ctx.command.get_help(ctx)


def test_reference_is_what_the_readme_embeds():
    assert reference_markdown(main) in README.read_text(encoding="utf-8")


def test_each_command_is_loaded_from_the_module_that_defines_it():
    """The group imports a command's module only when the command is asked for (``main.lazy``):
    the map must name every command a module of ``qiosk_scraper.cli`` registers, and its module,
    so none is missing from ``qiosk --help`` and none loads the wrong module."""
    import importlib
    import pkgutil

    import qiosk_scraper.cli as cli

    for module in pkgutil.iter_modules(cli.__path__):
        importlib.import_module(f"qiosk_scraper.cli.{module.name}")
    defined = {
        name: command.callback.__module__.rsplit(".", 1)[-1]
        for name, command in main.commands.items()
        if command.callback is not None
    }
    assert defined == main.lazy
