"""Sphinx directive ``cli-help``: the ``--help`` text of an ``ophyd-pvcam`` (sub)command.

The text comes from :func:`ophyd_pvcam.cli.build_parser` at build time, so the
CLI page always shows the options the code has. Usage in MyST::

    ```{cli-help} stream
    ```

    ```{cli-help} sim env
    ```

No argument gives the top-level help.
"""
from __future__ import annotations

import argparse
import os
from contextlib import contextmanager
from typing import Iterator

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

#: Column width of the rendered help (argparse reads ``COLUMNS``).
HELP_COLUMNS = 88


@contextmanager
def _columns(width: int) -> Iterator[None]:
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous


def _subparser(parser: argparse.ArgumentParser, words: list[str]) -> argparse.ArgumentParser:
    """Follow ``words`` (e.g. ``["sim", "env"]``) down the sub-command tree."""
    for word in words:
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not actions or word not in actions[0].choices:
            raise ValueError(f"ophyd-pvcam has no sub-command {' '.join(words)!r}")
        parser = actions[0].choices[word]
    return parser


def help_text(words: list[str]) -> str:
    """Return the help text of ``ophyd-pvcam <words...>``.

    Parameters
    ----------
    words : list of str
        Sub-command path; empty for the top level.

    Returns
    -------
    str
    """
    from ophyd_pvcam.cli import build_parser

    with _columns(HELP_COLUMNS):
        return _subparser(build_parser(), words).format_help().rstrip()


class CliHelp(SphinxDirective):
    """Insert the ``--help`` output of an ``ophyd-pvcam`` sub-command as a literal block."""

    optional_arguments = 2
    has_content = False

    def run(self) -> list[nodes.Node]:
        words = list(self.arguments)
        try:
            text = help_text(words)
        except Exception as exc:  # a broken parser must fail the build loudly
            raise self.error(f"cli-help {' '.join(words)}: {exc}") from exc
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


def setup(app: Sphinx) -> dict:
    """Register the directive."""
    app.add_directive("cli-help", CliHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
