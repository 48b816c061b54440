"""The compact Id set answers exactly like a Python set of the Id strings."""

import random
import uuid

import numpy as np
import pyarrow as pa

from o365_pipeline.storage.id_set import IdSet, id_keys


def _reference(batches):
    seen, masks = set(), []
    for batch in batches:
        mask = []
        for value in batch:
            mask.append(value not in seen)
            seen.add(value)
        masks.append(mask)
    return masks


def test_guid_keys_are_the_guids_128_bit_value():
    value = uuid.UUID("8ff5b25d-559f-4dfe-8fda-c192ce48d8e3")
    high, low, _ = id_keys(pa.array([str(value)]))
    assert (int(high[0]) << 64) | int(low[0]) == value.int


def test_admit_matches_a_python_set_over_many_batches_with_repeats():
    rng = random.Random(7)
    pool = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(3_000)]
    pool += ["not-a-guid", "x" * 36, "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", ""]
    batches = [[rng.choice(pool) for _ in range(rng.randint(0, 700))] for _ in range(40)]
    ids = IdSet()
    got = [ids.admit(pa.array(batch, type=pa.string())).tolist() for batch in batches]
    assert got == _reference(batches)
    assert len(ids) == len({value for batch in batches for value in batch})


def test_sliced_and_chunked_columns_are_read_at_their_offsets():
    values = [str(uuid.uuid4()) for _ in range(10)]
    column = pa.chunked_array([pa.array(values[:4]), pa.array(values[4:])])
    ids = IdSet()
    assert ids.admit(column).all()
    assert not ids.admit(pa.array(values).slice(3, 5)).any()
    high, _, _ = id_keys(pa.array(values).slice(2, 3))
    assert int(high[0]) == uuid.UUID(values[2]).int >> 64


def test_memory_is_sixteen_bytes_per_id():
    ids = IdSet()
    for _ in range(20):
        ids.admit(pa.array([str(uuid.uuid4()) for _ in range(5_000)]))
    assert len(ids) == 100_000
    assert ids.nbytes == 16 * 100_000


def test_keys_with_equal_high_halves_are_still_told_apart():
    base = "00000000-0000-4000-8000-"
    values = [f"{base}{number:012x}" for number in range(50)]  # same high half
    ids = IdSet()
    assert ids.admit(pa.array(values[::2])).all()
    mask = ids.admit(pa.array(values))
    assert mask.tolist() == [index % 2 == 1 for index in range(50)]
    assert np.sum(mask) == 25


def test_runs_stop_merging_at_the_cap_and_answers_stay_exact(monkeypatch):
    from o365_pipeline.storage import id_set

    monkeypatch.setattr(id_set, "MAX_RUN_KEYS", 1_000)
    ids = IdSet()
    values = [str(uuid.uuid4()) for _ in range(5_000)]
    for start in range(0, 5_000, 250):
        assert ids.admit(pa.array(values[start : start + 250])).all()
    assert all(len(high) <= 1_000 for high, _ in ids._runs) and len(ids._runs) >= 5
    assert not ids.admit(pa.array(values[::7])).any()


def test_keys_beyond_the_memory_budget_go_to_disk_and_answers_stay_exact(tmp_path, monkeypatch):
    from o365_pipeline.storage import id_set

    monkeypatch.setattr(id_set, "MAX_RUN_KEYS", 500)
    monkeypatch.setattr(id_set, "_DISK_CHUNK_KEYS", 64)
    rng = random.Random(11)
    pool = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(6_000)]
    batches = [[rng.choice(pool) for _ in range(rng.randint(100, 400))] for _ in range(60)]
    ids = IdSet(spill_folder=tmp_path, memory_keys=1_000)
    got = [ids.admit(pa.array(batch)).tolist() for batch in batches]
    assert got == _reference(batches)
    assert ids.spilled_keys > 0 and sum(len(h) for h, _ in ids._runs) <= 1_000
    assert ids.nbytes <= 16 * 1_000
    assert list(tmp_path.glob("ids-*.high"))


def test_ids_differing_only_in_hyphen_positions_or_case_are_different_ids():
    canonical = "8ff5b25d-559f-4dfe-8fda-c192ce48d8e3"
    moved = "8ff5b25d5-59f-4dfe-8fda-c192ce48d8e3"  # same hex digits, one hyphen moved
    upper = canonical.upper()
    assert len(moved) == len(canonical) == 36
    ids = IdSet()
    assert ids.admit(pa.array([canonical, moved, upper, moved])).tolist() == [
        True,
        True,
        True,
        False,
    ]
    assert len(ids) == 3
    _, _, flags = id_keys(pa.array([canonical, moved, upper]))
    assert flags.tolist() == [True, False, False]


def test_non_ascii_ids_of_guid_length_are_kept_by_their_text():
    values = ["é" * 36, "8ff5b25d-559f-4dfe-8fda-c192ce48d8é3", "é" * 36]
    ids = IdSet()
    assert ids.admit(pa.array(values)).tolist() == [True, True, False]
