"""The request budget in PostgreSQL: the file budget's arithmetic, one row per tenant and
publisher, taken under a row lock so that separate processes (machines) share one budget."""

import multiprocessing
import time

import psycopg2
import pytest

from o365_pipeline.api.rate_limit import SharedRateLimiter, request_budget_for
from o365_pipeline.api.rate_limit_postgres import TABLE, PostgresRateLimiter
from o365_pipeline.api.settings import ClientSecret, ClientSettings
from o365_pipeline.storage.postgres import DatabaseUrl

BURST = 10
START_SECONDS = 120  # two spawned interpreters importing the test module, on a loaded machine


class FakeTime:
    def __init__(self):
        self.now = 1_000_000.0
        self.slept = 0.0

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept += seconds
        self.now += seconds


class Refused(Exception):
    """The limiter asked to wait: the bucket was empty."""


def _refuse(seconds):
    raise Refused


def _take_until_refused(url, barrier, tries, results):
    """One process: `tries` takes on a bucket that refills once per 100 s, none waited for."""
    limiter = PostgresRateLimiter(
        DatabaseUrl(url), "tenant|publisher", per_minute=0.6, burst=BURST, sleep=_refuse
    )
    barrier.wait(START_SECONDS)
    granted = 0
    for _ in range(tries):
        try:
            limiter.acquire()
            granted += 1
        except Refused:
            pass
    results.put(granted)


def test_two_processes_take_exactly_the_burst_between_them(postgres_url):
    """Without the row lock both would read the same count and each take it (lost updates)."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_take_until_refused, args=(postgres_url, barrier, 25, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    granted = [results.get(timeout=START_SECONDS) for _ in workers]
    for worker in workers:
        worker.join(START_SECONDS)
    assert sum(granted) == BURST, granted


def test_a_burst_passes_at_once_then_requests_are_paced_at_the_rate(postgres_url):
    fake = FakeTime()
    limiter = PostgresRateLimiter(
        DatabaseUrl(postgres_url), "a|p", per_minute=60, burst=5, clock=fake.clock, sleep=fake.sleep
    )
    for _ in range(5):
        limiter.acquire()
    assert fake.slept == 0
    for _ in range(10):
        limiter.acquire()
    assert fake.slept == pytest.approx(10.0)  # 60 a minute = one a second
    other = PostgresRateLimiter(
        DatabaseUrl(postgres_url), "b|p", per_minute=60, burst=5, clock=fake.clock, sleep=fake.sleep
    )
    for _ in range(5):
        other.acquire()
    assert fake.slept == pytest.approx(10.0)  # another tenant: its own full bucket


def test_a_damaged_row_fails_safe(postgres_url):
    """Neither a long sleep nor a burst beyond the quota: an empty bucket as of now."""
    fake = FakeTime()
    limiter = PostgresRateLimiter(
        DatabaseUrl(postgres_url), "a|p", per_minute=60, burst=5, clock=fake.clock, sleep=fake.sleep
    )
    limiter.acquire()
    with psycopg2.connect(postgres_url) as connection, connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET tokens = -1000000")
    for _ in range(3):
        limiter.acquire()
    assert fake.slept == pytest.approx(3.0)


def test_the_database_clock_paces_real_time(postgres_url):
    limiter = PostgresRateLimiter(DatabaseUrl(postgres_url), "a|p", per_minute=600, burst=1)
    began = time.monotonic()
    for _ in range(3):
        limiter.acquire()
    assert time.monotonic() - began >= 0.19  # two refills of 0.1 s each (minus rounding)


def test_the_settings_choose_the_store_and_never_show_the_url(tmp_path):
    base = {
        "tenant_id": "7a1c3e55-2f0b-4e8e-9c3d-1b2a4f6e8d90",
        "client_id": "0d6a1e77-3b2c-4f5e-8a9b-1c2d3e4f5a6b",
        "credential": ClientSecret("x"),
        "rate_limit_per_minute": 60,
        "rate_limit_folder": str(tmp_path),
    }
    url = "postgresql://user@127.0.0.1:9/none"
    on_database = ClientSettings(
        **base, rate_limit_database_url=url, rate_limit_database_password="s3cret-pw"
    )
    assert isinstance(request_budget_for(on_database), PostgresRateLimiter)
    assert isinstance(request_budget_for(ClientSettings(**base)), SharedRateLimiter)
    assert request_budget_for(ClientSettings(**base | {"rate_limit_per_minute": None})) is None
    assert "s3cret-pw" not in repr(on_database)
