"""The `cintel` command line (see `cintel.cli.main`)."""

from cintel.cli.main import app, formats_markdown, main

__all__ = ["app", "formats_markdown", "main"]
