"""Generate text from a trained model, one character at a time; or images from a DRAW model.

Each sampled character is fed back in as the next input. The text streams to standard output as
it is generated.

examples:
  rnnkit sample runs/charlm
  rnnkit sample runs/kjv --prime "And God said" --temperature 0.7 --length 400
  rnnkit sample runs/kjv --greedy --length 100
  rnnkit sample runs/draw --out samples.png --gif canvas.gif   # DRAW: a grid, and the canvas over time
"""

from __future__ import annotations

from rnnkit.commands._args import non_negative_int, positive_float, positive_int, seed
from rnnkit.commands._model import add_model_arguments, load_runtime
from rnnkit.errors import UsageError
from rnnkit.generate import print_sample


def add_arguments(p) -> None:
    add_model_arguments(p)
    p.add_argument("--prime", default="", help="text to start from (it is printed, then continued)")
    p.add_argument("--length", type=non_negative_int, default=500, help="characters to generate (default: 500)")
    p.add_argument("--temperature", type=positive_float, default=1.0,
                   help="divide the logits by this; < 1 is more conservative, > 1 more surprising (default: 1)")
    p.add_argument("--top-k", type=positive_int, help="sample only among the k most likely characters")
    p.add_argument("--greedy", action="store_true", help="always take the most likely character")
    p.add_argument("--seed", type=seed, help="random seed (>= 0), for a repeatable sample")
    p.add_argument("--out", help="draw: write a grid of generated images to this PNG (default: samples.png)")
    p.add_argument("--gif", help="draw: also animate the canvas over the T steps in this GIF, with the write window "
                                 "drawn when the model attends")
    p.add_argument("--count", type=positive_int, default=64, help="draw: images to generate (default: 64)")


def run(args) -> int:
    checkpoint, runtime = load_runtime(args)
    if checkpoint.kind == "draw":
        return _draw(args, checkpoint, runtime)
    if checkpoint.kind != "charlm":
        raise UsageError(f"{checkpoint.path} holds a {checkpoint.kind} model; 'rnnkit sample' generates text from a "
                         f"character model. Use 'rnnkit predict {args.checkpoint} TEXT'")
    print_sample(runtime, checkpoint.vocab, prime=args.prime, length=args.length, temperature=args.temperature,
                 top_k=args.top_k, greedy=args.greedy, seed=args.seed)
    return 0


def _draw(args, checkpoint, runtime) -> int:
    """A grid of DRAW's generated images (PNG) and, with --gif, the canvas step by step."""
    from rnnkit.inference.draw_samples import generate_images
    from rnnkit.viz.draw_canvas import save_canvas_gif, save_grid_png

    spec = checkpoint.spec
    probs, windows = generate_images(runtime, spec, args.count, args.seed)
    out = save_grid_png(probs[-1], args.out or "samples.png")
    print(f"wrote {out}: {args.count} images of {spec.height}x{spec.width} drawn in {spec.steps_t} steps")
    if args.gif:
        gif = save_canvas_gif(probs, args.gif, windows if spec.attention else None, spec.write_n)
        print(f"wrote {gif}: the canvas over {spec.steps_t} steps" + (" with the write window" if spec.attention else ""))
    return 0
