"""The text classifier: hashed word + character n-gram TF-IDF into a class-balanced softmax regression.

Trained with torch (an EmbeddingBag with sparse gradients, so only the features of a batch are
touched); predicted with numpy/scipy (10,000 titles in well under a second). Saved as ``.npz``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shopai.categorize.features import Vocabulary, raw_counts
from shopai.jobs import Job, Progress, UserError

FORMAT = 1


@dataclass
class TextModel:
    classes: list[str]
    vocab: Vocabulary
    weight: np.ndarray  # [features, classes] float32
    bias: np.ndarray  # [classes] float32
    temperature: float = 1.0
    info: dict = field(default_factory=dict)

    def features(self, texts: list[str]):
        return self.vocab.transform_texts(texts)

    def logits(self, texts: list[str]) -> np.ndarray:
        """Calibrated logits (already divided by the temperature)."""
        if not texts:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        import torch

        x = self.features(texts)
        scores = torch.nn.functional.embedding_bag(
            torch.from_numpy(x.indices.astype(np.int64)), torch.from_numpy(self.weight),
            torch.from_numpy(x.indptr[:-1].astype(np.int64)), mode="sum",
            per_sample_weights=torch.from_numpy(x.data),
        ).numpy()
        return (scores + self.bias) / self.temperature

    def learn_one(self, text: str, category: str, steps: int = 30, lr: float = 0.5) -> None:
        """Nudge the model towards a correction at once (the next full training re-learns it properly)."""
        if category not in self.classes:
            self.classes.append(category)
            self.weight = np.concatenate([self.weight, np.zeros((self.weight.shape[0], 1), np.float32)], axis=1)
            self.bias = np.append(self.bias, np.float32(self.bias.min() if len(self.bias) else 0.0))
        target = self.classes.index(category)
        x = self.features([text])
        cols, vals = x.indices, x.data.astype(np.float32)
        if len(cols) == 0:
            return
        for _ in range(steps):
            z = vals @ self.weight[cols] + self.bias
            z = z - z.max()
            p = np.exp(z) / np.exp(z).sum()
            if p.argmax() == target and p[target] > 0.6:
                break
            g = p.copy()
            g[target] -= 1.0
            self.weight[cols] -= lr * np.outer(vals, g).astype(np.float32)
            self.bias -= np.float32(lr * 0.1) * g.astype(np.float32)

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(
            tmp, format=np.int64(FORMAT), columns=self.vocab.columns, idf=self.vocab.idf,
            weight=self.weight.astype(np.float16), bias=self.bias, temperature=np.float64(self.temperature),
            classes=np.array(self.classes, dtype=str),
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "TextModel":
        try:
            with np.load(path, allow_pickle=False) as z:
                if int(z["format"]) != FORMAT:
                    raise UserError("The saved text model is from another ShopAI version: train categorize again.")
                return cls(
                    classes=[str(c) for c in z["classes"]],
                    vocab=Vocabulary(columns=z["columns"], idf=z["idf"]),
                    weight=z["weight"].astype(np.float32), bias=z["bias"].astype(np.float32),
                    temperature=float(z["temperature"]),
                )
        except UserError:
            raise
        except Exception as exc:  # damaged file: zip error, missing key, bad dtype ...
            raise UserError(f"The saved text model is damaged ({type(exc).__name__}): train categorize again.") from None


def train_text(
    texts: list[str], y: np.ndarray, classes: list[str], epochs: int = 5, lr: float = 0.02,
    batch_size: int = 64, balance: float = 1.0, seed: int = 0, smoothing: float = 0.0,
) -> Job[TextModel]:
    """Train the text model; yields progress about every 0.2 s."""
    import torch

    torch.manual_seed(seed)
    counts = raw_counts(texts)
    yield Progress(0, epochs, "Reading product texts")
    vocab = Vocabulary.fit(counts)
    x = vocab.transform(counts).tocsr()
    n, f = x.shape
    c = len(classes)
    emb = torch.nn.EmbeddingBag(f, c, mode="sum", sparse=True)
    torch.nn.init.zeros_(emb.weight)
    bias = torch.nn.Parameter(torch.zeros(c))
    opt_sparse = torch.optim.SparseAdam(list(emb.parameters()), lr=lr)
    opt_dense = torch.optim.Adam([bias], lr=lr)
    freq = np.bincount(y, minlength=c).astype(np.float64)
    class_weight = torch.tensor((freq.mean() / np.maximum(freq, 1.0)) ** balance, dtype=torch.float32)
    yt = torch.from_numpy(np.array(y, dtype=np.int64))
    rng = np.random.default_rng(seed)
    last = time.monotonic()
    for epoch in range(epochs):
        perm = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            sub = x[idx]
            z = emb(
                torch.from_numpy(sub.indices.astype(np.int64)),
                torch.from_numpy(sub.indptr[:-1].astype(np.int64)),
                per_sample_weights=torch.from_numpy(sub.data),
            ) + bias
            loss = torch.nn.functional.cross_entropy(z, yt[idx], weight=class_weight, label_smoothing=smoothing)
            opt_sparse.zero_grad()
            opt_dense.zero_grad()
            loss.backward()
            opt_sparse.step()
            opt_dense.step()
            if time.monotonic() - last > 0.2:
                last = time.monotonic()
                yield Progress(epoch + start / n, epochs, f"Learning from product texts (pass {epoch + 1} of {epochs})")
    model = TextModel(
        classes=list(classes), vocab=vocab, weight=emb.weight.detach().numpy().copy(),
        bias=bias.detach().numpy().copy(),
    )
    return model
