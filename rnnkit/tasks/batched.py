"""A task whose whole training position lives in one batcher (rnnkit.tasks.Task, module docstring).

Caption, glimpse, sentiment, translate and VQA draw their training batches from a batcher object
that knows where it stands (epoch, order, position) and saves that as JSON with
``state_dict``/``load_state_dict``. The task's own resume state is then exactly the batcher's,
said once here instead of in each task.
"""

from __future__ import annotations

from rnnkit.tasks import Task


class BatchedTask(Task):
    """A :class:`Task` whose ``self.batcher`` (set by the subclass) holds where the batches stand."""

    batcher: object

    def state_dict(self) -> dict:
        """The batcher's position (JSON), for an exact resume."""
        return self.batcher.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.batcher.load_state_dict(state)
