"""The ``qabase`` command: each command parses its options, makes one library call and
renders the result as text or ``--json``. Library errors become one Chinese line on stderr.

- ``base``      the Typer app, the global options (before or after the command), ``main``
- ``terminal``  everything shown on the terminal: width-aware wrapping and tables, the pager,
                a closed pipe, Chinese help pages and usage errors
- ``reading``   search, show, topics, list (judges)
- ``law``       law
- ``authoring`` new, import, check, publish, export (trainers)
- ``quality``   index, eval, gaps, serve
"""
from .base import app, main, state
from . import reading, law, authoring, quality  # noqa: F401,E402 - each registers its commands

__all__ = ["app", "main", "state"]
