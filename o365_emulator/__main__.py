"""`python -m o365_emulator`: serve the emulator in the foreground (`--help` lists options)."""

import argparse

from o365_emulator import command


def main() -> int:
    """Parse the command line and serve until interrupted (or idle, with `--idle-exit`)."""
    parser = argparse.ArgumentParser(
        prog="o365-emulator",
        description="A local Office 365 Management Activity API and Entra ID token service.",
    )
    command.add_arguments(parser)
    return command.run(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
