"""Name and region lexicons of the synthetic population (``synthetic/data/*.csv``).

Four UTF-8 CSV files with a header row, upper-case ASCII names:

- ``given_names.csv`` (``name, sex, culture, weight``): about 2,250 distinct
  single-word given names. ``sex`` is M, F or U (unisex: NUR, DWI, ADE,
  ENDANG ...). ``culture`` is a regional tradition (javanese, sundanese,
  balinese, batak, sasak, bugis, minang, acehnese, minahasa) or a
  country-wide pool (muslim: Arabic-origin names; christian: baptismal names;
  chinese: names used by Chinese-Indonesians; general: modern Indonesian
  names). Balinese entries are personal names only; the title (I/NI) and
  birth-order word (WAYAN, MADE, NYOMAN, KETUT ...) are added by the
  generator. ``weight`` is a relative frequency: a few names are very common
  (MUHAMMAD, SITI, SRI, NUR, AHMAD, AGUS ~ 500-1700 summed over cultures), the
  tail weighs 1-5 (a Zipf-like curve within each list plus a hand-set head).
  Only modern spelling (SUHARTO, JOKO, CAHYO, YUSUF, AHMAD); old spellings
  (SOEHARTO, DJOKO, TJAHJO, JOESOEF, ACHMAD) are for the corruption step to
  produce. Javanese names are partly composed the way they are formed
  (core + ending: TUKIMAN, TUKINEM; SU + stem: SUHARTO, SUPARMI).
- ``family_names.csv`` (``name, culture, weight``): Batak marga (Toba, Karo,
  Simalungun, Mandailing), Chinese-Indonesian surnames in Dutch-era spelling
  (TAN, LIEM, OEI, KWEE, NJOO, TJAN ...) and Indonesianised family names
  built on them (SUTANTO, SALIM, WIJAYA, TANUWIJAYA ...), Minahasa fam names
  (RUMENGAN, WOWOR, SONDAKH ...).
- ``nicknames.csv`` (``name, nickname``): village-data hypocoristics, usually
  the last syllables (HERMAWAN -> WAWAN, SUPARMAN -> PARMAN, FITRIANI ->
  FITRI), sometimes a familiar form (YUSUF -> UCUP, IBRAHIM -> BAIM). Every
  legal name is in ``given_names.csv``.
- ``regions.csv``: about 890 villages in 11 provinces, 3 regencies each, with
  Kemendagri codes (province 2, regency 4, district 6, village 10 digits;
  village part 1xxx kelurahan, 2xxx desa, gampong and nagari) and BPS codes
  (``bps_district_code`` 7 digits, ``bps_village_code`` 10 digits; the BPS
  regency is the first 4 digits). ``culture`` is the dominant culture of the
  village (the province's, except DKI Jakarta: general, with chinese in Taman
  Sari and Tambora and javanese in three East Jakarta districts).

Codes. Province and regency codes are the real Kemendagri codes. District and
village names are real; their numbers follow the Kemendagri list where
remembered and are otherwise only plausible, so do not use this file as a
reference list. BPS district codes are the Kemendagri district number times
ten (33.02.03 -> 3302030) except in Jakarta Pusat, where BPS's own order is
used; BPS village numbers run 001.. in alphabetical order, so the two schemes
differ at village level as they do in real data. DKI Jakarta: the regency
codes of the two schemes differ. Following the domain notes (BPS 3173 Jakarta
Pusat = Kemendagri 31.71), Kemendagri 31.71 Jakarta Pusat, 31.73 Jakarta
Barat and 31.75 Jakarta Timur are BPS 3173, 3174 and 3172. (The brief of this
module guessed Kemendagri 31.71 = Jakarta Selatan; that disagrees with the
domain notes and with Kemendagri's list, where 31.74 is Jakarta Selatan.)

Sources: ``shared/domain/INDONESIA.md`` (sections Names, Region codes, NIK);
the Kemendagri province/regency code list (Kepmendagri 100.1.1-6117/2022) and
BPS Master File Desa as remembered; otherwise the authors' knowledge of
Indonesian naming. No names were taken from a real register.

All columns are read as text (codes keep their leading zeros); ``weight`` is
converted to float. Each loader is cached: treat the returned objects as
read-only (copy before modifying).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd

__all__ = ["load_family_names", "load_given_names", "load_nicknames", "load_regions"]


def _read(name: str) -> pd.DataFrame:
    path = resources.files("bansos_linkage") / "synthetic" / "data" / name
    with path.open("rb") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


@cache
def load_given_names() -> pd.DataFrame:
    """Given names with their sex, culture and relative frequency.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``sex`` (M, F or U), ``culture`` (str) and
        ``weight`` (float, > 0). A name may appear once per culture.

    Examples
    --------
    >>> names = load_given_names()
    >>> names["name"].nunique() >= 2000
    True
    >>> names.loc[names["name"] == "SITI", "sex"].iloc[0]
    'F'
    >>> sorted(names["culture"].unique())[:3]
    ['acehnese', 'balinese', 'batak']
    """
    out = _read("given_names.csv")
    return out.assign(weight=out["weight"].astype(float))


@cache
def load_family_names() -> pd.DataFrame:
    """Family names (Batak marga, Chinese-Indonesian, Minahasa) with weights.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``culture`` (batak, chinese or minahasa) and
        ``weight`` (float, > 0).

    Examples
    --------
    >>> fam = load_family_names()
    >>> sorted(fam["culture"].unique())
    ['batak', 'chinese', 'minahasa']
    >>> "SIREGAR" in set(fam["name"])
    True
    """
    out = _read("family_names.csv")
    return out.assign(weight=out["weight"].astype(float))


@cache
def load_nicknames() -> dict[str, str]:
    """Legal given name -> the nickname that replaces it in village data.

    Returns
    -------
    dict of str to str
        One nickname per legal name.

    Examples
    --------
    >>> nick = load_nicknames()
    >>> nick["HERMAWAN"], nick["SUPARMAN"]
    ('WAWAN', 'PARMAN')
    """
    out = _read("nicknames.csv")
    return dict(zip(out["name"], out["nickname"], strict=True))


@cache
def load_regions() -> pd.DataFrame:
    """Villages with Kemendagri and BPS codes, names and dominant culture.

    Returns
    -------
    pandas.DataFrame
        Columns ``province_code``, ``province_name``, ``regency_code``,
        ``regency_name``, ``district_code``, ``district_name``,
        ``village_code``, ``village_name``, ``bps_district_code``,
        ``bps_village_code`` and ``culture``, all text, sorted by
        ``village_code``.

    Examples
    --------
    >>> regions = load_regions()
    >>> row = regions[regions["village_name"] == "GLODOK"].iloc[0]
    >>> row["village_code"], row["bps_village_code"][:4], row["culture"]
    ('3173031001', '3174', 'chinese')
    >>> regions["village_code"].str.len().unique().tolist()
    [10]
    """
    return _read("regions.csv")
