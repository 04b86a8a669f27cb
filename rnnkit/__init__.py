"""rnnkit: recurrent neural networks with every gradient visible and checked.

The NumPy engine (``rnnkit.numpy_engine``) is the hand-written reference; the PyTorch engine
(``rnnkit.torch_engine``, optional) computes the same models (``rnnkit.models``), which the tasks
(``rnnkit.tasks``) train through one trainer. Both engines read and write one model format.
"""

# Names are imported when first used (PEP 562), not with the package: ``import rnnkit`` and the
# ``rnnkit`` command then start without NumPy, so the command can take over Ctrl-C (and answer it
# with one line) before anything heavy is imported. ``from rnnkit import TrainConfig`` works as before.
_LAZY = {
    "TrainConfig": "rnnkit.config",
    "Vocab": "rnnkit.data",
    "load_corpus": "rnnkit.data",
    "UsageError": "rnnkit.errors",
    "generate": "rnnkit.generate",
    "CharLMSpec": "rnnkit.models.charlm.spec",
    "ClassifierSpec": "rnnkit.models.classifier.spec",
    "RecurrentSpec": "rnnkit.recurrent_spec",
    "make_runtime": "rnnkit.runtime",
    "load_checkpoint": "rnnkit.training.checkpoint",
    "save_checkpoint": "rnnkit.training.checkpoint",
}

__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # once imported, an ordinary attribute
        return value
    raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])


__all__ = [
    "CharLMSpec", "ClassifierSpec", "RecurrentSpec", "TrainConfig", "UsageError", "Vocab", "generate", "load_checkpoint", "load_corpus",
    "make_runtime", "save_checkpoint", "__version__",
]
