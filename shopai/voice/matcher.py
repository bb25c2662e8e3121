"""From heard words to products, tolerant of half-right hearing.

Three signals, each in 0..1, combined into one score:

* word match: every heard word is compared with every catalog word by edit distance between their
  *phone* strings (so "tea" meets "t", "dolly" meets "doily"); a product scores the IDF-weighted
  F-measure of its title words found in what was heard and of heard words found in its title;
* phrase match: edit distance between the phones of the whole heard phrase and of the whole title
  (robust to words split or joined differently, "candle holder" vs "candleholder");
* FTS5: the catalog's full-text search (``shopai.store.products.search``) finding the heard text.

Typed text (``typed=True``) is also compared letter by letter, so a misspelt word ("wite", "haning") counts as the
catalog word it is spelt like; and a query that is exactly a product's SKU puts that product first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from shopai.voice.lexicon import PHONES, pronounce, spoken_words
from shopai.voice.model import Product

_PHONE_CHAR = {p: chr(0x41 + i) if i < 26 else chr(0x61 + i - 26) for i, p in enumerate(PHONES)}
W_WORDS, W_PHRASE, W_FTS = 0.6, 0.4, 0.1
GOOD_SCORE = 0.45  # below this the best match is a guess
# A typed word this close in spelling to a catalog word (normalised letter edit similarity: at most one letter in
# four off, "wite" for "white") is taken as that word misspelt: its sounds in the phrase match are the catalog word's.
SPELLING_SIMILAR = 0.75


def phone_string(phones: tuple[str, ...]) -> str:
    return "".join(_PHONE_CHAR.get(p, "") for p in phones)


def sku_keys(text: str) -> set[str]:
    """What a SKU (or a query that may be one) comes to, typed or said: its letters and digits in lower case
    ("85123a" for "85123A", "85123 a"), and as spoken words, digit by digit or as a number ("eight five one two
    three a", "eighty five thousand one hundred twenty three a")."""
    text = (text or "").lower()
    keys = {re.sub(r"[^0-9a-z]", "", text), " ".join(spoken_words(text)),
            " ".join(spoken_words(" ".join(re.findall(r"\d|[a-z]+", text))))}
    keys.discard("")
    return keys


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
        self.by_sku: dict[str, list[int]] = {}
        for i, p in enumerate(products):
            for key in sku_keys(p.sku):
                self.by_sku.setdefault(key, []).append(i)

    def _phones(self, word: str) -> tuple[str, ...]:
        ph = self.lexicon.get(word)
        if ph is None:
            ph = pronounce(word)
            self.lexicon[word] = ph
        return ph

    def match(self, heard: str, limit: int = 10, fts_ids: list[int] | None = None,
              typed: bool = False) -> list[Match]:
        """Products best first for what was heard (or, ``typed``, typed: spelling counts too).

        A product whose SKU is exactly what was heard or typed (any case) comes first, scored 1.
        """
        from rapidfuzz.distance import Levenshtein
        from rapidfuzz.process import cdist

        words = spoken_words(heard)
        if not words or not self.products:
            return []
        heard_ph = [phone_string(self._phones(w)) for w in words]
        sim = cdist(heard_ph, self.vocab_phones, scorer=Levenshtein.normalized_similarity, dtype=np.float32)
        if typed:  # a misspelt word sounds wrong when read by rules ("wite" = "wit" + "e"): its letters count too
            spelt = cdist(words, self.vocab, scorer=Levenshtein.normalized_similarity, dtype=np.float32)
            for i, w in enumerate(words):
                j = int(spelt[i].argmax())
                if w not in self.vocab_index and spelt[i, j] >= max(SPELLING_SIMILAR, sim[i].max()):
                    heard_ph[i] = self.vocab_phones[j]  # the catalog word it is spelt like, for the phrase
            sim = np.maximum(sim, spelt)
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
        exact = sorted({i for key in sku_keys(heard) for i in self.by_sku.get(key, ())})
        score[exact] = 1.0
        top = exact + [i for i in np.argsort(-score, kind="stable")[:limit + len(exact)] if i not in exact]
        return [Match(self.products[i], float(score[i])) for i in top[:limit] if score[i] > 0.05]

