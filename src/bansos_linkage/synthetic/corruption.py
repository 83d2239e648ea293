"""Recording errors, applied to true values at configured per-record rates.

Each function takes the true values (numpy object arrays), the rate and the
generator, and returns the recorded values plus the mask of records it changed
(so tests can check observed against configured rates). A rate is the chance
that the error is attempted on a record; an error that cannot apply to a value
(no Muhammad to abbreviate, no known nickname, a one-word name to drop a word
from, a child to give a title) leaves it unchanged and out of the mask. Only
the selected records go through Python; the selection itself is vectorised.
"""

from __future__ import annotations

import numpy as np

from bansos_linkage.synthetic.lexicons import load_nicknames

# neighbouring keys on a QWERTY keyboard, for substitution typos
_KEYBOARD = {
    "Q": "WA",
    "W": "QES",
    "E": "WRD",
    "R": "ETF",
    "T": "RYG",
    "Y": "TUH",
    "U": "YIJ",
    "I": "UOK",
    "O": "IPL",
    "P": "OL",
    "A": "QSZ",
    "S": "ADWX",
    "D": "SFEC",
    "F": "DGRV",
    "G": "FHTB",
    "H": "GJYN",
    "J": "HKUM",
    "K": "JLI",
    "L": "KO",
    "Z": "AX",
    "X": "ZCS",
    "C": "XVD",
    "V": "CBF",
    "B": "VNG",
    "N": "BMH",
    "M": "NJ",
}
# today's spelling -> pre-1972 spelling, the reverse of the standardiser's rules
_OLD = (("U", "OE"), ("J", "DJ"), ("C", "TJ"), ("Y", "J"), ("SY", "SJ"), ("NY", "NJ"), ("KH", "CH"))
_ABBREVIATIONS = {
    "MUHAMMAD": ("MOH.", "M.", "MUH.", "MHD", "MOCH.", "MOHAMAD", "MUHAMAD"),
    "ABDUL": ("ABD.", "ABD"),
    "SITI": ("ST.",),
    "AHMAD": ("ACHMAD", "AHMAD"),
}
_PREFIX_M = ("H.", "DRS.", "IR.", "BPK.", "H.", "KH.")
_PREFIX_F = ("HJ.", "DRA.", "IBU", "NY.", "HJ.")
_SUFFIX = (", S.PD.", ", S.E.", " S.H.", ", A.MD.", ", S.AG.", ", M.SI", " SPD")


def select(n: int, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Mask of records hit by an error of probability ``rate``."""
    return rng.random(n) < rate


def _apply(values: np.ndarray, mask: np.ndarray, fn, rng: np.random.Generator) -> np.ndarray:
    out = values.copy()
    for i in np.flatnonzero(mask):
        if isinstance(out[i], str) and out[i]:
            out[i] = fn(out[i], rng)
    return out


def typo(name: str, rng: np.random.Generator) -> str:
    """One keyboard typo: substitution by a neighbouring key, drop, double or transposition."""
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    if len(letters) < 2:
        return name
    i = letters[int(rng.integers(0, len(letters)))]
    kind = int(rng.integers(0, 4))
    if kind == 0 and name[i] in _KEYBOARD:
        near = _KEYBOARD[name[i]]
        return name[:i] + near[int(rng.integers(0, len(near)))] + name[i + 1 :]
    if kind == 1:
        return name[:i] + name[i + 1 :]
    if kind == 2:
        return name[:i] + name[i] + name[i:]
    j = i + 1 if i + 1 < len(name) and name[i + 1].isalpha() else i - 1
    a, b = sorted((i, j))
    return name[:a] + name[b] + name[a] + name[b + 1 :]


def old_spelling(name: str, rng: np.random.Generator) -> str:
    """Write a name in the old spelling where it has a letter that changed."""
    out = name
    for new, old in _OLD:
        if new in out and rng.random() < 0.7:
            out = out.replace(new, old)
    return out


def abbreviate(name: str, rng: np.random.Generator) -> str:
    """The first abbreviable word of a name written short (MUHAMMAD -> MOH., M.)."""
    words = name.split()
    for k, w in enumerate(words):
        if w in _ABBREVIATIONS:
            options = _ABBREVIATIONS[w]
            words[k] = options[int(rng.integers(0, len(options)))]
            return " ".join(words)
    return name


def drop_word(name: str, rng: np.random.Generator) -> str:
    """Drop one word of a multi-word name, or reduce it to its initial."""
    words = name.split()
    if len(words) < 2:
        return name
    k = int(rng.integers(0, len(words)))
    if rng.random() < 0.5:
        del words[k]
    else:
        words[k] = words[k][0] + "."
    return " ".join(words)


def join_split(name: str, rng: np.random.Generator) -> str:
    """Two words of a name joined into one, or a one-word name split in two."""
    words = name.split()
    if len(words) >= 2:
        k = int(rng.integers(0, len(words) - 1))
        return " ".join([*words[:k], words[k] + words[k + 1], *words[k + 2 :]])
    w = words[0] if words else name
    if len(w) >= 6:
        cut = int(rng.integers(3, len(w) - 2))
        return w[:cut] + " " + w[cut:]
    return name


def swap_order(name: str, rng: np.random.Generator) -> str:
    """The last word of a name moved to the front (AMINAH SITI for SITI AMINAH)."""
    words = name.split()
    if len(words) < 2:
        return name
    return " ".join([words[-1], *words[:-1]])


def nickname(name: str, rng: np.random.Generator) -> str:
    """Replace the name by the nickname of one of its words (Hermawan -> Wawan)."""
    nick = load_nicknames()
    for w in name.split():
        if w in nick:
            return nick[w]
    return name


def add_titles(
    names: np.ndarray, mask: np.ndarray, sex: np.ndarray, age: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Prefix (H., Hj., Drs., Bpk., Ny.) and/or suffix (S.Pd., A.Md.) titles on adults."""
    out = names.copy()
    for i in np.flatnonzero(mask & (age >= 20)):
        if not isinstance(out[i], str) or not out[i]:
            continue
        prefixes = _PREFIX_M if sex[i] == "M" else _PREFIX_F
        r = rng.random()
        if r < 0.6:
            out[i] = f"{prefixes[int(rng.integers(0, len(prefixes)))]} {out[i]}"
        if r > 0.4:
            out[i] += _SUFFIX[int(rng.integers(0, len(_SUFFIX)))]
    return out


def add_patronym(
    names: np.ndarray, mask: np.ndarray, sex: np.ndarray, fathers: np.ndarray
) -> np.ndarray:
    """The masked names with the father's name appended (BIN for men, BINTI for women)."""
    out = names.copy()
    for i in np.flatnonzero(mask):
        if isinstance(out[i], str) and out[i] and isinstance(fathers[i], str) and fathers[i]:
            out[i] = f"{out[i]} {'BIN' if sex[i] == 'M' else 'BINTI'} {fathers[i]}"
    return out


def corrupt_names(
    names: np.ndarray,
    rates,
    sex: np.ndarray,
    age: np.ndarray,
    fathers: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict]:
    """Apply every name error in a fixed order; returns names and the mask of each error."""
    n = len(names)
    masks = {}
    out = names.copy()
    steps = (
        ("name_nickname", nickname),
        ("name_old_spelling", old_spelling),
        ("name_abbreviation", abbreviate),
        ("name_word_dropped", drop_word),
        ("name_join_split", join_split),
        ("name_order_swap", swap_order),
        ("name_typo", typo),
    )
    older = age >= 50  # the old spelling survives in older people's documents
    for key, fn in steps:
        rate = getattr(rates, key)
        mask = select(n, rate * (2.0 if key == "name_old_spelling" else 1.0), rng)
        if key == "name_old_spelling":
            mask &= older | (rng.random(n) < 0.2)
        before = out
        out = _apply(out, mask, fn, rng)
        masks[key] = mask & (out != before)  # an error that could not apply changed nothing
    before = out
    out = add_titles(out, select(n, rates.name_title, rng), sex, age, rng)
    masks["name_title"] = out != before
    before = out
    out = add_patronym(out, select(n, rates.name_patronym, rng), sex, fathers)
    masks["name_patronym"] = out != before
    return out, masks


def corrupt_nik(
    nik: np.ndarray, kk: np.ndarray, rates, rng: np.random.Generator
) -> tuple[np.ndarray, dict]:
    """Missing, placeholder, one digit wrong, transposed, KK-as-NIK, Excel damage."""
    n = len(nik)
    out = nik.copy()
    kind = rng.random(n)
    edges = np.cumsum(
        [
            rates.nik_missing,
            rates.nik_placeholder,
            rates.nik_digit_wrong,
            rates.nik_transposed,
            rates.nik_is_kk,
            rates.nik_excel,
        ]
    )
    which = np.searchsorted(edges, kind, side="right")  # 0..5 hit, 6 untouched
    masks = {
        key: which == k
        for k, key in enumerate(
            (
                "nik_missing",
                "nik_placeholder",
                "nik_digit_wrong",
                "nik_transposed",
                "nik_is_kk",
                "nik_excel",
            )
        )
    }
    out[masks["nik_missing"]] = ""
    for i in np.flatnonzero(masks["nik_placeholder"]):
        r = rng.random()
        out[i] = "0" * 16 if r < 0.4 else ("9" * 16 if r < 0.6 else nik[i][:6] + "0" * 10)
    for i in np.flatnonzero(masks["nik_digit_wrong"]):
        k = int(rng.integers(6, 16))
        digit = str((int(nik[i][k]) + int(rng.integers(1, 10))) % 10)
        out[i] = nik[i][:k] + digit + nik[i][k + 1 :]
    for i in np.flatnonzero(masks["nik_transposed"]):
        k = int(rng.integers(6, 15))
        if nik[i][k] == nik[i][k + 1]:
            k = (k + 1) % 15 if (k + 1) % 15 >= 6 else 6
        out[i] = nik[i][:k] + nik[i][k + 1] + nik[i][k] + nik[i][k + 2 :]
    out[masks["nik_is_kk"]] = kk[masks["nik_is_kk"]]
    for i in np.flatnonzero(masks["nik_excel"]):
        out[i] = f"{float(nik[i]):.5E}".replace("E+", "E+")
    return out, masks


def corrupt_dates(
    dates: np.ndarray, rates, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Returns (recorded dates as datetime64[D] with NaT, year_only flags, masks)."""
    n = len(dates)
    out = dates.astype("datetime64[D]").copy()
    kind = rng.random(n)
    edges = np.cumsum(
        [rates.date_missing, rates.date_year_only, rates.date_day_month_swap, rates.date_wrong_year]
    )
    which = np.searchsorted(edges, kind, side="right")
    masks = {
        key: which == k
        for k, key in enumerate(
            ("date_missing", "date_year_only", "date_day_month_swap", "date_wrong_year")
        )
    }
    years = out.astype("datetime64[Y]").astype(int) + 1970
    months = out.astype("datetime64[M]").astype(int) % 12 + 1
    days = (out - out.astype("datetime64[M]")).astype(int) + 1
    year_only = masks["date_year_only"]
    placeholder = rng.choice(np.array(["01-01", "07-01", "12-31"]), n)
    for i in np.flatnonzero(year_only):
        out[i] = np.datetime64(f"{years[i]:04d}-{placeholder[i]}")
    swap = masks["date_day_month_swap"] & (days <= 12) & (days != months)
    masks["date_day_month_swap"] = swap
    for i in np.flatnonzero(swap):
        out[i] = np.datetime64(f"{years[i]:04d}-{days[i]:02d}-{months[i]:02d}")
    for i in np.flatnonzero(masks["date_wrong_year"]):
        shift = int(rng.choice([-2, -1, 1, 2]))
        day = min(days[i], 28) if months[i] == 2 else days[i]
        out[i] = np.datetime64(f"{years[i] + shift:04d}-{months[i]:02d}-{day:02d}")
    out[masks["date_missing"]] = np.datetime64("NaT")
    return out, year_only, masks


def corrupt_sex(
    sex: np.ndarray, rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Sexes flipped at ``rate``, and which were flipped."""
    mask = select(len(sex), rate, rng)
    out = sex.copy()
    out[mask] = np.where(sex[mask] == "M", "F", "M")
    return out, mask


__all__ = [
    "abbreviate",
    "add_patronym",
    "add_titles",
    "corrupt_dates",
    "corrupt_names",
    "corrupt_nik",
    "corrupt_sex",
    "drop_word",
    "join_split",
    "nickname",
    "old_spelling",
    "select",
    "swap_order",
    "typo",
]
