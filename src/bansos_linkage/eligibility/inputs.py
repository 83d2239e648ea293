"""Input checks for scoring: what a register cell may hold, and how it is read.

Registers are typed by hand in thousands of offices, so the same answer arrives as
``beton``, ``BETON`` and `` beton ``, numbers arrive with decimal commas (``12,5``)
and ids with stray spaces. This module reads them one way for the PMT, the 14
criteria and the programme rules, and says which cells it could not read:

- :func:`normalise_answer`: an answer as it is compared (lower case, spacing
  ignored), so ``BETON`` and `` beton `` are ``beton``;
- :func:`numbers`: numbers as registers write them, decimal commas included;
- :func:`clean_ids`: ids without surrounding spaces, an empty id missing;
- :data:`ANSWER_WORDS`: the words a known answer of each household question
  contains (Regsosek and DTKS vocabulary); an answer with none of them is unknown;
- :data:`IMPOSSIBLE`: numbers that cannot be (a negative floor area or livestock
  count, a household of no one, a desil outside 1-10).

No function here copies a cell's value into a message: problems name the file, the
row, the id and the column only.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

_SPACE = re.compile(r"\s+")
_AROUND_PUNCTUATION = re.compile(r"\s*([/,;:()\-])\s*")
_WORD = re.compile(r"[a-z0-9+]+")


def normalise_answer(answer: object) -> object:
    """An answer as it is compared: lower case, spaces collapsed, none around
    punctuation; missing stays missing.

    Examples
    --------
    >>> [normalise_answer(a) for a in ["BETON", " beton ", "Air Hujan / Sungai", None]]
    ['beton', 'beton', 'air hujan/sungai', None]
    """
    if answer is None or answer is pd.NA or (isinstance(answer, float) and np.isnan(answer)):
        return answer
    text = _SPACE.sub(" ", str(answer)).strip().lower()
    return _AROUND_PUNCTUATION.sub(r"\1", text)


def normalise_answers(values: pd.Series) -> pd.Series:
    """:func:`normalise_answer` over a column, each distinct answer once; empty is
    missing."""
    codes, uniques = pd.factorize(values.astype("string"))
    read = [normalise_answer(u) for u in uniques]
    read = [None if r == "" else r for r in read]
    out = np.array([*read, None], dtype=object)[codes]
    return pd.Series(out, index=values.index, dtype="string")


#: Words one of which a known answer to each household question contains, after
#: :func:`normalise_answer` (Regsosek and DTKS answers, the synthetic generator's).
#: An answer with none of them (``xyz``, ``???``) is unknown: listed and set missing.
ANSWER_WORDS: dict[str, frozenset[str]] = {
    "floor_material": frozenset(
        "keramik marmer granit ubin tegel teraso semen bata plester kayu papan parket "
        "vinil karpet bambu tanah beton lainnya lain".split()
    ),
    "wall_material": frozenset(
        "tembok plesteran plester anyaman bambu kayu papan batang rumbia seng triplek "
        "bata batako beton gypsum asbes lainnya lain".split()
    ),
    "roof_material": frozenset(
        "genteng seng asbes beton ijuk rumbia sirap jerami daun bambu kayu lainnya lain".split()
    ),
    "drinking_water": frozenset(
        "kemasan isi ulang leding ledeng pam sumur bor pompa terlindung mata air hujan "
        "sungai danau waduk eceran meteran lainnya lain".split()
    ),
    "lighting": frozenset(
        "pln non listrik meteran va tenaga surya genset diesel pelita lampu minyak "
        "petromak lilin obor tidak lainnya lain".split()
    ),
    "cooking_fuel": frozenset(
        "listrik gas lpg elpiji kg minyak tanah kayu bakar arang briket biogas batu bara "
        "tidak memasak lainnya lain".split()
    ),
    "toilet": frozenset(
        "sendiri bersama umum tidak ada mck komunal jamban milik lainnya lain".split()
    ),
}

#: Answers that say yes to a flag question, in the words registers use: a plain yes,
#: a named disability (Regsosek records its kind), or a pregnancy.
YES = re.compile(r"^(1|1\.0|true|ya|yes|y|iya|ada)$|tuna|disabilitas|cacat|difabel|hamil|nifas")
NEGATION = re.compile(r"^(tidak|tdk|bukan|non|no|none|belum)\b")
#: Yes/no answers that are a no (a yes is :data:`YES`).
NO = re.compile(
    r"^(?:0|0\.0|2|2\.0|f|false|n|no|none|tidak|tdk|bukan|belum|non|normal|-)$"
    r"|^(?:tidak|tdk|bukan)\b"
)


def is_yes(answer: str) -> bool:
    """A yes, or the name of what is asked about (``tuna netra`` for a disability,
    ``hamil`` for a pregnancy); a negation is never a yes."""
    if NEGATION.match(answer):
        return False
    return bool(YES.search(answer))


def unknown_answers(values: pd.Series, words: frozenset[str]) -> np.ndarray:
    """True where a given answer contains none of ``words``."""
    codes, uniques = pd.factorize(normalise_answers(values))
    known = [bool(set(_WORD.findall(str(u))) & words) for u in uniques]
    return ~np.append(np.asarray(known, dtype=bool), True)[codes]


def unknown_flags(values: pd.Series) -> np.ndarray:
    """True where a given yes/no answer is neither (``maybe``, ``?``)."""
    codes, uniques = pd.factorize(normalise_answers(values))
    known = [is_yes(str(u)) or bool(NO.search(str(u))) for u in uniques]
    return ~np.append(np.asarray(known, dtype=bool), True)[codes]


_INDONESIAN = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+,\d+$")  # 1.234,5
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")  # 12,5 and ,5


def number(text: object) -> float:
    """A number as registers write it: ``12.5``, ``12,5`` (decimal comma),
    ``1.234,5`` (dots between thousands); NaN when it is not one.

    Examples
    --------
    >>> [number(t) for t in ["12.5", "12,5", " 1.234,5 ", "-3", "tiga", None]]
    [12.5, 12.5, 1234.5, -3.0, nan, nan]
    """
    if text is None or text is pd.NA:
        return np.nan
    s = str(text).strip()
    if _INDONESIAN.match(s):
        s = s.replace(".", "").replace(",", ".")
    elif _DECIMAL_COMMA.match(s):
        s = s.replace(",", ".")
    try:
        return float(s)
    except ValueError:
        return np.nan


def numbers(column: pd.Series) -> pd.Series:
    """:func:`number` over a column, each distinct text converted once (a numeric
    column is returned as floats)."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.astype(float)
    codes, uniques = pd.factorize(column)
    read = np.array([number(u) for u in uniques] + [np.nan], dtype=float)
    return pd.Series(read[codes], index=column.index)


def clean_ids(values: pd.Series) -> pd.Series:
    """Ids as text without surrounding spaces; an empty id is missing. Household ids
    in the households and the members files, and member ids, are read the same way,
    so ``"H1 "`` in the members file is household ``H1``.

    Examples
    --------
    >>> clean_ids(pd.Series(["H1 ", " H2", "", None, 7])).tolist()
    ['H1', 'H2', <NA>, <NA>, '7']
    """
    text = values.astype("string").str.strip()  # vectorised: millions of ids
    return text.mask(text == "", pd.NA)


def _negative(x: np.ndarray) -> np.ndarray:
    return x < 0


#: Numbers that cannot be, per household column: the test and the problem listed.
#: Any other number column of the households (areas, counts, assets, livestock) may
#: not be negative either, unless it is a coordinate.
IMPOSSIBLE: dict[str, tuple] = {
    "size": (lambda x: x < 1, "impossible number: a household has at least 1 member"),
    "desil": (
        lambda x: (x < 1) | (x > 10) | (x != np.round(x)),
        "impossible number: desil is a whole number from 1 to 10",
    ),
    "per_capita_expenditure": (lambda x: x <= 0, "impossible number: expected above 0"),
}
NEGATIVE = "impossible number: negative"
#: Number columns that may be negative.
SIGNED = re.compile(r"lat|lon|coord|^log_|welfare|score", re.IGNORECASE)


def impossible(column: str, values: pd.Series) -> tuple[np.ndarray, str] | None:
    """Where the numbers of ``column`` cannot be, and the problem to list."""
    x = values.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        if column in IMPOSSIBLE:
            test, message = IMPOSSIBLE[column]
            return np.asarray(test(x), dtype=bool) & ~np.isnan(x), message
        if SIGNED.search(column):
            return None
        return _negative(x) & ~np.isnan(x), NEGATIVE


__all__ = [
    "ANSWER_WORDS",
    "IMPOSSIBLE",
    "NEGATION",
    "NEGATIVE",
    "NO",
    "SIGNED",
    "YES",
    "clean_ids",
    "impossible",
    "is_yes",
    "normalise_answer",
    "normalise_answers",
    "number",
    "numbers",
    "unknown_answers",
    "unknown_flags",
]
