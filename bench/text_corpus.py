"""A synthetic text-classification corpus for the automation benches and tests. Seeded.

Support-ticket-like texts made of pseudo-words. Each class owns a set of word stems, written with
an inflection (``stem + "s" / "ed" / "ing" / ...``), so a stem seen once in training still matches
an unseen inflection through character n-grams; neighbouring classes (0-1, 1-2, ...) share a few
stems, so they are confusable. Every text mixes common words (shared by all classes, Zipf-like)
with class words at a per-text signal strength drawn from a Beta distribution: some texts carry
one class word or none. A share of texts is ambiguous: their class words come from their own class
and a neighbour about equally. A few characters are mistyped. Class priors are uneven.

`make_corpus` returns the texts, the true class index of each and which ones are ambiguous;
`plant_flips` turns a share of the true labels into wrong ones (uniformly, or towards the
neighbouring class) and says which.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

CLASSES = ("billing", "shipping", "returns", "account", "technical")
PRIORS = (0.32, 0.25, 0.19, 0.14, 0.10)
_SUFFIXES = ("", "s", "ed", "ing", "er", "ness", "ly", "ment")
_SUFFIX_P = (0.34, 0.16, 0.12, 0.12, 0.08, 0.06, 0.06, 0.06)
_ONSETS = ("b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "st", "tr", "pl")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ou", "ea")


@dataclass(frozen=True)
class Corpus:
    texts: list[str]
    truth: npt.NDArray[np.intp]  # per text: the true class index into `classes`
    ambiguous: npt.NDArray[np.bool_]  # per text: drawn half from a neighbouring class
    classes: tuple[str, ...]


def _words(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        syllables = int(rng.integers(2, 4))
        word = "".join(str(rng.choice(_ONSETS)) + str(rng.choice(_VOWELS)) for _ in range(syllables))
        if word not in taken:
            taken.add(word)
            out.append(word)
    return out


def _zipf(n: int, s: float = 1.1) -> npt.NDArray[np.float64]:
    weights = 1.0 / np.arange(1, n + 1) ** s
    return weights / weights.sum()


def make_corpus(
    n: int,
    *,
    seed: int = 7,
    stems_per_class: int = 40,
    shared_stems: int = 8,
    common_words: int = 400,
    signal: tuple[float, float] = (2.5, 5.0),
    ambiguous_share: float = 0.1,
    typo_rate: float = 0.03,
    vocabulary_seed: int | None = None,
) -> Corpus:
    """`n` texts. The vocabulary comes from `vocabulary_seed` (default: `seed`), so two corpora drawn
    with different seeds and the same vocabulary seed are the same language (a pool and a test set)."""
    vocab_rng = np.random.default_rng(seed if vocabulary_seed is None else vocabulary_seed)
    k = len(CLASSES)
    taken: set[str] = set()
    common = _words(vocab_rng, common_words, taken)
    own = [_words(vocab_rng, stems_per_class, taken) for _ in range(k)]
    # Neighbouring classes share stems: class c also uses some of class c+1's.
    stems = [list(own[c]) + own[(c + 1) % k][:shared_stems] + own[(c - 1) % k][-shared_stems:] for c in range(k)]
    common_p = _zipf(len(common))
    stem_p = [_zipf(len(s), 0.9) for s in stems]

    rng = np.random.default_rng(seed)
    truth = rng.choice(k, size=n, p=np.asarray(PRIORS)).astype(np.intp)
    ambiguous = rng.random(n) < ambiguous_share
    texts: list[str] = []
    for i in range(n):
        c = int(truth[i])
        other = (c + (1 if rng.random() < 0.5 else -1)) % k
        length = 5 + int(rng.poisson(9))
        strength = float(rng.beta(*signal))
        is_class = rng.random(length) < strength
        from_other = ambiguous[i] & (rng.random(length) < 0.5)
        common_pick = rng.choice(len(common), size=length, p=common_p)
        suffix_pick = rng.choice(len(_SUFFIXES), size=length, p=_SUFFIX_P)
        own_pick = rng.choice(len(stems[c]), size=length, p=stem_p[c])
        other_pick = rng.choice(len(stems[other]), size=length, p=stem_p[other])
        typo = rng.random(length) < typo_rate
        typo_at = rng.random(length)
        typo_char = rng.integers(0, 26, size=length)
        tokens: list[str] = []
        for t in range(length):
            if is_class[t]:
                stem = stems[other][other_pick[t]] if from_other[t] else stems[c][own_pick[t]]
                word = stem + _SUFFIXES[suffix_pick[t]]
            else:
                word = common[common_pick[t]]
            if typo[t]:
                at = int(typo_at[t] * len(word))
                word = word[:at] + string.ascii_lowercase[typo_char[t]] + word[at + 1 :]
            tokens.append(word)
        texts.append(" ".join(tokens))
    return Corpus(texts=texts, truth=truth, ambiguous=ambiguous, classes=CLASSES)


def plant_flips(
    truth: npt.NDArray[np.intp], n_classes: int, *, rate: float, seed: int, neighbour: bool = False
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """Given labels with exactly `round(rate * n)` of them wrong, and the mask of the flipped ones.

    A flipped label is another class drawn uniformly, or (`neighbour`) the next class up or down
    (the confusable one), each half the time."""
    rng = np.random.default_rng(seed)
    n = truth.size
    flipped = np.zeros(n, dtype=bool)
    flipped[rng.choice(n, size=round(rate * n), replace=False)] = True
    given = truth.copy()
    count = int(flipped.sum())
    up_or_down = np.where(rng.random(count) < 0.5, 1, n_classes - 1)
    step = up_or_down if neighbour else rng.integers(1, n_classes, size=count)
    given[flipped] = (truth[flipped] + step) % n_classes
    return given.astype(np.intp), flipped
