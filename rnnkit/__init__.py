"""rnnkit: recurrent neural networks with every gradient visible and checked.

The NumPy engine (``rnnkit.numpy_engine``) is the hand-written reference; the PyTorch engine
(``rnnkit.torch_engine``, optional) computes the same models (``rnnkit.models``), which the tasks
(``rnnkit.tasks``) train through one trainer. Both engines read and write one model format.
"""

from rnnkit.config import TrainConfig
from rnnkit.data import Vocab, load_corpus
from rnnkit.errors import UsageError
from rnnkit.generate import generate
from rnnkit.models.charlm.spec import CharLMSpec
from rnnkit.models.classifier.spec import ClassifierSpec
from rnnkit.recurrent_spec import RecurrentSpec
from rnnkit.runtime import make_runtime
from rnnkit.training.checkpoint import load_checkpoint, save_checkpoint

__version__ = "0.1.0"

__all__ = [
    "CharLMSpec", "ClassifierSpec", "RecurrentSpec", "TrainConfig", "UsageError", "Vocab", "generate", "load_checkpoint", "load_corpus",
    "make_runtime", "save_checkpoint", "__version__",
]
