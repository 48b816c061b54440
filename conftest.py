"""Fixtures shared by both test folders (the emulator over loopback HTTPS, clients of it)."""

pytest_plugins = ["o365_pipeline_tests.fixtures"]
