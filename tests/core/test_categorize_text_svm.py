"""The text model's solver: one-vs-rest L2-SVMs by dual coordinate descent, C chosen on training rows only."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from shopai.categorize import text as text_mod
from shopai.categorize.text import _holdout_rows, _selection_folds, dual_cd, train_text
from shopai.jobs import run_job


def _drive(gen):
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value


def test_dual_cd_separates_a_planted_linear_signal():
    rng = np.random.default_rng(0)
    n, f, k = 600, 50, 3
    x = rng.normal(0, 1, (n, f)).astype(np.float32)
    y = rng.integers(0, k, n)
    x[np.arange(n), y] += 4.0  # class c lights up feature c
    xs = sp.csr_matrix(x / np.linalg.norm(x, axis=1, keepdims=True))
    w, b, alpha = _drive(dual_cd(xs, y, k, C=10.0, passes=30, rows=np.arange(n)))
    acc = ((xs @ w + b).argmax(1) == y).mean()
    assert acc > 0.95
    assert (alpha >= 0).all()
    # strong regularisation shrinks the weights
    w_small, _, _ = _drive(dual_cd(xs, y, k, C=0.001, passes=30, rows=np.arange(n)))
    assert np.linalg.norm(w_small) < 0.5 * np.linalg.norm(w)


def test_holdout_is_a_stratified_slice_of_the_training_rows():
    y = np.repeat(np.arange(4), [150, 80, 20, 2])
    held = _holdout_rows(y, 0.1, seed=0)
    assert held.shape == y.shape  # a mask over the rows train_text was given, nothing else
    assert [int(held[y == c].sum()) for c in range(4)] == [15, 8, 2, 0]
    assert not _holdout_rows(y[:10], 0.1, seed=0).any()  # too small to choose on: no slice
    assert len(_selection_folds(y, 0.1, seed=0, small=100)) == 1  # big set: that one slice
    folds = _selection_folds(y, 0.1, seed=0)  # small set: 3 folds, every training row held out once
    assert len(folds) == 3 and (np.sum(folds, axis=0) == 1).all()
    assert all(abs(int(f[y == 0].sum()) - 50) <= 1 for f in folds)  # stratified
    assert _selection_folds(y[:10], 0.1, seed=0) == []


def test_regularisation_is_chosen_only_from_training_texts(monkeypatch):
    seen: list[int] = []
    real = text_mod._macro_f1

    def spy(y, pred):
        seen.append(len(y))
        return real(y, pred)

    monkeypatch.setattr(text_mod, "_macro_f1", spy)
    rng = np.random.default_rng(1)
    words = [["scarf", "wool", "silk"], ["mug", "coffee", "tea"], ["candle", "soy", "wick"]]
    texts = [f"{rng.choice(words[i % 3])} {rng.choice(words[i % 3])} item {i}" for i in range(300)]
    y = np.arange(300) % 3
    model = run_job(train_text(texts, y, ["a", "b", "c"], epochs=3, select_passes=2))
    assert model.info["C"] in text_mod.C_GRID
    # one pooled score per C, over the 300 training rows (3 folds): nothing else is ever scored
    assert len(seen) == len(text_mod.C_GRID) and all(s == 300 for s in seen)
    assert list(model.logits(["silk scarf", "tea mug", "soy candle"]).argmax(1)) == [0, 1, 2]


def test_sigmoid_calibration_reduces_held_out_nll_and_keeps_the_ranking():
    """Planted problem: one-vs-rest margins whose normalised sigmoids, not a softmax, give the true
    probabilities. The (a, b) fitted on one half lowers the NLL on the other half below temperature
    scaling alone, and never changes a row's argmax."""
    from scipy.special import expit, log_expit

    from shopai.categorize.calibrate import fit_sigmoid, fit_temperature, nll

    rng = np.random.default_rng(3)
    n, k = 4000, 12
    s = rng.normal(-1.0, 0.6, (n, k))
    s[np.arange(n), rng.integers(0, k, n)] += rng.uniform(0.5, 2.5, n)  # one strong margin per row
    p = expit(4.0 * s + 1.5)
    p /= p.sum(1, keepdims=True)
    y = np.array([rng.choice(k, p=row) for row in p])
    fit, held = slice(0, n // 2), slice(n // 2, n)
    a, b = fit_sigmoid(s[fit], y[fit])
    assert a > 0
    z = log_expit(a * s[held] + b)
    t = fit_temperature(s[fit], y[fit])
    assert nll(z, y[held]) < nll(s[held] / t, y[held]) - 0.01
    assert nll(z, y[held]) < nll(s[held], y[held])
    assert (z.argmax(1) == s[held].argmax(1)).all()


def test_text_model_saves_the_shift_and_reads_files_without_it(tmp_path):
    rng = np.random.default_rng(2)
    words = [["scarf", "wool", "silk"], ["mug", "coffee", "tea"], ["candle", "soy", "wick"]]
    texts = [f"{rng.choice(words[i % 3])} {rng.choice(words[i % 3])} item {i}" for i in range(300)]
    model = run_job(train_text(texts, np.arange(300) % 3, ["a", "b", "c"], epochs=3))
    assert model.shift is not None
    path = tmp_path / "text.npz"
    model.save(path)
    back = text_mod.TextModel.load(path)
    assert back.shift == model.shift
    np.testing.assert_allclose(back.logits(texts[:5]), model.logits(texts[:5]), rtol=1e-2, atol=1e-2)
    with np.load(path) as z:  # a file saved before the shift existed: plain softmax of the scores
        old = {key: z[key] for key in z.files if key != "shift"}
    np.savez(path, **old)
    legacy = text_mod.TextModel.load(path)
    assert legacy.shift is None
    assert (legacy.logits(texts[:20]).argmax(1) == model.logits(texts[:20]).argmax(1)).all()


def test_word_block_length_is_saved_and_older_files_keep_equal_blocks(tmp_path):
    from shopai.categorize.features import WORD_DIM, WORD_WEIGHT, Vocabulary, raw_counts

    texts = ["blue wool scarf", "red coffee mug", "soy candle wick"] * 20
    vocab = Vocabulary.fit(raw_counts(texts))
    x = vocab.transform_texts(texts[:3]).toarray()
    word = vocab.columns < WORD_DIM
    np.testing.assert_allclose(np.linalg.norm(x[:, word], axis=1), WORD_WEIGHT, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(x[:, ~word], axis=1), 1.0, rtol=1e-5)
    assert WORD_WEIGHT != 1.0  # else the next checks prove nothing

    model = run_job(train_text(texts, np.arange(60) % 3, ["a", "b", "c"], epochs=3))
    path = tmp_path / "text.npz"
    model.save(path)
    assert text_mod.TextModel.load(path).vocab.word_weight == WORD_WEIGHT
    with np.load(path) as z:  # a model saved before the weight existed was trained on equal blocks
        old = {key: z[key] for key in z.files if key != "word_weight"}
    np.savez(path, **old)
    legacy = text_mod.TextModel.load(path).vocab
    assert legacy.word_weight == 1.0
    xl = legacy.transform_texts(texts[:3]).toarray()
    np.testing.assert_allclose(np.linalg.norm(xl[:, word], axis=1), 1.0, rtol=1e-5)
