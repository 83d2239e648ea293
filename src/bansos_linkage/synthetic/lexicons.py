"""Name and region lexicons of the synthetic population (``synthetic/data/*.csv``).

- ``given_names.csv`` (name, sex M/F, culture, weight): regional given-name
  lists by culture with Zipf-like weights (a few names very common, a long
  tail), plus Javanese names composed the way they are formed (Su- + stem +
  ending: SUHARTO, SUPARMAN, SUPARMI, MARYATI), over 2,000 distinct names.
- ``family_names.csv`` (name, culture, weight): Batak marga, Chinese-Indonesian
  surnames and their Indonesianised forms, Minahasa family names.
- ``nicknames.csv`` (name, nickname): village-data hypocoristics (HERMAWAN ->
  WAWAN, SUPARMAN -> PARMAN).
- ``regions.csv``: villages with Kemendagri codes (real province and regency
  codes; district and village names composed) and their BPS codes, numbered
  differently at district and village level. Jakarta follows the domain notes
  (Kemendagri 31.71 Jakarta Pusat = BPS 3173).

Sources: shared/domain/INDONESIA.md ("Names", "Region codes"); Kemendagri
province and regency codes. ``scripts/build_lexicons.py`` rebuilds the files.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd


def _read(name: str) -> pd.DataFrame:
    path = resources.files("bansos_linkage") / "synthetic" / "data" / name
    with path.open("rb") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


@cache
def load_given_names() -> pd.DataFrame:
    """Given names with ``name, sex, culture, weight`` (weight as float).

    Examples
    --------
    >>> names = load_given_names()
    >>> names["name"].nunique() >= 2000
    True
    """
    out = _read("given_names.csv")
    return out.assign(weight=out["weight"].astype(float))


@cache
def load_family_names() -> pd.DataFrame:
    """Family names with ``name, culture, weight``."""
    out = _read("family_names.csv")
    return out.assign(weight=out["weight"].astype(float))


@cache
def load_nicknames() -> dict[str, str]:
    """Legal name -> nickname.

    Examples
    --------
    >>> load_nicknames()["HERMAWAN"]
    'WAWAN'
    """
    out = _read("nicknames.csv")
    return dict(zip(out["name"], out["nickname"], strict=True))


@cache
def load_regions() -> pd.DataFrame:
    """Villages with Kemendagri and BPS codes, names and the dominant culture (all text)."""
    return _read("regions.csv")
