"""The Indonesian phonetic key of a name: a standardised form of its sound.

The phonetic key follows the published Indonesian adaptations of Soundex and
Metaphone (Rahadian et al.; Soundex + Levenshtein for Arabic names in
Indonesian spelling): spelling variants that sound alike get one key, while
the letters that carry identity (consonant skeleton, vowel positions) stay.

Rules, applied to one upper-case token already normalised for the old spelling
(:mod:`bansos_linkage.standardisation.names` does that):

1. digraphs and foreign letters: ``KH->H`` (Khadijah/Hadijah), ``DZ->Z``, ``SY->S``,
   ``TH->T``, ``DH->D``, ``PH->F``, then ``F/V->P`` (Yusuf/Yusup), ``Q->K``,
   ``X->KS``, ``Z->S`` (Rizky/Riski, Zulkifli/Dzulkifli);
2. ``Y`` after a consonant or at the end is the vowel ``I`` (Nurhayaty/Nurhayati);
3. ``H`` is dropped at the end of a word and after a consonant (Fatimah/Fatima),
   kept between vowels and before a consonant (Muhammad vs Mahmud stay apart);
4. the first letter is kept as written; every later vowel becomes ``A`` (vowel
   quality varies: Mohammad/Muhammad), runs of vowels collapse to one;
5. doubled letters collapse (Muhammad/Muhamad).

Examples
--------
>>> [phonetic_key(t) for t in ("MUHAMMAD", "MUHAMAD", "MOHAMMAD")]
['MAHAMAD', 'MAHAMAD', 'MAHAMAD']
>>> phonetic_key("RIZKY") == phonetic_key("RISKI")
True
>>> phonetic_key("AGUS") == phonetic_key("AGUNG")
False
"""

from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd

_DIGRAPHS = (("KH", "H"), ("DZ", "Z"), ("SY", "S"), ("TH", "T"), ("DH", "D"), ("PH", "F"))
_LETTERS = str.maketrans({"F": "P", "V": "P", "Q": "K", "Z": "S"})
_VOWELS = "AEIOU"
_Y_AS_VOWEL = re.compile(r"(?<=[^AEIOU])Y|Y$")
_H_SILENT = re.compile(r"(?<=[^AEIOU])H|H$")
_NON_LETTER = re.compile(r"[^A-Z]")


@lru_cache(maxsize=1 << 18)
def phonetic_key(token: str) -> str:
    """Indonesian phonetic key of one upper-case name token (see the module rules).

    Examples
    --------
    >>> phonetic_key("FATIMAH"), phonetic_key("FATIMA")
    ('PATAMA', 'PATAMA')
    """
    word = _NON_LETTER.sub("", token.upper())
    if not word:
        return ""
    for old, new in _DIGRAPHS:
        word = word.replace(old, new)
    word = word.replace("X", "KS").translate(_LETTERS)
    word = _Y_AS_VOWEL.sub("I", word)
    if len(word) > 1:
        word = word[0] + _H_SILENT.sub("", word[1:])
    out = [word[0]]
    for ch in word[1:]:
        code = "A" if ch in _VOWELS else ch
        if code != out[-1] and not (code == "A" and out[-1] in _VOWELS):
            out.append(code)
    return "".join(out)


def phonetic_keys(names: pd.Series) -> pd.Series:
    """Space-joined phonetic keys of each name's tokens, computed once per unique name.

    Examples
    --------
    >>> phonetic_keys(pd.Series(["SITI AMINAH", None])).tolist()
    ['SATA AMANA', <NA>]
    """
    codes, uniques = pd.factorize(names, use_na_sentinel=True)
    keys = [" ".join(phonetic_key(t) for t in str(u).split()) or None for u in uniques]
    keys.append(None)
    return pd.Series(pd.array(keys, dtype="string").take(codes), index=names.index)


__all__ = [
    "phonetic_key",
    "phonetic_keys",
]
