"""The PyTorch engine: rnnkit's models as ``torch.nn`` modules (needs PyTorch).

Cells follow the equations and weight layout of the NumPy engine; stacks of rnn, lstm and gru cells
run through PyTorch's fused kernels when they can (``Recurrent(path="auto")``), and a test holds the
fused and explicit paths to the same outputs and gradients. The models built from these layers
live in ``rnnkit.models``; ``rnnkit.runtime`` trains them.
"""

from rnnkit.torch_engine.cells import Cell, GRUCell, LSTMCell, RNNCell
from rnnkit.torch_engine.highway import HighwayGate
from rnnkit.torch_engine.lnlstm import LNLSTMCell
from rnnkit.torch_engine.minrnn import MinGRUCell, MinLSTMCell
from rnnkit.torch_engine.options import TorchOptions
from rnnkit.torch_engine.recurrent import CELL_TYPES, Recurrent, detach_state
from rnnkit.torch_engine.scan import parallel_scan_log

__all__ = [
    "CELL_TYPES",
    "Cell",
    "GRUCell",
    "HighwayGate",
    "LNLSTMCell",
    "LSTMCell",
    "MinGRUCell",
    "MinLSTMCell",
    "RNNCell",
    "Recurrent",
    "TorchOptions",
    "detach_state",
    "parallel_scan_log",
]
