"""A compact set of record Ids for de-duplicating one partition: 16 bytes per Id.

A Python `set` of Id strings costs about 130 bytes per Id, so a 5M-record hour held 650 MB just
to remember what it had written. Audit record Ids are GUIDs, i.e. 128-bit numbers: they are
decoded column-wise with numpy (no Python object per record) into two uint64 halves and kept in
sorted runs that are merged like a log-structured tree (a run is merged into the previous one
once it is at least half its size, up to `MAX_RUN_KEYS`), so lookups are binary searches over a
few runs and memory is 16 bytes per Id plus a bounded transient copy during a merge. Given a
folder, keys beyond a million move to disk in full runs, read back sequentially for lookups, so
memory stops growing with the size of an hour.

What counts as "the same Id": the same text. Only canonical GUID text (36 ASCII characters,
lower-case hex, hyphens at positions 8, 13, 18 and 23, the form the service sends) is compacted
to its 128-bit value, because for that form the value and the text determine each other. Any
other Id (upper-case hex, hyphens elsewhere, non-ASCII, other lengths: never seen from the
service, but a replayed export or a hostile blob may hold one) is kept by its exact text, so
two Ids that differ anywhere, hyphen positions included, are never conflated. Those are rare by
construction and held in a plain set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_GUID_LENGTH = 36
_HEX_POSITIONS = np.array([i for i in range(_GUID_LENGTH) if i not in (8, 13, 18, 23)])
_HYPHEN_POSITIONS = np.array([8, 13, 18, 23])
_NIBBLE = np.full(256, 255, dtype=np.uint8)
for _value, _char in enumerate("0123456789abcdef"):
    _NIBBLE[ord(_char)] = _value  # lower-case only: upper-case text is not the canonical form
_SHIFTS = np.arange(60, -1, -4, dtype=np.uint64)
# Runs stop merging at this size, so a merge never copies more than ~40 MB at once: memory
# stays 16 bytes per Id plus that bounded transient, and a 5M-record hour costs ~5 runs a lookup.
MAX_RUN_KEYS = 1 << 20


def id_keys(ids: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 128-bit keys of a string column as (high, low, canonical): `canonical` marks the
    Ids in canonical GUID text; the keys of the others are zero and mean nothing.
    """
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks() if ids.num_chunks != 1 else ids.chunk(0)
    ids = ids.cast(pa.large_string()) if pa.types.is_string(ids.type) else ids
    count = len(ids)
    high = np.zeros(count, dtype=np.uint64)
    low = np.zeros(count, dtype=np.uint64)
    canonical = np.zeros(count, dtype=bool)
    if count == 0:
        return high, low, canonical
    if ids.null_count:
        raise ValueError("record Ids must not be null")
    # Byte length, not character length: a non-ASCII Id of 36 characters is longer in bytes.
    shaped = pc.equal(pc.binary_length(ids), _GUID_LENGTH).to_numpy(zero_copy_only=False)
    if shaped.any():
        chosen = np.flatnonzero(shaped)
        text = _fixed_width(ids.filter(pa.array(shaped)), _GUID_LENGTH)
        nibbles = _NIBBLE[text[:, _HEX_POSITIONS]]
        valid = (nibbles != 255).all(axis=1) & (text[:, _HYPHEN_POSITIONS] == ord("-")).all(axis=1)
        words = nibbles.astype(np.uint64) << np.concatenate([_SHIFTS, _SHIFTS])
        high[chosen] = np.where(valid, np.bitwise_or.reduce(words[:, :16], axis=1), 0)
        low[chosen] = np.where(valid, np.bitwise_or.reduce(words[:, 16:], axis=1), 0)
        canonical[chosen] = valid
    return high, low, canonical


def _fixed_width(strings: pa.Array, width: int) -> np.ndarray:
    """The bytes of equal-length strings as an (n, width) uint8 matrix, without copying per row."""
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64)[
        strings.offset : strings.offset + len(strings) + 1
    ]
    data = np.frombuffer(strings.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return data.reshape(len(strings), width)


@dataclass(frozen=True)
class _DiskRun:
    """A full run written to disk: its keys in two raw uint64 files, sorted by high."""

    high_path: Path
    low_path: Path
    size: int
    min_high: int
    max_high: int


class IdSet:
    """Remembers Ids; `admit()` says which of a batch are new here (first delivery wins).

    With a `spill_folder`, keys beyond `memory_keys` move to disk in full runs, and lookups
    read those runs sequentially in chunks (through the page cache, not into this process), so
    a partition of any size holds at most `memory_keys` × 16 bytes.
    """

    def __init__(self, spill_folder: Path | None = None, memory_keys: int = 1 << 20) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []
        self._disk: list[_DiskRun] = []
        self._spill_folder = Path(spill_folder) if spill_folder else None
        self._memory_keys = memory_keys
        self._size = 0
        self._texts: set[str] = set()  # Ids not in canonical GUID text, by exact text

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        """Memory held by the stored keys."""
        return sum(high.nbytes + low.nbytes for high, low in self._runs)

    @property
    def spilled_keys(self) -> int:
        """Keys kept on disk."""
        return sum(run.size for run in self._disk)

    def admit(self, ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """A boolean mask over `ids`: True where the Id is neither stored nor repeated earlier in
        the batch. The admitted Ids are stored.
        """
        if isinstance(ids, pa.ChunkedArray):
            ids = ids.combine_chunks() if ids.num_chunks != 1 else ids.chunk(0)
        high, low, canonical = id_keys(ids)
        mask = np.zeros(len(ids), dtype=bool)
        for index in np.flatnonzero(~canonical):
            text = ids[int(index)].as_py()
            if text not in self._texts:
                self._texts.add(text)
                self._size += 1
                mask[index] = True
        if canonical.all():
            mask = self._admit_keys(high, low)
        elif canonical.any():
            chosen = np.flatnonzero(canonical)
            mask[chosen] = self._admit_keys(high[chosen], low[chosen])
        return mask

    def _admit_keys(self, high: np.ndarray, low: np.ndarray) -> np.ndarray:
        """`admit` for canonical GUID keys."""
        order = np.argsort(high, kind="stable")  # sorted needles make the searches cache-friendly
        high, low = high[order], low[order]
        fresh = _first_of_each_key(high, low)
        for run_high, run_low in self._runs:
            candidates = np.flatnonzero(fresh)
            if candidates.size == 0:
                break
            known = _contained(run_high, run_low, high[candidates], low[candidates])
            fresh[candidates[known]] = False
        for run in self._disk:
            candidates = np.flatnonzero(fresh)
            if candidates.size == 0:
                break
            known = _contained_on_disk(run, high[candidates], low[candidates])
            fresh[candidates[known]] = False
        if fresh.any():
            self._add(high[fresh], low[fresh])
            self._spill()
        mask = np.empty_like(fresh)
        mask[order] = fresh
        return mask

    def _spill(self) -> None:
        """Move the largest in-memory runs to disk while memory holds more than allowed."""
        if self._spill_folder is None:
            return
        while sum(len(high) for high, _ in self._runs) > self._memory_keys and self._runs:
            index = max(range(len(self._runs)), key=lambda i: len(self._runs[i][0]))
            high, low = self._runs.pop(index)
            name = f"ids-{len(self._disk):05d}"
            run = _DiskRun(
                self._spill_folder / f"{name}.high",
                self._spill_folder / f"{name}.low",
                len(high),
                int(high[0]),
                int(high[-1]),
            )
            high.tofile(run.high_path)
            low.tofile(run.low_path)
            self._disk.append(run)

    def _add(self, high: np.ndarray, low: np.ndarray) -> None:
        """Append a run sorted by `high`; merge runs of similar size (two sorted runs merge in
        linear time: the stable sort finds them).
        """
        self._runs.append((high, low))
        self._size += len(high)
        while (
            len(self._runs) > 1
            and len(self._runs[-1][0]) * 2 >= len(self._runs[-2][0])
            and len(self._runs[-1][0]) + len(self._runs[-2][0]) <= MAX_RUN_KEYS
        ):
            newer_high, newer_low = self._runs.pop()
            older_high, older_low = self._runs.pop()
            merged_high = np.concatenate([older_high, newer_high])
            merged_low = np.concatenate([older_low, newer_low])
            del older_high, older_low, newer_high, newer_low
            order = np.argsort(merged_high, kind="stable")
            self._runs.append((merged_high[order], merged_low[order]))


def _first_of_each_key(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """For keys sorted stably by `high` (so batch order survives among equal highs): True for
    the first occurrence of each (high, low).
    """
    fresh = np.ones(len(high), dtype=bool)
    if len(high) < 2:
        return fresh
    same_high = np.flatnonzero(high[1:] == high[:-1]) + 1
    if same_high.size == 0:
        return fresh
    # Rare: within a group of equal highs, a low already seen earlier in the group repeats.
    for index in same_high:
        start = int(np.searchsorted(high, high[index], side="left"))
        fresh[index] = not np.any(low[start:index] == low[index])
    return fresh


def _contained(
    run_high: np.ndarray, run_low: np.ndarray, high: np.ndarray, low: np.ndarray
) -> np.ndarray:
    """Which (high, low) keys are in the run (sorted by high; lows in any order)."""
    size = len(run_high)
    left = np.searchsorted(run_high, high, side="left")
    at = np.minimum(left, size - 1)
    found = (run_high[at] == high) & (run_low[at] == low)
    nxt = np.minimum(left + 1, size - 1)
    crowded = np.flatnonzero((left + 1 < size) & (run_high[nxt] == high) & ~found)
    for index in crowded:  # several stored keys share this high half: astronomically rare
        stop = np.searchsorted(run_high, high[index], side="right")
        found[index] = bool(np.any(run_low[left[index] : stop] == low[index]))
    return found


_DISK_CHUNK_KEYS = 1 << 17


def _contained_on_disk(run: _DiskRun, high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Which keys (sorted by high) are in a disk run, reading it in 2 MB sequential chunks and
    skipping chunks no key can fall into.
    """
    found = np.zeros(len(high), dtype=bool)
    if len(high) == 0 or high[-1] < run.min_high or high[0] > run.max_high:
        return found
    with open(run.high_path, "rb") as highs, open(run.low_path, "rb") as lows:
        for _ in range(0, run.size, _DISK_CHUNK_KEYS):
            chunk_high = np.fromfile(highs, dtype=np.uint64, count=_DISK_CHUNK_KEYS)
            chunk_low = np.fromfile(lows, dtype=np.uint64, count=_DISK_CHUNK_KEYS)
            first = np.searchsorted(high, chunk_high[0], side="left")
            last = np.searchsorted(high, chunk_high[-1], side="right")
            if first < last:
                # Keys equal to a chunk's edge are checked in both chunks (equal highs may span).
                found[first:last] |= _contained(
                    chunk_high, chunk_low, high[first:last], low[first:last]
                )
            if last >= len(high):
                break
    return found
