"""The emulator can add a cloud-like round trip to every Activity API request (benchmarks)."""

import time

import requests

from o365_emulator import EmulatorConfig, start_emulator


def test_configured_latency_delays_every_api_request():
    with start_emulator(EmulatorConfig(latency_ms=200)) as emulator:
        tenant = EmulatorConfig().tenants[0]
        url = f"{emulator.base_url}/api/v1.0/{tenant}/activity/feed/subscriptions/list"
        began = time.perf_counter()
        response = requests.get(url, verify=str(emulator.ca_cert_path), timeout=10)
        elapsed = time.perf_counter() - began
    assert response.status_code == 401
    assert elapsed >= 0.2
