"""The word-level tests of :class:`~bansos_linkage.linkage.comparisons.NameComparison`:
the same words in any order, initials that fit full words, one name's words all in the
other's, a nickname that begins or ends a word of the other name.

Each test takes a vocabulary of names (:class:`Names`, derived once per vocabulary)
and two arrays of positions in it, and answers for all pairs at once on integer word
ids; names of more than :data:`MAX_WORDS` words take a per-pair path in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class Names:
    """A vocabulary of names with what the word-level tests need of each, derived once."""

    text: np.ndarray
    words: np.ndarray
    letters: np.ndarray
    length: np.ndarray
    has_initial: np.ndarray
    word_ids: _WordIds

    @classmethod
    def of(cls, vocabulary: np.ndarray, nicknames: bool = True) -> Names:
        """``nicknames``: also what the nickname test needs (not for phonetic keys)."""
        text = pd.Series(vocabulary, dtype="string").fillna("")
        spaces = text.str.count(" ").to_numpy(dtype=np.int32)
        length = text.str.len().to_numpy(dtype=np.int32)
        padded = " " + text + " "
        return cls(
            text=np.asarray(vocabulary, dtype=object),
            words=np.where(length > 0, spaces + 1, 0).astype(np.int32),
            letters=length - spaces,
            length=length,
            has_initial=padded.str.contains(r" [A-Z] ", regex=True).to_numpy(dtype=bool),
            word_ids=_WordIds.of(text.to_numpy(dtype=object), nicknames),
        )


#: Names of more words than this are tested word by word in Python (the vectorised
#: tests hold each name's words in a row of this many integers).
MAX_WORDS = 8


@dataclass(frozen=True)
class _WordIds:
    """Each name's words (``str.split``) as integer ids, so that the word-level tests
    compare integers over all pairs at once. Rows are as wide as the longest name,
    -1 padded; names of more than :data:`MAX_WORDS` words are ``long`` (no row)."""

    ordered: np.ndarray  # (names, width) word ids as written (-1 padding last)
    multiset: np.ndarray  # (names, width) word ids ascending (-1 padding first)
    distinct: np.ndarray  # (names, width) distinct word ids ascending (-1 padding first)
    n_distinct: np.ndarray
    signature: np.ndarray  # per name, bit (word id % 64) set for each of its words
    squeezed: np.ndarray  # id of the name without its spaces
    n_words: np.ndarray
    long: np.ndarray
    word_length: np.ndarray  # per word id, and 0 last (for the -1 padding)
    first_letter: np.ndarray  # per word id, and -1 last (for the -1 padding)
    cores: np.ndarray  # (names, 2) ids of the name's nickname cores (-1: none)
    affixes: np.ndarray  # sorted word id * n_cores + core id: the core begins or ends the word
    n_cores: int

    @classmethod
    def of(cls, text: np.ndarray, nicknames: bool = True) -> _WordIds:
        # split and numbered by Arrow: a Python loop over the words took most of the time
        raw = pa.array(text, type=pa.large_string())
        arrow = pc.utf8_trim_whitespace(raw)
        split = pc.utf8_split_whitespace(arrow)  # as str.split(): runs of spaces are one
        empty = pc.equal(arrow, "").to_numpy(zero_copy_only=False)
        lengths = pc.list_value_length(split).to_numpy(zero_copy_only=False)
        n_words = np.where(empty, 0, lengths).astype(np.int64)  # "" splits into [""]
        long = n_words > MAX_WORDS
        count = np.where(long, 0, n_words)
        encoded = pc.list_flatten(pc.filter(split, pa.array(count > 0))).dictionary_encode()
        words = encoded.dictionary.to_numpy(zero_copy_only=False)
        width = max(int(count.max(initial=0)), 1)
        ids = np.full((len(text), width), -1, dtype=np.int32)
        rows = np.repeat(np.arange(len(text)), count)
        columns = np.arange(len(rows)) - np.repeat(np.cumsum(count) - count, count)
        ids[rows, columns] = encoded.indices.to_numpy(zero_copy_only=False)
        multiset = np.sort(ids, axis=1)
        repeated = np.zeros_like(multiset, dtype=bool)
        repeated[:, 1:] = multiset[:, 1:] == multiset[:, :-1]
        distinct = np.sort(np.where(repeated, -1, multiset), axis=1)
        no_spaces = pc.replace_substring(raw, " ", "")
        squeezed = no_spaces.dictionary_encode().indices.to_numpy(zero_copy_only=False)
        cores, core_index = _nickname_cores(text) if nicknames else _no_cores(len(text))
        return cls(
            ordered=ids,
            multiset=multiset,
            distinct=distinct,
            n_distinct=(distinct >= 0).sum(axis=1),
            signature=_signatures(distinct),
            squeezed=squeezed.astype(np.int64),
            n_words=n_words,
            long=long,
            word_length=np.fromiter([*map(len, words), 0], dtype=np.int64, count=len(words) + 1),
            first_letter=np.fromiter([*(ord(w[0]) for w in words), -1], np.int64, len(words) + 1),
            cores=cores,
            affixes=_affixes(words, core_index),
            n_cores=max(len(core_index), 1),
        )


def _signatures(ids: np.ndarray) -> np.ndarray:
    """Per row of word ids (-1: none), one bit per word (id modulo 64): a name whose
    bits are not all among another's has a word the other lacks."""
    bits = np.left_shift(np.uint64(1), (ids % 64).astype(np.uint64))
    return np.bitwise_or.reduce(np.where(ids >= 0, bits, np.uint64(0)), axis=1)


def _no_cores(n: int) -> tuple[np.ndarray, dict[str, int]]:
    return np.full((n, 2), -1, dtype=np.int64), {}


def _nickname_cores(text: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Per name, the ids of what a nickname test looks for in the other name's words
    (see :func:`_fits_nickname`): the name itself and, for a doubled first syllable,
    its second half; -1 where the name is no nickname (two words, under 3 letters)."""
    index: dict[str, int] = {}
    cores = np.full((len(text), 2), -1, dtype=np.int64)
    for i, nick in enumerate(map(str, text)):
        if " " in nick or len(nick) < 3:
            continue
        cores[i, 0] = index.setdefault(nick, len(index))
        half = len(nick) // 2
        if len(nick) >= 5 and nick[:2] == nick[half : half + 2]:
            cores[i, 1] = index.setdefault(nick[half:], len(index))
    return cores, index


def _affixes(words: np.ndarray, cores: dict[str, int]) -> np.ndarray:
    """Sorted word id * len(cores) + core id of every core that begins or ends a longer
    word (only longer words count: the nickname is shorter than the word)."""
    n = max(len(cores), 1)
    keys = [
        wid * n + c
        for wid, word in enumerate(words)
        for size in range(3, len(word))
        for part in (word[:size], word[-size:])
        if (c := cores.get(part)) is not None
    ]
    return np.unique(np.array(keys, dtype=np.int64))


def _only_where(names: Names, mask: np.ndarray, test, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Run a per-pair Python ``test`` on the names only where a cheap ``mask`` allows it."""
    out = np.zeros(len(a), dtype=bool)
    idx = np.flatnonzero(mask)
    texts = zip(names.text[a[idx]], names.text[b[idx]], strict=True)
    out[idx] = [test(x, y) for x, y in texts]
    return out


def _by_word_ids(
    names: Names, mask: np.ndarray, vector, scalar, a, b, python: np.ndarray | None = None
) -> np.ndarray:
    """``vector`` (word ids of pairs -> bool) where ``mask`` allows it; the per-pair
    Python ``scalar`` test, its definition, for pairs with a name too long for the rows
    (and the ``python`` pairs)."""
    long = names.word_ids.long
    python = long[a] | long[b] if python is None else python | long[a] | long[b]
    out = _only_where(names, mask & python, scalar, a, b)
    idx = np.flatnonzero(mask & ~python)
    out[idx] = vector(names.word_ids, a[idx], b[idx])
    return out


def _same_words(x: str, y: str) -> bool:
    """Same words regardless of order, or the same letters with spaces removed."""
    return sorted(x.split()) == sorted(y.split()) or x.replace(" ", "") == y.replace(" ", "")


def same_tokens(names: Names, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`_same_words` of the pairs of names (a, b)."""

    def vector(w: _WordIds, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        same_multiset = (w.multiset[a] == w.multiset[b]).all(axis=1)
        return same_multiset | (w.squeezed[a] == w.squeezed[b])

    # both need the same letters, so the same length once spaces are dropped
    letters_a, letters_b = names.letters[a], names.letters[b]
    mask = (letters_a == letters_b) & (letters_a > 0)
    return _by_word_ids(names, mask, vector, _same_words, a, b)


def _initials_fit(x: str, y: str) -> bool:
    """Word by word, the names agree or one has the other's initial, and at least one
    pair of full words agrees (the names have as many words)."""
    wx, wy = x.split(), y.split()
    full = sum(p == q for p, q in zip(wx, wy, strict=True) if len(p) > 1 and len(q) > 1)
    return full >= 1 and all(
        p == q or (min(len(p), len(q)) == 1 and p[0] == q[0]) for p, q in zip(wx, wy, strict=True)
    )


def initials_compatible(names: Names, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Every word of the shorter name matches a word of the other, initials allowed,
    with at least one full word in common (M YUSUF ~ MUHAMMAD YUSUF): :func:`_initials_fit`."""

    def vector(w: _WordIds, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        p, q = w.ordered[a], w.ordered[b]  # as many words: the -1 padding agrees
        same = p == q
        len_p, len_q = w.word_length[p], w.word_length[q]
        full = (same & (len_p > 1) & (len_q > 1)).any(axis=1)
        initial = (np.minimum(len_p, len_q) == 1) & (w.first_letter[p] == w.first_letter[q])
        return full & (same | initial).all(axis=1)

    # needs as many words on both sides and a one-letter word somewhere
    wa, wb = names.words[a], names.words[b]
    one_letter = names.has_initial[a] | names.has_initial[b]
    mask = (wa == wb) & (wa > 1) & one_letter
    # names split into different numbers of words are refused by the definition
    uneven = names.word_ids.n_words[a] != names.word_ids.n_words[b]
    return _by_word_ids(names, mask, vector, _initials_fit, a, b, uneven)


def _proper_subset(x: str, y: str) -> bool:
    """The words of one name are some but not all of the other's."""
    wx, wy = set(x.split()), set(y.split())
    return wx < wy or wy < wx


def word_subset(names: Names, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`_proper_subset` of the pairs of names (a, b) (as many spaces: no test)."""

    def vector(w: _WordIds, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        sa, sb = w.signature[a], w.signature[b]
        na, nb = w.n_distinct[a], w.n_distinct[b]
        out = np.zeros(len(a), dtype=bool)
        # word by word only where the signatures allow a subset (a few pairs in a hundred)
        for small, big, fewer in (
            (a, b, (na < nb) & (sa & ~sb == 0)),
            (b, a, (nb < na) & (sb & ~sa == 0)),
        ):
            i = np.flatnonzero(fewer)
            out[i] = _all_in(w.distinct[small[i]], w.distinct[big[i]])
        return out

    wa, wb = names.words[a], names.words[b]
    mask = (wa != wb) & (wa > 0) & (wb > 0)
    return _by_word_ids(names, mask, vector, _proper_subset, a, b)


def _all_in(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per row: every word id of ``x`` (-1: none) is in the same row of ``y``."""
    found = (x[:, :, None] == y[:, None, :]).any(axis=2)
    return (found | (x < 0)).all(axis=1)


def _fits_nickname(nick: str, name: str) -> bool:
    """``nick`` is a single word of 3+ letters that begins or ends a longer word of
    ``name``; a doubled first syllable counts once (WAWAN -> WAN in HERMAWAN)."""
    if " " in nick or len(nick) < 3:
        return False
    cores = {nick}
    half = len(nick) // 2
    if len(nick) >= 5 and nick[:2] == nick[half : half + 2]:
        cores.add(nick[half:])  # WAWAN -> WAN, MAMAT -> MAT
    return any(
        len(word) > len(nick) and (word.startswith(core) or word.endswith(core))
        for word in name.split()
        for core in cores
        if len(core) >= 3
    )


def sound_subset(keys: Names | None, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Every word of the shorter name sounds like a word of the other, in any order (on
    a vocabulary of phonetic keys; -1 or no vocabulary: no key). A typo, a doubled
    letter or a vowel in a reordered or shortened name: HUSEIN HERMAWAN /
    MUHAMMAD HERMAWAN HUUSEIN."""
    out = np.zeros(len(a), dtype=bool)
    if keys is None:
        return out
    known = np.flatnonzero((a >= 0) & (b >= 0))
    out[known] = same_tokens(keys, a[known], b[known]) | word_subset(keys, a[known], b[known])
    return out


def nickname(names: Names, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Either name of the pairs (a, b) is a nickname of the other (:func:`_fits_nickname`)."""

    def vector(w: _WordIds, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return _fit_ids(names, w, a, b) | _fit_ids(names, w, b, a)

    def single(c: np.ndarray) -> np.ndarray:
        return (names.words[c] == 1) & (names.length[c] >= 3)

    mask = single(a) | single(b)
    return _by_word_ids(names, mask, vector, _either_nickname, a, b)


def _either_nickname(x: str, y: str) -> bool:
    return _fits_nickname(x, y) or _fits_nickname(y, x)


def _fit_ids(names: Names, w: _WordIds, nick: np.ndarray, name: np.ndarray) -> np.ndarray:
    """:func:`_fits_nickname` on word ids: a core of ``nick`` begins or ends a word of
    ``name`` (a pair of word and core among the affixes) longer than ``nick``."""
    has_core = w.cores[nick, 0] >= 0  # the other names are no nicknames
    nick, name = nick[has_core], name[has_core]
    words = w.multiset[name]
    longer = w.word_length[words] > names.length[nick][:, None]  # padding: length 0
    hit = np.zeros(len(has_core), dtype=bool)
    for k in range(w.cores.shape[1]):
        core = w.cores[nick, k]
        keys = words.astype(np.int64) * w.n_cores + core[:, None]
        at = np.minimum(np.searchsorted(w.affixes, keys), max(len(w.affixes) - 1, 0))
        found = w.affixes[at] == keys if len(w.affixes) else np.zeros(keys.shape, dtype=bool)
        hit[has_core] |= (found & longer & (core >= 0)[:, None]).any(axis=1)
    return hit


__all__ = [
    "MAX_WORDS",
    "Names",
    "initials_compatible",
    "nickname",
    "same_tokens",
    "sound_subset",
    "word_subset",
]
