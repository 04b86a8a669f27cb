"""pad_batch's layout and mask; ClassificationBatcher's epochs, bucketing and exact resumption."""

import json

import numpy as np
import pytest

from rnnkit.data.padding import ClassificationBatcher, pad_batch
from rnnkit.errors import UsageError


def test_pad_batch_right_pads_and_masks():
    ids, mask, lengths = pad_batch([np.array([5, 6, 7]), np.array([8]), np.array([], int)],
                                   pad_id=-1)
    assert ids.tolist() == [[5, 6, 7], [8, -1, -1], [-1, -1, -1]]
    assert mask.tolist() == [[True, True, True], [True, False, False], [False, False, False]]
    assert lengths.tolist() == [3, 1, 0]
    assert ids.dtype == np.int64 and mask.dtype == bool and lengths.dtype == np.int64


def test_pad_batch_truncates_at_max_len():
    ids, mask, lengths = pad_batch([np.arange(1, 6), np.array([9, 9])], max_len=3)
    assert ids.tolist() == [[1, 2, 3], [9, 9, 0]]
    assert lengths.tolist() == [3, 2]
    assert mask.sum(axis=1).tolist() == [3, 2]
    ids, _, _ = pad_batch([np.array([1, 2])], max_len=10)
    assert ids.shape == (1, 2)          # T is the longest kept length, not max_len
    assert pad_batch([])[0].shape == (0, 0)
    with pytest.raises(UsageError, match="max_len"):
        pad_batch([np.array([1])], max_len=0)


def _data(n=103, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 40, size=n)
    # Example i is filled with the value i + 2, so each batch row says which example it is.
    sequences = [np.full(length, i + 2) for i, length in enumerate(lengths)]
    return sequences, np.arange(n) % 2


def _rows(ids):
    return (ids[:, 0] - 2).tolist()


def _epoch(batcher):
    return [(ids, mask, labels) for ids, mask, labels in batcher.rest_of_epoch()]


@pytest.mark.parametrize("bucket", [False, True])
def test_every_epoch_reads_every_example_once(bucket):
    sequences, labels = _data()
    batcher = ClassificationBatcher(sequences, labels, 10, seed=3, bucket=bucket, pool_batches=3)
    assert batcher.steps_per_epoch == 11
    orders = []
    for epoch in range(2):
        batches = _epoch(batcher)
        assert batcher.epoch == epoch + 1 and batcher.position == 0
        order = [i for ids, _, _ in batches for i in _rows(ids)]
        assert sorted(order) == list(range(103))
        assert sorted(len(ids) for ids, _, _ in batches) == [3] + [10] * 10
        for ids, mask, batch_labels in batches:
            rows = _rows(ids)
            assert batch_labels.tolist() == [labels[i] for i in rows]
            assert mask.sum(axis=1).tolist() == [len(sequences[i]) for i in rows]
            assert (ids[~mask] == 0).all()
        orders.append(order)
    assert orders[0] != orders[1]            # a new order each epoch


def test_shuffle_off_reads_in_order_and_drop_last_drops_the_rest():
    sequences, labels = _data()
    batcher = ClassificationBatcher(sequences, labels, 10, shuffle=False, drop_last=True)
    batches = _epoch(batcher)
    assert [i for ids, _, _ in batches for i in _rows(ids)] == list(range(100))
    assert batcher.steps_per_epoch == 10


def test_same_seed_same_batches_other_seed_other_batches():
    sequences, labels = _data()
    first = [_rows(b[0]) for b in _epoch(ClassificationBatcher(sequences, labels, 8, seed=1))]
    again = [_rows(b[0]) for b in _epoch(ClassificationBatcher(sequences, labels, 8, seed=1))]
    other = [_rows(b[0]) for b in _epoch(ClassificationBatcher(sequences, labels, 8, seed=2))]
    assert first == again and first != other


def test_bucketing_reduces_padding():
    sequences, labels = _data(n=2000)

    def padding(bucket):
        batcher = ClassificationBatcher(sequences, labels, 16, seed=0, bucket=bucket)
        masks = [mask for _, mask, _ in _epoch(batcher)]
        return sum((~m).sum() for m in masks) / sum(m.size for m in masks)

    assert padding(True) < 0.1 < 0.3 < padding(False)


@pytest.mark.parametrize("bucket", [False, True])
def test_resuming_from_a_saved_position_gives_the_same_batches(bucket):
    sequences, labels = _data()
    options = dict(seed=7, bucket=bucket, pool_batches=2, max_len=30)
    straight = ClassificationBatcher(sequences, labels, 10, **options)
    expected = [straight.next_batch() for _ in range(30)]      # nearly three epochs

    interrupted = ClassificationBatcher(sequences, labels, 10, **options)
    for _ in range(16):                                        # stop mid-way through epoch 1
        interrupted.next_batch()
    state = json.loads(json.dumps(interrupted.state_dict()))
    assert (state["epoch"], state["position"]) == (1, 5)
    resumed = ClassificationBatcher(sequences, labels, 10, **options)
    resumed.load_state_dict(state)
    for want in expected[16:]:
        got = resumed.next_batch()
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)


def test_load_state_dict_refuses_other_data_or_settings():
    sequences, labels = _data()
    state = ClassificationBatcher(sequences, labels, 10, seed=1).state_dict()
    with pytest.raises(UsageError, match="batch_size: saved 10, now 12"):
        ClassificationBatcher(sequences, labels, 12, seed=1).load_state_dict(state)
    with pytest.raises(UsageError, match="seed: saved 1, now 2"):
        ClassificationBatcher(sequences, labels, 10, seed=2).load_state_dict(state)
    with pytest.raises(UsageError, match="data: saved"):
        ClassificationBatcher(sequences, 1 - labels, 10, seed=1).load_state_dict(state)
    batcher = ClassificationBatcher(sequences, labels, 10, seed=1)
    for broken, message in [(dict(state, position=11), "out of range"),
                            (dict(state, epoch=-1), "non-negative integers"),
                            (dict(state, position="3"), "non-negative integers"),
                            ({"epoch": 0}, "lacks 'position'"), ([0, 1], "JSON object")]:
        with pytest.raises(UsageError, match=message):
            batcher.load_state_dict(broken)


def test_bad_inputs_are_usage_errors():
    sequences, labels = _data(n=5)
    with pytest.raises(UsageError, match="5 sequences but 4 labels"):
        ClassificationBatcher(sequences, labels[:4], 2)
    with pytest.raises(UsageError, match="example 1 has no tokens"):
        ClassificationBatcher([np.array([3]), np.array([], int)], [0, 1], 2)
    with pytest.raises(UsageError, match="batch size must be a positive integer"):
        ClassificationBatcher(sequences, labels, 0)
    with pytest.raises(UsageError, match="max_len must be a positive integer"):
        ClassificationBatcher(sequences, labels, 2, max_len=0)
    with pytest.raises(UsageError, match="seed"):
        ClassificationBatcher(sequences, labels, 2, seed=-1)
    with pytest.raises(UsageError, match="too few for one batch of 8"):
        ClassificationBatcher(sequences, labels, 8, drop_last=True)
    with pytest.raises(UsageError, match="no examples"):
        ClassificationBatcher([], [], 2)
