"""Data parallelism over rows, in processes: the NumPy engine on several cores without the GIL.

The B rows of a batch are independent until the gradients are summed, so the batch is cut into
S shards of rows (shards.py explains the arithmetic). Any model of rnnkit/models runs this way. Shard 0 runs in the calling process; shards
1 .. S-1 run in S-1 worker processes, each with one BLAS thread, at the same time:

    parent                                  worker k (k = 1 .. S-1)
    send (batch, state, rng state) rows ->  model.loss on its rows, reading the parameters
    model.loss on shard 0                   from shared memory; writes its gradients to its own
    receive loss, state, rng state      <-  shared block
    dW = sum_s (B_s / B) dW_s;  the optimizer updates the shared parameters in place

Why processes and not threads: a training step of a small model is hundreds of short NumPy calls,
and each needs Python's interpreter lock to start and to finish. Two threads then spend much of
their time waiting for each other, slower together than one alone (docs/numpy_engine.md has the
measurement). Processes do not share the
lock; the parameters and gradients live in shared memory, so a step sends only the shard's ids,
its carried state and a few numbers through a pipe.

The workers are started with ``spawn`` (safe whatever threads the parent runs), are daemons (they
end with the parent) and are stopped by :meth:`ProcessShardedModel.close` or when the model is
garbage collected. Dropout: the parent keeps one generator per shard, as with threads; a worker
receives its generator's state with the shard and sends the advanced state back, so a run repeats
exactly and checkpoints hold every generator.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import signal
import sys
import types
import weakref

import numpy as np

from rnnkit.runtime.blas import blas_threads_here, limit_blas_threads_here
from rnnkit.runtime.shards import batch_rows, combine_losses, shard_bounds, shard_weights, state_rows, sum_stats
from rnnkit.training.interrupts import deferred_interrupts

#: Seconds between checks that a worker being waited for is still alive.
_LIVENESS_CHECK_S = 1.0


def _layout(params: dict) -> tuple[list[tuple[str, tuple, str, int]], int]:
    """(name, shape, dtype, byte offset) of every array packed into one buffer, and its size."""
    entries, offset = [], 0
    for name, array in params.items():
        offset = -(-offset // 64) * 64  # 64-byte aligned, like NumPy's own allocations
        entries.append((name, tuple(array.shape), array.dtype.str, offset))
        offset += array.nbytes
    return entries, max(offset, 1)


def _views(buffer, layout) -> dict[str, np.ndarray]:
    """The arrays of ``layout`` as views into the shared ``buffer``."""
    raw = np.frombuffer(buffer, dtype=np.uint8)
    views = {}
    for name, shape, dtype, offset in layout:
        count = int(np.prod(shape, dtype=np.int64))
        views[name] = raw[offset: offset + count * np.dtype(dtype).itemsize].view(dtype).reshape(shape)
    return views


def _generator(state):
    if state is None:
        return None
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def _keep_freed_memory() -> None:
    """Ask glibc's malloc to keep freed memory for reuse instead of returning it to the system.

    A training step allocates and frees the same few-megabyte temporaries every time. In a worker,
    glibc kept handing that memory back to the system (trimming the heap, or mapping and unmapping
    each large block), so every step paid page faults for it again, and a worker ran the same shard
    markedly slower than the parent (docs/numpy_engine.md). Raising the two thresholds keeps the
    memory in the worker. Elsewhere than glibc (macOS, musl) this does nothing.
    """
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # glibc's largest allowed value
    except (OSError, AttributeError):
        pass


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers


def _worker(conn, kind, spec_json, layout, param_buffer, grad_buffer) -> None:
    """A worker's loop: run the model's loss / evaluate on the shards it is sent, until told to stop."""
    from rnnkit.models import numpy_model_class, spec_from_json

    # Ctrl-C reaches the whole process group: the parent decides what to do (save a checkpoint),
    # so a worker ignores it and finishes the shard it has, keeping the pipe in step.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_blas_threads_here(1)
    _keep_freed_memory()
    np.seterr(all="ignore")  # overflow in a diverging run: the parent's trainer reports it, once
    model = numpy_model_class(kind)(spec_from_json(kind, spec_json), _views(param_buffer, layout))
    grads_out = _views(grad_buffer, layout)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if message is None:
            return
        what, batch, state, rng_state = message
        try:
            if what == "loss":
                rng = _generator(rng_state)
                loss, grads, new_state = model.loss(*batch, state, rng)
                for name, g in grads.items():
                    grads_out[name][...] = g
                reply = ("ok", loss, new_state, None if rng is None else rng.bit_generator.state)
            else:
                stats, new_state = model.evaluate(*batch, state)
                reply = ("ok", stats, new_state, None)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
            reply = ("error", f"{type(exc).__name__}: {exc}", None, None)
        try:
            conn.send(reply)
        except OSError:  # the parent has gone (it ended at once, e.g. a third Ctrl-C)
            return


def _start_without_main(process) -> None:
    """Start a ``spawn`` process that does not re-run the parent's main script.

    A spawned child normally imports the parent's ``__main__`` (to find functions defined there),
    which re-runs any script that trains at top level without an ``if __name__ == "__main__":``
    guard. The worker needs nothing from ``__main__`` (its function and arguments come from
    rnnkit), so the parent's main module is hidden from ``multiprocessing`` while it starts one.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    # A child started with SIGINT ignored keeps ignoring it (Python installs its Ctrl-C handler only
    # where SIGINT is not ignored), so a Ctrl-C during a worker's start-up cannot kill it either.
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals cannot be changed here
        previous = None
    try:
        process.start()
    finally:
        sys.modules["__main__"] = main
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _stop(processes, connections) -> None:
    for conn in connections:
        try:
            conn.send(None)
            conn.close()
        except (OSError, ValueError):
            pass
    for process in processes:
        process.join(timeout=2)
        if process.is_alive():
            process.terminate()


class ProcessShardedModel:
    """Runs a model's ``loss`` and ``evaluate`` over row shards of the batch, shard 0 here and
    the others in worker processes. The model's parameters are moved into shared memory (same
    values; ``model.params`` then holds views of it, which the optimizer updates in place)."""

    def __init__(self, model, workers: int):
        self.model = model
        self.workers = max(2, int(workers))
        self.layout, size = _layout(model.params)
        context = multiprocessing.get_context("spawn")
        self._params = context.RawArray("b", size)
        shared = _views(self._params, self.layout)
        for name, array in model.params.items():
            shared[name][...] = array
        model.params.clear()
        model.params.update(shared)
        self._grad_buffers = [context.RawArray("b", size) for _ in range(self.workers - 1)]
        self._grads = [_views(buffer, self.layout) for buffer in self._grad_buffers]
        self._connections, self._processes = [], []
        # Registered before any start, so workers started before a failure are stopped too.
        self._finalizer = weakref.finalize(self, _stop, self._processes, self._connections)
        for buffer in self._grad_buffers:
            parent_end, child_end = context.Pipe()
            process = context.Process(target=_worker, name="rnnkit-shard", daemon=True,
                                      args=(child_end, model.spec.kind, model.spec.to_json(), self.layout,
                                            self._params, buffer))
            _start_without_main(process)
            child_end.close()
            self._connections.append(parent_end)
            self._processes.append(process)

    def _run(self, what, batch, state, rngs):
        """Send shards 1.. to the workers, compute shard 0 here, and return every shard's result.

        The exchange is one unit: a Ctrl-C inside it is raised only after every worker that was
        sent a shard has answered (rnnkit/training/interrupts.py), so the pipes stay in step; an
        answer read from a pipe is never lost to an interrupt (that left the parent waiting for it
        forever). A worker that dies is an error, not a wait."""
        bounds = shard_bounds(batch[0].shape[0], self.workers)
        with deferred_interrupts():
            sent = 0
            try:
                for k, (start, end) in enumerate(bounds[1:], start=1):
                    rng_state = None if rngs is None else rngs[k].bit_generator.state
                    self._send(k, (what, batch_rows(batch, start, end), state_rows(state, start, end), rng_state))
                    sent += 1
                start, end = bounds[0]
                with blas_threads_here(1):  # the workers hold the other cores
                    rows, first_state = batch_rows(batch, start, end), state_rows(state, start, end)
                    if what == "loss":
                        first = self.model.loss(*rows, first_state, None if rngs is None else rngs[0])
                    else:
                        first = self.model.evaluate(*rows, first_state)
            finally:
                # Every worker that has a shard answers before anything is raised (an error here).
                answers = [self._receive(k) for k in range(1, sent + 1)]
        for k, (status, value, _, _) in enumerate(answers, start=1):
            if status != "ok":
                raise RuntimeError(f"NumPy engine worker process {k} failed: {value}")
        replies = []
        for k, (_, value, new_state, rng_state) in enumerate(answers, start=1):
            if rngs is not None and rng_state is not None:
                rngs[k].bit_generator.state = rng_state
            replies.append((value, new_state))
        return bounds, first, replies

    def _send(self, k: int, message) -> None:
        try:
            self._connections[k - 1].send(message)
        except (OSError, ValueError):  # a closed or broken pipe: the worker has gone
            raise RuntimeError(f"NumPy engine worker process {k} stopped unexpectedly") from None

    def _receive(self, k: int):
        """Worker k's answer: (status, value, new state, advanced generator state). Waits while
        the worker lives; a worker that ended without answering is an error."""
        conn, process = self._connections[k - 1], self._processes[k - 1]
        try:
            while not conn.poll(_LIVENESS_CHECK_S):
                if not process.is_alive() and not conn.poll(0):
                    raise EOFError
            return conn.recv()
        except (EOFError, OSError):
            raise RuntimeError(f"NumPy engine worker process {k} stopped unexpectedly") from None

    def loss(self, batch: tuple, state, rngs=None):
        """Like the model's ``loss`` over the whole batch. ``rngs``: one dropout generator per shard,
        or None. Returns: (loss, grads, new_state)."""
        bounds, first, replies = self._run("loss", batch, state, rngs)
        # The workers' gradients are in shared memory, not in their replies.
        results = [first] + [(value, grads, new_state) for (value, new_state), grads in zip(replies, self._grads)]
        return combine_losses(shard_weights(self.model, batch, bounds), results)

    def evaluate(self, batch: tuple, state):
        """Like the model's ``evaluate``: (summed statistics, new_state)."""
        _, first, replies = self._run("evaluate", batch, state, None)
        return sum_stats([first] + replies)

    def close(self) -> None:
        """Stop the worker processes (also done when the model is garbage collected)."""
        self._finalizer()
