"""The README documents every command and every environment variable."""
from pathlib import Path

from qabase.cli import app

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_command_in_readme():
    import typer.main

    group = typer.main.get_command(app)
    for name in group.commands:
        assert f"qabase {name}" in README, name


def test_env_vars_in_readme():
    for var in ("QABASE_ROOT", "QABASE_INDEX_DIR"):
        assert var in README
