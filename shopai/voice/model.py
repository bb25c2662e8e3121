"""The catalog's speech model: vocabulary, pronunciations, an n-gram language model and a title grammar.

Built from product titles, categories, and the colour and size words in them, written as a pocketsphinx
dictionary (``.dic``), an ARPA trigram language model (``.lm``, for partial queries in any order) and a
finite-state grammar of the titles (``.fsg``, which can only hear a real title or the start of one) under
``subdir(db_path, "models")``,
named by a hash of the catalog so a changed catalog gets a new model and an unchanged one is reused.
A JSON file beside them records the format version; a missing, older or damaged model is rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from shopai.jobs import Job, Progress, UserError
from shopai.paths import subdir
from shopai.voice.lexicon import cmudict, pronounce, spoken_words

FORMAT_VERSION = 2  # 2: the title grammar (.fsg)
PREFIX = "voice-"
COLOURS = set(
    "red blue green white black pink yellow orange purple brown grey gray gold silver cream ivory turquoise "
    "aqua lilac lavender navy teal beige mint peach coral natural clear multicolour assorted".split()
)
SIZES = set("small medium large mini jumbo giant tiny big extra".split())
_DISCOUNT = 0.5
# A title may end after any word (the grammar then hears "white hanging heart" for a shorter query, and a
# decoder that loses the path's end still has an answer); finishing the title is this much likelier.
_P_EARLY_END = 1e-3
_LOADED: dict[str, "CatalogModel"] = {}  # models folder -> the model last loaded from it (this process)


@dataclass(frozen=True)
class Product:
    id: int
    sku: str
    title: str
    category: str
    words: tuple[str, ...]  # spoken words of the title


@dataclass
class CatalogModel:
    """Paths of a built model plus the catalog it was built from."""

    key: str
    dic_path: Path
    lm_path: Path
    fsg_path: Path
    products: list[Product]
    lexicon: dict[str, tuple[str, ...]]
    guessed: list[str] = field(default_factory=list)  # words pronounced by rules, not the dictionary


@lru_cache(maxsize=200_000)
def _title_words(title: str) -> tuple[str, ...]:
    return tuple(spoken_words(title))


def read_products(conn: sqlite3.Connection) -> list[Product]:
    rows = conn.execute(
        "SELECT id, sku, title, coalesce(category, '') FROM products ORDER BY id"
    ).fetchall()
    return [Product(r[0], r[1], r[2], r[3], _title_words(r[2])) for r in rows]


def catalog_key(products: list[Product]) -> str:
    h = hashlib.sha1(f"voice-format-{FORMAT_VERSION}".encode())
    for p in products:
        h.update(f"\x1e{p.id}\x1f{p.sku}\x1f{p.title}\x1f{p.category}".encode())
    return h.hexdigest()[:16]


def sentences(products: list[Product]) -> list[list[str]]:
    """What people may say: each title, each category, each colour and size word on its own."""
    out = [list(p.words) for p in products if p.words]
    extra = set()
    for p in products:
        cat = tuple(spoken_words(p.category))
        if cat:
            extra.add(cat)
        for w in p.words:
            if w in COLOURS or w in SIZES:
                extra.add((w,))
    out.extend(list(s) for s in sorted(extra))
    return out


def write_arpa(sents: list[list[str]], path: Path) -> None:
    """A backoff trigram LM with absolute discounting, in ARPA text format."""
    counts: list[Counter] = [Counter(), Counter(), Counter()]
    for s in sents:
        toks = ["<s>"] + s + ["</s>"]
        for i in range(1, len(toks)):
            counts[0][(toks[i],)] += 1
            counts[1][(toks[i - 1], toks[i])] += 1
            if i >= 2:
                counts[2][(toks[i - 2], toks[i - 1], toks[i])] += 1
    vocab = sorted({w for (w,) in counts[0]} | {"<s>"})
    total = sum(counts[0].values())
    n_vocab = len(vocab)
    uni = {w: (counts[0].get((w,), 0) + 0.5) / (total + 0.5 * n_vocab) for w in vocab}
    uni["<s>"] = 0.0

    def higher(order: int, lower: dict[tuple[str, ...], float]):
        ctx_total: Counter = Counter()
        ctx_types: Counter = Counter()
        for gram, c in counts[order].items():
            ctx_total[gram[:-1]] += c
            ctx_types[gram[:-1]] += 1
        probs = {}
        for gram, c in counts[order].items():
            probs[gram] = (c - _DISCOUNT) / ctx_total[gram[:-1]]
        mass_left = {ctx: _DISCOUNT * ctx_types[ctx] / ctx_total[ctx] for ctx in ctx_total}
        seen_lower: dict[tuple[str, ...], float] = defaultdict(float)
        for gram in counts[order]:
            seen_lower[gram[:-1]] += lower_prob(gram[1:], lower)
        backoff = {}
        for ctx, left in mass_left.items():
            denom = max(1e-9, 1.0 - seen_lower[ctx])
            backoff[ctx] = left / denom
        return probs, backoff

    def lower_prob(gram: tuple[str, ...], table: dict) -> float:
        if gram in table:
            return table[gram]
        return uni.get(gram[-1], 1e-9)

    uni_t = {(w,): p for w, p in uni.items()}
    bi, bo1 = higher(1, uni_t)
    tri, bo2 = higher(2, bi)

    def lg(p: float) -> str:
        return "-99" if p <= 0 else f"{math.log10(p):.5f}"

    lines = ["\\data\\", f"ngram 1={len(uni_t)}", f"ngram 2={len(bi)}", f"ngram 3={len(tri)}", "", "\\1-grams:"]
    for (w,), p in sorted(uni_t.items()):
        lines.append(f"{lg(p)}\t{w}\t{math.log10(bo1.get((w,), 1.0)):.5f}")
    lines += ["", "\\2-grams:"]
    for gram, p in sorted(bi.items()):
        lines.append(f"{lg(p)}\t{' '.join(gram)}\t{math.log10(bo2.get(gram, 1.0)):.5f}")
    lines += ["", "\\3-grams:"]
    for gram, p in sorted(tri.items()):
        lines.append(f"{lg(p)}\t{' '.join(gram)}")
    lines += ["", "\\end\\", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_fsg(products: list[Product], path: Path, lexicon: dict[str, tuple[str, ...]]) -> None:
    """The titles as a pocketsphinx finite-state grammar: a prefix tree, every title equally likely.

    State 0 starts, state 1 is final. Titles sharing their first words share states, so the decoder
    follows "alarm clock bakelike" once for all colours. Every inner state may also end early.
    """
    states: dict[tuple[str, ...], int] = {(): 0}
    arcs: Counter = Counter()  # (from, to, word) -> titles through it
    for p in products:
        if not all(lexicon.get(w) for w in p.words):  # a word with no pronunciation would fail the load
            continue
        for k, word in enumerate(p.words):
            if k == len(p.words) - 1:
                to = 1
            else:
                to = states.setdefault(p.words[: k + 1], len(states) + 1)
            arcs[(states[p.words[:k]], to, word)] += 1
    leaving: Counter = Counter()
    for (a, _, _), c in arcs.items():
        leaving[a] += c
    lines = ["FSG_BEGIN catalog", f"NUM_STATES {len(states) + 1}", "START_STATE 0", "FINAL_STATE 1"]
    for (a, b, word), c in sorted(arcs.items()):
        stay = 1.0 if a == 0 else 1.0 - _P_EARLY_END
        lines.append(f"TRANSITION {a} {b} {stay * c / leaving[a]:.6g} {word}")
    lines += [f"TRANSITION {s} 1 {_P_EARLY_END:g}" for s in sorted(states.values()) if s != 0]
    path.write_text("\n".join(lines + ["FSG_END", ""]), encoding="utf-8")


def _paths(models: Path, key: str) -> tuple[Path, Path, Path, Path]:
    base = models / f"{PREFIX}{key}"
    return base.with_suffix(".dic"), base.with_suffix(".lm"), base.with_suffix(".fsg"), base.with_suffix(".json")


def _load_dic(path: Path) -> dict[str, tuple[str, ...]]:
    lex = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2:
            lex[parts[0]] = tuple(parts[1:])
    return lex


def load_cached(models: Path, key: str, products: list[Product]) -> CatalogModel | None:
    """The model for ``key`` if it is on disk, complete and of this format; else None (rebuild)."""
    dic, lm, fsg, meta_path = _paths(models, key)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION or meta.get("key") != key:
            return None
        lexicon = _load_dic(dic)
        complete = lm.read_text(encoding="utf-8").rstrip().endswith("\\end\\") and fsg.read_text(
            encoding="utf-8").rstrip().endswith("FSG_END")
        if not complete:
            return None
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if any(w not in lexicon for p in products for w in p.words):
        return None
    return CatalogModel(key, dic, lm, fsg, products, lexicon, list(meta.get("guessed", [])))


def build_model(db_path: str) -> Job[CatalogModel]:
    """Job: the catalog's speech model, from the cache when the catalog has not changed."""
    from shopai.store.db import connect

    yield Progress(0, None, "Reading the catalog")
    db = connect(db_path)
    try:
        products = read_products(db.conn)
    finally:
        db.conn.close()
    if not products:
        raise UserError("The catalog is empty: add or import products before searching by voice.")
    key = catalog_key(products)
    models = subdir(db_path, "models")
    memo = _LOADED.get(str(models))
    if memo is not None and memo.key == key and all(
        p.is_file() for p in (memo.dic_path, memo.lm_path, memo.fsg_path)
    ):
        return memo
    cached = load_cached(models, key, products)
    if cached is not None:
        _LOADED[str(models)] = cached
        return cached
    yield Progress(0, len(products), "Building the speech model for the catalog")
    dic = cmudict()
    sents = sentences(products)
    words = sorted({w for s in sents for w in s})
    lexicon: dict[str, tuple[str, ...]] = {}
    guessed = []
    for i, w in enumerate(words):
        lexicon[w] = pronounce(w, dic)
        if w not in dic:
            guessed.append(w)
        if i % 200 == 0:
            yield Progress(i, len(words), "Working out pronunciations")
    dic_path, lm_path, fsg_path, meta_path = _paths(models, key)
    # names of this build's own: two threads building the same model (the tab warming up while a query
    # starts) must not rename each other's half-written files
    own = f".{os.getpid()}-{threading.get_ident()}.tmp"
    tmp_dic, tmp_lm, tmp_fsg = (p.with_suffix(p.suffix + own) for p in (dic_path, lm_path, fsg_path))
    try:
        tmp_dic.write_text("".join(f"{w} {' '.join(ph)}\n" for w, ph in sorted(lexicon.items()) if ph),
                           encoding="utf-8")
        write_arpa(sents, tmp_lm)
        write_fsg(products, tmp_fsg, lexicon)
        yield Progress(len(words), len(words), "Saving the speech model")
        for tmp, final in ((tmp_dic, dic_path), (tmp_lm, lm_path), (tmp_fsg, fsg_path)):
            tmp.replace(final)
    finally:  # a cancelled or failed build leaves none of its own temporary files behind
        for tmp in (tmp_dic, tmp_lm, tmp_fsg):
            tmp.unlink(missing_ok=True)
    meta = {"format": FORMAT_VERSION, "key": key, "products": len(products), "words": len(lexicon), "guessed": guessed}
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    for old in models.glob(f"{PREFIX}*"):
        if not old.name.startswith(f"{PREFIX}{key}"):
            try:
                old.unlink()
            except OSError:
                pass
    lexicon = {w: ph for w, ph in lexicon.items() if ph}
    model = CatalogModel(key, dic_path, lm_path, fsg_path, products, lexicon, guessed)
    _LOADED[str(models)] = model
    return model


def discard(model: CatalogModel) -> None:
    """Delete a model that would not load, so the next :func:`build_model` writes it anew."""
    for path in _paths(model.dic_path.parent, model.key):
        try:
            path.unlink()
        except OSError:
            pass
    for folder, memo in list(_LOADED.items()):
        if memo.key == model.key:
            del _LOADED[folder]
