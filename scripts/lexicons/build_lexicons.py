"""Build the synthetic-population lexicons (src/bansos_linkage/synthetic/data/*.csv).

Deterministic: the same word lists always give byte-identical files.
Usage: python scripts/lexicons/build_lexicons.py src/bansos_linkage/synthetic/data
"""

import csv
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from names_data import GIVEN, JAVA_CORES, JAVA_F_END, JAVA_M_END, SU_F, SU_M
from other_data import FAMILY, NICK

OUT = Path(sys.argv[1])
OUT.mkdir(parents=True, exist_ok=True)
VALID = re.compile(r"[A-Z]+")

# very common names and their weight (the head of the distribution)
HEAD = {
    ("muslim", "MUHAMMAD"): 1000,
    ("muslim", "SITI"): 1000,
    ("muslim", "NUR"): 800,
    ("muslim", "AHMAD"): 600,
    ("muslim", "ABDUL"): 450,
    ("muslim", "NURUL"): 250,
    ("javanese", "SRI"): 900,
    ("general", "DEWI"): 400,
    ("general", "AGUS"): 500,
    ("general", "BUDI"): 350,
    ("javanese", "EKO"): 300,
    ("javanese", "DWI"): 300,
    ("javanese", "TRI"): 250,
    ("general", "PUTRI"): 300,
    ("general", "RIZKY"): 200,
    ("javanese", "SLAMET"): 250,
    ("javanese", "BAMBANG"): 180,
    ("general", "ADI"): 160,
    ("general", "INDAH"): 150,
    ("general", "AYU"): 200,
    ("javanese", "SITI"): 300,
    ("sundanese", "ASEP"): 300,
    ("sundanese", "UJANG"): 200,
    ("sundanese", "DEDE"): 180,
    ("sundanese", "ADE"): 160,
    ("general", "ANDI"): 150,
    ("general", "DIAN"): 140,
    ("acehnese", "MUHAMMAD"): 300,
    ("bugis", "MUHAMMAD"): 200,
    ("sasak", "MUHAMMAD"): 200,
    ("balinese", "PUTRA"): 120,
    ("general", "WAHYU"): 140,
    ("general", "NANDA"): 100,
}


def clean(words):
    return [w for w in words if "?" not in w]


def zipf(rank, top=80.0, s=0.85):
    return max(1.0, top / (rank + 1) ** s)


rows = {}  # (culture, name) -> [sex, weight]
for (culture, sex), words in GIVEN.items():
    for rank, name in enumerate(dict.fromkeys(clean(words))):
        assert VALID.fullmatch(name), name
        w = HEAD.get((culture, name), zipf(rank))
        key = (culture, name)
        if key in rows:
            old_sex, old_w = rows[key]
            rows[key] = [old_sex if old_sex == sex else "U", max(old_w, w)]
        else:
            rows[key] = [sex, w]

# composed Javanese names: a long tail
rng = random.Random(20250101)
composed = {"M": [], "F": []}
for core in JAVA_CORES:
    composed["M"] += [core + e for e in JAVA_M_END]
    composed["F"] += [core + e for e in JAVA_F_END]
composed["M"] += ["SU" + s for s in SU_M]
composed["F"] += ["SU" + s for s in SU_F]
for sex, names in composed.items():
    for name in names:
        assert VALID.fullmatch(name), name
        if ("javanese", name) not in rows:
            rows[("javanese", name)] = [sex, round(rng.uniform(1, 4), 1)]

given = sorted((name, sex, culture, round(w, 3)) for (culture, name), (sex, w) in rows.items())
with open(OUT / "given_names.csv", "w", newline="", encoding="utf-8") as f:
    out = csv.writer(f, lineterminator="\n")
    out.writerow(["name", "sex", "culture", "weight"])
    out.writerows(given)
given_names = {g[0] for g in given}

fam_rows = []
for culture, words in FAMILY.items():
    for rank, name in enumerate(dict.fromkeys(clean(words))):
        assert VALID.fullmatch(name), name
        fam_rows.append((name, culture, round(zipf(rank, top=100.0, s=0.9), 3)))
with open(OUT / "family_names.csv", "w", newline="", encoding="utf-8") as f:
    out = csv.writer(f, lineterminator="\n")
    out.writerow(["name", "culture", "weight"])
    out.writerows(sorted(fam_rows))

nick = {}
for pair in NICK.replace("\n", " ").split(";"):
    if not pair.strip():
        continue
    name, nickname = pair.split()
    assert VALID.fullmatch(name) and VALID.fullmatch(nickname), pair
    if name == nickname or name in nick:
        continue
    if name not in given_names:
        print("nickname of unknown name:", name)
        continue
    nick[name] = nickname
with open(OUT / "nicknames.csv", "w", newline="", encoding="utf-8") as f:
    out = csv.writer(f, lineterminator="\n")
    out.writerow(["name", "nickname"])
    out.writerows(sorted(nick.items()))

# regions
region_rows = []
prov = reg = None
for line in (Path(__file__).parent / "regions_data.txt").read_text().splitlines():
    if not line.strip() or line.startswith("#"):
        continue
    kind, rest = line.split(" ", 1)
    if kind == "P":
        code, rest = rest.split(" ", 1)
        name, culture = rest.rsplit(" ", 1)
        prov = (code, name, culture)
    elif kind == "R":
        code, bps, name = rest.split(" ", 2)
        assert code[:2] == prov[0] == bps[:2]
        reg = (code, bps, name)
    else:
        head, villages = rest.split("|")
        parts = head.split()
        dd, opts, words = parts[0], {}, []
        for p in parts[1:]:
            if "=" in p:
                k, v = p.split("=")
                opts[k] = v
            else:
                words.append(p)
        district = reg[0] + dd
        bps_district = reg[1] + opts.get("bps", f"{int(dd) * 10:03d}")
        kota = int(reg[0][2:]) >= 71
        names = [v.strip() for v in villages.split(",") if v.strip() and "?" not in v]
        counters = {"1": 1000, "2": 2000}
        parsed = []
        for v in names:
            mark = v[-1] if v[-1] in "*+" else ""
            v = v.rstrip("*+").strip()
            kind_digit = ("2" if mark == "+" else "1") if kota else ("1" if mark == "*" else "2")
            counters[kind_digit] += 1
            parsed.append((v, district + f"{counters[kind_digit]:04d}"))
        bps_order = {v: i + 1 for i, (v, _) in enumerate(sorted(parsed))}
        for v, vcode in parsed:
            region_rows.append(
                (
                    prov[0],
                    prov[1],
                    reg[0],
                    reg[2],
                    district,
                    " ".join(words),
                    vcode,
                    v,
                    bps_district,
                    bps_district + f"{bps_order[v]:03d}",
                    opts.get("culture", prov[2]),
                )
            )
region_rows.sort(key=lambda r: r[6])
assert len({r[6] for r in region_rows}) == len(region_rows)
assert len({r[9] for r in region_rows}) == len(region_rows)
assert len({r[8] for r in region_rows}) == len({r[4] for r in region_rows})
with open(OUT / "regions.csv", "w", newline="", encoding="utf-8") as f:
    out = csv.writer(f, lineterminator="\n")
    out.writerow(
        [
            "province_code",
            "province_name",
            "regency_code",
            "regency_name",
            "district_code",
            "district_name",
            "village_code",
            "village_name",
            "bps_district_code",
            "bps_village_code",
            "culture",
        ]
    )
    out.writerows(region_rows)
print(
    len(given_names),
    "names;",
    len(fam_rows),
    "family;",
    len(nick),
    "nicknames;",
    len(region_rows),
    "villages",
)
