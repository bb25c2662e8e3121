"""The photo CNN's options: the pixel-folding stem for larger photos, mirror-averaged features, saved files."""
from __future__ import annotations

import json

import numpy as np

from shopai.categorize.photo import PhotoModel, train_photo
from shopai.jobs import run_job


def _planted(n: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Class 0: a red square, class 1: a blue one, at a random place on a noisy light background."""
    x = np.clip(rng.normal(235, 12, (n, size, size, 3)), 0, 255).astype(np.uint8)
    y = np.arange(n) % 2
    side = size // 2
    for i in range(n):
        r, c = rng.integers(0, size - side, 2)
        x[i, r:r + side, c:c + side] = (210, 25, 25) if y[i] == 0 else (25, 25, 210)
    return x, y


def test_folded_stem_learns_a_planted_signal_and_round_trips(tmp_path):
    rng = np.random.default_rng(4)
    x, y = _planted(32, 48, rng)
    model = run_job(train_photo(x, y, ["red", "blue"], epochs=10, max_seconds=60, threads=1, batch_size=8,
                                stem=2))
    assert model.stem == 2 and model.size == 48
    xt, yt = _planted(20, 48, rng)
    assert (model.logits(xt).argmax(1) == yt).mean() >= 0.9
    path = tmp_path / "photo.pt"
    model.save(path)
    back = PhotoModel.load(path)
    assert back.stem == 2
    np.testing.assert_allclose(back.logits(xt), model.logits(xt), rtol=1e-4, atol=1e-4)


def test_features_are_the_mean_over_the_mirror_image_and_old_files_load(tmp_path):
    rng = np.random.default_rng(5)
    x, y = _planted(16, 32, rng)
    model = run_job(train_photo(x, y, ["red", "blue"], epochs=2, max_seconds=30, threads=1, batch_size=8))
    mirrored = np.ascontiguousarray(x[:, :, ::-1])
    np.testing.assert_allclose(model.embed(x), model.embed(mirrored), rtol=1e-4, atol=1e-4)
    single = model.embed(x, flip=False, shift=0)
    assert not np.allclose(single, model.embed(mirrored, flip=False, shift=0), atol=1e-4)  # each view differs
    np.testing.assert_allclose(model.embed(x, shift=0), (single + model.embed(mirrored, flip=False, shift=0)) / 2,
                               rtol=1e-4, atol=1e-4)
    # with shifts: the mean over the photo and its mirror, each also moved 3 px each way with edges repeated
    pad = np.pad(x, ((0, 0), (3, 3), (3, 3), (0, 0)), mode="edge")
    views = [np.ascontiguousarray(pad[:, 3 + dy:3 + dy + 32, 3 + dx:3 + dx + 32])
             for dx, dy in ((0, 0), (3, 0), (-3, 0), (0, 3), (0, -3))]
    views += [np.ascontiguousarray(v[:, :, ::-1]) for v in views]
    by_hand = np.mean([model.embed(v, flip=False, shift=0) for v in views], axis=0)
    np.testing.assert_allclose(model.embed(x), by_hand, rtol=1e-4, atol=1e-4)
    assert not np.allclose(model.embed(x), model.embed(x, shift=0), atol=1e-4)  # the shifted views count
    path = tmp_path / "photo.pt"
    model.save(path)
    meta = json.loads(path.with_suffix(".json").read_text("utf-8"))
    del meta["stem"]  # a file saved before the stem option existed
    path.with_suffix(".json").write_text(json.dumps(meta), "utf-8")
    old = PhotoModel.load(path)
    assert old.stem == 1
    np.testing.assert_allclose(old.logits(x), model.logits(x), rtol=1e-4, atol=1e-4)


class _Clock:
    """time.monotonic for the photo trainer: real time plus ``jump`` seconds once ``after`` calls have passed."""

    def __init__(self, jump: float, after: int = 3):
        import time

        self.real, self.jump, self.after, self.calls = time.monotonic, jump, after, 0

    def __call__(self) -> float:
        self.calls += 1
        return self.real() + (self.jump if self.calls > self.after else 0.0)


def test_a_slow_first_batch_does_not_change_the_model(monkeypatch):
    """The one-cycle schedule follows the steps, so the same seed gives the same model when the machine is
    briefly slow (here: 8 s lost at the start, 8% of the budget); only a run behind the budget's pace is cut."""
    from shopai.categorize import photo

    x, y = _planted(16, 32, np.random.default_rng(6))
    first = run_job(train_photo(x, y, ["red", "blue"], epochs=20, max_seconds=100, threads=1, batch_size=8))
    monkeypatch.setattr(photo.time, "monotonic", _Clock(8.0))
    second = run_job(train_photo(x, y, ["red", "blue"], epochs=20, max_seconds=100, threads=1, batch_size=8))
    for k, v in first.state.items():
        assert torch_equal(v, second.state[k]), k
    monkeypatch.setattr(photo.time, "monotonic", _Clock(100.0))  # far behind: the budget ends the schedule
    cut = run_job(train_photo(x, y, ["red", "blue"], epochs=20, max_seconds=100, threads=1, batch_size=8))
    assert cut.info["epochs"] < 2


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b))
