"""The lecture's example: a character-level RNN learns the training sequence "hello".

The vocabulary is [h, e, l, o]. The input "hell" is fed one character at a time, and at every step
the model is trained to predict the next character of "hello" ("ello"). The table shows the
probability the model gives each correct next character as training goes on. Then the model
generates from "h": it samples a character, feeds it back in as the next input, and so on.

Note the two 'l' steps: after the first 'l' the answer is 'l', after the second it is 'o'. The
input is the same, so only the hidden state (what the network remembers) can tell them apart.
"""

from __future__ import annotations

import sys

import numpy as np

from rnnkit.commands._args import positive_float, positive_int
from rnnkit.cells import CELL_NAMES
from rnnkit.data.vocab import Vocab
from rnnkit.models.charlm.numpy_model import CharLM
from rnnkit.models.charlm.spec import CharLMSpec
from rnnkit.numpy_engine.optim import Adam
from rnnkit.sampling import sample_from_logits, softmax

WORD = "hello"


def add_arguments(p) -> None:
    p.add_argument("--cell", choices=CELL_NAMES, default="rnn", help="recurrent cell (default: rnn, as in the lecture)")
    p.add_argument("--hidden", type=positive_int, default=8, help="hidden size (default: 8)")
    p.add_argument("--steps", type=positive_int, default=300, help="training steps (default: 300)")
    p.add_argument("--lr", type=positive_float, default=0.01, help="Adam learning rate (default: 0.01)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--temperature", type=positive_float, default=1.0,
                   help="sampling temperature for the generated word (default: 1)")
    p.add_argument("--greedy", action="store_true", help="take the most likely character instead of sampling")


def target_probabilities(model: CharLM, ids: np.ndarray) -> np.ndarray:
    """P(correct next character) at every step of the word: shape (len(word) - 1,)."""
    logits, _, _ = model.forward(ids[None, :-1], model.init_state(1))
    probs = softmax(logits)
    return probs[np.arange(len(ids) - 1), ids[1:]]


def generate_word(model: CharLM, vocab: Vocab, first: str, length: int, rng, temperature=1.0, greedy=False) -> str:
    """Feed ``first``, sample the next character, feed it back in; ``length`` characters in all."""
    state = model.init_state(1)
    x = vocab.encode(first)
    out = first
    for _ in range(length - 1):
        logits, state = model.step(x, state)
        x = np.array([sample_from_logits(logits[0], rng, temperature=temperature, greedy=greedy)])
        out += vocab.decode(x)
    return out


def train_hello(cell="rnn", hidden=8, steps=300, lr=0.01, seed=0, report=None):
    """Train on "hello"; ``report(step, loss, probs)`` is called at a few steps. Returns the model."""
    vocab = Vocab.build(WORD)
    ids = vocab.encode(WORD)
    model = CharLM.create(CharLMSpec(cell=cell, vocab_size=len(vocab), hidden=hidden, embed_dim=0), seed=seed, dtype=np.float64)
    optimizer = Adam(lr)
    shown = {1, 10, 25, 50, 100, steps}
    for step in range(1, steps + 1):
        loss, grads, _ = model.loss(ids[None, :-1], ids[None, 1:], model.init_state(1))
        optimizer.step(model.params, grads)
        if report and step in shown:
            report(step, loss, target_probabilities(model, ids))
    return model, vocab


def run(args) -> int:
    out = sys.stdout
    pairs = "  ".join(f"{a}->{b}" for a, b in zip(WORD, WORD[1:]))
    print(f"vocabulary [h, e, l, o]; training sequence {WORD!r}; {args.cell}, hidden size {args.hidden}", file=out)
    print(f"probability of the correct next character:\n{'step':>6} {'loss':>7}  {pairs}", file=out)

    def report(step, loss, probs):
        print(f"{step:>6} {loss:7.4f}  " + "  ".join(f"{p:4.2f}" for p in probs), file=out)

    model, vocab = train_hello(args.cell, args.hidden, args.steps, args.lr, args.seed, report)
    rng = np.random.default_rng(args.seed)
    word = generate_word(model, vocab, "h", len(WORD), rng, args.temperature, args.greedy)
    print(f"sampled from 'h', feeding each character back in: {word!r}", file=out)
    if word != WORD:
        print(f"the model did not learn {WORD!r} (try more --steps)", file=out)
        return 1
    return 0
