"""A faithful local emulator of the Office 365 Management Activity API and its token service."""

from o365_emulator.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    Emulator,
    EmulatorConfig,
    start_emulator,
)

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "Emulator",
    "EmulatorConfig",
    "start_emulator",
]
