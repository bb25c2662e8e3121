"""From heard words to products, tolerant of half-right hearing.

Three signals, each in 0..1, combined into one score:

* word match: every heard word is compared with every catalog word by edit distance between their
  *phone* strings (so "tea" meets "t", "dolly" meets "doily"); a product scores the IDF-weighted
  F-measure of its title words found in what was heard and of heard words found in its title;
* phrase match: edit distance between the phones of the whole heard phrase and of the whole title
  (robust to words split or joined differently, "candle holder" vs "candleholder");
* FTS5: the catalog's full-text search (``shopai.store.products.search``) finding the heard text.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopai.voice.lexicon import PHONES, pronounce, spoken_words
from shopai.voice.model import Product

_PHONE_CHAR = {p: chr(0x41 + i) if i < 26 else chr(0x61 + i - 26) for i, p in enumerate(PHONES)}
W_WORDS, W_PHRASE, W_FTS = 0.6, 0.4, 0.1
GOOD_SCORE = 0.45  # below this the best match is a guess


def phone_string(phones: tuple[str, ...]) -> str:
    return "".join(_PHONE_CHAR.get(p, "") for p in phones)


@dataclass
class Match:
    product: Product
    score: float


class MatchIndex:
    """The catalog prepared for matching; build once per catalog model and reuse."""

    def __init__(self, products: list[Product], lexicon: dict[str, tuple[str, ...]]):
        self.products = products
        self.lexicon = lexicon
        vocab: dict[str, int] = {}
        for p in products:
            for w in p.words:
                vocab.setdefault(w, len(vocab))
        self.vocab = list(vocab)
        self.vocab_index = vocab
        self.vocab_phones = [phone_string(self._phones(w)) for w in self.vocab]
        n = len(products)
        width = max((len(p.words) for p in products), default=1) or 1
        self.table = np.full((n, width), -1, dtype=np.int64)
        df = np.zeros(len(self.vocab))
        for i, p in enumerate(products):
            ids = [vocab[w] for w in p.words]
            self.table[i, : len(ids)] = ids
            for j in set(ids):
                df[j] += 1
        self.idf = np.log((n + 1) / (df + 0.5)) + 0.1
        self.mask = self.table >= 0
        self.weights = np.where(self.mask, self.idf[np.maximum(self.table, 0)], 0.0)
        self.title_phones = [phone_string(tuple(ph for w in p.words for ph in self._phones(w))) for p in products]
        self.by_id = {p.id: i for i, p in enumerate(products)}

    def _phones(self, word: str) -> tuple[str, ...]:
        ph = self.lexicon.get(word)
        if ph is None:
            ph = pronounce(word)
            self.lexicon[word] = ph
        return ph

    def match(self, heard: str, limit: int = 10, fts_ids: list[int] | None = None) -> list[Match]:
        """Products best first for what was heard (or typed)."""
        from rapidfuzz.distance import Levenshtein
        from rapidfuzz.process import cdist

        words = spoken_words(heard)
        if not words or not self.products:
            return []
        heard_ph = [phone_string(self._phones(w)) for w in words]
        sim = cdist(heard_ph, self.vocab_phones, scorer=Levenshtein.normalized_similarity, dtype=np.float32)
        for i, w in enumerate(words):  # an exact word is better than any near miss
            j = self.vocab_index.get(w)
            if j is not None:
                sim[i, j] = 1.0
        soft = np.clip((sim - 0.5) / 0.5, 0.0, 1.0) ** 1.5  # near misses count, far ones not at all
        heard_w = self.idf[sim.argmax(axis=1)]  # a heard word weighs like the catalog word it sounds like
        m = soft[:, np.maximum(self.table, 0)] * self.mask[None]  # H x N x L
        recall = (m.max(axis=2) * heard_w[:, None]).sum(axis=0) / heard_w.sum()
        precision = (m.max(axis=0) * self.weights).sum(axis=1) / np.maximum(self.weights.sum(axis=1), 1e-9)
        words_score = 2 * recall * precision / np.maximum(recall + precision, 1e-9)
        phrase = cdist(["".join(heard_ph)], self.title_phones, scorer=Levenshtein.normalized_similarity,
                       dtype=np.float32)[0]
        score = W_WORDS * words_score + W_PHRASE * phrase
        if fts_ids:
            for pid in fts_ids:
                i = self.by_id.get(pid)
                if i is not None:
                    score[i] += W_FTS
        score = np.clip(score, 0.0, 1.0)
        top = np.argsort(-score, kind="stable")[:limit]
        return [Match(self.products[i], float(score[i])) for i in top if score[i] > 0.05]

