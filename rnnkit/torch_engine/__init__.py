"""The PyTorch engine: rnnkit's models as ``torch.nn`` modules (needs PyTorch).

Cells follow the equations and weight layout of the NumPy engine; stacks of rnn, lstm and gru cells
run through PyTorch's fused kernels when they can (``Recurrent(path="auto")``), and a test holds the
fused and explicit paths to the same outputs and gradients. The models built from these layers
live in ``rnnkit.models``; ``rnnkit.runtime`` trains them.
"""

from rnnkit.torch_engine.attention import AdditiveAttention, DotAttention, masked_softmax
from rnnkit.torch_engine.bidirectional import ragged_forward
from rnnkit.torch_engine.cells import Cell, GRUCell, LSTMCell, RNNCell
from rnnkit.torch_engine.highway import HighwayGate
from rnnkit.torch_engine.lnlstm import LNLSTMCell
from rnnkit.torch_engine.minrnn import MinGRUCell, MinLSTMCell
from rnnkit.torch_engine.losses import cross_entropy_sum, softmax_loss, temporal_softmax_loss
from rnnkit.torch_engine.options import TorchOptions
from rnnkit.torch_engine.pooling import last_pool, max_pool, mean_pool
from rnnkit.torch_engine.recurrent import CELL_TYPES, Recurrent, detach_state
from rnnkit.torch_engine.scan import parallel_scan_log

__all__ = [
    "AdditiveAttention",
    "DotAttention",
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
    "cross_entropy_sum",
    "detach_state",
    "last_pool",
    "masked_softmax",
    "max_pool",
    "mean_pool",
    "parallel_scan_log",
    "ragged_forward",
    "softmax_loss",
    "temporal_softmax_loss",
]
