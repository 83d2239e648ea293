"""Blocking: which record pairs are worth comparing.

Rules are data. An :class:`ExactRule` pairs records that agree exactly on every
one of its key columns; a :class:`SortedNeighbourhoodRule` sorts both sides
together on one key and pairs records that sort within ``window`` of each
other (near keys: typos late in a name, neighbouring birth dates). Rules are
combined as a union: a pair is kept once, credited to the first rule that
finds it, and each rule knows whether an earlier exact rule already has a
pair by comparing keys, so the union is computed chunk by chunk without
holding earlier rules' pairs (as Splink does).

Blocks larger than ``max_block_pairs`` (everyone called MUHAMMAD in a
district) are skipped and reported: they would cost much and tell little.
Pairs are ``(left_position, right_position)`` integer arrays.

:func:`blocking_keys` derives the usual keys from standardised records and
:data:`DEFAULT_RULES` uses them for DTKS <-> Regsosek without configuration.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bansos_linkage.linkage.encoding import same_vocabulary

#: Per-block cap on the number of pairs (nl * nr) a rule may generate.
DEFAULT_MAX_BLOCK_PAIRS = 250_000


@dataclass(frozen=True)
class ExactRule:
    """Pair records whose ``keys`` columns are all equal and not null on both sides."""

    keys: tuple[str, ...]
    name: str = ""
    max_block_pairs: int = DEFAULT_MAX_BLOCK_PAIRS

    def __post_init__(self) -> None:
        if isinstance(self.keys, str):
            object.__setattr__(self, "keys", (self.keys,))
        if not self.keys:
            raise ValueError("an exact rule needs at least one key column")
        if not self.name:
            object.__setattr__(self, "name", "+".join(self.keys))


@dataclass(frozen=True)
class SortedNeighbourhoodRule:
    """Pair records whose ``key`` values sort within ``window`` places of each other."""

    key: str
    window: int = 5
    name: str = ""

    def __post_init__(self) -> None:
        if self.window < 2:
            raise ValueError("window must be at least 2")
        if not self.name:
            object.__setattr__(self, "name", f"sn({self.key},{self.window})")


Rule = ExactRule | SortedNeighbourhoodRule


@dataclass
class CandidatePairs:
    """The union of the rules' pairs and what each rule contributed.

    Attributes
    ----------
    left, right
        Positions (0-based rows) in the left and right tables.
    rule
        Index of the first rule that found each pair.
    diagnostics
        One row per rule: ``pairs`` (new pairs it added), ``pairs_before_dedup``,
        ``blocks``, ``largest_block``, ``oversized_blocks`` and ``skipped_pairs``.
    """

    left: np.ndarray
    right: np.ndarray
    rule: np.ndarray
    rules: tuple[Rule, ...]
    n_left: int
    n_right: int
    diagnostics: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __len__(self) -> int:
        return len(self.left)

    @property
    def reduction_ratio(self) -> float:
        """1 - candidate pairs / all possible pairs."""
        total = self.n_left * self.n_right
        return 1.0 - len(self) / total if total else 0.0

    def to_frame(self) -> pd.DataFrame:
        """Pairs as a DataFrame with ``left``, ``right`` and the ``rule`` name."""
        names = np.array([r.name for r in self.rules], dtype=object)
        return pd.DataFrame({"left": self.left, "right": self.right, "rule": names[self.rule]})

    def to_multiindex(self, left_index: pd.Index, right_index: pd.Index) -> pd.MultiIndex:
        """The pairs as a ``recordlinkage``-style MultiIndex of (left label, right label)."""
        return pd.MultiIndex.from_arrays(
            [left_index[self.left], right_index[self.right]],
            names=[left_index.name or "left", right_index.name or "right"],
        )


def _codes(
    left: pd.DataFrame, right: pd.DataFrame, keys: Sequence[str], cache: dict | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of the composite key on both sides (-1 where any part is null).

    Each key column is factorised once (``cache`` keeps them across rules) and
    composite keys are combined as integers, never as concatenated strings.
    """
    cache = {} if cache is None else cache
    codes = None
    for key in keys:
        if key not in cache:
            cache[key] = _column_codes(left[key], right[key])
        part = cache[key]
        if codes is None:
            codes = part
            continue
        null = (codes < 0) | (part < 0)
        pair = codes * (int(part.max(initial=0)) + 1) + part
        codes, _ = pd.factorize(np.where(null, -1, pair))
        codes = np.where(null, -1, codes)
    codes = np.asarray(codes, dtype=np.int64)
    return codes[: len(left)], codes[len(left) :]


def _column_codes(a: pd.Series, b: pd.Series) -> np.ndarray:
    """One integer per value of two columns, shared across them; -1 for null or empty."""
    if same_vocabulary(a, b):  # encoded by the Linker: the codes are already shared
        codes = np.concatenate([a.array.codes, b.array.codes]).astype(np.int64)
        empty = _empty_text(a.dtype.categories)  # type: ignore[union-attr]
        return np.where(np.isin(codes, empty), -1, codes) if len(empty) else codes
    codes, uniques = _factorised(a, b)
    empty = _empty_text(pd.Index(uniques))
    if len(empty):
        codes = np.where(np.isin(codes, empty), -1, codes)
    return codes.astype(np.int64)


def _empty_text(values: pd.Index) -> np.ndarray:
    """Positions of empty text among distinct values (none in dates or numbers, which
    are not read one by one)."""
    if not pd.api.types.is_string_dtype(values.dtype):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(pd.Series(values).eq("").to_numpy(dtype=bool, na_value=False))


def _factorised(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, Any]:
    """Codes of two columns' values over their distinct values (-1 for null), and those
    values; columns of mixed types are taken as text."""
    values = pd.concat([a, b], ignore_index=True)
    if values.dtype == object or isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("string")
    return pd.factorize(values, use_na_sentinel=True)


def _exact_pairs(
    lc: np.ndarray, rc: np.ndarray, max_block_pairs: int
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """All (left, right) position pairs sharing a code, blocks over the cap skipped."""
    lo, ro = stable_order(lc), stable_order(rc)
    ls, rs = lc[lo], rc[ro]
    codes = _sorted_common(ls[ls >= 0], rs[rs >= 0])
    l_start, l_end = np.searchsorted(ls, codes), np.searchsorted(ls, codes, side="right")
    r_start, r_end = np.searchsorted(rs, codes), np.searchsorted(rs, codes, side="right")
    nl, nr = l_end - l_start, r_end - r_start
    sizes = nl * nr
    ok = sizes <= max_block_pairs
    stats = {
        "blocks": int(len(codes)),
        "largest_block": int(sizes.max(initial=0)),
        "oversized_blocks": int((~ok).sum()),
        "skipped_pairs": int(sizes[~ok].sum()),
    }
    l_start, r_start, nr, sizes = l_start[ok], r_start[ok], nr[ok], sizes[ok]
    total = int(sizes.sum())
    block = np.repeat(np.arange(len(sizes)), sizes)
    offset = np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    li = l_start[block] + offset // nr[block]
    ri = r_start[block] + offset % nr[block]
    return lo[li], ro[ri], stats


def _sorted_common(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distinct values present in both sorted arrays (no hashing: they are sorted)."""
    ua = a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a
    ub = b[np.r_[True, b[1:] != b[:-1]]] if len(b) else b
    pos = np.minimum(np.searchsorted(ub, ua), max(len(ub) - 1, 0))
    return ua[(len(ub) > 0) & (ub[pos] == ua)] if len(ub) else ua[:0]


def _sn_pairs(
    left: pd.DataFrame, right: pd.DataFrame, rule: SortedNeighbourhoodRule
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    side = np.r_[np.zeros(len(left), dtype=bool), np.ones(len(right), dtype=bool)]
    pos = np.r_[np.arange(len(left)), np.arange(len(right))]
    valid, sort_key = _sort_keys(left[rule.key], right[rule.key])
    keys = sort_key[valid]
    by_key = stable_order(keys) if keys.dtype != object else np.argsort(keys, kind="stable")
    order = np.flatnonzero(valid)[by_key]
    s_side, s_pos = side[order], pos[order]
    lefts, rights = [], []
    for k in range(1, rule.window):
        a, b = s_side[:-k], s_side[k:]
        cross = a != b
        first_left = cross & ~a
        lefts.append(np.where(first_left, s_pos[:-k], s_pos[k:])[cross])
        rights.append(np.where(first_left, s_pos[k:], s_pos[:-k])[cross])
    li = np.concatenate(lefts) if lefts else np.array([], dtype=np.int64)
    ri = np.concatenate(rights) if rights else np.array([], dtype=np.int64)
    return li, ri, {"blocks": 0, "largest_block": 0, "oversized_blocks": 0, "skipped_pairs": 0}


def _sort_keys(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Which values of two columns are usable keys (not null or empty), and a key that
    sorts like the text (the rank of each distinct value when the codes are shared)."""
    if same_vocabulary(a, b):
        vocabulary = np.asarray(a.dtype.categories, dtype=object)  # type: ignore[union-attr, type-var]
        rank = np.empty(len(vocabulary) + 1, dtype=np.int64)
        rank[_text_order(vocabulary)] = np.arange(len(vocabulary))
        rank[-1] = -1  # code -1: missing
        codes = np.concatenate([a.array.codes, b.array.codes])
        valid = codes >= 0
        valid[valid] = vocabulary[codes[valid]] != ""
        return valid, rank[codes]
    codes, uniques = _factorised(a, b)
    text = pa.array(uniques)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    # the rank of each distinct value (sorted by Arrow, as text), -1 for null
    rank = np.full(len(text) + 1, -1, dtype=np.int64)
    rank[pc.sort_indices(text).to_numpy()] = np.arange(len(text))
    valid = codes >= 0
    valid[valid] = pc.not_equal(text, "").to_numpy(zero_copy_only=False)[codes[valid]]
    return valid, rank[codes]


def _text_order(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values)`` of distinct strings, by Arrow: UTF-8 bytes sort in the
    code-point order Python compares text by, and distinct values leave no ties."""
    try:
        return pc.sort_indices(pa.array(values, type=pa.large_string())).to_numpy()
    except (pa.ArrowException, TypeError, ValueError):  # not all text (or not encodable)
        return np.argsort(values, kind="stable")


def stable_order(codes: np.ndarray) -> np.ndarray:
    """``np.argsort(codes, kind="stable")`` of integer codes (-1 and up), faster: each
    code made distinct by its position, the values are sorted (numpy's SIMD sort)."""
    n = len(codes)
    top = int(codes.max(initial=0)) + 2
    if not n or top * n >= 2**62 or int(codes.min(initial=0)) < -1:
        return np.argsort(codes, kind="stable")
    keys = (codes.astype(np.int64) + 1) * n + np.arange(n)
    keys.sort()
    return keys % n


def iter_candidate_pairs(
    left: pd.DataFrame, right: pd.DataFrame, rules: Sequence[Rule]
) -> Iterator[tuple[int, np.ndarray, np.ndarray, dict[str, int]]]:
    """Yield, per rule, ``(rule_index, left, right, stats)`` with pairs new to that rule.

    A pair an earlier exact rule also finds (equal, non-null keys in a block under
    the cap) is dropped, so each pair comes out once without keeping earlier pairs.
    """
    _check_order(rules)
    # earlier exact rules' codes per side: -1 on the left where the block was skipped
    # (or the key null), -2 on the right where null, so that equal codes are the pairs
    # the rule made
    exact_codes: list[tuple[np.ndarray, np.ndarray]] = []
    column_codes: dict[str, np.ndarray] = {}
    # pairs of earlier sorted-neighbourhood rules (a few per record), as sorted codes
    sn_seen = np.zeros(0, dtype=np.int64)
    width = max(len(right), 1)
    for i, rule in enumerate(rules):
        if isinstance(rule, ExactRule):
            lc, rc = _codes(left, right, rule.keys, column_codes)
            li, ri, stats = _exact_pairs(lc, rc, rule.max_block_pairs)
        else:
            li, ri, stats = _sn_pairs(left, right, rule)
            li, ri = _unique_pairs(li, ri)
        stats["pairs_before_dedup"] = int(len(li))
        keep = np.ones(len(li), dtype=bool)
        for made_left, made_right in exact_codes:
            keep &= made_left[li] != made_right[ri]
        if isinstance(rule, ExactRule):
            kept = _blocks_kept(lc, rc, rule.max_block_pairs)
            made = np.where((lc >= 0) & kept[np.maximum(lc, 0)], lc, -1)
            exact_codes.append((_compact(made), _compact(np.where(rc >= 0, rc, -2))))
        else:
            code = li.astype(np.int64) * width + ri  # sorted, as _unique_pairs sorts
            keep &= ~np.isin(code, sn_seen, assume_unique=True)
            # two sorted runs, disjoint: a stable sort merges them (no repeats)
            sn_seen = np.sort(np.concatenate([sn_seen, code[keep]]), kind="stable")
        yield i, li[keep], ri[keep], stats


def _compact(codes: np.ndarray) -> np.ndarray:
    # half the memory to read per pair when the codes fit
    return codes.astype(np.int32) if int(codes.max(initial=0)) < 2**31 else codes


def _check_order(rules: Sequence[Rule]) -> None:
    # an exact rule cannot tell which pairs a sorted-neighbourhood rule already produced
    seen_sn = False
    for rule in rules:
        if isinstance(rule, SortedNeighbourhoodRule):
            seen_sn = True
        elif seen_sn:
            raise ValueError(
                f"exact rule {rule.name!r} must come before sorted-neighbourhood rules"
            )


def _blocks_kept(lc: np.ndarray, rc: np.ndarray, cap: int) -> np.ndarray:
    """Per key code: whether its block was under the cap (its pairs were made)."""
    l_counts = np.bincount(
        lc[lc >= 0], minlength=int(max(lc.max(initial=0), rc.max(initial=0))) + 1
    )
    r_counts = np.bincount(rc[rc >= 0], minlength=len(l_counts))
    return l_counts.astype(np.int64) * r_counts <= cap


def _unique_pairs(li: np.ndarray, ri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not len(li):
        return li, ri
    width = int(ri.max()) + 1
    codes = sorted_unique(li.astype(np.int64) * width + ri)  # sorted, as unique(axis=0) was
    return codes // width, codes % width


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` by sorting: numpy 2's hash-based unique is many times
    slower on millions of integer pair codes."""
    out = np.sort(values)
    return out[np.r_[True, out[1:] != out[:-1]]] if len(out) else out


def candidate_pairs(
    left: pd.DataFrame, right: pd.DataFrame, rules: Sequence[Rule]
) -> CandidatePairs:
    """The union of ``rules``' pairs between ``left`` and ``right``, with diagnostics.

    Examples
    --------
    >>> left = pd.DataFrame({"nik": ["1", "2", None], "year": ["1980", "1990", "1990"]})
    >>> right = pd.DataFrame({"nik": ["1", "3"], "year": ["1980", "1990"]})
    >>> pairs = candidate_pairs(left, right, [ExactRule(("nik",)), ExactRule(("year",))])
    >>> pairs.to_frame().values.tolist()
    [[0, 0, 'nik'], [1, 1, 'year'], [2, 1, 'year']]
    """
    lefts, rights, which, rows = [], [], [], []
    for i, li, ri, stats in iter_candidate_pairs(left, right, rules):
        lefts.append(li)
        rights.append(ri)
        which.append(np.full(len(li), i, dtype=np.int32))
        rows.append({"rule": rules[i].name, "pairs": int(len(li)), **stats})
    diagnostics = pd.DataFrame(
        rows,
        columns=[
            "rule",
            "pairs",
            "pairs_before_dedup",
            "blocks",
            "largest_block",
            "oversized_blocks",
            "skipped_pairs",
        ],
    )
    empty = np.array([], dtype=np.int64)
    return CandidatePairs(
        left=np.concatenate(lefts) if lefts else empty,
        right=np.concatenate(rights) if rights else empty,
        rule=np.concatenate(which) if which else np.array([], dtype=np.int32),
        rules=tuple(rules),
        n_left=len(left),
        n_right=len(right),
        diagnostics=diagnostics,
    )


def pair_recall(
    pairs: CandidatePairs, true_left: np.ndarray, true_right: np.ndarray
) -> pd.DataFrame:
    """Share of true pairs that survive blocking, per rule (cumulative) and overall.

    ``true_left``/``true_right`` are positions of the true matching pairs.
    """
    n_true = len(true_left)
    found = pd.MultiIndex.from_arrays([pairs.left, pairs.right])
    truth = pd.MultiIndex.from_arrays([true_left, true_right])
    hit = truth.isin(found)
    by_rule = pd.Series(pairs.rule, index=found)
    first = by_rule.reindex(truth[hit]).to_numpy()
    rows = []
    for i, rule in enumerate(pairs.rules):
        own = int((first == i).sum())
        rows.append(
            {
                "rule": rule.name,
                "true_pairs_found": own,
                "cumulative_recall": float((first <= i).sum() / n_true) if n_true else 1.0,
            }
        )
    rows.append(
        {
            "rule": "all",
            "true_pairs_found": int(hit.sum()),
            "cumulative_recall": float(hit.mean()) if n_true else 1.0,
        }
    )
    return pd.DataFrame(rows)


def rule_keys(rules: Sequence[Rule]) -> list[str]:
    """The key columns the rules block on, in rule order (may repeat)."""
    keys: list[str] = []
    for rule in rules:
        keys.extend(getattr(rule, "keys", ()) or (getattr(rule, "key", None),))  # type: ignore[arg-type]
    return [k for k in keys if k]


#: The standardised columns :func:`blocking_keys` derives the ``bk_*`` keys from.
KEY_SOURCES = (
    "name_phonetic",
    "birth_date",
    "nik_birth_date",
    "birth_date_precision",
    "province_code",
    "village_name",
    "village_code",
    "region_scheme",
)


def blocking_keys(records: pd.DataFrame) -> pd.DataFrame:
    """Add the derived key columns the default rules use (``bk_*``) to standardised records.

    ``bk_name_first`` / ``bk_name_last``: phonetic key of the first / last name word
    (no last word for a one-word name);
    ``bk_birth_date`` / ``bk_birth_year``: the recorded birth date (only when known to
    the day) and its year;
    ``bk_nik_birth_date``: the birth date decoded from the NIK (agrees even when the
    date field was mistyped);
    ``bk_name_pair``: the phonetic keys of the first and last words in sorted order
    (SITI AMINAH = AMINAH SITI; a one-word name pairs with itself);
    ``bk_village``: the village across coding schemes (province code + village name,
    else the scheme and the village code).
    """
    out = records.copy(deep=False)  # copy-on-write: the new key columns only
    if "name_phonetic" in records:
        # split each distinct key once: registers repeat the same names many times
        codes, uniques = pd.factorize(records["name_phonetic"].astype("string"))
        for col, part in _name_keys(uniques.to_numpy(dtype=object).tolist()).items():
            keys = pd.array(part, dtype="string")
            out[col] = pd.Series(keys.take(codes, allow_fill=True), index=records.index)
    out["bk_village"] = _village_key(records)
    if "full_name" in records:
        # within the village, names sorted as written and read backwards: neighbours
        # differ late (a typo, a dropped last word) or early (HUR / NUR, DUL / ABDUL)
        name = records["full_name"].astype("string")
        out["bk_village_name"] = out["bk_village"] + "|" + name
        out["bk_village_eman"] = out["bk_village"] + "|" + name.str[::-1]
    # dates stay dates: keys compare as integers, no formatting
    for col, source in (("bk_birth_date", "birth_date"), ("bk_nik_birth_date", "nik_birth_date")):
        if source in records:
            out[col] = pd.to_datetime(records[source]).dt.normalize()
    if "birth_date_precision" in records and "bk_birth_date" in out:
        # a date known only to the year (stored as 1 July) would make huge false blocks
        vague = records["birth_date_precision"].isin(["year", "month"]).fillna(False).to_numpy()
        out.loc[vague, "bk_birth_date"] = pd.NaT
    if "birth_date" in records:
        out["bk_birth_year"] = pd.to_datetime(records["birth_date"]).dt.year.astype("Int32")
    return out


_FIRST_WORD, _LAST_WORD = re.compile(r"^(\S+)"), re.compile(r" (\S+)$")


def _name_keys(names: list[str]) -> dict[str, list[str | None]]:
    """The name keys of each distinct phonetic name (None: no such key), by a loop in
    Python: pandas' string methods run Python per value too, with more overhead."""
    first = [m.group(1) if (m := _FIRST_WORD.search(w)) else None for w in names]
    # a one-word name has no last word of its own: as a key it would join every
    # SRI born in a year across a province
    last = [m.group(1) if (m := _LAST_WORD.search(w)) else None for w in names]
    end = [f if e is None else e for f, e in zip(first, last, strict=True)]
    pair = [
        None if f is None else f"{f} {e}" if f <= e else f"{e} {f}"  # type: ignore[operator]
        for f, e in zip(first, end, strict=True)
    ]
    return {
        "bk_name_first": first,
        "bk_name_last": last,
        "bk_name_end": end,
        "bk_name_pair": pair,
        "bk_name_words": [" ".join(sorted(w.split(" "))) for w in names],
    }


def _village_key(records: pd.DataFrame) -> pd.Series:
    """Province code + village name (BPS and Kemendagri codes differ, names agree), else
    the coding scheme + village code; null when neither is known."""

    def text(col: str) -> pd.Series:
        if col not in records:
            return pd.Series(pd.NA, index=records.index, dtype="string")
        return records[col].astype("string").replace("", pd.NA)  # type: ignore[call-overload]

    named = text("province_code") + "|" + text("village_name")
    coded = text("region_scheme").fillna("?") + "#" + text("village_code")
    return named.fillna(coded)


#: Cap on the pairs of one village-and-name block (e.g. 10 x 40 records).
VILLAGE_NAME_BLOCK_PAIRS = 400

#: Rules for DTKS <-> Regsosek person linkage on :func:`blocking_keys` output.
DEFAULT_RULES: tuple[Rule, ...] = (
    ExactRule(("nik",)),
    # the family card alone: a household has a handful of members on each side, and
    # it rescues members whose first name, date and NIK are all damaged
    ExactRule(("kk_number",)),
    ExactRule(("bk_birth_date", "bk_name_first")),
    ExactRule(("bk_nik_birth_date", "bk_name_first")),
    ExactRule(("bk_nik_birth_date", "bk_name_last")),
    # within a province: single-word names born in one year are thousands nationwide
    ExactRule(("bk_name_first", "bk_name_last", "bk_birth_year", "province_code")),
    ExactRule(("bk_birth_date", "province_code")),
    # within a village, the name alone: the pairs whose NIK is missing or someone else's,
    # whose KK was renumbered and whose birth date is missing, year-only or swapped
    # a name shared by dozens in one village decides nothing on its own: such blocks
    # are skipped (and counted), which keeps the cost linear in the register size
    ExactRule(("bk_name_pair", "bk_village"), max_block_pairs=VILLAGE_NAME_BLOCK_PAIRS),
    ExactRule(("bk_name_words", "bk_village"), max_block_pairs=VILLAGE_NAME_BLOCK_PAIRS),
    ExactRule(
        ("bk_name_first", "bk_birth_year", "bk_village"), max_block_pairs=VILLAGE_NAME_BLOCK_PAIRS
    ),
    ExactRule(
        ("bk_name_last", "bk_birth_year", "bk_village"), max_block_pairs=VILLAGE_NAME_BLOCK_PAIRS
    ),
    SortedNeighbourhoodRule("full_name", window=4),
    # near names within the village, read forwards and backwards
    SortedNeighbourhoodRule("bk_village_name", window=4),
    SortedNeighbourhoodRule("bk_village_eman", window=4),
)


#: Families larger than this on either side are not paired member by member (a KK
#: number typed on the rows of a whole village is not a family).
FAMILY_MAX_MEMBERS = 15


def family_codes(records: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Each record's family as an integer code (-1 when unknown), from the first of
    ``columns`` the register has (a Regsosek household id, else the KK number)."""
    for column in columns:
        if column in records and records[column].notna().any():
            codes, _ = pd.factorize(records[column].astype("string"), use_na_sentinel=True)
            return codes.astype(np.int64)
    return np.full(len(records), -1, dtype=np.int64)


def pairable(family: np.ndarray, max_members: int = FAMILY_MAX_MEMBERS) -> np.ndarray:
    """Family codes with the families of more than ``max_members`` records as none
    (-1), as family pairs take them.

    >>> pairable(np.array([0, 0, 1, -1]), max_members=1).tolist()
    [-1, -1, 1, -1]
    """
    family = np.asarray(family)
    size = np.bincount(family[family >= 0], minlength=1)
    small = size[np.maximum(family, 0)] <= max_members
    return np.where((family >= 0) & small, family, -1)


def family_pairs(
    left_family: np.ndarray,
    right_family: np.ndarray,
    anchor_left: np.ndarray,
    anchor_right: np.ndarray,
    max_members: int = FAMILY_MAX_MEMBERS,
) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of members of two families that already share a link (the anchors).

    A member whose NIK is missing, whose KK was renumbered, whose birth date is
    missing and whose name was written differently escapes every blocking key, but
    not their family: once the head links, the other members are compared too.
    Returns left and right positions (pairs may repeat pairs found otherwise).
    """
    lf, rf = left_family[anchor_left], right_family[anchor_right]
    known = (lf >= 0) & (rf >= 0)
    if not known.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    families = np.unique(np.stack([lf[known], rf[known]], axis=1), axis=0)
    lorder, lstart, lsize = _members(left_family)
    rorder, rstart, rsize = _members(right_family)
    nl, nr = lsize[families[:, 0]], rsize[families[:, 1]]
    small = (nl <= max_members) & (nr <= max_members)
    families, nl, nr = families[small], nl[small], nr[small]
    sizes = nl * nr
    which = np.repeat(np.arange(len(families)), sizes)
    # k-th pair of a family pair: member k // nr on the left, k % nr on the right
    k = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    li = lorder[lstart[families[which, 0]] + k // nr[which]]
    ri = rorder[rstart[families[which, 1]] + k % nr[which]]
    return li.astype(np.int64), ri.astype(np.int64)


def _members(family: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions sorted by family, where each family's run starts, and its size."""
    order = np.argsort(family, kind="stable")
    size = np.bincount(family[family >= 0], minlength=int(family.max(initial=-1)) + 1)
    start = np.searchsorted(family[order], np.arange(len(size)))
    return order, start, size


__all__ = [
    "CandidatePairs",
    "DEFAULT_MAX_BLOCK_PAIRS",
    "DEFAULT_RULES",
    "ExactRule",
    "FAMILY_MAX_MEMBERS",
    "KEY_SOURCES",
    "Rule",
    "SortedNeighbourhoodRule",
    "VILLAGE_NAME_BLOCK_PAIRS",
    "blocking_keys",
    "candidate_pairs",
    "family_codes",
    "family_pairs",
    "iter_candidate_pairs",
    "pairable",
    "pair_recall",
    "rule_keys",
    "sorted_unique",
    "stable_order",
]
