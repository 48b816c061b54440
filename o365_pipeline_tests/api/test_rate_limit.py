"""The shared request budget: one token bucket per tenant and publisher, in a file, so
limiters in different processes (here: separate objects) draw from the same budget."""

import pytest

from o365_pipeline.api.rate_limit import SharedRateLimiter


class FakeTime:
    def __init__(self):
        self.now = 1_000_000.0
        self.slept = 0.0

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept += seconds
        self.now += seconds


def _limiter(folder, fake, key="tenant|publisher", per_minute=60, burst=5):
    return SharedRateLimiter(
        folder, key, per_minute=per_minute, burst=burst, clock=fake.clock, sleep=fake.sleep
    )


def test_a_burst_passes_at_once_then_requests_are_paced_at_the_rate(tmp_path):
    fake = FakeTime()
    limiter = _limiter(tmp_path, fake)
    for _ in range(5):
        limiter.acquire()
    assert fake.slept == 0
    for _ in range(10):
        limiter.acquire()
    assert fake.slept == pytest.approx(10.0)  # 60 a minute = one a second


def test_two_limiters_on_the_same_folder_share_one_budget(tmp_path):
    fake = FakeTime()
    first, second = _limiter(tmp_path, fake), _limiter(tmp_path, fake)
    for _ in range(10):
        first.acquire()
        second.acquire()
    # 20 requests, 5 from the burst, the other 15 at one a second, whoever sent them.
    assert fake.slept == pytest.approx(15.0)
    assert first.seconds_waited + second.seconds_waited == pytest.approx(15.0)


def test_other_tenants_or_publishers_have_their_own_budget(tmp_path):
    fake = FakeTime()
    for key in ("a|p", "b|p", "a|q"):
        limiter = _limiter(tmp_path, fake, key=key)
        for _ in range(5):
            limiter.acquire()
    assert fake.slept == 0


def test_an_idle_bucket_refills_only_up_to_the_burst(tmp_path):
    fake = FakeTime()
    limiter = _limiter(tmp_path, fake)
    for _ in range(5):
        limiter.acquire()
    fake.now += 3600
    for _ in range(6):
        limiter.acquire()
    assert fake.slept == pytest.approx(1.0)


@pytest.mark.parametrize(
    "damage",
    [
        '{"tokens": -1000000, "at": 1000000.0}',  # a negative count: once a 33,333 s sleep
        '{"tokens": 5, "at": 9e18}',  # a time far in the future: never refilling
        '{"tokens": NaN, "at": 1000000.0}',
        '{"tokens": "many"}',
        "not json at all",
    ],
)
def test_a_damaged_budget_file_fails_safe(tmp_path, damage):
    """Neither a long sleep nor a burst beyond the quota: an empty bucket as of now."""
    fake = FakeTime()
    limiter = _limiter(tmp_path, fake)
    limiter.acquire()  # creates the file
    (bucket,) = tmp_path.glob("*.bucket")
    bucket.write_text(damage)
    for _ in range(3):
        limiter.acquire()
    assert fake.slept == pytest.approx(3.0)  # one a second from an empty bucket, no more
