"""Standardise addresses (alamat) and neighbourhood numbers (RT/RW).

An Indonesian address line usually mixes a street or alley, a hamlet and the
neighbourhood numbers: ``"Jl. Mawar No. 5 RT.03/RW.05 Dusun Krajan"``. RT
(rukun tetangga) and RW (rukun warga) are small numbers written a dozen ways:
``RT 003 RW 005``, ``RT.03/RW.05``, ``RT/RW 003/005``, ``RT 01 / 02``,
``RT:3 RW:5`` or a bare ``3/5`` at the start or end of the line or between
commas (not after NO., BLOK or KM, where it is a house or plot number).

:func:`parse_address` splits a line into

* ``rt``, ``rw``: three-digit zero-padded strings (``"003"``); ``0``/``000``
  or a dash means none;
* ``dusun``: the hamlet-level unit after DUSUN, DSN, DUKUH, DKH, LINGKUNGAN,
  LINGK., LINK., LK., BANJAR (DINAS), BR., KAMPUNG, KAMP., KP. or JORONG
  (Minangkabau); its value runs to the next comma or keyword;
* ``street``: the name after JALAN/JLN/JL. or GANG/GG., up to the house number
  (NO./NOMOR), the next keyword or comma;
* ``address``: what is left once RT/RW and the dusun are removed, upper-case,
  with dots dropped, street keywords written one way (``JL``, ``GG``, ``NO``)
  and whitespace and commas normalised; the street stays in it.

Where a register also has separate RT and RW columns, pass them: the separate
column wins (it was entered as its own field) and a disagreement with the line
is flagged ``address_rt_rw_conflict``. :func:`standardise_rt_rw` standardises
such a column on its own.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
import pandas as pd

from bansos_linkage.standardisation.problems import ProblemType, registry
from bansos_linkage.standardisation.values import factorize_values

__all__ = ["PROBLEMS", "parse_address", "standardise_rt_rw"]

PROBLEMS = registry(
    ProblemType("address_missing", "missing", "empty or an explicit unknown marker"),
    ProblemType(
        "address_rt_rw_conflict",
        "warning",
        "the RT or RW in the address line differs from the separate RT/RW column",
    ),
    ProblemType("rt_missing", "missing", "empty, zero or an explicit unknown marker"),
    ProblemType("rt_invalid", "invalid", "not an RT number from 1 to 999"),
    ProblemType("rw_missing", "missing", "empty, zero or an explicit unknown marker"),
    ProblemType("rw_invalid", "invalid", "not an RW number from 1 to 999"),
)

_MISSING_TEXT = frozenset(
    {"NULL", "NONE", "NAN", "NA", "N/A", "<NA>", "TT", "TIDAK ADA", "TIDAK TAHU", "TDK ADA"}
)
_PUNCTUATION_ONLY = re.compile(r"[\W_]*")
_KEYWORD_END = r"(?:\.|(?![A-Z]))"  # a keyword ends at a dot or at a non-letter


def _keywords(*words: str) -> str:
    """Regex for whole keywords, none glued to a letter before it.

    The pattern starts with a character class of the first letters (checked
    behind) because ``re`` scans for a leading class far faster than it tries
    a look-behind and an alternation at every position. A word written with a
    final dot (``"LK."``) needs that dot; the others end at a dot or non-letter.
    """
    rests: dict[str, list[str]] = {}
    for word in words:
        rests.setdefault(word[0], []).append(word[1:])
    firsts = "".join(rests)
    alternatives = "|".join(
        f"(?<={first})(?:"
        + "|".join(
            re.escape(rest) + ("" if rest.endswith(".") else _KEYWORD_END)
            for rest in sorted(group, key=len, reverse=True)  # longest first
        )
        + ")"
        for first, group in rests.items()
    )
    return f"[{firsts}](?<![A-Z][{firsts}])(?:{alternatives})"


# hamlet-level units: Java (dusun, dukuh, kampung), towns (lingkungan), Bali (banjar),
# West Sumatra (jorong)
_DUSUN_WORDS = [
    *("DUSUN", "DSN", "DUKUH", "DKH", "LINGKUNGAN", "LINGK", "LINK", "LK."),
    *("BANJAR DINAS", "BANJAR", "BR.", "KAMPUNG", "KAMP", "KP", "JORONG"),
]
_STREET_WORDS = ["JALAN", "JLN", "JL", "GANG", "GG"]
# words that only end a dusun or street name
_OTHER_WORDS = [
    *("NOMOR", "NMR", "NO", "BLOK", "BLK", "KM", "DESA", "DS", "KELURAHAN", "KEL"),
    *("KECAMATAN", "KEC", "KABUPATEN", "KAB", "PROVINSI", "PROV"),
]
_NUM = r"\d{1,4}|-+"  # a dash stands for "none"
# RT with its RW when they are written together: "RT 3", "RT 003 RW 005", "RT.03/RW.05",
# "RT003/RW005", "RT 01 / 02", "RT/RW 003/005", "RT/RW: 3/5", "RT:3, RW:5"
_RX_RT = re.compile(
    rf"R(?<![A-Z]R)T(?:\s*[./]\s*RW)?\s*[.:\-]?\s*(?P<rt>{_NUM})(?!\d)"
    rf"(?:(?:\s*[/\-]\s*(?:RW\s*[.:\-]?\s*)?|\s*,?\s*RW\s*[.:\-]?\s*)(?P<rw>{_NUM})(?!\d))?",
    re.ASCII,
)
_RX_RW = re.compile(rf"R(?<![A-Z]R)W\s*[.:\-]?\s*(?P<rw>{_NUM})(?!\d)", re.ASCII)
_RX_DUSUN = re.compile(_keywords(*_DUSUN_WORDS), re.ASCII)
_RX_STREET = re.compile(_keywords(*_STREET_WORDS), re.ASCII)
# where a dusun or street name ends (RT/RW are already replaced by commas)
_RX_STOP = re.compile("[,;()]|" + _keywords(*_DUSUN_WORDS, *_STREET_WORDS, *_OTHER_WORDS), re.ASCII)
# a bare "3/5": at the start, at the end, or as a comma-separated part of its own
_RX_BARE_START = re.compile(r"(\d{1,3})\s*/\s*(\d{1,3})(?![\d/])", re.ASCII)
_RX_BARE_END = re.compile(r"(?<![\d/\-])(\d{1,3})\s*/\s*(\d{1,3})$", re.ASCII)
_RX_BARE_PART = re.compile(r",\s*(\d{1,3})\s*/\s*(\d{1,3})\s*(?=,)", re.ASCII)
# a bare a/b after these is a house or plot number, not RT/RW
_RX_HOUSE_BEFORE = re.compile(
    r"(?<![A-Z])(?:NO|NOMOR|NMR|BLOK|BLK|KM|KAV|KAVLING|#)\s*[.:]?\s*(?:[A-Z]{1,2}\s*[-.]?\s*)?$"
)
# one spelling per keyword in the address text (applied after dots are dropped)
_CANONICAL_WORDS = {"JALAN": "JL", "JLN": "JL", "GANG": "GG", "NOMOR": "NO", "NMR": "NO"}
_RX_CANONICAL = re.compile(r"\b(?:JALAN|JLN|GANG|NOMOR|NMR)\b")
_EDGE = " :-/"

_Parsed = tuple[str | None, str | None, str | None, str | None, str | None, bool]


def _clean(value: object) -> str:
    """Trimmed upper-case text; inner whitespace runs are left for the regexes and _tidy."""
    text = value if isinstance(value, str) else str(value)
    return text.strip().upper()


def _is_missing(text: str) -> bool:
    if text in _MISSING_TEXT:
        return True
    if not text or not text[0].isalnum():  # only then can it be punctuation alone
        return bool(_PUNCTUATION_ONLY.fullmatch(text))
    return len(text) < 20 and " ".join(text.split()) in _MISSING_TEXT


def _pad(number: str | None) -> str | None:
    """'3' -> '003'; zero, a dash or more than 999 -> None."""
    if number is None:
        return None
    digits = number.lstrip("0")
    return digits.zfill(3) if 0 < len(digits) <= 3 and digits.isdigit() else None


def _tidy(text: str) -> str | None:
    """Drop dots, one spelling per keyword, normalise whitespace and commas; None if empty."""
    text = text.replace(".", " ")
    if "JALAN" in text or "JLN" in text or "GANG" in text or "NOMOR" in text or "NMR" in text:
        text = _RX_CANONICAL.sub(lambda m: _CANONICAL_WORDS[m.group(0)], text)
    if "," not in text and ";" not in text:
        return " ".join(text.split()).strip(_EDGE) or None
    parts = [" ".join(p.split()).strip(_EDGE) for p in text.replace(";", ",").split(",")]
    return ", ".join([p for p in parts if p]) or None


def _tidy_name(text: str) -> str | None:
    """A dusun or street name: no dots, single spaces, no separators at the ends."""
    return " ".join(text.replace(".", " ").split()).strip(_EDGE) or None


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    """Replace spans by a comma (a removed part separates what stood on either side)."""
    for start, end in sorted(spans, reverse=True):
        text = f"{text[:start]}, {text[end:]}"
    return text


def _find_bare(text: str) -> tuple[str, str, tuple[int, int]] | None:
    """A bare "3/5" read as RT/RW, unless a house-number word stands just before it."""
    for match in (
        _RX_BARE_START.match(text) if text[0].isdigit() else None,
        # the end pattern only needs the last characters ("999 / 999")
        _RX_BARE_END.search(text, max(0, len(text) - 12)) if text[-1].isdigit() else None,
        _RX_BARE_PART.search(text) if "," in text else None,
    ):
        if match and not _RX_HOUSE_BEFORE.search(text, max(0, match.start() - 16), match.start()):
            return match.group(1), match.group(2), match.span()
    return None


def _find_rt_rw(text: str) -> tuple[str | None, str | None, list[tuple[int, int]]]:
    """RT and RW (raw digits or dashes) and the spans of the mentions that gave them."""
    rt = rw = None
    cuts: list[tuple[int, int]] = []
    # a substring test costs a tenth of a regex call
    if "RT" in text and (match := _RX_RT.search(text)):
        rt, rw = match.group("rt"), match.group("rw")
        cuts.append(match.span())
    if rw is None and "RW" in text:
        # an RW written apart from the RT, after it or before it ("RW 05 RT 03")
        found = _RX_RW.search(text, cuts[0][1]) if cuts else None
        found = found or _RX_RW.search(text, 0, cuts[0][0] if cuts else len(text))
        if found:
            rw = found.group("rw")
            cuts.append(found.span())
    if not cuts and "/" in text and (bare := _find_bare(text)):
        rt, rw, span = bare
        cuts.append(span)
    return rt, rw, cuts


def _split(text: str) -> tuple[str | None, str | None, str | None, str | None, str | None]:
    """(address, rt, rw, dusun, street) of a cleaned, non-empty line.

    The RT/RW mentions that give the numbers are removed from the address, and
    so is the first dusun keyword with its name; the first street keyword gives
    the street, which stays in the address.
    """
    rt, rw, cuts = _find_rt_rw(text)
    if cuts:
        text = _cut(text, cuts)
    dusun = street = None
    if match := _RX_DUSUN.search(text):
        dusun, end = _name_after(text, match.end())
        text = _cut(text, [(match.start(), end)])
    if match := _RX_STREET.search(text):
        street, _ = _name_after(text, match.end())
    return _tidy(text), _pad(rt), _pad(rw), dusun, street


def _name_after(text: str, start: int) -> tuple[str | None, int]:
    """The name from ``start`` to the next comma or keyword, and where it ends."""
    stop = _RX_STOP.search(text, start)
    end = stop.start() if stop else len(text)
    return _tidy_name(text[start:end]), end


def _parse_one(value: object) -> _Parsed:
    """(address, rt, rw, dusun, street, missing) for one raw value."""
    text = _clean(value)
    if _is_missing(text):
        return None, None, None, None, None, True
    return (*_split(text), False)


def _strings(values: list[str | None], take: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Per-unique values (plus a trailing null slot) spread to rows as a "string" array."""
    return pd.array([*values, None], dtype="string").take(take)


def parse_address(
    series: pd.Series, *, rt: pd.Series | None = None, rw: pd.Series | None = None
) -> pd.DataFrame:
    """Split address lines into address, RT, RW, dusun and street.

    Parameters
    ----------
    series : pd.Series
        Raw address lines.
    rt, rw : pd.Series, optional
        Separate RT / RW columns of the same records (same index). Where one
        holds a valid number it is used, and a different number in the line is
        flagged ``address_rt_rw_conflict``; problems of the columns themselves
        come from :func:`standardise_rt_rw`.

    Returns
    -------
    pd.DataFrame
        Same index; string columns ``address``, ``rt``, ``rw``, ``dusun``,
        ``street`` (<NA> when absent) and ``problem`` (``address_missing``,
        ``address_rt_rw_conflict`` or <NA>).

    Examples
    --------
    >>> import pandas as pd
    >>> lines = pd.Series(["Jl. Mawar No. 5 RT.03/RW.05 Dusun Krajan", "DSN SUKAMAJU 3/5", "-"])
    >>> parse_address(lines)[["address", "rt", "rw", "dusun", "street"]]
             address    rt    rw     dusun street
    0  JL MAWAR NO 5   003   005    KRAJAN  MAWAR
    1           <NA>   003   005  SUKAMAJU   <NA>
    2           <NA>  <NA>  <NA>      <NA>   <NA>
    >>> parse_address(pd.Series(["RT 1 RW 2"]), rt=pd.Series(["4"]))[["rt", "rw", "problem"]]
        rt   rw                 problem
    0  004  002  address_rt_rw_conflict
    """
    if not isinstance(series, pd.Series):
        raise TypeError("series must be a pandas Series")
    for name, column in (("rt", rt), ("rw", rw)):
        if column is not None and (
            not isinstance(column, pd.Series) or not column.index.equals(series.index)
        ):
            raise ValueError(f"{name} must be a pandas Series with the same index as series")
    codes, uniques = factorize_values(series)
    parsed = list(zip(*map(_parse_one, uniques), strict=True)) or [()] * 6
    take = np.where(codes < 0, len(uniques), codes)
    columns = ("address", "rt", "rw", "dusun", "street")
    out = {name: _strings(list(parsed[i]), take) for i, name in enumerate(columns)}
    missing = np.append(np.array(parsed[5], dtype=bool), True)[take]

    conflict = np.zeros(len(series), dtype=bool)
    separate_columns: tuple[tuple[Literal["rt", "rw"], pd.Series | None], ...] = (
        ("rt", rt),
        ("rw", rw),
    )
    for kind, column in separate_columns:
        if column is None:
            continue
        separate = pd.Series(standardise_rt_rw(column, kind)[kind].array)
        in_line = pd.Series(out[kind])
        conflict |= (separate != in_line).to_numpy(dtype=bool, na_value=False)
        out[kind] = separate.fillna(in_line).array

    problem = np.select([missing, conflict], ["address_missing", "address_rt_rw_conflict"], "")
    out["problem"] = pd.array(np.where(problem == "", None, problem), dtype="string")  # type: ignore[call-overload]
    return pd.DataFrame(out, index=series.index)


_RX_NUMBER_ONLY = re.compile(r"(?:(RT|RW)\s*[.:\-]?\s*)?(\d{1,4})(?:[.,]0+)?", re.ASCII)


def _parse_rt_rw(value: object, kind: str) -> tuple[str | None, str | None]:
    """(padded number, problem code) for one value of an RT or RW column."""
    text = _clean(value)
    if _is_missing(text):
        return None, f"{kind}_missing"
    if match := _RX_NUMBER_ONLY.fullmatch(text):
        prefix, digits = match.group(1), match.group(2)
        if prefix is not None and prefix != kind.upper():
            return None, f"{kind}_invalid"  # an RW number in the RT column
        if int(digits) == 0:
            return None, f"{kind}_missing"
        padded = _pad(digits)
        return padded, None if padded else f"{kind}_invalid"
    _, rt, rw, _, _ = _split(text)
    padded = rt if kind == "rt" else rw
    return (padded, None) if padded else (None, f"{kind}_invalid")


def standardise_rt_rw(series: pd.Series, kind: Literal["rt", "rw"]) -> pd.DataFrame:
    """Standardise a separate RT or RW column to three-digit strings.

    Parameters
    ----------
    series : pd.Series
        Raw values such as ``"3"``, ``"003"``, ``"3.0"``, ``"RT 3"``,
        ``"RT.03"``; a combined ``"RT 3/RW 5"`` gives the part asked for.
    kind : {"rt", "rw"}
        Which number the column holds; names the output column and the
        problem codes.

    Returns
    -------
    pd.DataFrame
        Same index; ``rt`` or ``rw`` (string ``"001"``-``"999"``) and
        ``problem``: ``<kind>_missing`` (empty, ``-``, ``0``, ``000``) or
        ``<kind>_invalid`` (anything else that is not a number 1-999).

    Examples
    --------
    >>> import pandas as pd
    >>> standardise_rt_rw(pd.Series(["3", "RT.03", "3.0", "000", "RW 5", "abc"]), "rt")
         rt     problem
    0   003        <NA>
    1   003        <NA>
    2   003        <NA>
    3  <NA>  rt_missing
    4  <NA>  rt_invalid
    5  <NA>  rt_invalid
    """
    if not isinstance(series, pd.Series):
        raise TypeError("series must be a pandas Series")
    if kind not in ("rt", "rw"):
        raise ValueError("kind must be 'rt' or 'rw'")
    codes, uniques = factorize_values(series)
    parsed = [_parse_rt_rw(u, kind) for u in uniques]
    take = np.where(codes < 0, len(uniques), codes)
    return pd.DataFrame(
        {
            kind: _strings([p[0] for p in parsed], take),
            "problem": pd.array([*(p[1] for p in parsed), f"{kind}_missing"], dtype="string").take(
                take
            ),
        },
        index=series.index,
    )
