"""Words as spoken: text normalisation and pronunciations for the recogniser.

Product titles are written ("SET/20 T-LIGHT HOLDERS 50'S"), people say words ("set twenty tea light
holders fifties"). :func:`spoken_words` turns written text into the words a person would say, and
:func:`pronounce` gives each word a phone sequence in the acoustic model's phone set: from the CMU
dictionary that ships with pocketsphinx when the word is there, else by splitting it into dictionary
words ("retrospot" = "retro" + "spot", "lovebirds" = "love" + "birds") and, for what is left, by
letter-to-sound rules written here. No network, no extra package.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

PHONES = (
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH"
).split()

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen " \
        "sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_DECADES = {"20": "twenties", "30": "thirties", "40": "forties", "50": "fifties", "60": "sixties",
            "70": "seventies", "80": "eighties", "90": "nineties"}
_ORDINAL = {"1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth", "5th": "fifth", "6th": "sixth",
            "7th": "seventh", "8th": "eighth", "9th": "ninth", "10th": "tenth", "12th": "twelfth"}
# Written forms people do not say as written.
_ABBREV = {
    "&": ["and"], "+": ["and"], "w/": ["with"], "xmas": ["christmas"], "pk": ["pack"], "asst": ["assorted"],
    "asstd": ["assorted"], "lg": ["large"], "sml": ["small"], "med": ["medium"], "xl": ["extra", "large"],
    "xxl": ["double", "extra", "large"], "xs": ["extra", "small"], "cm": ["centimetre"], "mm": ["millimetre"],
    "kg": ["kilo"], "ml": ["millilitre"], "pcs": ["pieces"], "pc": ["piece"], "no": ["no"], "st": ["saint"],
}
_TOKEN = re.compile(r"\d+(?:st|nd|rd|th|'s|s)?|[a-z]+(?:'[a-z]+)?|&|\+", re.IGNORECASE)


def number_words(n: int) -> list[str]:
    """English words for a whole number below a million ("72" -> seventy two)."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        tens, ones = divmod(n, 10)
        return [_TENS[tens]] + ([_ONES[ones]] if ones else [])
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return [_ONES[hundreds], "hundred"] + (number_words(rest) if rest else [])
    if n < 1_000_000:
        thousands, rest = divmod(n, 1000)
        return number_words(thousands) + ["thousand"] + (number_words(rest) if rest else [])
    return [_ONES[int(d)] for d in str(n)]


def spoken_words(text: str) -> list[str]:
    """The words a person says for written text, lower case, in order."""
    out: list[str] = []
    for tok in _TOKEN.findall((text or "").lower().replace("’", "'")):
        if tok in _ABBREV:
            out.extend(_ABBREV[tok])
        elif tok in _ORDINAL:
            out.append(_ORDINAL[tok])
        elif tok[0].isdigit():
            digits = re.match(r"\d+", tok).group(0)
            rest = tok[len(digits):]
            if rest in ("'s", "s") and digits in _DECADES:
                out.append(_DECADES[digits])
                continue
            if len(digits) > 6:
                out.extend(_ONES[int(d)] for d in digits)
            else:
                out.extend(number_words(int(digits)))
            if rest in ("'s", "s"):
                out[-1] = out[-1] + "s"
        else:
            if tok.endswith("'s"):
                tok = tok[:-2] + "s"
            tok = tok.replace("'", "")
            if tok:
                out.append(tok)
    return out


def _model_dir() -> Path:
    from pocketsphinx import get_model_path

    return Path(get_model_path()) / "en-us"


@lru_cache(maxsize=1)
def cmudict() -> dict[str, tuple[str, ...]]:
    """The pronunciation dictionary that ships with pocketsphinx: word -> phones (first variant)."""
    words: dict[str, tuple[str, ...]] = {}
    with open(_model_dir() / "cmudict-en-us.dict", encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            word = parts[0]
            if "(" in word:
                continue
            words[word] = tuple(parts[1:])
    return words


# -- letter-to-sound rules ------------------------------------------------------------------------------------
# Grapheme chunks, longest first, with their usual sound. Context (silent final e, soft c/g) is handled in code.
_GRAPHEMES: list[tuple[str, tuple[str, ...]]] = sorted(
    [
        ("tch", ("CH",)), ("sch", ("S", "K")), ("igh", ("AY",)), ("eau", ("OW",)), ("tion", ("SH", "AH", "N")),
        ("sion", ("ZH", "AH", "N")), ("ough", ("AO",)), ("augh", ("AO",)), ("ear", ("IH", "R")),
        ("air", ("EH", "R")), ("our", ("AW", "R")), ("ure", ("UH", "R")), ("dge", ("JH",)), ("que", ("K",)),
        ("ch", ("CH",)), ("sh", ("SH",)), ("th", ("TH",)), ("ph", ("F",)), ("ck", ("K",)), ("ng", ("NG",)),
        ("qu", ("K", "W")), ("wh", ("W",)), ("wr", ("R",)), ("kn", ("N",)), ("gh", ("G",)), ("ee", ("IY",)),
        ("ea", ("IY",)), ("oo", ("UW",)), ("ai", ("EY",)), ("ay", ("EY",)), ("ey", ("IY",)), ("ei", ("EY",)),
        ("ie", ("IY",)), ("ou", ("AW",)), ("ow", ("OW",)), ("oi", ("OY",)), ("oy", ("OY",)), ("au", ("AO",)),
        ("aw", ("AO",)), ("oa", ("OW",)), ("ew", ("UW",)), ("ue", ("UW",)), ("er", ("ER",)), ("ir", ("ER",)),
        ("ur", ("ER",)), ("ar", ("AA", "R")), ("or", ("AO", "R")), ("ll", ("L",)), ("ss", ("S",)),
        ("ff", ("F",)), ("tt", ("T",)), ("pp", ("P",)), ("rr", ("R",)), ("mm", ("M",)), ("nn", ("N",)),
        ("dd", ("D",)), ("bb", ("B",)), ("gg", ("G",)), ("zz", ("Z",)), ("cc", ("K",)),
        ("a", ("AE",)), ("b", ("B",)), ("c", ("K",)), ("d", ("D",)), ("e", ("EH",)), ("f", ("F",)),
        ("g", ("G",)), ("h", ("HH",)), ("i", ("IH",)), ("j", ("JH",)), ("k", ("K",)), ("l", ("L",)),
        ("m", ("M",)), ("n", ("N",)), ("o", ("AA",)), ("p", ("P",)), ("q", ("K",)), ("r", ("R",)),
        ("s", ("S",)), ("t", ("T",)), ("u", ("AH",)), ("v", ("V",)), ("w", ("W",)), ("x", ("K", "S")),
        ("y", ("IY",)), ("z", ("Z",)),
    ],
    key=lambda gp: -len(gp[0]),
)
_VOWELS = set("aeiouy")
_LONG = {"a": ("EY",), "e": ("IY",), "i": ("AY",), "o": ("OW",), "u": ("Y", "UW"), "y": ("AY",)}
_LETTER_NAMES = {
    "a": ("EY",), "b": ("B", "IY"), "c": ("S", "IY"), "d": ("D", "IY"), "e": ("IY",), "f": ("EH", "F"),
    "g": ("JH", "IY"), "h": ("EY", "CH"), "i": ("AY",), "j": ("JH", "EY"), "k": ("K", "EY"), "l": ("EH", "L"),
    "m": ("EH", "M"), "n": ("EH", "N"), "o": ("OW",), "p": ("P", "IY"), "q": ("K", "Y", "UW"), "r": ("AA", "R"),
    "s": ("EH", "S"), "t": ("T", "IY"), "u": ("Y", "UW"), "v": ("V", "IY"), "w": ("D", "AH", "B", "AH", "L", "Y", "UW"),
    "x": ("EH", "K", "S"), "y": ("W", "AY"), "z": ("Z", "IY"),
}


def letter_to_sound(word: str, spell: bool = True) -> tuple[str, ...]:
    """Phones for a word by spelling rules alone (used for what the dictionary cannot cover).

    A whole word without vowels ("hldr") is spelled out letter by letter when ``spell`` is true.
    """
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return ()
    if spell and not (set(w) & _VOWELS):  # "hldr", "tv": people spell it out
        return tuple(p for ch in w for p in _LETTER_NAMES[ch])
    phones: list[str] = []
    i = 0
    while i < len(w):
        rest = w[i:]
        # silent final e ("stripe"), and the vowel before it is long: a-consonant-e
        if rest == "e" and i >= 2 and w[i - 1] not in _VOWELS and len(w) > 2:
            break
        if (
            len(rest) >= 3 and rest[0] in "aiou" and rest[1] not in _VOWELS and rest[2] == "e"
            and (len(rest) == 3 or rest[3:] in ("s", "d", "r", "ly"))
        ):
            phones.extend(_LONG[rest[0]])
            i += 1
            continue
        if rest[0] == "c" and len(rest) > 1 and rest[1] in "eiy":
            phones.append("S")
            i += 1
            continue
        if rest[0] == "g" and len(rest) > 1 and rest[1] in "eiy" and not rest.startswith("get"):
            phones.append("JH")
            i += 1
            continue
        if rest[0] == "y" and i == 0:
            phones.append("Y")
            i += 1
            continue
        if rest == "y" and i > 0:
            phones.append("IY")
            break
        for graph, ph in _GRAPHEMES:
            if rest.startswith(graph):
                phones.extend(ph)
                i += len(graph)
                break
        else:  # pragma: no cover - every letter has a rule
            i += 1
    # collapse doubled phones from joins ("ck" after "c")
    out: list[str] = []
    for p in phones:
        if not out or out[-1] != p:
            out.append(p)
    return tuple(out)


_SUFFIXES: list[tuple[str, tuple[str, ...]]] = [
    ("ing", ("IH", "NG")), ("ers", ("ER", "Z")), ("er", ("ER",)), ("ed", ("D",)), ("ies", ("IY", "Z")),
    ("es", ("IH", "Z")), ("s", ("Z",)), ("ly", ("L", "IY")), ("y", ("IY",)), ("ey", ("IY",)),
]


def _split_cost(word: str, dic: dict[str, tuple[str, ...]]) -> tuple[float, tuple[str, ...]]:
    """Cheapest way to say ``word`` as dictionary words (cost 1 each) plus rule-read pieces (cost 3 + length).

    Dynamic programming over split points; pieces of one or two letters only come from the rules.
    """
    n = len(word)
    best: list[tuple[float, tuple[str, ...]] | None] = [None] * (n + 1)
    best[0] = (0.0, ())
    for end in range(1, n + 1):
        candidates = []
        for start in range(0, end):
            prev = best[start]
            if prev is None:
                continue
            piece = word[start:end]
            if len(piece) >= 3 and piece in dic:
                candidates.append((prev[0] + 1.0, prev[1] + dic[piece]))
            if start > 0:
                for suffix, ph in _SUFFIXES:
                    if piece == suffix and end == n:
                        candidates.append((prev[0] + 0.5, prev[1] + ph))
            candidates.append((prev[0] + 3.0 + 0.5 * len(piece), prev[1] + letter_to_sound(piece, spell=False)))
        best[end] = min(candidates, key=lambda c: c[0])
    return best[n]  # type: ignore[return-value]


def pronounce(word: str, dic: dict[str, tuple[str, ...]] | None = None) -> tuple[str, ...]:
    """Phones for one spoken word: the dictionary when it knows it, else split + rules."""
    dic = cmudict() if dic is None else dic
    word = word.lower()
    if word in dic:
        return dic[word]
    if len(word) == 1 and word in _LETTER_NAMES:
        return _LETTER_NAMES[word]
    if not re.fullmatch(r"[a-z]+", word) or not (set(word) & _VOWELS):
        return letter_to_sound(word)
    return _split_cost(word, dic)[1]


def is_known(word: str) -> bool:
    return word.lower() in cmudict()
