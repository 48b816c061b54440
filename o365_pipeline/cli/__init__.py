"""The `o365-pipeline` command: argument parsing and printing over the use cases."""

from o365_pipeline.cli.main import main

__all__ = ["main"]
