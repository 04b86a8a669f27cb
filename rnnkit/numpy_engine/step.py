"""One time step of a recurrent stack, for closed-loop models (a decoder whose input at t is made
from its output at t-1: sampling, captioning, translation, drawing).

Dimensions: N batch, D input size of layer 0, H hidden size, L layers; one direction only (a
closed loop does not know its future inputs, so a backward direction cannot run).

    h_t, state_t, cache_t = stack_step_forward(x_t, state_{t-1}, params, spec)
    dx_t, dstate_{t-1}    = stack_step_backward(dh_t, dstate_t, cache_t, params, grads)

A step is :func:`~rnnkit.numpy_engine.recurrent.stack_forward` / ``stack_backward`` with T = 1, so
the two APIs compute the same function and share every cell. Backpropagation through time over
a loop of steps runs the steps' backward calls in reverse order:

    dstate = dfinal (or None)
    for t = T-1 .. 0:
        dh_t  = (the loss's gradient on h_t) + (what x_{t+1} sends back through its dependence on h_t)
        dx_t, dstate = stack_step_backward(dh_t, dstate, cache_t, params, grads)

Every weight is used at every step, so its gradient is the sum over steps: ``grads`` accumulates
(``+=``) across calls; start each backward pass with an empty dict (or zeros). When all inputs are
known in advance, the sequence functions are the fast path (one input product for all steps).
"""

from __future__ import annotations

import numpy as np

from rnnkit.numpy_engine.recurrent import StackCache, stack_backward, stack_forward
from rnnkit.recurrent_spec import RecurrentSpec


def stack_step_forward(x_t, state, params, spec: RecurrentSpec, prefix: str = "rnn.", rng=None, proj0_t=None):
    """Advance the stack by one step.

    Inputs: x_t (N, D) floats (None when ``proj0_t`` is given); state a list with one tuple of
    (N, H) arrays per layer, ``(h,)`` or ``(h, c)`` (None: zeros); params (shared model format names
    under ``prefix``); rng for dropout between layers (None: none); proj0_t (N, G*H) layer 0's
    projection x_t Wx + input bias, computed by the caller (it may be overwritten): a decoder
    whose input is [known part; fed-back part] projects the known part for all steps at once.
    Returns: h_top (N, H) the top layer's output, the new state (same layout), and a cache.
    """
    if spec.bidirectional:
        raise ValueError("a step runs one direction: a bidirectional stack needs the whole sequence "
                         "(use stack_forward)")
    if proj0_t is not None:
        y, new_state, cache = stack_forward(None, state, params, spec, prefix=prefix, rng=rng, proj0=proj0_t[None])
    else:
        y, new_state, cache = stack_forward(x_t[None], state, params, spec, prefix=prefix, rng=rng)
    return y[0], new_state, cache


def stack_step_backward(dh_top, dstate_next, cache: StackCache, params, grads: dict):
    """Backward through one :func:`stack_step_forward`.

    Inputs: dh_top (N, H) gradient on the step's output; dstate_next the gradient on the state it
    returned (what the next step's backward gave back, like the state; None: zeros); the step's
    cache; params; grads, a dict to which every parameter's gradient of this step is added (a
    missing name starts at zero).
    Returns: dx_t (N, D) gradient on the step's input (dproj0_t (N, G*H) when the forward step was
    given ``proj0_t``; the caller then owns layer 0's dWx), and dstate_prev, the gradient on the
    state the step read (a list of tuples like the state).
    """
    step_grads: dict = {}
    # A fresh (1, N, H) array: stack_backward overwrites its upstream gradient.
    dx, dstate_prev = stack_backward(np.array(dh_top)[None], cache, params, step_grads, dfinal=dstate_next)
    for name, g in step_grads.items():
        if name in grads:
            grads[name] += g
        else:
            grads[name] = np.array(g)  # a copy the caller owns: later steps add into it
    return dx[0], dstate_prev
