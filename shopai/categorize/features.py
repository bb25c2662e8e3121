"""Text features for the title+description classifier: hashed word and character n-grams, TF-IDF.

Vectorised with numpy so 10,000 titles turn into a sparse matrix in a fraction of a second. Hashing is
stable across processes (crc32 for words, a fixed polynomial for characters), so a saved model keeps
working in a new session.
"""
from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

WORD_BITS = 20
CHAR_BITS = 20
WORD_DIM = 1 << WORD_BITS
CHAR_DIM = 1 << CHAR_BITS
DIM = WORD_DIM + CHAR_DIM
CHAR_NS = (2, 3, 4, 5)
WORD_WEIGHT = 0.7  # the word block's length after normalising (the char block's is 1): chosen by CV on training titles

_WORD = re.compile(r"\w+", re.UNICODE)
_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit multiplier for the rolling hash
_SEEDS = {n: np.uint64(0x9E3779B97F4A7C15 * n & 0xFFFFFFFFFFFFFFFF) for n in range(1, 9)}


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads every input bit over the low bits used as the bucket."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    return " ".join(_WORD.findall(text))


def _word_hashes(words: list[str]) -> list[int]:
    out = [zlib.crc32(w.encode("utf-8")) for w in words]
    out += [zlib.crc32(f"{a} {b}".encode("utf-8")) ^ 0x5BD1E995 for a, b in zip(words, words[1:])]
    return out


def raw_counts(texts: list[str]) -> sp.csr_matrix:
    """Counts of hashed word 1-2-grams (columns < WORD_DIM) and char 2-5-grams (the rest)."""
    r, c = hashed(texts)
    data = np.ones(len(r), dtype=np.float32)
    mat = sp.csr_matrix((data, (r, c)), shape=(len(texts), DIM), dtype=np.float32)
    mat.sum_duplicates()
    return mat


def hashed(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(row, hashed column) of every n-gram occurrence, duplicates included."""
    norm = [normalize(t) for t in texts]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    # words
    w_rows, w_cols = [], []
    for i, s in enumerate(norm):
        hs = _word_hashes(s.split())
        w_rows.append(np.full(len(hs), i, dtype=np.int32))
        w_cols.append(np.asarray(hs, dtype=np.uint64))
    if w_rows:
        rows.append(np.concatenate(w_rows))
        cols.append((np.concatenate(w_cols) % np.uint64(WORD_DIM)).astype(np.int64))
    # characters: one padded string, rolling hashes that never cross a document boundary
    padded = [f" {s} " for s in norm]
    joined = "\x00".join(padded)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    lengths = np.fromiter((len(p) + 1 for p in padded), dtype=np.int64, count=len(padded))
    doc = np.repeat(np.arange(len(padded), dtype=np.int32), lengths)[: len(codes)]
    for n in CHAR_NS:
        if len(codes) < n:
            continue
        m = len(codes) - n + 1
        h = np.full(m, _SEEDS[n], dtype=np.uint64)
        for k in range(n):
            h = h * _MULT + codes[k:k + m] + np.uint64(1)
        ok = doc[:m] == doc[n - 1:n - 1 + m]
        # drop grams that contain the separator
        sep = np.zeros(m, dtype=bool)
        for k in range(n):
            sep |= codes[k:k + m] == 0
        ok &= ~sep
        rows.append(doc[:m][ok])
        cols.append((_mix(h[ok]) % np.uint64(CHAR_DIM)).astype(np.int64) + WORD_DIM)
    if not rows:
        return np.zeros(0, np.int32), np.zeros(0, np.int64)
    return np.concatenate(rows), np.concatenate(cols)


@dataclass
class Vocabulary:
    """The hashed columns kept at training time (seen in >= min_df documents) and their IDF."""

    columns: np.ndarray  # sorted int64 hashed column ids
    idf: np.ndarray  # float32, one per kept column
    word_weight: float = 1.0  # the word block's L2 length in a row (models saved before it existed: 1)

    _lookup: np.ndarray | None = None

    @property
    def size(self) -> int:
        return len(self.columns)

    @classmethod
    def fit(cls, counts: sp.csr_matrix, min_df: int = 1, word_weight: float = WORD_WEIGHT) -> "Vocabulary":
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        keep = np.flatnonzero(df >= min_df)
        n = counts.shape[0]
        idf = (np.log((1.0 + n) / (1.0 + df[keep])) + 1.0).astype(np.float32)
        return cls(columns=keep.astype(np.int64), idf=idf, word_weight=float(word_weight))

    def lookup(self) -> np.ndarray:
        """hashed column -> kept column index, or -1 (built once, 8 MB)."""
        if self._lookup is None:
            table = np.full(DIM, -1, dtype=np.int32)
            table[self.columns] = np.arange(self.size, dtype=np.int32)
            self._lookup = table
        return self._lookup

    def transform_texts(self, texts: list[str]) -> sp.csr_matrix:
        """Texts straight to TF-IDF over the kept columns (unknown n-grams dropped before counting)."""
        r, c = hashed(texts)
        k = self.lookup()[c]
        ok = k >= 0
        r, k = r[ok], k[ok]
        counts = sp.csr_matrix((np.ones(len(r), np.float32), (r, k)), shape=(len(texts), self.size))
        counts.sum_duplicates()
        return self._tfidf(counts, self.columns[counts.indices] < WORD_DIM)

    def _tfidf(self, counts: sp.csr_matrix, is_word: np.ndarray) -> sp.csr_matrix:
        r = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        c = counts.indices
        v = (1.0 + np.log(counts.data)) * self.idf[c]
        out = _normalise_blocks(v, r, is_word, counts.shape[0], self.word_weight)
        return sp.csr_matrix((out, c, counts.indptr), shape=counts.shape)

    def transform(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Sublinear TF-IDF over the kept columns; the word and the char blocks are each L2-normalised."""
        counts = counts.tocsr()
        pos = np.searchsorted(self.columns, counts.indices)
        pos_c = np.minimum(pos, max(self.size - 1, 0))
        hit = (self.size > 0) & (self.columns[pos_c] == counts.indices) if self.size else np.zeros(len(pos), bool)
        row_of = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        r = row_of[hit]
        c = pos_c[hit]
        is_word = counts.indices[hit] < WORD_DIM
        v = (1.0 + np.log(counts.data[hit])) * self.idf[c]
        out = _normalise_blocks(v, r, is_word, counts.shape[0], self.word_weight)
        return sp.csr_matrix((out, (r, c)), shape=(counts.shape[0], self.size))


def _normalise_blocks(v: np.ndarray, rows: np.ndarray, is_word: np.ndarray, n_rows: int,
                      word_weight: float = 1.0) -> np.ndarray:
    """L2-normalise each row's word block (to length ``word_weight``) and char block (to 1) separately
    (float32 values, same order)."""
    out = np.empty_like(v)
    for mask, length in ((is_word, word_weight), (~is_word, 1.0)):
        norm = np.sqrt(np.bincount(rows[mask], weights=v[mask] ** 2, minlength=n_rows))
        norm[norm == 0] = 1.0
        out[mask] = v[mask] * (length / norm[rows[mask]])
    return out.astype(np.float32)
