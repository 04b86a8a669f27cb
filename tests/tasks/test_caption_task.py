"""The captioning task on a generated stand-in of the caption data (tests/tasks/caption_fakes.py):
its vocabulary, batches of (image, reference) pairs and their exact resume, BLEU from sacrebleu,
greedy and beam decoding through the shared search (both engines give the same words), and a tiny
set learnt to BLEU 100 with every relation right."""

import io
from importlib.util import find_spec

import numpy as np
import pytest
from caption_fakes import FakeData, use_fake_data
from vqa_fakes import encode_png

from rnnkit.config import TrainConfig
from rnnkit.data.padding import pad_batch
from rnnkit.errors import UsageError
from rnnkit.inference.beam import greedy_decode
from rnnkit.inference.caption_beam import decode, start_state, step_function
from rnnkit.models.captioner.numpy_model import Captioner
from rnnkit.models.captioner.spec import CaptionerSpec
from rnnkit.numpy_engine.losses import temporal_softmax_loss
from rnnkit.runtime import make_runtime, torch_available
from rnnkit.tasks import task_class
import rnnkit.tasks.caption as caption_task
from rnnkit.tasks.caption import FORBIDDEN, CaptionTask
from rnnkit.tasks.caption_metrics import bleu_scores
from rnnkit.tasks.caption_vocab import END_ID, PAD_ID, START_ID, UNK_ID, CaptionVocab


needs_bleu = pytest.mark.skipif(find_spec("sacrebleu") is None, reason="BLEU needs pip install -e '.[translate]'")


@pytest.fixture
def fake(monkeypatch):
    return use_fake_data(monkeypatch)


def make_task(batch=4, seed=0, **kw):
    return CaptionTask(TrainConfig(data="scenes", batch=batch, seed=seed), **kw)


def tiny_spec(task, attention="soft", hidden=16):
    return CaptionerSpec(**task.spec_fields(), embed_dim=8, hidden=hidden, channels=(4, 8), attention=attention,
                         attention_size=8)


def test_registered():
    assert task_class("caption") is CaptionTask


def test_vocabulary_specials_order_and_json():
    vocab = CaptionVocab.build([["a", "red", "block"], ["a", "blue", "block"], ["a"]], min_count=2)
    assert vocab.words == ["<pad>", "<start>", "<end>", "<unk>", "a", "block"]
    assert (PAD_ID, START_ID, END_ID, UNK_ID) == (0, 1, 2, 3)
    np.testing.assert_array_equal(vocab.encode(["a", "red"]), [START_ID, 4, UNK_ID, END_ID])
    assert vocab.decode([4, 5, END_ID, 4]) == ["a", "block"]        # stops at <end>
    assert CaptionVocab.from_json(vocab.to_json()) == vocab
    for bad in ({**vocab.to_json(), "size": 99}, {**vocab.to_json(), "words": ["a", "b"]},
                {**vocab.to_json(), "words": [*vocab.words, "a"], "size": 7}, {"format": "other"},
                {**vocab.to_json(), "words": [*vocab.words, "two words"], "size": 7}):
        with pytest.raises(UsageError):
            CaptionVocab.from_json(bad)


def test_batches_pair_an_image_with_one_of_its_references(fake):
    task = make_task(batch=4)
    (images, captions, mask), fresh = task.next_batch()
    assert not fresh and images.shape == (4, 16, 16, 3) and images.dtype == np.float32 and images.max() <= 1
    assert captions.shape[1] == mask.shape[1] + 1 and (captions[:, 0] == START_ID).all()
    rows = task.batcher.labels[task.batcher.epoch_batches(0)[0]]     # pair -> its image
    train = task.split("train")
    for k, row in enumerate(rows):
        words = task.vocab.decode(captions[k, 1:])
        assert " ".join(words) in train.references[row]
        np.testing.assert_array_equal(images[k], train.images[row] / np.float32(255))
        n = len(words) + 1                                  # the words and <end> are targets
        assert mask[k].sum() == n and mask[k, :n].all() and captions[k, n] == END_ID
    assert len(task.pairs()[0]) == 32                       # 16 images x 2 references


def test_resume_reads_the_same_batches(fake):
    task = make_task(batch=4)
    for _ in range(5):
        task.next_batch()
    state = task.state_dict()
    expected = [task.next_batch()[0][1] for _ in range(6)]
    other = make_task(batch=4)
    other.load_state_dict(state)
    for want in expected:
        np.testing.assert_array_equal(other.next_batch()[0][1], want)


def test_augmented_batches_move_the_pictures_and_resume_exactly(fake):
    plain, moved = make_task(batch=4), make_task(batch=4, augment="shift-flip")
    for _ in range(3):
        (a, captions_a, _), _ = plain.next_batch()
        (b, captions_b, _), _ = moved.next_batch()
        np.testing.assert_array_equal(captions_a, captions_b)      # the same pairs, other pictures
        assert a.shape == b.shape and not np.array_equal(a, b)
    assert moved.meta()["augment"] == "shift-flip"
    state = moved.state_dict()
    expected = [moved.next_batch()[0][0] for _ in range(4)]
    other = make_task(batch=4, augment="shift-flip")
    other.load_state_dict(state)
    for want in expected:
        np.testing.assert_array_equal(other.next_batch()[0][0], want)
    with pytest.raises(UsageError, match="--augment must be one of"):
        make_task(augment="rotate")


def test_bad_data_is_one_usage_error(fake, monkeypatch):
    with pytest.raises(UsageError, match="scenes, tuxpaint or coco:DIR"):
        CaptionTask(TrainConfig(data="flickr", batch=4))
    fake.counts = {"train": 0, "val": 2, "test": 2}
    with pytest.raises(UsageError, match="no captioned images"):
        make_task()
    fake.counts = {"train": 3, "val": 2, "test": 2}
    with pytest.raises(UsageError, match="too few"):               # 6 pairs, batch 8
        make_task(batch=8)


@needs_bleu
def test_bleu_counts_every_reference():
    refs = [["a red block on the left", "red on the left"], ["a blue block"]]
    assert bleu_scores(["red on the left", "a blue block"], refs)["bleu4"] == pytest.approx(100)
    worse = bleu_scores(["blue on the right", "a blue block"], refs)
    assert set(worse) == {"bleu1", "bleu2", "bleu3", "bleu4"}
    assert worse["bleu4"] < worse["bleu1"] < 100


@pytest.mark.parametrize("attention", ["none", "soft"])
def test_beam_one_is_greedy_and_a_wider_beam_scores_no_worse(fake, attention):
    task = make_task()
    model = Captioner.create(tiny_spec(task, attention), seed=3, dtype=np.float64)
    for value in model.params.values():
        value *= 3.0                                        # peaked, varied distributions
    images = task.split("val").images[:6] / 255.0
    greedy = decode(model, images, START_ID, END_ID, 7, beam=1, forbidden=FORBIDDEN)
    beams = decode(model, images, START_ID, END_ID, 7, beam=4, forbidden=FORBIDDEN)
    direct = greedy_decode(step_function(model, FORBIDDEN), start_state(model, images), START_ID, END_ID, 7)
    assert [h.ids for h in greedy] == [h.ids for h in direct]
    for g, b in zip(greedy, beams):
        assert not set(g.ids + b.ids) & set(FORBIDDEN)
        if g.finished:
            assert b.log_prob >= g.log_prob - 1e-9


def test_the_step_scores_equal_the_teacher_forced_ones(fake):
    """A decoder step fed the words the model wrote gives the log-softmax of the model's forward."""
    task = make_task()
    model = Captioner.create(tiny_spec(task, "soft"), seed=1, dtype=np.float64)
    images = task.split("val").images[:3] / 255.0
    words = np.array([[START_ID, 4, 5, 6], [START_ID, 7, 4, 4], [START_ID, 5, 5, 8]])
    scores, _ = model.forward(images, words)
    step, state = step_function(model), start_state(model, images)
    for t in range(words.shape[1]):
        log_probs, state = step(words[:, t], state)
        expected = scores[:, t] - np.log(np.exp(scores[:, t]).sum(axis=1, keepdims=True))
        np.testing.assert_allclose(log_probs, expected, atol=1e-10)


@pytest.mark.skipif(not torch_available(), reason="needs PyTorch: pip install -e '.[torch]'")
def test_both_engines_write_the_same_captions(fake):
    task = make_task()
    spec = tiny_spec(task, "soft")
    numpy_rt = make_runtime("numpy", spec, seed=2)
    torch_rt = make_runtime("torch", spec, params=numpy_rt.params_numpy(), device="cpu")
    images = task.split("val").images
    assert task.captions(numpy_rt, images, beam=3) == task.captions(torch_rt, images, beam=3)


@needs_bleu
def test_a_tiny_set_is_learnt(fake):
    """Four kinds of picture (colour x side), two references each: after training, every greedy
    caption is a reference, so BLEU-4 reaches 100 and every relation is right."""
    cfg = TrainConfig(data="scenes", batch=16, lr=0.02, engine="numpy")
    task = CaptionTask(cfg)
    runtime = make_runtime("numpy", tiny_spec(task, "soft", hidden=24), cfg, seed=0)
    before = task.evaluate(runtime, "val")
    for _ in range(150):
        runtime.train_step(task.next_batch()[0], cfg.lr)
    after = task.evaluate(runtime, "val", limit=0, beam=2)
    assert after["loss"] < before["loss"] / 3
    assert after["bleu4"] > 99 and after["relations_correct"] == 1.0 and task.last_count == 8


def test_transparency_and_padding_take_the_models_background(tmp_path):
    """RGB models composite and pad on white, grey ones (scenes: ink on black) on black."""
    from rnnkit.tasks.caption_reader import CaptionReader

    picture = np.zeros((8, 8, 4), np.uint8)
    picture[2:6, 2:6] = (255, 255, 255, 255)          # an opaque white square, the rest transparent
    path = tmp_path / "square.png"
    path.write_bytes(encode_png(picture))
    vocab = CaptionVocab.build([["a"]])
    grey, rgb = CaptionReader(vocab, 8, 8, 1), CaptionReader(vocab, 8, 8, 3)
    g, c = grey.read_image(path), rgb.read_image(path)
    assert g.shape == (8, 8, 1) and c.shape == (8, 8, 3)
    assert g[0, 0, 0] == 0 and g[3, 3, 0] == 1 and (c == 1).all()
    wide = tmp_path / "wide.png"
    wide.write_bytes(encode_png(np.full((4, 8, 4), 255, np.uint8)))   # opaque white, 8x4: padded to 8x8
    warnings = io.StringIO()
    g = CaptionReader(vocab, 4, 4, 1).read_image(wide, warn=warnings)
    np.testing.assert_allclose(g[:, :, 0], [[0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0]], atol=1e-6)
    assert "resized" in warnings.getvalue()


@needs_bleu
@pytest.mark.parametrize("attention", ["none", "soft"])
def test_an_ensemble_decodes_and_scores_the_mean_of_its_members(fake, attention):
    """Two captioners together: their loss is that of the mean probability, below the mean of
    their losses (-log of a mean is at most the mean of -log, equal only where they agree); a model
    with itself gives exactly its own loss and captions; the words are those of decode([a, b])."""
    task = make_task()
    spec = tiny_spec(task, attention)
    one, two = make_runtime("numpy", spec, seed=5), make_runtime("numpy", spec, seed=6)
    for runtime in (one, two):
        for value in runtime.model.params.values():
            value *= 3.0                                    # peaked, different distributions
    alone = task.evaluate(one, "val", limit=0, beam=2, return_captions=True)
    self_pair = task.evaluate(one, "val", limit=0, beam=2, return_captions=True, ensemble=[one])
    assert self_pair["captions"] == alone["captions"]
    assert self_pair["loss"] == pytest.approx(alone["loss"], rel=1e-6)
    other = task.evaluate(two, "val", limit=0, beam=2)
    pair = task.evaluate(one, "val", limit=0, beam=2, return_captions=True, ensemble=[two])
    assert pair["loss"] < (alone["loss"] + other["loss"]) / 2
    images = task.split("val").images / 255.0
    words = [task.vocab.decode(h.ids) for h in decode([one.model, two.model], images, START_ID, END_ID, 33,
                                                      beam=2, forbidden=FORBIDDEN)]
    assert pair["captions"] == [caption_task.caption_data().join_words(w) for w in words]


def test_the_loss_is_the_teacher_forced_cross_entropy(fake):
    task = make_task()
    runtime = make_runtime("numpy", tiny_spec(task), seed=7)
    caption_set = task.split("val")
    count = len(caption_set.references)
    ids, mask, _ = pad_batch([task.vocab.encode(caption_task.caption_data().caption_words(refs[0])) for refs in
                              caption_set.references])
    scores, _ = runtime.model.forward(caption_set.images / 255.0, ids[:, :-1], mask[:, 1:])
    want, _ = temporal_softmax_loss(scores.astype(np.float64), ids[:, 1:], mask[:, 1:])
    assert task.loss(runtime, caption_set, count) == pytest.approx(want, rel=1e-6)
