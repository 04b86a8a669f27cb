"""The frame tagger in the torch engine: the shared parameter names and order, and float64 parity
with the NumPy engine (loss, every gradient, probabilities) for image and vector frames, causal,
bidirectional and frame-alone, fused and explicit paths, ragged batches."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnkit.image_encoder import ImageEncoderSpec  # noqa: E402
from rnnkit.models.tagger.numpy_model import Tagger  # noqa: E402
from rnnkit.models.tagger.spec import TaggerSpec  # noqa: E402
from rnnkit.models.tagger.torch_model import TorchTagger  # noqa: E402
from rnnkit.torch_engine.options import TorchOptions  # noqa: E402

N, T, C = 2, 5, 4
PARITY = 1e-9
ENC = ImageEncoderSpec(height=8, width=8, channels=(3, 4), kernel=3)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def spec_of(frames="image", **fields):
    extra = {"encoder": ENC} if frames == "image" else {"input_dim": 6, "embed_dim": 5}
    return TaggerSpec(**{"classes": C, "frames": frames, "hidden": 4, **extra, **fields})


@pytest.mark.parametrize("fields,path", [
    ({"frames": "image"}, "auto"), ({"frames": "image", "bidirectional": True}, "explicit"),
    ({"frames": "image", "frame_alone": True}, "auto"), ({"frames": "vector", "cell": "gru"}, "auto"),
    ({"frames": "vector", "bidirectional": True, "layers": 2}, "auto"),
    ({"frames": "vector", "cell": "mingru"}, "explicit"), ({"frames": "image", "skip": True}, "auto"),
    ({"frames": "vector", "skip": True, "bidirectional": True}, "explicit"),
])
def test_loss_gradients_and_probabilities_match_the_numpy_engine(fields, path):
    spec = spec_of(**fields)
    np_model = Tagger.create(spec, seed=1, dtype=np.float64)
    t_model = TorchTagger.from_arrays(spec, np_model.params, TorchOptions(path=path), dtype=torch.float64)
    assert t_model.param_shapes() == spec.param_shapes()
    rng = np.random.default_rng(0)
    frames = rng.random((N, T, *spec.frame_shape()))
    mask = np.arange(T)[None, :] < np.array([T, 3])[:, None]
    labels = rng.integers(0, C, (N, T))
    loss, grads, _ = np_model.loss(frames, mask, labels)
    t_loss, _ = t_model.loss(frames, mask, labels)
    t_loss.backward()
    assert abs(float(t_loss.detach()) - loss) <= PARITY
    for name, p in t_model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name], rtol=0, atol=PARITY, err_msg=name)
    probs = t_model.predict_proba(frames, mask).numpy()
    np.testing.assert_allclose(probs[mask], np_model.predict_proba(frames, mask)[mask], rtol=0, atol=PARITY)
    stats, _ = t_model.evaluate(frames, mask, labels)
    np_stats, _ = np_model.evaluate(frames, mask, labels)
    assert stats["correct"] == np_stats["correct"] and stats["count"] == np_stats["count"] == T + 3
    assert stats["nats"] == pytest.approx(np_stats["nats"], abs=1e-8)


def test_arrays_round_trip_between_engines():
    spec = spec_of("vector")
    t_model = TorchTagger.create(spec, seed=3)
    arrays = t_model.to_arrays()
    assert list(arrays) == list(spec.param_shapes())
    np_model = Tagger(spec, arrays)
    frames = np.random.default_rng(1).random((1, T, 6)).astype(np.float32)
    mask = np.ones((1, T), bool)
    np.testing.assert_allclose(np_model.predict_proba(frames, mask), t_model.predict_proba(frames, mask).numpy(),
                               atol=1e-5)
