"""Comparisons: each an ordered list of agreement levels, evaluated on candidate pairs.

A comparison looks at one or a few fields of a pair and returns, per pair, the
index of the first level that holds (``-1`` when a value is missing: missing
at random, it drops out of the likelihood instead of counting as
disagreement) and a continuous similarity for the ML matcher. Level numbers
count up from ``0`` = "else" to the strongest agreement, as in Splink, and
``levels`` lists the labels from strongest to weakest.

All work is vectorised over the pairs of one chunk (``left_rows``,
``right_rows`` are positions), so a chunk can be compared anywhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bansos_linkage.linkage.blocking import KEY_SOURCES, Rule, rule_keys
from bansos_linkage.linkage.encoding import same_vocabulary
from bansos_linkage.linkage.name_tests import (
    Names,
    initials_compatible,
    nickname,
    same_tokens,
    sound_subset,
    word_subset,
)
from bansos_linkage.linkage.similarity import distinct_scores, jaro_winkler

NULL_LEVEL = -1


@dataclass(frozen=True)
class ComparisonResult:
    """Levels (``int8``, -1 = missing) and a similarity in 0..1 (NaN = missing) per pair."""

    levels: np.ndarray
    similarity: np.ndarray


def _values(frame: pd.DataFrame, column: str, rows: np.ndarray) -> np.ndarray:
    """Values at ``rows`` as an object array, None where missing or absent."""
    if column not in frame:
        return np.full(len(rows), None, dtype=object)
    values = np.asarray(frame[column].array[rows], dtype=object)  # select, then convert
    return np.where(pd.isna(values), None, values)  # type: ignore[call-overload]


def _pair_codes(
    left: pd.DataFrame,
    right: pd.DataFrame,
    left_column: str,
    right_column: str,
    left_rows: np.ndarray,
    right_rows: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Codes of the two columns at the given rows in one vocabulary (-1 = missing), and
    that vocabulary; free for columns :mod:`bansos_linkage.linkage.encoding` encoded together."""
    a, b = left.get(left_column), right.get(right_column)
    if a is not None and b is not None and same_vocabulary(a, b):
        return a.array.codes[left_rows], b.array.codes[right_rows], a.dtype.categories  # type: ignore[union-attr]
    one = a if b is None else b if a is None else None
    if one is not None and isinstance(one.dtype, pd.CategoricalDtype):
        # a column one register lacks: every pair is missing, no value need be read
        codes = one.array.codes[left_rows if one is a else right_rows]
        absent = np.full(len(right_rows if one is a else left_rows), -1, dtype=codes.dtype)
        pair = (codes, absent) if one is a else (absent, codes)
        return (*pair, one.dtype.categories)
    # as Series: a column of one type on both sides (a relationship code, Int8) is
    # factorised as it is, not as Python objects
    va, vb = _rows(left, left_column, left_rows), _rows(right, right_column, right_rows)
    codes, vocabulary = pd.factorize(pd.concat([va, vb], ignore_index=True), use_na_sentinel=True)
    vocabulary = pd.Index(np.asarray(vocabulary, dtype=object), dtype=object)
    return codes[: len(va)], codes[len(va) :], vocabulary


def _rows(frame: pd.DataFrame, column: str, rows: np.ndarray) -> pd.Series:
    """A column's values at ``rows`` (all missing where the column is absent)."""
    if column not in frame:
        return pd.Series(np.full(len(rows), None, dtype=object))
    return pd.Series(frame[column].array[rows])


def _equal(
    left: pd.DataFrame,
    right: pd.DataFrame,
    left_column: str,
    right_column: str,
    left_rows: np.ndarray,
    right_rows: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(missing on either side, equal and present) per pair."""
    a, b, _ = _pair_codes(left, right, left_column, right_column, left_rows, right_rows)
    missing = (a < 0) | (b < 0)
    return missing, ~missing & (a == b)


# Per-value derivations (NIK digits, name word counts) keyed by vocabulary: computed once
# per vocabulary in each process, not once per chunk. The vocabulary is kept alive with
# its entry so that its id cannot be reused.
_PER_VALUE: dict[tuple[int, str], tuple[pd.Index, Any]] = {}
#: Derivations kept: a run holds a few vocabularies per comparison and per register
#: pair (fitting, linking, each register's duplicates); clearing them all at once
#: made forked workers derive the largest ones again.
_PER_VALUE_SIZE = 64


def _per_value(vocabulary: pd.Index, what: str, derive: Callable[[np.ndarray], Any]) -> Any:
    key = (id(vocabulary), what)
    hit = _PER_VALUE.get(key)
    if hit is not None and hit[0] is vocabulary:
        return hit[1]
    result = derive(np.asarray(vocabulary, dtype=object))
    if len(_PER_VALUE) >= _PER_VALUE_SIZE:  # the least recently derived goes
        del _PER_VALUE[next(iter(_PER_VALUE))]
    _PER_VALUE[key] = (vocabulary, result)
    return result


def _assign(conditions: Sequence[np.ndarray], missing: np.ndarray) -> np.ndarray:
    """First true condition wins; conditions are listed strongest first."""
    n_levels = len(conditions) + 1
    out = np.zeros(len(missing), dtype=np.int8)
    decided = np.zeros(len(missing), dtype=bool)
    for k, cond in enumerate(conditions):
        hit = cond & ~decided
        out[hit] = n_levels - 1 - k
        decided |= hit
    out[missing] = NULL_LEVEL
    return out


def _assign_lazily(tests: Sequence, missing: np.ndarray) -> np.ndarray:
    """As :func:`_assign`, but each test (positions -> bool) sees only undecided pairs."""
    n_levels = len(tests) + 1
    out = np.zeros(len(missing), dtype=np.int8)
    todo = np.flatnonzero(~missing)
    for k, test in enumerate(tests):
        if not len(todo):
            break
        hit = np.asarray(test(todo), dtype=bool)
        out[todo[hit]] = n_levels - 1 - k
        todo = todo[~hit]
    out[missing] = NULL_LEVEL
    return out


class _Named:
    """A comparison whose ``label`` is its ``name`` field."""

    if TYPE_CHECKING:
        name: str

    @property
    def label(self) -> str:
        return self.name


class _NamedOrColumn:
    """A comparison on one ``column`` whose ``label`` is its ``name``, or (no name) the
    column's."""

    if TYPE_CHECKING:
        name: str
        column: str

    @property
    def label(self) -> str:
        return self.name or self.column


class _ExactOnColumn:
    """A comparison whose strongest level is equality of its ``column`` field."""

    if TYPE_CHECKING:
        column: str

    @property
    def exact_column(self) -> str:
        """The column whose equality is the strongest level (its u comes from value
        frequencies: random pairs rarely agree)."""
        return self.column


@dataclass(frozen=True)
class ExactComparison(_NamedOrColumn, _ExactOnColumn):
    """``exact`` or ``else`` on one column (sex, KK number, relationship, RT ...).

    With ``alternative`` (e.g. ``nik_sex``: the sex the NIK encodes) a value
    missing or different on one side may also agree through the other side's
    alternative, never alternative against alternative.
    """

    column: str
    name: str = ""
    alternative: str | None = None

    @property
    def levels(self) -> tuple[str, ...]:
        return ("exact", "else")

    def compare(
        self, left: pd.DataFrame, right: pd.DataFrame, left_rows: np.ndarray, right_rows: np.ndarray
    ) -> ComparisonResult:
        rows = (left_rows, right_rows)
        missing, equal = _equal(left, right, self.column, self.column, *rows)
        if self.alternative is not None:
            for x, y in ((self.alternative, self.column), (self.column, self.alternative)):
                m2, e2 = _equal(left, right, x, y, *rows)
                equal |= e2
                missing &= m2
        return ComparisonResult(_assign([equal], missing), np.where(missing, np.nan, equal * 1.0))


#: Relationship-to-head changes that one person's records show when the head changes
#: between two snapshots (codes as standardised: 1 head, 2 spouse, 3 child, 4 child-in-law,
#: 5 grandchild, 6 parent or parent-in-law): husband and wife swap the head's role; a
#: married child becomes head and the old head, or the widowed spouse, a parent of it;
#: grandchildren become children; children and children-in-law are confused.
ROLE_CHANGES: frozenset[tuple[int, int]] = frozenset(
    {(1, 2), (1, 3), (1, 4), (1, 6), (2, 6), (3, 5), (3, 4)}
)


@dataclass(frozen=True)
class RelationshipComparison(_NamedOrColumn, _ExactOnColumn):
    """Relationship to the family head: ``exact``, ``role_changed`` (one of
    :data:`ROLE_CHANGES`, either way round), ``else``.

    Why it earns a place: a family often holds two people of one name (a mother and
    a daughter both PUTRI DEWI, BUDI AGUS and his son), and where a register lacks
    their NIKs and birth dates, name and KK cannot tell them apart; their roles can.
    On the tuning mixes it raised F1 on seven of eight scenarios (mix01 0.9935 ->
    0.9949) and roughly halved the label-free FDR estimate's excess.
    """

    column: str = "relationship"
    name: str = ""

    #: The role in the family is the person's: two records of one register carrying one
    #: NIK agree on a date decoded from it whoever holds it, so that date is evidence
    #: about the person only where their roles agree too (see
    #: :mod:`~bansos_linkage.linkage.duplicates`).
    person_evidence = "role"
    #: The level at which two records play one role in their families.
    strong_levels = ("exact",)

    @property
    def levels(self) -> tuple[str, ...]:
        return ("exact", "role_changed", "else")

    def compare(
        self, left: pd.DataFrame, right: pd.DataFrame, left_rows: np.ndarray, right_rows: np.ndarray
    ) -> ComparisonResult:
        a, b, vocabulary = _pair_codes(left, right, self.column, self.column, left_rows, right_rows)
        missing = (a < 0) | (b < 0)
        role = _per_value(vocabulary, "roles", _role_numbers)
        role_a, role_b = role[np.maximum(a, 0)], role[np.maximum(b, 0)]
        # the same code as a number on one side and as text on the other is equal too
        equal = ~missing & ((a == b) | ((role_a == role_b) & (role_a > 0)))
        changed = _ROLE_TABLE[role_a, role_b]
        return ComparisonResult(
            _assign([equal, changed & ~missing], missing), np.where(missing, np.nan, equal * 1.0)
        )


def _role_table() -> np.ndarray:
    table = np.zeros((10, 10), dtype=bool)
    for x, y in ROLE_CHANGES:
        table[x, y] = table[y, x] = True
    return table


_ROLE_TABLE = _role_table()


def _role_numbers(vocabulary: np.ndarray) -> np.ndarray:
    """Each vocabulary value as a code 0..9 (0 for anything that is not a code 1-9)."""
    numbers = pd.to_numeric(pd.Series(vocabulary), errors="coerce")
    numbers = numbers.where(numbers.between(1, 9), 0)
    # one spare entry: an all-missing chunk has an empty vocabulary, yet is looked up
    return np.append(numbers.fillna(0).to_numpy(dtype=np.int64), 0)


@dataclass(frozen=True)
class NameComparison(_Named, _ExactOnColumn):
    """Indonesian names, on standardised ``name`` columns (titles, patronyms and Balinese
    birth-order words are already in their own columns, so they cannot agree here).

    Levels: exact canonical name; same words in any order or joined/split
    (SITI AMINAH = AMINAH SITI = SITIAMINAH); Jaro-Winkler >= ``high``; same
    phonetic key; initials compatible with full words (M. YUSUF / MUHAMMAD YUSUF);
    every word of the shorter name in the longer (OTONG / ASEP OTONG: one register
    has the short name); every word of the shorter name sounding like a word of the
    longer, in any order (``phonetic_words``: HUSEIN HERMAWAN / MUHAMMAD HERMAWAN
    HUUSEIN, a typo on top of a reordered or shortened name); a one-word name that
    begins or ends a longer word of the
    other (WAWAN / HERMAWAN, AGUS / AGUSTINUS, MINAH / SITI AMINAH: nicknames
    replace legal names in village data); Jaro-Winkler >= ``low``; else.
    """

    column: str = "full_name"
    phonetic: str | None = "name_phonetic"
    high: float = 0.94
    low: float = 0.85
    name: str = "name"

    @property
    def person_evidence(self) -> str | None:
        """``"name"``: agreeing full names are evidence about the person itself (not
        a mother's name), which a duplicate within one register needs."""
        return "name" if self.column == "full_name" else None

    @property
    def strong_levels(self) -> tuple[str, ...]:
        """The levels at which the names agree as one person's would."""
        return ("exact", "token_set", "phonetic", "initials", f"jw>={self.high}")

    #: A word dropped: one person's name only where a NIK or KK agrees as well.
    near_levels = ("subset",)

    @property
    def levels(self) -> tuple[str, ...]:
        return (
            "exact",
            "token_set",
            f"jw>={self.high}",
            "phonetic",
            "initials",
            "subset",
            "phonetic_words",
            "nickname",
            f"jw>={self.low}",
            "else",
        )

    def compare(
        self, left: pd.DataFrame, right: pd.DataFrame, left_rows: np.ndarray, right_rows: np.ndarray
    ) -> ComparisonResult:
        rows = (left_rows, right_rows)
        ca, cb, vocabulary = _pair_codes(left, right, self.column, self.column, *rows)
        levels = np.full(len(ca), NULL_LEVEL, dtype=np.int8)
        similarity = np.full(len(ca), np.nan)
        present = np.flatnonzero((ca >= 0) & (cb >= 0))
        if not len(present):
            return ComparisonResult(levels, similarity)
        # every level is a function of the two names alone (the phonetic key is derived
        # from the name), so each distinct pair of names is compared once
        pair = ca[present].astype(np.int64) * len(vocabulary) + cb[present]
        _, first, inverse = np.unique(pair, return_index=True, return_inverse=True)
        ua, ub = ca[present][first], cb[present][first]
        names = _per_value(vocabulary, "names", Names.of)
        jw = distinct_scores(names.text[ua], names.text[ub])
        keys = None
        pa = pb = np.full(len(first), -1, dtype=np.int32)
        if self.phonetic:
            pa, pb, sounds = _pair_codes(left, right, self.phonetic, self.phonetic, *rows)
            pa, pb = pa[present][first], pb[present][first]
            keys = _per_value(sounds, "sounds", _sounds)
        same_key = (pa >= 0) & (pa == pb)
        # each word-level test runs only on the pairs that no stronger level has claimed
        tests = [
            lambda i: ua[i] == ub[i],
            lambda i: same_tokens(names, ua[i], ub[i]),
            lambda i: jw[i] >= self.high,
            lambda i: same_key[i],
            lambda i: initials_compatible(names, ua[i], ub[i]),
            lambda i: word_subset(names, ua[i], ub[i]),
            lambda i: sound_subset(keys, pa[i], pb[i]),
            lambda i: nickname(names, ua[i], ub[i]),
            lambda i: jw[i] >= self.low,
        ]
        levels[present] = _assign_lazily(tests, np.zeros(len(first), dtype=bool))[inverse]
        similarity[present] = jw[inverse]
        return ComparisonResult(levels, similarity)


def _sounds(vocabulary: np.ndarray) -> Names:
    """A vocabulary of phonetic keys for the word tests (no nicknames among keys)."""
    return Names.of(vocabulary, nicknames=False)


@dataclass(frozen=True)
class NikComparison(_Named, _ExactOnColumn):
    """NIK: exact; two adjacent digits swapped; one digit wrong in the date part; an
    exact agreement on a NIK that contradicts its record (``exact_conflict``); else.

    A NIK encodes its holder's district and birth date, so NIKs of different people
    born close together in one district differ in only a digit or two: a partial
    agreement is evidence of a typo only when the records' own birth dates do not
    explain it. Where both records have full birth dates that differ, a NIK that is not
    equal says nothing beyond the date comparison and counts as missing; a NIK
    differing only in the district or the serial (0001 for the first child born that
    day) is ordinary for two people born the same day, and counts as ``else``; so does a
    day that differs by exactly 40 (a woman's NIK carries her day + 40): a man and a
    woman born the same day, twins most often, not a mistyped digit.

    A NIK equal to either record's KK number (the KK typed in the NIK field)
    says nothing about the person: the pair counts as missing, not as a
    disagreement.

    A NIK is evidence about a person only together with what it decodes to: when
    either record's NIK contradicts that record's own birth date or sex (the
    ``conflict`` column, see :func:`nik_conflicts`), an exact agreement gets its own
    weak level, ``exact_conflict``: registers keep a relative's NIK on a member's row
    (the head's NIK typed for a wife or a child), and such a NIK identifies the
    relative, not the member.
    """

    #: The NIK identifies the person: with names that agree, the same NIK makes two
    #: records of one register one person whose dates differ by a typo or a year (see
    #: :mod:`~bansos_linkage.linkage.duplicates`).
    person_evidence = "identifier"
    #: The level at which two records hold the same person's NIK.
    strong_levels = ("exact",)

    column: str = "nik"
    kk_column: str | None = "kk_number"
    conflict: str | None = "nik_conflict"
    date: str | None = "birth_date"
    precision: str = "birth_date_precision"
    name: str = "nik"

    @property
    def levels(self) -> tuple[str, ...]:
        return ("exact", "transposed", "one_digit_date", "exact_conflict", "else")

    def compare(
        self, left: pd.DataFrame, right: pd.DataFrame, left_rows: np.ndarray, right_rows: np.ndarray
    ) -> ComparisonResult:
        rows = (left_rows, right_rows)
        ca, cb, vocabulary = _pair_codes(left, right, self.column, self.column, *rows)
        missing = (ca < 0) | (cb < 0) | self._kk_in_nik_field(left, right, *rows)
        digits = _per_value(vocabulary, "digits", _digits)
        # equal codes are equal NIKs: only the pairs whose codes differ are read digit by digit
        differ = np.flatnonzero(~missing & (ca != cb))
        n_diff, swapped, in_date = (np.zeros(len(ca), dtype=t) for t in (np.int64, bool, bool))
        n_diff[differ], swapped[differ], in_date[differ] = _digit_differences(
            digits[ca[differ]], digits[cb[differ]]
        )
        conflict = _flag(left, self.conflict, left_rows) | _flag(right, self.conflict, right_rows)
        if self.date is not None:
            # the records' own dates differ: the NIKs' difference is theirs, not a typo
            some = np.flatnonzero(n_diff > 0)
            missing[some] |= self._dates_differ(left, right, left_rows[some], right_rows[some])
        conditions = [
            (n_diff == 0) & ~conflict,
            swapped,
            (n_diff == 1) & in_date,
            n_diff == 0,
        ]
        similarity = np.where(missing, np.nan, 1 - n_diff / 16)
        return ComparisonResult(_assign([c & ~missing for c in conditions], missing), similarity)

    def _dates_differ(
        self, left: pd.DataFrame, right: pd.DataFrame, li: np.ndarray, ri: np.ndarray
    ) -> np.ndarray:
        assert self.date is not None
        a, b = _days(left, self.date, li), _days(right, self.date, ri)
        precise = ~_vague(left, self.precision, li) & ~_vague(right, self.precision, ri)
        return precise & ~np.isnat(a) & ~np.isnat(b) & (a != b)

    def _kk_in_nik_field(
        self, left: pd.DataFrame, right: pd.DataFrame, li: np.ndarray, ri: np.ndarray
    ) -> np.ndarray:
        out = np.zeros(len(li), dtype=bool)
        if self.kk_column is None:
            return out
        nik, kk = self.column, self.kk_column
        for frame_a, frame_b, rows_a, rows_b in (
            (left, left, li, li),
            (left, right, li, ri),
            (right, left, ri, li),
            (right, right, ri, ri),
        ):
            out |= _equal(frame_a, frame_b, nik, kk, rows_a, rows_b)[1]
        return out


#: Positions of the birth date (DDMMYY) and the 4-digit serial in a NIK.
DATE_START, SERIAL_START = 6, 12


def _digits(values: np.ndarray) -> np.ndarray:
    """The 16 characters of each NIK (left-padded with zeros) as a (n, 16) array."""
    text = pd.Series(values, dtype="string").fillna("").str.rjust(16, "0").str.slice(0, 16)
    ascii_bytes = _fixed_width_bytes(text, 16)
    if ascii_bytes is not None:  # one byte per character: no Python string per value
        return ascii_bytes.astype(np.uint32).view("U1")
    fixed = text.to_numpy(dtype=object).astype("U16")
    return fixed.view("U1").reshape(len(values), 16) if len(values) else np.zeros((0, 16), "U1")


def _fixed_width_bytes(text: pd.Series, width: int) -> np.ndarray | None:
    """The UTF-8 bytes of strings all ``width`` bytes long, as (n, width) read off the
    Arrow buffer: ``width`` characters padded to ``width`` bytes are ASCII, one byte each.
    None for any other strings (or not Arrow-backed)."""
    try:
        arr = pa.array(text.array)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not len(arr) or arr.null_count or not pa.types.is_large_string(arr.type):
        return None
    lengths = pc.min_max(pc.binary_length(arr))
    if lengths["min"].as_py() != width or lengths["max"].as_py() != width:
        return None
    _, offsets, data = arr.buffers()
    start = int(np.frombuffer(offsets, dtype=np.int64, count=1, offset=8 * arr.offset)[0])
    flat = np.frombuffer(data, dtype=np.uint8, count=width * len(arr), offset=start)
    return flat.reshape(len(arr), width)


def _digit_differences(da: np.ndarray, db: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of NIK pairs (their digits): how many digits differ, whether two adjacent digits
    are swapped, whether a digit of the date differs (a typo, not the other sex's day)."""
    diff = da.view(np.uint32) != db.view(np.uint32)  # code points: faster than text
    n_diff = diff.sum(axis=1)
    two = np.flatnonzero(n_diff == 2)
    swapped = np.zeros(len(da), dtype=bool)
    swapped[two] = _adjacent_swap(da[two], db[two], diff[two])
    # day and day + 40 is a man and a woman born the same day (twins, neighbours), not
    # a typo: no typo key is four digits from another
    in_date = diff[:, DATE_START:SERIAL_START].any(axis=1)
    in_date &= ~_sex_digit_apart(da, db, diff[:, DATE_START] & (n_diff == 1))
    return n_diff, swapped, in_date


def _sex_digit_apart(da: np.ndarray, db: np.ndarray, only_day_tens: np.ndarray) -> np.ndarray:
    """Of the NIK pairs that differ only in the tens digit of the day (``only_day_tens``),
    those four apart: one birth date, the other sex (a woman's NIK has her day + 40).
    Only those few pairs' digits are read."""
    out = np.zeros(len(da), dtype=bool)
    rows = np.flatnonzero(only_day_tens)
    a, b = da[rows, DATE_START], db[rows, DATE_START]
    digits = np.char.isdigit(a) & np.char.isdigit(b)
    a, b = (np.where(digits, x, "0").astype(np.int8) for x in (a, b))
    out[rows] = digits & (np.abs(a - b) == 4)
    return out


def _adjacent_swap(da: np.ndarray, db: np.ndarray, diff: np.ndarray) -> np.ndarray:
    first = np.argmax(diff, axis=1)
    rows = np.arange(len(da))
    nxt = np.minimum(first + 1, 15)
    return diff[rows, nxt] & (da[rows, first] == db[rows, nxt]) & (da[rows, nxt] == db[rows, first])


@dataclass(frozen=True)
class DateComparison(_Named):
    """Birth dates: exact; day and month swapped; same year and month; within
    ``within_days``; a year-only date agreeing on the year; same year; one year
    off; same day and month in another year (a mistyped year); else. A date known only to the
    year (``precision`` column = "year") can at best agree on the year.

    With ``alternative`` (default: the birth date decoded from the NIK) a record's
    recorded date and its NIK date both count, and the best level of the pairings
    wins (never NIK date against NIK date: that is the NIK comparison's evidence),
    so a mistyped or year-only date field is rescued by a correct NIK. A record whose
    NIK contradicts its own date or sex (the ``conflict`` column) offers no NIK date:
    that NIK is someone else's, and its date would agree with that person.
    """

    column: str = "birth_date"
    precision: str = "birth_date_precision"
    alternative: str | None = "nik_birth_date"
    conflict: str | None = "nik_conflict"
    within_days: int = 45
    name: str = "birth_date"

    #: Birth dates are evidence about the person itself (see ``NameComparison``).
    person_evidence = "birth_date"
    #: The levels at which the dates agree as one person's would.
    strong_levels = ("exact", "day_month_swapped")
    #: The levels that do not contradict agreeing names (missing does not either).
    compatible_levels = ("exact", "day_month_swapped", "year_only_agrees")
    #: Dates a typo apart (a day or a year digit mistyped): closer than two siblings'
    #: births, so with agreeing names and a shared NIK or KK, one person.
    typo_levels = ("within_45d", "same_month", "year_typo")
    #: Dates a year apart: a mistyped year, or siblings; one person only with the same NIK.
    year_apart_levels = ("one_year_off",)

    @property
    def levels(self) -> tuple[str, ...]:
        return (
            "exact",
            "day_month_swapped",
            "same_month",
            f"within_{self.within_days}d",
            "year_only_agrees",
            "same_year",
            "one_year_off",
            "year_typo",
            "else",
        )

    def compare(
        self, left: pd.DataFrame, right: pd.DataFrame, left_rows: np.ndarray, right_rows: np.ndarray
    ) -> ComparisonResult:
        # each side's dates split into year, month and day once, for all the pairings
        a = _Dates.of(_days(left, self.column, left_rows))
        b = _Dates.of(_days(right, self.column, right_rows))
        vague_a = _vague(left, self.precision, left_rows)
        vague_b = _vague(right, self.precision, right_rows)
        levels, sims = self._levels(a, b, vague_a, vague_b)
        if self.alternative is not None:
            alt_a = self._nik_dates(left, left_rows)
            alt_b = self._nik_dates(right, right_rows)
            exact = np.zeros(len(left_rows), dtype=bool)  # a NIK date is always to the day
            for x, y, vx, vy in ((alt_a, b, exact, vague_b), (a, alt_b, vague_a, exact)):
                lv, sv = self._levels(x, y, vx, vy)
                levels, sims = np.maximum(levels, lv), np.fmax(sims, sv)
        return ComparisonResult(levels, sims)

    def recorded_only(self) -> DateComparison:
        """This comparison on the recorded dates alone, without the NIK dates: what the
        dates say about two records that carry one NIK (its date repeats the NIK's
        agreement; see :mod:`~bansos_linkage.linkage.duplicates`)."""
        return dataclasses.replace(self, alternative=None)

    def _nik_dates(self, frame: pd.DataFrame, rows: np.ndarray) -> _Dates:
        assert self.alternative is not None
        days = _days(frame, self.alternative, rows)
        days[_flag(frame, self.conflict, rows)] = np.datetime64("NaT")
        return _Dates.of(days)

    def _levels(
        self, a: _Dates, b: _Dates, vague_a: np.ndarray, vague_b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        missing = a.missing | b.missing
        exact_known = ~vague_a & ~vague_b
        (ya, ma, da), (yb, mb, db) = a.ymd, b.ymd
        apart = np.abs((a.days - b.days).astype(np.int64))
        days = np.where(missing, np.nan, apart.astype(float))
        same_year = ya == yb
        conditions = [
            exact_known & (days == 0),
            exact_known & same_year & (da == mb) & (ma == db),
            exact_known & same_year & (ma == mb),
            exact_known & (days <= self.within_days),
            # a date known only to the year agrees as far as it goes: its own level,
            # stronger than two full dates that differ within the year
            ~exact_known & same_year,
            same_year,
            np.abs(ya - yb) == 1,
            # same day and month, another year: a mistyped year digit
            exact_known & (da == db) & (ma == mb),
        ]
        conditions = [np.asarray(c, dtype=bool) & ~missing for c in conditions]
        similarity = np.where(missing, np.nan, np.exp(-np.nan_to_num(days) / 365.0))
        return _assign(conditions, missing), similarity


class _Dates(NamedTuple):
    """Dates (``datetime64[D]``), which are missing, and their year, month and day."""

    days: np.ndarray
    missing: np.ndarray
    ymd: tuple[np.ndarray, np.ndarray, np.ndarray]

    @classmethod
    def of(cls, days: np.ndarray) -> _Dates:
        return cls(days, np.isnat(days), _year_month_day(days))


def _days(frame: pd.DataFrame, column: str, rows: np.ndarray) -> np.ndarray:
    """Dates at ``rows`` as ``datetime64[D]`` (NaT where missing or absent)."""
    if column not in frame:
        return np.full(len(rows), np.datetime64("NaT"), dtype="datetime64[D]")
    col = frame[column]
    if not pd.api.types.is_datetime64_any_dtype(col):
        col = pd.to_datetime(pd.Series(_values(frame, column, rows)))
        rows = np.arange(len(rows))
    return col.to_numpy()[rows].astype("datetime64[D]")


def _year_month_day(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of ``datetime64[D]`` values by integer arithmetic (H. Hinnant's
    civil-from-days), several times faster than numpy's calendar casts; NaT gives junk
    that callers mask as missing."""
    z = d.astype(np.int64) + 719_468  # days since 0000-03-01
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153  # months from March
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, doy - (153 * mp + 2) // 5 + 1


def _flag(frame: pd.DataFrame, column: str | None, rows: np.ndarray) -> np.ndarray:
    """A boolean column at ``rows`` (False where missing or absent)."""
    if column is None or column not in frame:
        return np.zeros(len(rows), dtype=bool)
    values = frame[column].to_numpy()  # no copy for a plain bool column
    if values.dtype == bool:
        return values[rows]
    return pd.array(values[rows], dtype="boolean").fillna(False).to_numpy(dtype=bool)


#: The standardised columns :func:`nik_conflicts` reads.
CONFLICT_SOURCES = ("nik_birth_date", "nik_sex", "birth_date", "birth_date_precision", "sex")


def nik_conflicts(records: pd.DataFrame) -> np.ndarray:
    """Per record: does its NIK contradict its own birth date or sex?

    A NIK encodes its holder's birth date (and sex, women's day + 40). It contradicts
    the record when the years differ by two or more (and day and month differ too: a
    mistyped year digit keeps them), or when the sexes differ and the dates do not
    confirm each other. Registers keep a relative's NIK on a member's row; such a NIK
    agrees with the relative's record, and this flag stops it counting as the member's.
    Unknown (no decodable NIK, no date or sex) is no conflict.

    Examples
    --------
    >>> records = pd.DataFrame({
    ...     "nik_birth_date": pd.to_datetime(["1960-05-01", "1960-05-01", "1960-05-01"]),
    ...     "nik_sex": ["M", "M", "M"],
    ...     "birth_date": pd.to_datetime(["1960-05-01", "1988-02-11", "1961-05-01"]),
    ...     "sex": ["M", "F", "M"]})
    >>> nik_conflicts(records).tolist()
    [False, True, False]
    """
    n = len(records)
    if "nik_birth_date" not in records or "birth_date" not in records:
        return np.zeros(n, dtype=bool)
    nik_date = pd.to_datetime(records["nik_birth_date"]).to_numpy().astype("datetime64[D]")
    own = pd.to_datetime(records["birth_date"]).to_numpy().astype("datetime64[D]")
    dated = ~np.isnat(nik_date) & ~np.isnat(own)
    (y1, m1, d1), (y2, m2, d2) = _year_month_day(nik_date), _year_month_day(own)
    vague = _vague(records, "birth_date_precision", np.arange(n))
    same_day_month = (m1 == m2) & (d1 == d2) & ~vague
    years_apart = dated & (np.abs(y1 - y2) >= 2) & ~same_day_month
    confirmed = dated & (np.abs((nik_date - own).astype(np.int64)) <= 45)
    confirmed |= dated & same_day_month
    conflict = years_apart
    if "nik_sex" in records and "sex" in records:
        # pandas-stubs take no None as na_value
        a = records["nik_sex"].astype("string").to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]
        b = records["sex"].astype("string").to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]
        known = pd.notna(a) & pd.notna(b)
        conflict = conflict | (known & (a != b) & ~confirmed)
    return np.asarray(conflict, dtype=bool)


def _vague(frame: pd.DataFrame, precision: str, rows: np.ndarray) -> np.ndarray:
    """Dates known only to the year or month (the ``precision`` column)."""
    col = frame.get(precision)
    if col is not None and isinstance(col.dtype, pd.CategoricalDtype):
        per_value = np.isin(np.asarray(col.dtype.categories, dtype=object), ("year", "month"))
        return np.append(per_value, False)[col.array.codes[rows]]  # code -1: last entry
    return np.isin(_values(frame, precision, rows), ("year", "month"))


@dataclass(frozen=True)
class RegionComparison(_Named):
    """Where the two records live and which family card they are on: same KK number
    (with ``kk_column``), then same village, district, regency or province.

    Codes below the province are only compared when both records use the same coding
    scheme (BPS and Kemendagri differ); across schemes, the same village name within the
    province counts as the same village. With ``rt`` and ``rw``, the same RT and RW (or
    RW) within the village are levels of their own: the neighbourhood still agrees when
    a family got a new KK. The family card and the region are one
    comparison because they are not independent: members of one family agree on both,
    and counting them separately would credit a household member twice.
    """

    scheme: str = "region_scheme"
    kk_column: str | None = None
    village_name: str | None = "village_name"
    rt: str | None = None
    rw: str | None = None
    name: str = "region"

    #: Without the province there is nothing to compare (the codes below it, the
    #: village name, the KK are optional).
    main_columns = ("province_code",)
    #: The KK number is the family's: with agreeing names, the same KK makes two records
    #: of one register one person whose dates differ by a typo (see
    #: :mod:`~bansos_linkage.linkage.duplicates`).
    person_evidence = "household"
    #: The level at which two records are on one family card.
    strong_levels = ("same_kk",)

    @property
    def exact_column(self) -> str | None:
        """The KK number, whose equality is the strongest level (when compared)."""
        return self.kk_column

    @property
    def levels(self) -> tuple[str, ...]:
        top: tuple[str, ...] = ("same_kk",) if self.kk_column else ()
        top += ("same_rt", "same_rw") if self.rt and self.rw else ()
        return (*top, "village", "district", "regency", "province", "else")

    def compare(
        self, left: pd.DataFrame, right: pd.DataFrame, left_rows: np.ndarray, right_rows: np.ndarray
    ) -> ComparisonResult:
        rows = (left_rows, right_rows)
        same_scheme = _equal(left, right, self.scheme, self.scheme, *rows)[1]
        conditions = []
        for col in ("village_code", "district_code", "regency_code", "province_code"):
            missing, equal = _equal(left, right, col, col, *rows)
            conditions.append(equal if col == "province_code" else equal & same_scheme)
        if self.village_name is not None:
            named = _equal(left, right, self.village_name, self.village_name, *rows)[1]
            conditions[0] = conditions[0] | (named & conditions[-1])
        if self.rt and self.rw:
            # the neighbourhood within the village (RT within RW), e.g. after a new KK
            same_rw = conditions[0] & _equal(left, right, self.rw, self.rw, *rows)[1]
            same_rt = same_rw & _equal(left, right, self.rt, self.rt, *rows)[1]
            conditions[:0] = [same_rt, same_rw]
        if self.kk_column:
            kk_missing, same_kk = _equal(left, right, self.kk_column, self.kk_column, *rows)
            conditions.insert(0, same_kk)
            missing = missing & kk_missing
        # the province (or the KK) decides whether the pair is missing
        levels = _assign([c & ~missing for c in conditions], missing)
        top = len(self.levels) - 1
        return ComparisonResult(levels, np.where(missing, np.nan, levels / top))


@dataclass(frozen=True)
class StringComparison(_NamedOrColumn):
    """A generic string field (address, suburb, an ID of another country): exact;
    Jaro-Winkler at each of ``thresholds`` (highest first); else. No Indonesian
    name rules: for data that is not an Indonesian register (FEBRL, say)."""

    column: str
    thresholds: tuple[float, ...] = (0.92, 0.8)
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "thresholds", tuple(sorted(self.thresholds, reverse=True)))

    @property
    def levels(self) -> tuple[str, ...]:
        return ("exact", *(f"jw>={t}" for t in self.thresholds), "else")

    def compare(
        self, left: pd.DataFrame, right: pd.DataFrame, left_rows: np.ndarray, right_rows: np.ndarray
    ) -> ComparisonResult:
        a, b = _values(left, self.column, left_rows), _values(right, self.column, right_rows)
        missing = pd.isna(a) | pd.isna(b)
        jw = jaro_winkler(a, b)
        jw_ok = np.nan_to_num(jw)
        sa, sb = np.where(missing, "", a).astype(str), np.where(missing, "", b).astype(str)
        conditions = [sa == sb, *(jw_ok >= t for t in self.thresholds)]
        return ComparisonResult(_assign([c & ~missing for c in conditions], missing), jw)


Comparison = (
    ExactComparison
    | NameComparison
    | NikComparison
    | DateComparison
    | RegionComparison
    | RelationshipComparison
    | StringComparison
)

#: Comparisons for DTKS <-> Regsosek person linkage on standardised records.
DEFAULT_COMPARISONS: tuple[Comparison, ...] = (
    NameComparison(),
    NikComparison(),
    DateComparison(),
    ExactComparison("sex"),
    RegionComparison(kk_column="kk_number", rt="rt", rw="rw", name="household"),
    NameComparison(column="mother_name", phonetic=None, name="mother_name"),
    RelationshipComparison(),
)

#: Comparison types by the name settings and model files give them (``type: name``).
#: Add your own with :func:`register_comparison`.
COMPARISON_TYPES: dict[str, type] = {
    "exact": ExactComparison,
    "name": NameComparison,
    "nik": NikComparison,
    "date": DateComparison,
    "region": RegionComparison,
    "string": StringComparison,
    "relationship": RelationshipComparison,
}


def register_comparison(name: str, cls: type) -> None:
    """Make a comparison class usable in settings and model files as ``type: name``.

    ``cls`` must be a (preferably frozen) dataclass whose fields are its settings,
    with a ``label`` and a ``levels`` property (level names, strongest first) and a
    ``compare(left, right, left_rows, right_rows)`` method returning a
    :class:`ComparisonResult`, as the built-in comparisons do. Registering the same
    class under its name again does nothing; a name taken by another class is refused.

    The Linker asks a comparison a few optional questions, with these defaults:
    ``main_columns`` (the columns without which it compares nothing; default: its
    ``column``, else the first column it reads), ``exact_column`` (the column whose
    equality is its strongest level, whose u then comes from value frequencies;
    default ``None``), ``person_evidence`` (``"name"`` or ``"birth_date"`` when it
    is evidence about the person itself, which a duplicate within one register
    needs; ``"identifier"`` for a personal number such as the NIK, ``"household"``
    for a family's, such as the KK number; default ``None``) with ``strong_levels``
    and, for names, ``near_levels``, for dates, ``compatible_levels``,
    ``typo_levels`` and ``year_apart_levels`` (level names; see
    :func:`~bansos_linkage.linkage.duplicates.person_evidence`).

    Examples
    --------
    >>> @dataclass(frozen=True)
    ... class Initial:
    ...     column: str = "full_name"
    ...     name: str = "initial"
    ...     label = property(lambda self: self.name)
    ...     levels = property(lambda self: ("same", "else"))
    ...     def compare(self, left, right, left_rows, right_rows): ...
    >>> register_comparison("initial", Initial)
    >>> COMPARISON_TYPES["initial"] is Initial
    True
    >>> del COMPARISON_TYPES["initial"]
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a comparison type needs a non-empty name")
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"comparison type {name!r} must be a dataclass class")
    missing = [a for a in ("label", "levels", "compare") if not hasattr(cls, a)]
    if missing:
        raise TypeError(f"comparison type {name!r} lacks {missing}")
    taken = COMPARISON_TYPES.get(name)
    if taken is not None and taken is not cls:
        raise ValueError(f"comparison type {name!r} is taken by {taken.__name__}")
    COMPARISON_TYPES[name] = cls


def columns_used(comparison: Comparison) -> list[str]:
    """The record columns a comparison reads."""
    names = [
        value
        for f in dataclasses.fields(comparison)
        if f.name != "name" and isinstance(value := getattr(comparison, f.name), str) and value
    ]
    if isinstance(comparison, RegionComparison):
        names += ["village_code", "district_code", "regency_code", "province_code"]
    return names


def derived_columns(comparisons: Sequence[Comparison]) -> dict[str, tuple[str, ...]]:
    """Columns the comparisons read that are derived from records (not standardised
    fields), with the fields each is derived from."""
    flags = {getattr(c, "conflict", None) for c in comparisons} - {None}
    return {str(f): CONFLICT_SOURCES for f in flags}


def add_derived_columns(records: pd.DataFrame, comparisons: Sequence[Comparison]) -> pd.DataFrame:
    """``records`` with the derived columns the comparisons read (e.g. ``nik_conflict``)."""
    missing = [c for c in derived_columns(comparisons) if c not in records]
    if not missing:
        return records
    conflict = nik_conflicts(records)
    return records.assign(**{c: conflict for c in missing})


def columns_read(rules: Sequence[Rule], comparisons: Sequence[Comparison]) -> list[str]:
    """The record columns blocking on ``rules`` and comparing read (with those the
    blocking keys are derived from), in a stable order: all that linking needs of a
    standardised register."""
    used = ["record_id", *rule_keys(rules)]
    used += [c for comp in comparisons for c in columns_used(comp)]
    sources = [c for cols in derived_columns(comparisons).values() for c in cols]
    return list(dict.fromkeys([*used, *KEY_SOURCES, *sources]))


def vocabulary_groups(comparison: Comparison) -> list[list[str]]:
    """The columns a comparison compares with each other, which must share one
    vocabulary when encoded (see :mod:`bansos_linkage.linkage.encoding`)."""
    if isinstance(comparison, ExactComparison):
        return [[c for c in (comparison.column, comparison.alternative) if c]]
    if isinstance(comparison, NikComparison):
        return [[c for c in (comparison.column, comparison.kk_column) if c]]
    flags = {getattr(comparison, "conflict", None)}
    return [[c] for c in columns_used(comparison) if c not in flags]


def compare(
    left: pd.DataFrame,
    right: pd.DataFrame,
    left_rows: np.ndarray,
    right_rows: np.ndarray,
    comparisons: Sequence[Comparison] = DEFAULT_COMPARISONS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Agreement levels (int8, -1 missing) and similarities for one chunk of pairs.

    Returns two DataFrames with one column per comparison (its label).

    Examples
    --------
    >>> left = pd.DataFrame({"sex": ["M", "F", None]})
    >>> right = pd.DataFrame({"sex": ["M", "M"]})
    >>> levels, _ = compare(left, right, np.array([0, 1, 2]), np.array([0, 0, 1]),
    ...                     [ExactComparison("sex")])
    >>> levels["sex"].tolist()
    [1, 0, -1]
    """
    levels, sims = {}, {}
    for comp in comparisons:
        result = comp.compare(left, right, np.asarray(left_rows), np.asarray(right_rows))
        levels[comp.label] = result.levels
        sims[comp.label] = result.similarity
    return pd.DataFrame(levels), pd.DataFrame(sims)


__all__ = [
    "COMPARISON_TYPES",
    "CONFLICT_SOURCES",
    "Comparison",
    "ComparisonResult",
    "DEFAULT_COMPARISONS",
    "DateComparison",
    "ExactComparison",
    "NULL_LEVEL",
    "NameComparison",
    "NikComparison",
    "RegionComparison",
    "RelationshipComparison",
    "ROLE_CHANGES",
    "StringComparison",
    "add_derived_columns",
    "columns_read",
    "columns_used",
    "compare",
    "derived_columns",
    "nik_conflicts",
    "register_comparison",
    "vocabulary_groups",
]
