"""Worker processes train shards of the batch exactly as shards run in one process would."""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from rnnkit.config import TrainConfig
from rnnkit.models.charlm.spec import CharLMSpec
from rnnkit.models.charlm.numpy_model import CharLM
from rnnkit.runtime.shards import ShardedModel
from rnnkit.runtime.processes import ProcessShardedModel
from rnnkit.runtime.numpy_runtime import NumpyRuntime, choose_workers

ROOT = Path(__file__).resolve().parents[2]
CONFIG = CharLMSpec(cell="lstm", vocab_size=13, hidden=24, layers=2, embed_dim=6, dropout=0.25)


def batch(seed, n=6, t=9):
    rng = np.random.default_rng(seed)
    return rng.integers(0, CONFIG.vocab_size, (n, t)), rng.integers(0, CONFIG.vocab_size, (n, t))


def generators():
    return [np.random.default_rng(s) for s in np.random.SeedSequence(5).spawn(3)]


@pytest.fixture(scope="module")
def pair():
    """The same model run by 3 worker processes and by 3 shards in this process."""
    in_process = CharLM.create(CONFIG, seed=1)
    across = CharLM(CONFIG, {k: v.copy() for k, v in in_process.params.items()})
    sharded = ProcessShardedModel(across, 3)
    yield sharded, ShardedModel(in_process, 3)
    sharded.close()


def test_loss_gradients_state_and_dropout_equal_in_process_shards(pair):
    processes, threads = pair
    rngs_p, rngs_t = generators(), generators()
    state_p = state_t = processes.model.init_state(6)
    for step in range(3):  # the parameters change between steps: the workers must see the new ones
        x, y = batch(step)
        loss_p, grads_p, state_p = processes.loss((x, y), state_p, rngs_p)
        loss_t, grads_t, state_t = threads.loss((x, y), state_t, rngs_t)
        assert loss_p == loss_t
        for name in grads_t:
            assert np.array_equal(grads_p[name], grads_t[name]), name
        for layer_p, layer_t in zip(state_p, state_t):
            for a, b in zip(layer_p, layer_t):
                assert np.array_equal(a, b)
        for model, grads in ((processes.model, grads_p), (threads.model, grads_t)):
            for name, g in grads.items():
                model.params[name] -= 0.1 * g  # in place, as the optimizers update
    # the workers' dropout generators advanced exactly as the in-process ones
    for a, b in zip(rngs_p, rngs_t):
        assert a.bit_generator.state == b.bit_generator.state


def test_evaluate_equals_in_process_shards(pair):
    processes, threads = pair
    x, y = batch(7)
    stats_p, state_p = processes.evaluate((x, y), processes.model.init_state(6))
    stats_t, state_t = threads.evaluate((x, y), threads.model.init_state(6))
    assert stats_p["nats"] == pytest.approx(stats_t["nats"], rel=1e-12) and stats_p["count"] == x.size
    assert np.array_equal(state_p[0][0], state_t[0][0])


def test_a_failing_worker_reports_its_error(pair):
    processes, _ = pair
    x, y = batch(8)
    x[5, 0] = CONFIG.vocab_size + 50  # an id out of range, in the last worker's rows
    with pytest.raises(RuntimeError, match="worker process 2 failed: IndexError"):
        processes.loss((x, y), processes.model.init_state(6), None)
    x, y = batch(9)  # and the workers go on serving the next step
    processes.loss((x, y), processes.model.init_state(6), None)


def test_close_stops_the_workers():
    sharded = ProcessShardedModel(CharLM.create(CONFIG, seed=2), 2)
    workers = list(sharded._processes)
    assert all(p.is_alive() for p in workers)
    sharded.close()
    assert not any(p.is_alive() for p in workers)


def test_automatic_worker_count():
    small = CharLMSpec(cell="lstm", vocab_size=10, hidden=16)
    large = CharLMSpec(cell="lstm", vocab_size=10, hidden=128)
    assert choose_workers(small, TrainConfig(batch=32)) == 1  # steps too short to gain
    assert choose_workers(large, TrainConfig(batch=4)) == 1  # too few streams to share
    assert choose_workers(large, TrainConfig(batch=32, threads=3)) == 3  # asked for
    assert choose_workers(large, None) == 1  # evaluation and sampling


def test_a_training_script_without_a_main_guard_can_use_workers(tmp_path):
    """Worker processes are spawned without re-running the user's script."""
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        from rnnkit.config import TrainConfig
        from rnnkit.models.charlm.spec import CharLMSpec
        from rnnkit.runtime.numpy_runtime import NumpyRuntime
        print("script ran")
        runtime = NumpyRuntime(CharLMSpec(cell="gru", vocab_size=9, hidden=8),
                               TrainConfig(batch=4, seq_len=5, threads=2))
        x = np.arange(20).reshape(4, 5) % 9
        loss, norm = runtime.train_step((x, x), 0.01)
        print("loss", np.isfinite(loss))
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n").count("script ran") == 1
    assert "loss True" in done.stdout


def test_runtime_with_workers_trains_like_one_process_to_rounding():
    # float64: Adam divides by sqrt(v), which magnifies float32 rounding in near-zero gradients.
    common = dict(batch=6, seq_len=9, optimizer="adam", lr=0.01, dtype="float64")
    config = CharLMSpec(cell="lstm", vocab_size=13, hidden=24, layers=2, embed_dim=6)
    several = NumpyRuntime(config, TrainConfig(**common, threads=3), seed=4)
    one = NumpyRuntime(config, TrainConfig(**common, threads=1), seed=4)
    try:
        for step in range(4):
            x, y = batch(step)
            loss_s, _ = several.train_step((x, y), 0.01)
            loss_o, _ = one.train_step((x, y), 0.01)
            assert loss_s == pytest.approx(loss_o, rel=1e-12)
        for name, value in one.params_numpy().items():
            assert np.allclose(several.params_numpy()[name], value, rtol=1e-9, atol=1e-12), name
    finally:
        several.close()


def test_without_worker_processes_the_shards_run_in_this_process(monkeypatch):
    import rnnkit.runtime.numpy_runtime as runtime_module

    def refuse(model, workers):
        raise OSError("no processes here")

    monkeypatch.setattr(runtime_module, "ProcessShardedModel", refuse)
    config = CharLMSpec(cell="gru", vocab_size=9, hidden=8)
    with pytest.warns(RuntimeWarning, match="could not start worker processes"):
        runtime = NumpyRuntime(config, TrainConfig(batch=4, seq_len=5, threads=2))
    assert isinstance(runtime.sharded, ShardedModel) and runtime.sharded.workers == 2
    x = np.arange(20).reshape(4, 5) % 9
    loss, _ = runtime.train_step((x, x), 0.01)
    assert np.isfinite(loss)


def _with_sigint_handler():
    """Python's Ctrl-C handler, whatever the test runner runs with (a background job ignores SIGINT)."""
    import signal

    return signal.signal(signal.SIGINT, signal.default_int_handler)


def test_a_ctrl_c_during_an_exchange_is_raised_after_it_and_no_answer_is_lost():
    """Issue 14: a Ctrl-C that landed after a worker's answer was read but before it was kept left
    the parent waiting for it forever. Now the exchange is one unit: the interrupt comes after it,
    and the next exchange finds the pipes in step."""
    import os
    import signal

    class CtrlCAfterReceiving:
        """The worker's pipe, with a Ctrl-C arriving the moment an answer has been read."""

        def __init__(self, conn):
            self.conn = conn

        def __getattr__(self, name):
            return getattr(self.conn, name)

        def recv(self):
            answer = self.conn.recv()
            os.kill(os.getpid(), signal.SIGINT)
            return answer

    def hang(signum, frame):
        raise TimeoutError("the exchange hung")

    previous, previous_alarm = _with_sigint_handler(), signal.signal(signal.SIGALRM, hang)
    model = CharLM.create(CONFIG, seed=3)
    reference = ShardedModel(CharLM(CONFIG, {k: v.copy() for k, v in model.params.items()}), 2)
    sharded = ProcessShardedModel(model, 2)
    try:
        signal.alarm(30)
        for seed in (10, 11):  # the answer is kept, the Ctrl-C raised after the exchange
            x, y = batch(seed)
            sharded._connections[0] = CtrlCAfterReceiving(sharded._connections[0])
            with pytest.raises(KeyboardInterrupt):
                sharded.loss((x, y), model.init_state(6), None)
            sharded._connections[0] = sharded._connections[0].conn
        for seed in (12, 13):  # the pipes are in step: each answer is this exchange's
            x, y = batch(seed)
            got, want = sharded.loss((x, y), model.init_state(6)), reference.loss((x, y), model.init_state(6))
            assert got[0] == want[0]
    finally:
        signal.alarm(0)
        sharded.close()
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGALRM, previous_alarm)


def test_a_worker_that_dies_is_an_error_not_a_hang():
    import time

    sharded = ProcessShardedModel(CharLM.create(CONFIG, seed=4), 2)
    try:
        sharded._processes[0].kill()
        sharded._processes[0].join()
        x, y = batch(13)
        started = time.monotonic()
        with pytest.raises(RuntimeError, match="worker process 1 stopped unexpectedly"):
            sharded.loss((x, y), sharded.model.init_state(6), None)
        assert time.monotonic() - started < 10
    finally:
        sharded.close()


def test_shards_of_a_token_averaged_loss_are_weighted_by_their_tokens():
    """A loss that is a mean over the real tokens of ragged rows (translation): shards holding
    different numbers of tokens are weighted by them, so 2 or 3 shards (in this process or in
    worker processes) give the unsharded loss and gradients, not a mean of the shards' means."""
    sys.path.insert(0, str(ROOT / "tests"))
    from seq2seq_data import ragged_batch

    from rnnkit.models.seq2seq.numpy_model import Seq2Seq
    from rnnkit.models.seq2seq.spec import Seq2SeqSpec

    spec = Seq2SeqSpec(src_vocab=7, tgt_vocab=9, embed=3, hidden=4, layers=1, attention="additive")
    model = Seq2Seq.create(spec, seed=2, dtype=np.float64)
    rng = np.random.default_rng(0)
    lengths = np.array([5, 1, 1, 4, 2, 1])
    data = ragged_batch(rng, src_len=np.array([5, 2, 3, 4, 1, 2]), tgt_len=lengths, S=5, T=5)
    assert model.loss_weight(*data) == lengths.sum()
    whole_loss, whole_grads, _ = model.loss(*data, None, None)
    processes = ProcessShardedModel(Seq2Seq(spec, {k: v.copy() for k, v in model.params.items()}), 3)
    try:
        for sharded in (ShardedModel(model, 2), ShardedModel(model, 3), processes):
            loss, grads, _ = sharded.loss(data, None)
            np.testing.assert_allclose(loss, whole_loss, rtol=1e-12)
            for name, grad in whole_grads.items():
                np.testing.assert_allclose(grads[name], grad, rtol=1e-9, atol=1e-12, err_msg=name)
    finally:
        processes.close()
