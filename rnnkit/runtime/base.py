"""What every runtime saves and restores for an exact resume, written once for both engines.

    export()  -> (json, arrays):  param/<name>, optim/<slot>/<name> and state/<layer>/<k> arrays;
                                  the optimizer's JSON and the random generators' state
    restore(json, groups)         the inverse, given the ``optim`` and ``state`` groups

An engine says only what differs (hooks): how its random generators are saved and restored, how a
carried-state tensor becomes a NumPy array (a distributed torch run gathers every rank's rows) and
back (each rank takes its rows), and how an optimizer is rebuilt from its saved JSON.
"""

from __future__ import annotations

from rnnkit.errors import UsageError
from rnnkit.runtime.state import state_arrays, state_from_arrays


class RuntimeCheckpointing:
    """Mixin: ``export`` / ``restore`` over ``self.params_numpy()``, ``self.optimizer``,
    ``self.state`` and ``self.model.init_state``, with the engine's hooks below."""

    def _random_json(self) -> dict:
        """The random generators' state as JSON, under keys of the engine's own."""
        raise NotImplementedError

    def _restore_random(self, js: dict) -> None:
        raise NotImplementedError

    def _state_to_numpy(self, tensor):
        return tensor

    def _state_from_numpy(self, array):
        raise NotImplementedError

    def _load_optimizer(self, js: dict, arrays: dict) -> None:
        self.optimizer.load_state_dict(js, arrays)

    def export(self):
        """(json, arrays) with everything an exact resume needs beyond the step counters.

        Under torchrun every rank must call this (it gathers from all of them); rank 0 writes.
        """
        arrays = {f"param/{k}": v for k, v in self.params_numpy().items()}
        js = self._random_json()
        if self.optimizer is not None:
            opt_js, opt_arrays = self.optimizer.state_dict()
            js["optimizer"] = opt_js
            arrays.update({f"optim/{k}": v for k, v in opt_arrays.items()})
        if self.state is not None:
            arrays.update(state_arrays(self.state, self._state_to_numpy))
        return js, arrays

    def restore(self, js: dict, groups: dict) -> None:
        """Restore optimizer state, random state and carried state saved by :meth:`export`.

        ``groups`` maps ``optim`` and ``state`` to their arrays (names without the prefix). A
        state that does not fit the model or the optimizer is a UsageError.
        """
        if self.optimizer is not None and "optimizer" in js:
            try:
                self._load_optimizer(js["optimizer"], groups.get("optim", {}))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise UsageError(f"the checkpoint's optimizer state is unusable: {exc}") from None
        self._restore_random(js)
        saved = groups.get("state", {})
        template = self.model.init_state(1)
        if saved and template is not None:
            self.state = state_from_arrays(saved, template, self._state_from_numpy)
