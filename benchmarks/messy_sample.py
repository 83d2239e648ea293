"""A large messy DTKS-like export for the standardisation benchmark.

Until the synthetic population generator lands (issue 3) this builds, with
numpy only, a DTKS-shaped table whose cardinalities and error mix are
realistic: ~hundreds of thousands of distinct names built from given-name
lexicons, titles, abbreviations, old spellings, Balinese names, placeholder
and Excel-damaged NIKs, mixed date formats and RT/RW spellings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GIVEN = """
AGUS BUDI SLAMET SRI SITI NUR AHMAD ABDUL MUHAMMAD EKO DWI TRI JOKO HERMAWAN WAWAN
SUPARMI SUHARTO SUKARNO YULIANA DEWI LESTARI RAHMAT HIDAYAT RIDWAN ZAINI AMINAH FATIMAH
KHADIJAH YUSUF IBRAHIM ISMAIL HASAN HUSEIN RIZKY FAJAR PUTRA PUTRI AYU INDAH WATI YANTI
SUSANTI HARTONO SETIAWAN KURNIAWAN PRATAMA SAPUTRA WIJAYA GUNAWAN SUDARMA ARYA LESTARI
KETUT SARI RAHAYU HANDAYANI WULANDARI PERMATA CAHYONO NURHAYATI MULYADI SUPRIYADI
SUTRISNO BAMBANG HERU IWAN ANDI BASO TENRI PARLINDUNGAN ROHANI SIREGAR SIMANJUNTAK
NASUTION LUBIS HARAHAP SUTANTO LIEM TAN KURNIA DEDI DEDE ASEP UJANG ENDANG ENTIN IMAS
NENG CECEP YAYAN ROSITA MARLINA KARTINI SAMSUL SYAMSUDIN ZULKIFLI ARIFIN NURDIN JUMADI
SAPRUDIN MAHMUD SALIM SALEH HAMZAH UMAR USMAN ALI
""".split()
OLD = {
    "SUHARTO": "SOEHARTO",
    "JOKO": "DJOKO",
    "CAHYONO": "TJAHJONO",
    "YUSUF": "JOESOEF",
    "AHMAD": "ACHMAD",
    "SUKARNO": "SOEKARNO",
    "SUTRISNO": "SOETRISNO",
}
PREFIX = ["", "", "", "", "", "", "", "H. ", "HJ. ", "DRS. ", "IR. ", "BPK. ", "NY. "]
SUFFIX = ["", "", "", "", "", "", "", "", ", S.PD.", ", S.E.", ", A.MD.", " S.H.", ", M.SI"]
BALI = ["I WAYAN ", "NI LUH ", "I MADE ", "NI MADE ", "I NYOMAN ", "I KETUT ", "NI KADEK "]
MONTHS = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
]
REL = [
    "KEPALA KELUARGA",
    "ISTRI",
    "ANAK",
    "ANAK",
    "ANAK",
    "MENANTU",
    "CUCU",
    "ORANG TUA",
    "LAINNYA",
]
PROVINCES = ["11", "12", "13", "31", "32", "33", "35", "51", "52", "53", "63", "73", "91"]


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    g = np.array(GIVEN)
    # Zipf-like skew: a few names very common, a long tail of combinations
    weights = 1.0 / np.arange(1, len(g) + 1) ** 0.8
    weights /= weights.sum()
    first, second, third = (rng.choice(g, n, p=weights) for _ in range(3))
    words = rng.integers(1, 4, n)
    base = np.where(words == 1, first, np.char.add(np.char.add(first, " "), second))
    base = np.where(words == 3, np.char.add(np.char.add(base, " "), third), base)
    for new, old in OLD.items():
        swap = rng.random(n) < 0.3
        base = np.where(swap, np.char.replace(base, new, old), base)
    pre = rng.choice(PREFIX, n)
    suf = rng.choice(SUFFIX, n)
    bali = np.where(rng.random(n) < 0.05, rng.choice(BALI, n), "")
    moh = rng.random(n) < 0.03
    name = np.char.add(np.char.add(np.char.add(pre, bali), base), suf)
    name = np.where(moh, np.char.replace(name, "MUHAMMAD", "MOH."), name)
    lower = rng.random(n) < 0.3
    return np.where(lower, np.char.title(name), name)


def _niks(
    rng: np.random.Generator,
    n: int,
    birth: pd.DatetimeIndex,
    female: np.ndarray,
    region: np.ndarray,
) -> np.ndarray:
    day = birth.day.to_numpy() + 40 * female
    dd = np.char.zfill(day.astype(str), 2)
    mm = np.char.zfill(birth.month.to_numpy().astype(str), 2)
    yy = np.char.zfill((birth.year.to_numpy() % 100).astype(str), 2)
    serial = np.char.zfill(rng.integers(1, 10000, n).astype(str), 4)
    nik = np.char.add(np.char.add(np.char.add(np.char.add(region, dd), mm), yy), serial)
    kind = rng.random(n)
    nik = np.where(kind < 0.05, "", nik)
    nik = np.where((kind >= 0.05) & (kind < 0.07), np.char.add(region, "0000000000"), nik)
    sci = np.char.add(
        np.char.add(
            np.char.add(np.char.ljust(nik, 1), "."), np.char.ljust(np.char.lstrip(nik, "0"), 5)
        ),
        "E+15",
    )
    return np.where((kind >= 0.07) & (kind < 0.08), sci, nik)


def _dates(rng: np.random.Generator, birth: pd.DatetimeIndex) -> np.ndarray:
    n = len(birth)
    kind = rng.random(n)
    out = np.asarray(birth.strftime("%d-%m-%Y"), dtype=object)
    slash = kind < 0.15
    out[slash] = np.asarray(birth[slash].strftime("%d/%m/%Y"))
    text = (kind >= 0.15) & (kind < 0.20)
    months = np.array(MONTHS)[birth.month.to_numpy()[text] - 1]
    out[text] = [
        f"{d} {m} {y}" for d, m, y in zip(birth.day[text], months, birth.year[text], strict=True)
    ]
    year = (kind >= 0.20) & (kind < 0.25)
    out[year] = birth.year[year].astype(str)
    out[(kind >= 0.25) & (kind < 0.28)] = "98"
    serial = (kind >= 0.28) & (kind < 0.30)
    out[serial] = ((birth[serial] - pd.Timestamp("1899-12-30")).days).astype(str)
    return out


def messy_dtks(n: int, seed: int = 0) -> pd.DataFrame:
    """A DTKS-preset-shaped export of ``n`` messy person rows (all text)."""
    rng = np.random.default_rng(seed)
    birth = pd.to_datetime("1930-01-01") + pd.to_timedelta(rng.integers(0, 33000, n), unit="D")
    female = rng.random(n) < 0.5
    prov = rng.choice(PROVINCES, n)
    reg = np.char.zfill(rng.integers(1, 30, n).astype(str), 2)
    dist = np.char.zfill(rng.integers(1, 20, n).astype(str), 2)
    village = np.char.add("2", np.char.zfill(rng.integers(1, 30, n).astype(str), 3))
    region = np.char.add(np.char.add(prov, reg), dist)
    kk = np.char.add(
        np.char.add(region, "010120"), np.char.zfill(rng.integers(1, 10000, n).astype(str), 4)
    )
    nik = _niks(rng, n, birth, female, region)
    nik = np.where(rng.random(n) < 0.01, kk, nik)
    rt, rw = rng.integers(1, 20, n), rng.integers(1, 10, n)
    addr_kind = rng.integers(0, 4, n)
    address = np.where(
        addr_kind == 0,
        [f"RT {a:03d} RW {b:03d}" for a, b in zip(rt, rw, strict=True)],
        np.where(
            addr_kind == 1,
            [f"JL. MAWAR NO {a} RT.{a:02d}/RW.{b:02d}" for a, b in zip(rt, rw, strict=True)],
            [f"DSN. KRAJAN {b}/{a}" for a, b in zip(rt, rw, strict=True)],
        ),
    )
    sex = np.where(female, rng.choice(["P", "PEREMPUAN"], n), rng.choice(["L", "LAKI-LAKI"], n))
    return pd.DataFrame(
        {
            "ID DTKS": np.char.add("DTKS-", np.arange(n).astype(str)),
            "KODE DESA": [
                f"{a[:2]}.{a[2:4]}.{a[4:6]}.{v}" for a, v in zip(region, village, strict=True)
            ],
            "ALAMAT": address,
            "NOMOR KK": kk,
            "NIK": nik,
            "NAMA": _names(rng, n),
            "TANGGAL LAHIR": _dates(rng, birth),
            "JENIS KELAMIN": sex,
            "NAMA IBU KANDUNG": _names(rng, n),
            "HUBUNGAN KELUARGA": rng.choice(REL, n),
            "TEMPAT LAHIR": rng.choice(["SELONG", "BANYUMAS", "BULELENG", "MEDAN", "BONE"], n),
        }
    ).astype("string")
