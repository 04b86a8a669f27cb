"""The NumPy engine: every layer a pair of hand-written functions, BPTT as explicit code.

``*_forward(...) -> (out, cache)`` and ``*_backward(dout, cache) -> grads``, with the names and
signatures of the CS231n assignments, extended with initial and final states for truncated BPTT.
Shapes are batch first: N batch, T time, D input, H hidden, V vocabulary.
"""

from rnnkit.numpy_engine.attention import (
    additive_attention_backward,
    additive_attention_forward,
    dot_attention_backward,
    dot_attention_forward,
    masked_softmax_backward,
    masked_softmax_forward,
    temporal_dot_attention_backward,
    temporal_dot_attention_forward,
)
from rnnkit.numpy_engine.gradcheck import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
    rel_error_norm,
)
from rnnkit.numpy_engine.gru import gru_backward, gru_forward, gru_step_backward, gru_step_forward
from rnnkit.numpy_engine.highway import highway_backward, highway_forward
from rnnkit.numpy_engine.layers import (
    dropout_backward,
    dropout_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    word_embedding_backward,
    word_embedding_forward,
)
from rnnkit.numpy_engine.lnlstm import lnlstm_backward, lnlstm_forward, lnlstm_step_backward, lnlstm_step_forward
from rnnkit.numpy_engine.losses import cross_entropy_sum, softmax_loss, temporal_softmax_loss
from rnnkit.numpy_engine.lstm import lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward, sigmoid
from rnnkit.numpy_engine.minrnn import (
    mingru_backward,
    mingru_forward,
    mingru_step_backward,
    mingru_step_forward,
    minlstm_backward,
    minlstm_forward,
    minlstm_step_backward,
    minlstm_step_forward,
)
from rnnkit.numpy_engine.optim import SGD, Adagrad, Adam, RMSprop, clip_grad_norm, clip_grad_value, make_optimizer
from rnnkit.numpy_engine.pooling import (
    last_pool_backward,
    last_pool_forward,
    max_pool_backward,
    max_pool_forward,
    mean_pool_backward,
    mean_pool_forward,
)
from rnnkit.numpy_engine.recurrent import stack_backward, stack_forward
from rnnkit.numpy_engine.rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward
from rnnkit.numpy_engine.step import stack_step_backward, stack_step_forward

__all__ = [
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward", "sigmoid",
    "gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward",
    "lnlstm_step_forward", "lnlstm_step_backward", "lnlstm_forward", "lnlstm_backward",
    "mingru_step_forward", "mingru_step_backward", "mingru_forward", "mingru_backward",
    "minlstm_step_forward", "minlstm_step_backward", "minlstm_forward", "minlstm_backward",
    "highway_forward", "highway_backward",
    "stack_forward", "stack_backward", "stack_step_forward", "stack_step_backward",
    "last_pool_forward", "last_pool_backward", "mean_pool_forward", "mean_pool_backward",
    "max_pool_forward", "max_pool_backward",
    "masked_softmax_forward", "masked_softmax_backward", "dot_attention_forward", "dot_attention_backward",
    "temporal_dot_attention_forward", "temporal_dot_attention_backward",
    "additive_attention_forward", "additive_attention_backward",
    "word_embedding_forward", "word_embedding_backward", "temporal_affine_forward",
    "temporal_affine_backward", "temporal_softmax_loss", "softmax_loss", "cross_entropy_sum",
    "dropout_forward", "dropout_backward",
    "SGD", "Adagrad", "RMSprop", "Adam", "make_optimizer", "clip_grad_norm", "clip_grad_value",
    "eval_numerical_gradient", "eval_numerical_gradient_array", "rel_error", "rel_error_norm",
]
