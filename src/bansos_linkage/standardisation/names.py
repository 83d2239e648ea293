"""Indonesian person names: titles, patronyms, nobility and birth order, old spelling.

:func:`standardise_name` turns a raw name into a canonical personal name and
keeps every part it takes off in its own column, so nothing is deleted:

- **titles** (``name_title``): academic, religious and honorific prefixes
  (H., Hj., Drs., Ir., Dr., Prof., Bpk., Ibu, Ny., Sdr., Kyai, Ustadz, Alm.) and
  suffixes (S.Pd., S.E., S.H., A.Md., M.Si., ... written with or without dots,
  after a comma or not), and the Batak ``boru``/``br.`` marker;
- **nobility** (``name_nobility``): Balinese I/Ni and caste titles (Ida Bagus,
  Ida Ayu, I Gusti Ngurah, Anak Agung, Cokorda, Dewa, Desak), Sasak Lalu/Baiq,
  Bugis-Makassar Andi and the ``Daeng`` name that follows a name, Acehnese
  Teuku/Cut/Teungku, Palembang Kiagus/Nyayu/Kemas/Nyimas, Javanese Raden;
- **birth order** (``name_birth_order``): Balinese Wayan, Putu, Gede, Luh, Made,
  Kadek, Nengah, Nyoman, Komang, Ketut, when the name is Balinese-shaped
  (after I/Ni or a caste title, or leading a name of two or more words);
- **patronym** (``name_patronym``): what follows bin/binti/bt./bn.

The personal name is then made canonical: Muhammad/Abdul/Siti variants
(Moh., Muh., M., Mhd., Mochammad, Abd., St.) get one spelling, and the
pre-1972 spelling is modernised per word (oe->u, dj->j, tj->c, sj->sy, nj->ny
at the start of a word, ch->kh before a vowel and ->h elsewhere, and the old j
for y in words that show another old-spelling mark or are known old forms).

Stripping never empties a name: "I Wayan" stays WAYAN. Source: the "Names"
section of shared/domain/INDONESIA.md.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import pandas as pd

from bansos_linkage.standardisation.phonetic import phonetic_key
from bansos_linkage.standardisation.problems import ProblemType, registry

PROBLEMS = registry(
    ProblemType("name_missing", "missing", "empty or a placeholder such as '-' or 'TIDAK ADA'"),
    ProblemType("name_no_letters", "invalid", "no letters at all"),
    ProblemType("name_initials_only", "warning", "every word is a single letter"),
    ProblemType("name_has_digits", "warning", "digits were removed from the name"),
)

#: Output columns of :func:`standardise_name`, besides ``problem``.
NAME_COLUMNS = (
    "name",
    "name_title",
    "name_nobility",
    "name_birth_order",
    "name_patronym",
    "name_tokens",
    "name_phonetic",
)

_PLACEHOLDERS = frozenset(
    {
        "",
        "-",
        "--",
        "0",
        "NN",
        "NULL",
        "NONE",
        "NA",
        "N A",
        "TIDAK ADA",
        "TIDAK DIKETAHUI",
        "TIDAK TAHU",
        "TDK ADA",
        "BELUM ADA",
        "XXX",
        "X",
        "ANONIM",
        "TANPA NAMA",
    }
)

# Prefix titles, keyed without dots. Canonical form shown in name_title.
_PREFIX_TITLES = {
    "H": "H",
    "HJ": "HJ",
    "HAJI": "H",
    "HAJJAH": "HJ",
    "HAJAH": "HJ",
    "DRS": "DRS",
    "DRA": "DRA",
    "IR": "IR",
    "DR": "DR",
    "DRG": "DRG",
    "PROF": "PROF",
    "BPK": "BPK",
    "BAPAK": "BPK",
    "PAK": "BPK",
    "IBU": "IBU",
    "BU": "IBU",
    "NY": "NY",
    "NYONYA": "NY",
    "NONA": "NN",
    "SDR": "SDR",
    "SDRI": "SDRI",
    "SAUDARA": "SDR",
    "SAUDARI": "SDRI",
    "TN": "TN",
    "TUAN": "TN",
    "KH": "KH",
    "KYAI": "KYAI",
    "KIAI": "KYAI",
    "USTADZ": "UST",
    "USTAD": "UST",
    "UST": "UST",
    "USTADZAH": "USTZ",
    "USTZ": "USTZ",
    "ALM": "ALM",
    "ALMH": "ALMH",
    "ALMARHUM": "ALM",
    "ALMARHUMAH": "ALMH",
    "AN": "AN",
    "AKBP": "AKBP",
    "KOMPOL": "KOMPOL",
    "SERTU": "SERTU",
    "KAPTEN": "KAPTEN",
    "MAYOR": "MAYOR",
    "KOLONEL": "KOLONEL",
    "BRIPKA": "BRIPKA",
}
# Suffix titles (academic degrees), keyed without dots.
_SUFFIX_TITLES = frozenset(
    """
SPD SPDI SPDSD SE SH SHI SAG SKOM SKEP SSOS SIP ST SSI SKM SKG SKED SFARM SPSI SHUT SPT SPI SP
STP SSTP SSN SSEN SS SIKOM SGZ SKEB STR STRKEB STRKES SAK SAB SIA SM SMB SK SKH SPSI SSTR SKPM
AMD AMA AMAPD AMK AMKEB AMKEP AMG AMF AMTE AMAK AMPD AMS AMKL
MM MSI MPD MKES MH MAG MT MSC MA MKOM MEK MHUM MIKOM MKM MKN MPH MBA MSN MKEP MFARM MPSI MTP
MHI MPDI MSY MAP MKEB MBIOMED MSE
PHD DRH SPOG SPA SPPD SPB SPM SPKK SPJP SPTHT SPRAD SPS SPAN SPKJ SPN SPU SPOT SPBS SPF SPRM
BSC BA BE DIPL LLM MD MSC
""".split()
)
# Suffix keys that are also plausible name words: only titles when written with dots
# or after a comma.
_AMBIGUOUS_SUFFIX = frozenset({"SE", "SH", "ST", "SS", "SP", "MA", "SM", "SK", "BA", "MD", "AN"})

# Nobility and regional titles, longest first (matched as word sequences at the start).
_NOBILITY = tuple(
    sorted(
        (
            tuple(t.split())
            for t in (
                "I",
                "NI",
                "IDA BAGUS",
                "IDA AYU",
                "IDA",
                "I GUSTI",
                "I GUSTI NGURAH",
                "I GUSTI AYU",
                "I GUSTI BAGUS",
                "I GUSTI AGUNG",
                "GUSTI",
                "GUSTI NGURAH",
                "GUSTI AYU",
                "GUSTI AGUNG",
                "ANAK AGUNG",
                "ANAK AGUNG NGURAH",
                "ANAK AGUNG AYU",
                "AA",
                "AAGUNG",
                "COKORDA",
                "TJOKORDA",
                "COKORDA ISTRI",
                "DEWA",
                "DEWA AYU",
                "DESAK",
                "DESAK AYU",
                "SANG AYU",
                "JERO",
                "LALU",
                "BAIQ",
                "ANDI",
                "TEUKU",
                "CUT",
                "TEUNGKU",
                "TGK",
                "TEUNGKU HAJI",
                "KIAGUS",
                "KGS",
                "NYAYU",
                "NYI AYU",
                "KEMAS",
                "KMS",
                "NYIMAS",
                "MASAGUS",
                "MGS",
                "RADEN",
                "RADEN AJENG",
                "RADEN AYU",
                "RADEN MAS",
                "RADEN RORO",
                "RADEN NGABEHI",
                "RM",
                "RA",
                "RR",
                "RAY",
                "GUSTI RADEN",
                "DATUK",
                "TENGKU",
                "TUANKU",
                "OPU",
                "PUANG",
                "KARAENG",
            )
        ),
        key=len,
        reverse=True,
    )
)
_BALINESE_TITLE_WORDS = frozenset(
    {
        "I",
        "NI",
        "IDA",
        "GUSTI",
        "AGUNG",
        "BAGUS",
        "AYU",
        "NGURAH",
        "COKORDA",
        "TJOKORDA",
        "DEWA",
        "DESAK",
        "AA",
        "SANG",
        "JERO",
        "ISTRI",
        "ANAK",
    }
)
_NOBILITY_BY_FIRST: dict[str, tuple[tuple[str, ...], ...]] = {
    first: tuple(seq for seq in _NOBILITY if seq[0] == first) for first in {q[0] for q in _NOBILITY}
}
_NOBILITY_NEEDS_DOTS = frozenset({("RM",), ("RA",), ("RR",), ("AA",), ("RAY",)})
_BIRTH_ORDER = frozenset(
    {"WAYAN", "PUTU", "GEDE", "LUH", "MADE", "KADEK", "NENGAH", "NYOMAN", "KOMANG", "KETUT"}
)
_PATRONYM = frozenset({"BIN", "BINTI", "BT", "BN", "BINTU"})
_BATAK_BORU = frozenset({"BORU", "BR"})

_MUHAMMAD = frozenset(
    {
        "MUHAMMAD",
        "MUHAMAD",
        "MUHAMMED",
        "MUHAMED",
        "MOHAMMAD",
        "MOHAMAD",
        "MOHAMMED",
        "MOHAMED",
        "MOCHAMMAD",
        "MOCHAMAD",
        "MOCHAMED",
        "MUCHAMMAD",
        "MUCHAMAD",
        "MOCH",
        "MOH",
        "MUH",
        "MHD",
        "MHMD",
        "MOHD",
        "MUHD",
        "MUHAMMADH",
        "MOKHAMMAD",
        "MOKHAMAD",
        "MUKHAMMAD",
        "MUKHAMAD",
        "MUHHAMAD",
        "MUHAMMMAD",
        "MOHAMAAD",
        "MUHAMMAAD",
        "MOEHAMMAD",
        "MOEHAMAD",
        "MD",
    }
)
_ABDUL = frozenset({"ABDUL", "ABD", "ABDL", "ABDOEL", "ABDOL", "ABDHUL"})
_SITI = frozenset({"SITI", "STI", "SITTI", "SITIH"})
# Old-spelling words whose J is the old Y though they show no other old mark.
_OLD_WORDS = {
    "JAHJA": "YAHYA",
    "JUSUF": "YUSUF",
    "JAKUB": "YAKUB",
    "JASIN": "YASIN",
    "JUNUS": "YUNUS",
    "JAHYA": "YAHYA",
    "JANTO": "YANTO",
    "JATI": "JATI",
    "JOHANA": "YOHANA",
    "JULIANA": "YULIANA",
    "JULIA": "YULIA",
    "JOSEPH": "YOSEP",
}

# Words that send a name down the full parse; a name with none of them, no old-spelling
# mark, no single letter and nothing but letters is already canonical (the fast path).
_SPECIAL_WORDS = (
    (
        set(_PREFIX_TITLES)
        | _SUFFIX_TITLES
        | {w for seq in _NOBILITY for w in seq}
        | _BIRTH_ORDER
        | _PATRONYM
        | _BATAK_BORU
        | _MUHAMMAD
        | _ABDUL
        | _SITI
        | set(_OLD_WORDS)
        | {"DAENG", "ST"}
        | {w for p in _PLACEHOLDERS for w in p.split()}
    )
    - {"MUHAMMAD", "ABDUL", "SITI"}  # already canonical: no reason to leave the fast path
)
_PLAIN = r"[A-Z]+(?: [A-Z]+)*"
_SPECIAL = re.compile(
    r"\b(?:" + "|".join(sorted(_SPECIAL_WORDS, key=len, reverse=True)) + r")\b"
    r"|OE|DJ|TJ|SJ|CH|\bNJ|\b[A-Z]\b"
)
_WORD = re.compile(r"[A-Z0-9]+(?:\.[A-Z0-9]+)*\.?")
_DIGITS = re.compile(r"[0-9]")
_NOT_ALNUM = re.compile(r"[^A-Z0-9 ]")
_NOT_ALPHA = re.compile(r"[^A-Z ]")
_OLD_MARKS = re.compile(r"OE|DJ|TJ|SJ|^NJ")
_CH_VOWEL = re.compile(r"CH(?=[AEIOU])")


def _ascii_upper(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    # apostrophes join (MA'RUF -> MARUF); hyphens and slashes separate words
    return re.sub(r"['`\u2019]", "", folded).upper().replace("-", " ").replace("/", " ")


def _chunks(text: str) -> list[tuple[str, bool, bool]]:
    """Words as (key without dots, had dots, came after a comma)."""
    out: list[tuple[str, bool, bool]] = []
    for i, part in enumerate(text.split(",")):
        for m in _WORD.finditer(part):
            word = m.group()
            key = word.replace(".", "")
            if key:
                out.append((key, "." in word, i > 0))
    return out


def modernise_spelling(word: str) -> str:
    """Pre-1972 (and pre-1947) spelling of one upper-case word in today's spelling.

    Examples
    --------
    >>> [modernise_spelling(w) for w in ("SOEHARTO", "DJOKO", "TJAHJO", "ACHMAD", "JOESOEF")]
    ['SUHARTO', 'JOKO', 'CAHYO', 'AHMAD', 'YUSUF']
    """
    # a replacement can form a new mark ("DDJ" -> "DJ"): repeat until nothing changes
    for _ in range(len(word)):
        new = _modernise_once(word)
        if new == word:
            break
        word = new
    return word


def _modernise_once(word: str) -> str:
    if word in _OLD_WORDS:
        return _OLD_WORDS[word]
    old = bool(_OLD_MARKS.search(word))
    out = word.replace("OE", "U").replace("DJ", "\0").replace("TJ", "C").replace("SJ", "SY")
    if out.startswith("NJ"):
        out = "NY" + out[2:]
    if old:
        out = out.replace("J", "Y")
    out = out.replace("\0", "J")
    # Dutch ch: a vowel follows -> kh (Choirul), otherwise -> h (Achmad, Rachmat)
    return _CH_VOWEL.sub("KH", out).replace("CH", "H")


@lru_cache(maxsize=1 << 17)
def _canonical_word(key: str, first: bool, has_more: bool) -> str:
    if key in _MUHAMMAD or (first and has_more and key == "M"):
        return "MUHAMMAD"
    if key in _ABDUL:
        return "ABDUL"
    if key in _SITI or (first and has_more and key == "ST"):
        return "SITI"
    modern = modernise_spelling(key)
    # modern spelling must not turn a name word into a title or an initial (A MCH -> A MH
    # would lose "MH" as the title M.H. when standardised again)
    if modern != key and (len(modern) == 1 or modern in _PREFIX_TITLES or modern in _SUFFIX_TITLES):
        return key
    return modern


def _take_prefix_titles(words: list[tuple[str, bool, bool]], titles: list[str]) -> None:
    # a title in old spelling counts too (NJ. = NY., Njonja), so that standardising a
    # standardised name changes nothing
    while len(words) > 1 and not words[0][2]:
        key = words[0][0]
        title = _PREFIX_TITLES.get(key) or _PREFIX_TITLES.get(modernise_spelling(key))
        if title is None:
            break
        titles.append(title)
        words.pop(0)


def _take_suffix_titles(words: list[tuple[str, bool, bool]], titles: list[str]) -> None:
    kept: list[tuple[str, bool, bool]] = []
    for i, (key, dotted, after_comma) in enumerate(words):
        is_title = (
            key in _SUFFIX_TITLES
            and i > 0
            and (dotted or after_comma or key not in _AMBIGUOUS_SUFFIX)
        )
        trailing = all(k in _SUFFIX_TITLES or c for k, _, c in words[i:])
        if is_title and (trailing or after_comma):
            titles.append(key)
        elif key in _PREFIX_TITLES and after_comma:
            titles.append(_PREFIX_TITLES[key])
        else:
            kept.append((key, dotted, after_comma))
    words[:] = kept or words


def _take_nobility(keys: list[str], dotted: list[bool]) -> list[str]:
    """Take leading nobility titles, always leaving at least one word."""
    taken: list[str] = []
    while True:
        seq = next(
            (
                s
                for s in _NOBILITY_BY_FIRST.get(keys[0], ())
                if len(keys) > len(s)
                and tuple(keys[: len(s)]) == s
                and (s not in _NOBILITY_NEEDS_DOTS or dotted[0])
            ),
            None,
        )
        if seq is None:
            return taken
        taken.extend(keys[: len(seq)])
        del keys[: len(seq)], dotted[: len(seq)]


def _take_birth_order(keys: list[str], balinese: bool) -> list[str]:
    taken: list[str] = []
    if not (balinese or (len(keys) > 1 and keys[0] in _BIRTH_ORDER)):
        return taken
    while len(keys) > 1 and keys[0] in _BIRTH_ORDER:
        taken.append(keys.pop(0))
    return taken


def _split_daeng(keys: list[str]) -> list[str]:
    # Bugis-Makassar: "Andi Baso Daeng Mangawing" - Daeng and its name follow the name
    if "DAENG" in keys[1:]:
        i = keys.index("DAENG", 1)
        tail = keys[i:]
        del keys[i:]
        return tail
    return []


def _split_patronym(keys: list[str]) -> list[str]:
    for i, key in enumerate(keys):
        if i > 0 and key in _PATRONYM and i < len(keys) - 1:
            tail = keys[i + 1 :]
            del keys[i:]
            return tail
    return []


def _parse(raw: object) -> tuple[object, ...]:
    """(name, title, nobility, birth_order, patronym, problem) for one raw value."""
    if raw is None or raw is pd.NA or (isinstance(raw, float) and np.isnan(raw)):
        return None, None, None, None, None, "name_missing"
    text = _ascii_upper(str(raw))
    bare = " ".join(_NOT_ALNUM.sub(" ", text).split())
    letters = " ".join(_NOT_ALPHA.sub(" ", text).split())
    if not letters and bare and bare not in _PLACEHOLDERS:
        return None, None, None, None, None, "name_no_letters"
    if bare in _PLACEHOLDERS or letters in _PLACEHOLDERS:
        return None, None, None, None, None, "name_missing"
    has_digits = bool(_DIGITS.search(text))
    words = [(_DIGITS.sub("", k), d, c) for k, d, c in _chunks(text)]
    words = [w for w in words if w[0]]
    if not words:
        return None, None, None, None, None, "name_no_letters"
    titles: list[str] = []
    _take_prefix_titles(words, titles)
    _take_suffix_titles(words, titles)
    keys = [k for k, _, _ in words]
    dotted = [d for _, d, _ in words]
    patronym = _split_patronym(keys)
    del dotted[len(keys) :]
    for marker in _BATAK_BORU:  # "Rohani boru Siregar": keep the marga, note the marker
        if marker in keys[1:-1] or (marker in keys[1:] and marker != keys[-1]):
            keys.remove(marker)
            titles.append("BORU")
    nobility = _take_nobility(keys, dotted)
    balinese = any(w in _BALINESE_TITLE_WORDS for w in nobility)
    birth_order = _take_birth_order(keys, balinese)
    nobility += _split_daeng(keys)
    name = _canonical_words(keys)
    problem = (
        "name_initials_only"
        if all(len(k) == 1 for k in keys)
        else ("name_has_digits" if has_digits else None)
    )
    return (
        " ".join(name),
        _join(titles),
        _join(_canonical_words(nobility)),
        _join(birth_order),
        _join(_canonical_words(patronym)),
        problem,
    )


def _canonical_words(keys: list[str]) -> list[str]:
    return [_canonical_word(k, i == 0, len(keys) > 1) for i, k in enumerate(keys)]


def _join(words: Iterable[str]) -> str | None:
    text = " ".join(words)
    return text or None


def _parse_uniques(uniques: np.ndarray | pd.Index) -> list[tuple[object, ...]]:
    """Parse distinct raw names: plain ones in one vectorised pass, the rest one by one."""
    text = pd.Series(uniques.astype(str), dtype="string")
    upper = text.str.strip().str.replace(r"\s+", " ", regex=True).str.upper()
    plain = upper.str.fullmatch(_PLAIN) & ~upper.str.contains(_SPECIAL)
    plain_mask = plain.fillna(False).to_numpy(dtype=bool)
    fast = upper.to_numpy(dtype=object)
    return [
        (fast[i], None, None, None, None, None) if plain_mask[i] else _parse(raw)
        for i, raw in enumerate(uniques)
    ]


def standardise_name(series: pd.Series) -> pd.DataFrame:
    """Standardise person names (see the module documentation for the rules).

    Parameters
    ----------
    series
        Raw names, any index; values may be missing.

    Returns
    -------
    pandas.DataFrame
        Same index; columns ``name`` (canonical personal name), ``name_title``,
        ``name_nobility``, ``name_birth_order``, ``name_patronym`` (space-joined,
        ``<NA>`` when none), ``name_tokens`` (list of the words of ``name``),
        ``name_phonetic`` (space-joined Indonesian phonetic keys) and ``problem``.
        Computed once per distinct raw value.

    Examples
    --------
    >>> out = standardise_name(pd.Series(["Hj. Siti Aminah, S.Pd.", "I Wayan Sudarma",
    ...                                   "Hanum binti Ismail", "Moh. Ridwan", "Soeharto"]))
    >>> out["name"].tolist()
    ['SITI AMINAH', 'SUDARMA', 'HANUM', 'MUHAMMAD RIDWAN', 'SUHARTO']
    >>> out.loc[0, "name_title"], out.loc[1, "name_birth_order"], out.loc[2, "name_patronym"]
    ('HJ SPD', 'WAYAN', 'ISMAIL')
    """
    if not isinstance(series, pd.Series):
        raise TypeError("series must be a pandas Series")
    codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
    parsed = _parse_uniques(uniques) + [_parse(None)]
    take = np.where(codes < 0, len(uniques), codes)
    columns = list(zip(*parsed, strict=True))
    out = pd.DataFrame(index=series.index)
    for i, col in enumerate(
        ("name", "name_title", "name_nobility", "name_birth_order", "name_patronym")
    ):
        out[col] = pd.array(list(columns[i]), dtype="string").take(take)
    tokens = np.empty(len(parsed), dtype=object)
    tokens[:] = [None if n is None else n.split() for n in columns[0]]
    out["name_tokens"] = pd.Series(tokens[take], index=series.index, dtype=object)
    phonetic = [
        None if n is None else " ".join(phonetic_key(t) for t in n.split()) for n in columns[0]
    ]
    out["name_phonetic"] = pd.array(phonetic, dtype="string").take(take)
    out["problem"] = pd.array(list(columns[5]), dtype="string").take(take)
    return out


__all__ = [
    "NAME_COLUMNS",
    "PROBLEMS",
    "modernise_spelling",
    "standardise_name",
]
