"""The VQA task on tiny generated data: the validation split held out by image, batches and their
exact resume, per-question-type metrics, the reader's bad-input policy, and a short run that
learns (both engines)."""

import io

import numpy as np
import pytest
from vqa_fakes import ANSWERS, encode_png, fake_data

from rnnkit.config import TrainConfig
from rnnkit.data.sources.easy_vqa import VQASplit
from rnnkit.data.words import TokenVocab
from rnnkit.errors import UsageError
from rnnkit.models.vqa.spec import VQASpec
from rnnkit.runtime import make_runtime, torch_available
from rnnkit.tasks.vqa import QuestionBatcher, VQATask, split_by_image
from rnnkit.tasks.vqa_reader import VQAReader


def small_spec(task, **fields):
    return VQASpec(**{"embed_dim": 8, "hidden": 16, "attention": 8, "channels": (4, 8), **fields},
                   **task.spec_fields())


def task_of(engine="numpy", batch=16, seed=0, **data):
    cfg = TrainConfig(data="fake", batch=batch, seed=seed, engine=engine, lr=1e-2, warmup=0)
    return VQATask(cfg, data=fake_data(**data))


def test_validation_is_held_out_by_image():
    split = fake_data(train=30)["train"]
    train, val = split_by_image(split, every=10)
    assert val.images.shape[0] == 3 and train.images.shape[0] == 27          # ids 0, 10, 20
    np.testing.assert_array_equal(val.images, split.images[[0, 10, 20]])
    assert len(train) + len(val) == len(split)
    # Every question stays with its own picture, re-indexed within its part.
    held_rows = np.flatnonzero(split.image_index % 10 == 0)
    np.testing.assert_array_equal(val.answers, split.answers[held_rows])
    np.testing.assert_array_equal(val.images[val.image_index], split.images[split.image_index[held_rows]])
    no_image_in_both = {img.tobytes() for img in train.images} & {img.tobytes() for img in val.images}
    assert not no_image_in_both


def test_batches_resume_exactly_and_cover_an_epoch():
    batcher = QuestionBatcher(10, 3, seed=5)
    seen = [batcher.next_indices() for _ in range(3)]
    assert len(np.unique(np.concatenate(seen))) == 9          # an epoch: no question twice
    state = batcher.state_dict()
    ahead = [batcher.next_indices() for _ in range(4)]
    resumed = QuestionBatcher(10, 3, seed=5)
    resumed.load_state_dict(state)
    for a, b in zip(ahead, [resumed.next_indices() for _ in range(4)]):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(UsageError, match="position"):
        resumed.load_state_dict({"epoch": 0, "position": 99})
    with pytest.raises(UsageError, match="fewer than one batch"):
        QuestionBatcher(2, 3, seed=0)


def test_a_batch_is_images_with_their_questions():
    task = task_of()
    images, ids, mask, answers = task.next_batch()[0]
    assert images.shape == (16, 16, 16, 3) and images.dtype == np.float32 and images.max() <= 1.0
    assert ids.shape == mask.shape and mask[:, 0].all() and answers.shape == (16,)
    words = task.vocab.tokens
    assert "<pad>" == words[0] and "<unk>" == words[1] and "color" in words
    assert task.spec_fields() == {"vocab_size": len(task.vocab), "answers": len(ANSWERS), "image_height": 16,
                                  "image_width": 16, "image_channels": 3}


def test_a_short_run_learns_every_question_type():
    """The NumPy engine (the reference) on 30 generated pictures: colour questions need the picture,
    yes/no questions need the picture's colour and the question's together."""
    task = task_of("numpy", train=30)
    runtime = make_runtime("numpy", small_spec(task), task.cfg, seed=0)
    before = task.evaluate(runtime, "train")
    assert set(before) == {"accuracy", "loss", "yesno", "color", "shape"}
    for _ in range(250):
        runtime.train_step(task.next_batch()[0], 1e-2)
    after = task.evaluate(runtime, "train")
    assert after["color"] > 0.9 and after["yesno"] > 0.9, after
    assert after["loss"] < 0.5 * before["loss"], (before, after)


@pytest.mark.skipif(not torch_available(), reason="needs PyTorch: pip install 'rnnkit[torch]'")
def test_the_torch_engine_trains_the_task():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # tiny tensors: more threads only wait for each other on a busy machine
    try:
        task = task_of("torch", train=12)
        runtime = make_runtime("torch", small_spec(task), task.cfg, seed=0)
        before = task.evaluate(runtime, "train")
        for _ in range(20):
            runtime.train_step(task.next_batch()[0], 1e-2)
        after = task.evaluate(runtime, "train")
    finally:
        torch.set_num_threads(threads)
    assert after["loss"] < before["loss"] and set(after) == set(before)


def test_reader_policy(tmp_path):
    reader = VQAReader(TokenVocab.build(["what color is the shape?"]), ANSWERS, 16, 16)
    warn = io.StringIO()
    assert reader.encode_question("what COLOR is the thing?", warn=warn).tolist()[:2] == [
        reader.vocab.id_of("what"), reader.vocab.id_of("color")]
    assert "thing" in warn.getvalue() and "<unk>" in warn.getvalue()
    with pytest.raises(UsageError, match="empty"):
        reader.encode_question("  ?? ".replace("?", ""), warn=warn)
    with pytest.raises(UsageError, match="no such image"):
        reader.read_image(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_bytes(b"not a png at all")
    with pytest.raises(UsageError):
        reader.read_image(tmp_path / "bad.png")
    big = np.zeros((32, 48, 3), np.uint8)
    big[:, :, 0] = 255
    (tmp_path / "big.png").write_bytes(encode_png(big))
    warn = io.StringIO()
    image = reader.read_image(tmp_path / "big.png", warn=warn)
    assert image.shape == (16, 16, 3) and "48x32" in warn.getvalue()
    assert image[8, 8, 0] == 1.0 and image[0, 0].tolist() == [1.0, 1.0, 1.0]   # red inside, white padding
    exact = np.full((16, 16, 3), 7, np.uint8)
    (tmp_path / "exact.png").write_bytes(encode_png(exact))
    np.testing.assert_allclose(reader.read_image(tmp_path / "exact.png"), 7 / 255, atol=1e-7)


def test_split_keeps_images_and_questions_together():
    split = VQASplit(np.arange(4)[:, None, None, None] * np.ones((4, 2, 2, 3), np.uint8), ("a", "b", "c", "d", "e"),
                     np.array([0, 1, 2, 3, 4]), np.array([3, 0, 1, 0, 2]))
    train, val = split_by_image(split, every=2)                # images 0 and 2 held out
    assert val.questions == ("b", "d", "e") and train.questions == ("a", "c")
    assert val.images[val.image_index][:, 0, 0, 0].tolist() == [0, 0, 2]
    assert train.images[train.image_index][:, 0, 0, 0].tolist() == [3, 1]
