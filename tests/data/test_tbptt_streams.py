"""TBPTT streams: the batchify layout, contiguity across batches, wrap-around, exact resume, eval."""

import json

import numpy as np
import pytest

from rnnkit.data import TBPTTStream, iter_eval_batches
from rnnkit.errors import UsageError


def test_layout_matches_the_diagram():
    stream = TBPTTStream(np.arange(26), batch=4, seq_len=2)
    x, y = stream.next_batch()
    np.testing.assert_array_equal(x, [[0, 1], [6, 7], [12, 13], [18, 19]])
    np.testing.assert_array_equal(y, x + 1)
    assert x.dtype == np.int64
    stream.next_batch()
    x, y = stream.next_batch()                 # the short last batch of the epoch
    np.testing.assert_array_equal(x, [[4], [10], [16], [22]])
    assert stream.epoch == 1 and stream.at_start and stream.steps_per_epoch == 3


def test_streams_are_contiguous_and_y_is_x_shifted():
    tokens = np.random.default_rng(0).integers(0, 50, size=1000).astype(np.uint8)
    stream = TBPTTStream(tokens, batch=7, seq_len=9)
    length = 1000 // 7
    columns = tokens[:7 * length].reshape(7, length)
    xs, ys = zip(*(stream.next_batch() for _ in range(stream.steps_per_epoch)))
    x, y = np.concatenate(xs, axis=1), np.concatenate(ys, axis=1)
    # Every row b of batch k+1 continues exactly where row b of batch k ended.
    np.testing.assert_array_equal(x, columns[:, :-1])
    np.testing.assert_array_equal(y, columns[:, 1:])
    assert stream.epoch == 1 and stream.position == 0


def test_resume_from_json_continues_exactly():
    tokens = np.arange(500) % 37
    stream = TBPTTStream(tokens, batch=3, seq_len=8)
    for _ in range(25):                        # past one epoch, mid-way through the next
        stream.next_batch()
    saved = json.loads(json.dumps(stream.state_dict()))
    expected = [stream.next_batch() for _ in range(10)]
    resumed = TBPTTStream(tokens, batch=3, seq_len=8)
    resumed.load_state_dict(saved)
    assert resumed.epoch == saved["epoch"] == 1
    for (x0, y0), (x1, y1) in zip(expected, (resumed.next_batch() for _ in range(10))):
        np.testing.assert_array_equal(x0, x1)
        np.testing.assert_array_equal(y0, y1)


def test_resume_refuses_other_data_or_batch_size():
    state = TBPTTStream(np.arange(100), batch=4, seq_len=5).state_dict()
    with pytest.raises(UsageError, match="batch size 4 over 100 tokens.*batch size 5"):
        TBPTTStream(np.arange(100), batch=5, seq_len=5).load_state_dict(state)
    with pytest.raises(UsageError, match="not a stream position"):
        TBPTTStream(np.arange(100), batch=4, seq_len=5).load_state_dict({"position": "x"})
    with pytest.raises(UsageError, match="out of range"):
        TBPTTStream(np.arange(100), batch=4, seq_len=5).load_state_dict({**state, "position": 99})


@pytest.mark.parametrize("batch, seq_len", [(0, 5), (4, 0), (2.5, 4)])
def test_bad_sizes_raise_usage_errors(batch, seq_len):
    with pytest.raises(UsageError, match="positive integer"):
        TBPTTStream(np.arange(100), batch=batch, seq_len=seq_len)


def test_too_few_tokens_for_the_streams():
    with pytest.raises(UsageError, match="5 tokens are too few for 4 streams"):
        TBPTTStream(np.arange(5), batch=4, seq_len=3)


@pytest.mark.parametrize("n, batch, seq_len", [(26, 4, 2), (27, 4, 2), (100, 7, 5), (3, 4, 2),
                                               (2, 1, 1), (10, 64, 4), (1000, 1, 1000)])
def test_eval_covers_every_target_exactly_once(n, batch, seq_len):
    tokens = np.arange(n)
    targets = []
    previous = None
    for x, y in iter_eval_batches(tokens, batch, seq_len):
        assert x.shape == y.shape and x.shape[1] <= seq_len
        np.testing.assert_array_equal(y, x + 1)
        if previous is not None and x.shape[0] == 1 and previous.shape[0] == batch:
            assert x[0, 0] == previous[-1, -1]   # the remainder continues the last stream
        previous = y
        targets += y.ravel().tolist()
    assert sorted(targets) == list(range(1, n))


def test_eval_needs_two_tokens():
    with pytest.raises(UsageError, match="at least 2 tokens"):
        list(iter_eval_batches(np.arange(1), 4, 2))
