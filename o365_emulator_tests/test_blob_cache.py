from o365_emulator.blob_cache import BlobBodyCache


def test_a_cached_body_is_not_rendered_again():
    cache = BlobBodyCache(max_bytes=100)
    renders = []
    for _ in range(3):
        cache.body("a", lambda: renders.append(1) or b"x" * 10)
    assert renders == [1]


def test_the_least_recently_used_bodies_are_evicted_beyond_the_byte_budget():
    cache = BlobBodyCache(max_bytes=25)
    for key in ("a", "b", "c"):
        cache.body(key, lambda: b"x" * 10)
    renders = []
    cache.body("a", lambda: renders.append("a") or b"x" * 10)
    cache.body("c", lambda: renders.append("c") or b"x" * 10)
    assert renders == ["a"]


def test_a_body_larger_than_the_budget_is_served_but_not_kept():
    cache = BlobBodyCache(max_bytes=5)
    assert cache.body("big", lambda: b"x" * 10) == b"x" * 10
    renders = []
    cache.body("big", lambda: renders.append(1) or b"x" * 10)
    assert renders == [1]
