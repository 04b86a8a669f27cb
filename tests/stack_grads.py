"""A test helper shared by the torch engine's path-equivalence tests (fused, scan, CUDA)."""


def outputs_and_grads(stack, x, state, weights):
    """Run ``stack`` on copies of ``x`` and ``state`` and backpropagate a fixed random linear
    function of all its results, ``sum(result * weight)``.

    Returns (results, grads), detached: results = [out, every final state tensor]; grads = the
    gradient of every parameter, then of every initial state tensor, then of x (when x is floats).
    """
    stack.zero_grad()
    x = x.clone().requires_grad_(x.is_floating_point())
    state = [tuple(t.clone().requires_grad_() for t in layer) for layer in state]
    out, final = stack(x, state)
    results = [out] + [t for layer in final for t in layer]
    sum((r * w).sum() for r, w in zip(results, weights)).backward()
    grads = [p.grad for p in stack.parameters()] + [t.grad for layer in state for t in layer]
    if x.is_floating_point():
        grads.append(x.grad)
    return [r.detach() for r in results], grads
