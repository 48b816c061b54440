"""Rendered blob bodies kept in memory (least recently used first out, bounded in bytes), so
a blob served again costs a dictionary lookup instead of regenerating and encoding thousands
of records in Python — which keeps the emulator from being the bottleneck of a benchmark.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable


class BlobBodyCache:
    """`body(key, render)`: the cached bytes for `key`, rendering them on a miss."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._bodies: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def body(self, key: Hashable, render: Callable[[], bytes]) -> bytes:
        """The body for `key` (rendered outside the lock on a miss)."""
        with self._lock:
            cached = self._bodies.get(key)
            if cached is not None:
                self._bodies.move_to_end(key)
                return cached
        body = render()
        if len(body) <= self._max_bytes:
            with self._lock:
                if key not in self._bodies:
                    self._bodies[key] = body
                    self._size += len(body)
                while self._size > self._max_bytes:
                    _, evicted = self._bodies.popitem(last=False)
                    self._size -= len(evicted)
        return body

    def clear(self) -> None:
        """Forget every body (the content they were rendered from changed)."""
        with self._lock:
            self._bodies.clear()
            self._size = 0
