"""Layout helpers shared by the sequence functions.

The public sequence functions take and return batch-first arrays (N, T, ...). Inside, the loop
over time reads and writes one (N, ...) slab per step, which is contiguous only in time-major
(T, N, ...) layout, so the functions convert once on the way in and once on the way out.
"""

import numpy as np


def time_major(x):
    """(N, T, ...) -> a contiguous (T, N, ...) copy."""
    return np.ascontiguousarray(np.swapaxes(x, 0, 1))


def prev_states(s0, ss):
    """The state entering every step: (s0, s_0, ..., s_{T-2}) as a (T, N, H) array.

    Inputs: s0 (N, H) initial state, ss (T, N, H) the states after every step.
    """
    return np.concatenate([s0[None], ss[:-1]])
