"""Fixtures shared by both test folders (the emulator over loopback HTTPS, clients of it)."""

pytest_plugins = [
    "o365_pipeline_tests.fixtures",
    "o365_pipeline_tests.demo_data",
    "o365_pipeline_tests.postgres_server",
    "o365_pipeline_tests.landed_day",
    "o365_pipeline_tests.planted_landing",
]
