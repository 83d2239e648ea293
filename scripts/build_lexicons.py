"""Build fallback lexicons (run once; output committed as data files)."""

import csv
import itertools
import re
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "bansos_linkage" / "synthetic" / "data"
OUT.mkdir(exist_ok=True)


def words(s):
    return s.split()


CULT = {
    ("muslim", "M"): words(
        "MUHAMMAD AHMAD ABDUL ABDULLAH YUSUF IBRAHIM ISMAIL HASAN HUSEIN RAHMAN RAHMAT HIDAYAT ARIF ARIFIN FAUZI HAMZAH UMAR USMAN ALI SALEH SALIM ZAINAL ZAINUDIN ZULKIFLI SYAMSUL SYAMSUDIN NURDIN JAMALUDIN KAMARUDIN SAIFUL SAIFUDIN FADLI FIKRI HAFIZ HAKIM HAMID HANAFI IMRAN IRFAN ISHAK JAFAR KHAIRUL LUKMAN MAHMUD MANSUR MUHSIN MUKHLIS MUSTAFA NASRUL RIDWAN RIZAL RUSLAN SAID SOLEH SUBHAN SYAHRIR SYARIF TAUFIK YAHYA YASIN YUNUS ZAKARIA ZAINI ABU ANWAR ASRUL AZHAR BAHRUDIN BURHAN DAHLAN FAISAL FATAH GHOFUR HABIBI HARUN HILMI IKHSAN ILHAM JUNAIDI KADIR LATIF MAKMUR MASRUR NAJIB NAWAWI QOMARUDIN RASYID ROHIM SAHLAN SOBARI THOHIR WAHID ZUHRI"
    ),
    ("muslim", "F"): words(
        "SITI NUR FATIMAH AISYAH KHADIJAH AMINAH MARYAM ZAINAB HALIMAH RAHMAWATI NURHAYATI NURAINI NURUL NURLAILA HASANAH HUSNA SALMA SALAMAH ROHMAH RAHMAH ZUBAIDAH MASITOH MUNAWAROH SAODAH KHOTIJAH HAJAR HAFSAH JAMILAH LAILA LATIFAH MAIMUNAH MARFUAH MUTMAINAH NAFISAH NAJWA QOMARIAH ROKAYAH RUKIAH SAFITRI SAKINAH SUMAYAH UMAIRAH ZAHRA ZULAIKHA AZIZAH FAUZIAH HABIBAH INAYAH ISTIQOMAH KHUSNUL MUSLIMAH NADIA RABIAH SOLIHAH ULFAH WARDAH YULAIKHA"
    ),
    ("balinese", "M"): words(
        "SUDARMA ARYA SUDIARTA SUWENDRA ADNYANA ASTAWA BUDIASA DARMAWAN GUNAWAN JAYA KARIASA MAHENDRA MERTA NATA PARTA PUTRAWAN RAKA SANTIKA SUARDANA SUARTIKA SUBAGIA SUDANA SUKARTA SUMERTA SUPARTA SURYA SUTAMA WARDANA WIDIANA WIRAWAN YASA ANTARA ARTANA BAGIASTRA DANA EKA GEDE OKA RAI SUKADANA SUWARDIKA"
    ),
    ("balinese", "F"): words(
        "LESTARI SARI AYU WIDIASTUTI ARIANI ASTITI DEWI JUNIASIH KARTIKA MARTINI PUSPITA PUSPAWATI RATNA SEKAR SRIASIH SUARNI SUARTINI SUCIANI SUDARMI SUKERTI SUMARNI SUPARTINI SURYANI SUSILAWATI UTAMI WIDYANTARI WULANDARI YULIANTARI ARTINI ADNYANI DARMAYANTI"
    ),
    ("batak", "M"): words(
        "PARLINDUNGAN HOTMAN JONGGI MANGASI PARULIAN TUMPAL BONAR HOTLAN MARULI SAHAT TORANG MARUDUT PANDAPOTAN BINSAR GOMGOM HASUDUNGAN LAMHOT MARIHOT OLOAN PANGIHUTAN RUDOLF SARMAN TIGOR DAMIANUS JANSEN"
    ),
    ("batak", "F"): words(
        "ROHANI TIUR MARIANI ROSMA LASMARIA DUMARIA HOTMA NURSIANI ROSIDA TIOMINAR MERIANI SONTI RUMINTANG PINTA LUMONGGA ROSLINA MASNIAR DERMAWATI NURMAIDA HOTNIDA"
    ),
    ("christian", "M"): words(
        "YOHANES PETRUS PAULUS MARKUS LUKAS MATIUS YAKOBUS ANDREAS STEFANUS FRANSISKUS ANTONIUS YOSEF MIKAEL DANIEL SAMUEL DAVID SIMON TOMAS FILIPUS BENEDIKTUS AGUSTINUS ALOYSIUS DOMINIKUS IGNATIUS KRISTIANUS"
    ),
    ("christian", "F"): words(
        "MARIA MAGDALENA ELISABETH KATARINA MARTHA RUTH ESTER DEBORA SUSANA LIDIA YOHANA AGNES CECILIA VERONIKA THERESIA MONIKA KRISTINA FRANSISKA ANASTASIA PAULINA"
    ),
    ("sasak", "M"): words(
        "ZAINI SAHNUN MAHSUN AMAQ HAERUDIN MUHSAN SUPARDI JUMAIDI SAHRUL MASNUN SABARUDIN ABDUL HAMDI RUSDI SAPARUDIN MUSLEH NURHADI SAHLAN SAMSUL HAERUL"
    ),
    ("sasak", "F"): words(
        "AMINAH SAHNUN INAQ RABIAH SUMIATI RUKIAH MARNI SAPINAH HURNIATI MULIANI SUKINAH RAHMI NURHAYATI SAHIDAH SUNIATI HAERANI"
    ),
    ("bugis", "M"): words(
        "BASO MAPPA TENRI SAMPARAJA BACO BEDDU LATIF MAKMUR RUSDI SUDIRMAN HAMZAH ASRI ARDI SYAMSU JAMAL NASRUN AMIRUDDIN BAHTIAR HASANUDDIN IRWAN"
    ),
    ("bugis", "F"): words(
        "TENRI BECCE HASNAH NURLIA SITTI HAJRAH RAHMATIA MURNI KASMAWATI HERLINA NURHAEDA SUHARTINI JUMRIANI SATRIANI HASMAWATI NURJANNAH"
    ),
    ("acehnese", "M"): words(
        "MUHAMMAD TEUKU ZULFIKAR MUKHLIS IRWANSYAH SAIFUL FADHIL RIZKI KHAIRUL MUNAWAR NAZARUDDIN ZULKARNAIN MAWARDI ISKANDAR RAZALI SULAIMAN TARMIZI HASBALLAH"
    ),
    ("acehnese", "F"): words(
        "CUT NYAK FITRIANI SALMIAH NURHAYATI RAHMAH ASMAUL KHAIRIAH MARLIANA NURLAILA SYARIFAH ZAHRATUL RUKAYAH ROSNIDAR SARI"
    ),
    ("minang", "M"): words(
        "AFRIZAL DASRIL ZULHENDRI ERIZAL JONI NOFRIZAL SYAFRIZAL YULIZAR DEDI HENDRI RISMAN ZAINAL FIRDAUS ASMAR BUSTAMI DARLIS MASRIL NASRUL SUTAN YUSRIZAL"
    ),
    ("minang", "F"): words(
        "NURHAYATI YUSNIDAR ROSMANIAR DESMAWATI ERNAWATI FITRIANI HASNIDAR JASMIATI MURNIATI NOVIA RAHMAWATI SYAFRIDA YENI ZURAIDA ASNIDAR DELVI"
    ),
    ("chinese", "M"): words(
        "HARTONO SUTANTO WIJAYA GUNAWAN SANTOSO HALIM SALIM TANUWIJAYA KURNIAWAN LIMANTO HENDRA WILLIAM ALBERT HENRY KEVIN STEVEN JOHNNY FELIX VINCENT SWIE BUN HOK LIONG KING"
    ),
    ("chinese", "F"): words(
        "MEI LING LAN HWA SIOK LIANA LINDA SUSAN JENNY MELIANA SUSANTI YULIANA VIVIAN ANGELINA CYNTHIA MONICA FELICIA GRACE LILY"
    ),
    ("minahasa", "M"): words(
        "JOHANIS HENDRIK FRANKY JEFRY RONNY JUNUS ALFRED NOLDY STENLY FREDDY MAXI DEIBY"
    ),
    ("minahasa", "F"): words("JULIETA MEITY NOVIE SENNY DEISY LENNY OLVIE ANNEKE FENNY JOULE"),
    ("general", "M"): words(
        "AGUS BUDI EKO ADI ANDI ANDRE ARIF BAYU DEDI DENI DONI FAJAR HADI HENDRA HERU IWAN JOKO KURNIA PUTRA RIZKY ADITYA DIMAS RAFI FARHAN ILHAM GILANG REZA RANGGA YOGA DANI ARDI BAGUS DWI TRI RIKI RIKO TAUFAN YUDI YANTO ANTON BAMBANG BENNY DODI EDI FERRY GALIH HARIS INDRA JEFRI KEVIN LUTFI NANDA OKTA PRIMA RAKA SATRIA TEGUH WAHYU WISNU YUSUF ZAKI ALDI ALFIAN ARYA DAFFA FIRMAN GUNTUR IKHSAN KRISNA MAULANA NAUFAL PANJI RAMA SAPUTRA SETIAWAN PRATAMA NUGROHO HIDAYAT WIBOWO"
    ),
    ("general", "F"): words(
        "SRI DEWI PUTRI AYU INDAH WATI YANTI SARI LESTARI FITRI RINA RINI DIAN NOVI DESI LINDA MEGA NINA RATNA VINA YULI ANISA NABILA SALSABILA AULIA ZAHRA NAYLA KEYSHA ALYA AMELIA CITRA DINDA ELSA FIKA GITA HANA INTAN JIHAN KARINA LAILA MAYA NADIA OKTAVIA PUSPITA RANI SELVI TIARA UTAMI VIRA WULAN YUNI ANGGRAINI HANDAYANI KURNIASIH PERMATASARI RAHAYU SUSANTI WAHYUNI PRATIWI NINGRUM"
    ),
}

EXTRA_M = words(
    "HERMAWAN SLAMET SUDARSONO KUSNADI ABDI ACHYAR ADAM ADHI ADIB ADRIAN AFDAL AGAM AGIL AHSAN AKBAR AKMAL ALAM ALDO ALIF AMAR AMIN AMRI ANDIKA ANGGA ANSHORI ANUGRAH ARDIAN ARFAN ARIS ARMAN ASLAM ASWIN ATHAR AZAM BAGAS BAHRI BARA BASUKI BIMA BINTANG CANDRA CAHYA DAFA DAMAR DANANG DANU DARMAN DARUL DAVA DENDI DEVAN DIKI DIMAS DIRGA EDWIN EFENDI ELANG ENDRA ERIK ERLANGGA ERWIN FAHMI FAHRI FAJRI FATHAN FERDI FIRDAUS GALANG GANDA GATOT GERRY GUSTI HABIB HAFIDZ HAIKAL HAMDAN HANIF HARDIAN HASBI HENDRO HERI HILMAN IBNU IKBAL IMAM INDRO IQBAL IRSYAD IVAN JAMAL JAYA JODI JULIAN KAMAL KEMAL KHOIRUL LANANG LINGGA MAHESA MARDI MIFTAH MIRZA MULYADI NAFIS NIZAR NOVAL NUGRAHA OKI PRASETYO PRIYO RADEN RAFLI RAIHAN RAMADHAN RAMLI RENDI RESTU RIDHO RIFKI RIO RIYAN ROBI ROHMAN ROMI RUDI SABAR SAKTI SANDI SATRIO SENO SIGIT SONY SURYA SYAHRUL TAMA TONI TRIYONO UDIN USMAN WAWAN WIDI YAHYA YOGI YUDHA YUSRI ZAHID ZULFAN"
)
EXTRA_F = words(
    "ROSMIATI YULIANTI FITRIANI SUHARTI ADELIA AFIFAH AGUSTINA AINI ALIYA ALMA ANDINI ANGGI ANIK ARUM ASTUTI AYUNI BELLA BUNGA CAHAYA CANTIKA DAMAYANTI DARA DELIMA DESTI DIAH DINA DWIYANTI EKA ELLY ELVIRA ERNA ESTI EVI FADILA FARAH FEBRI FIRDA GADIS HAFIZAH HANI HARTATI HESTI IKA INDRI IRMA ISNA JULIA KARTIKA KHARISMA KIKI LAILATUL LATIFA LIA LILIS LUTFIA MARDIANA MAULIDA MELATI MIRA MUTIA NAILA NIKEN NINDYA NOVITA NURMALA OKTAVIANI PUJI RAHMA RATIH RENI RISKA RIZKA ROSITA SABRINA SALWA SANTI SEPTI SHINTA SILVIA SINTA SUCI TANTI TRIANA TUTI ULFA UMI VERA WIDYA WINDA YANI YENI YUNITA ZAHRAH ZASKIA ZULFA"
)
# Javanese and Sundanese names are built from well-known morphemes (Su-, Sri, -no, -to,
# -wati, -ningsih ...): composing them gives the long tail real registers show.
JV_PRE_M = words(
    "SU SLA SUR SUK SUP SUW SUD SUT SUM SUB SUG SUY SUJ SUH PAR WAR KAR DAR HAR TAR JAR MAR SAR NAR"
)
JV_ROOT = words(
    "HARTO PARMAN KARNO YATNO WARNO TRISNO PRAPTO GIYO DIYO MIRAN JONO TONO YONO RONO WIDODO HADI RAHMAN MADI NARDI YADI JADI TAMAN WANTO YANTO RANTO SANTO LAMET MIJAN TARJO KARJO DARSO WARSO MARSO KIRMAN PINO RIYANTO SUSILO"
)
JV_FEM_SUF = words("WATI NINGSIH YATI ANI ARTI INI IYAH EM ASIH ANAH IYEM INAH UNI")
SUN_M = words(
    "ASEP UJANG CECEP DEDE ENDANG DADANG YAYAN UJU OMAN ADE AEP ENCEP JAJANG DUDUNG MAMAN ENDIN OTONG ACENG DEDEN YAYA KOKO ENJANG UUS IWAN DEDI HENDI"
)
SUN_F = words(
    "ENTIN IMAS NENG EUIS ENOK CUCU ENENG YAYAH NENI TITIN EMI NUNUNG IDAH OOM NANI TATI ICAH OTIH EPON ATIKAH ENUNG KOKOM YOYOH"
)

rows = {}


def add(name, sex, culture, weight):
    if not re.fullmatch(r"[A-Z]+", name):
        return
    key = (name, sex, culture)
    rows[key] = max(rows.get(key, 0), weight)


CULT[("general", "M")] = CULT[("general", "M")] + EXTRA_M
CULT[("general", "F")] = CULT[("general", "F")] + EXTRA_F
for (culture, sex), names in CULT.items():
    for rank, n in enumerate(names, 1):
        add(n, sex, culture, round(400.0 / rank**1.1, 3))
# Javanese names compose a stem (often with Su-) and a sex-marked ending:
# SU+HAR+TO, SU+PAR+MAN, SU+PAR+MI, MAR+YATI, KAR+TINI ...
MIDS = words(
    "PAR HAR KAR MAR WAR DAR TAR NAR JAR SAR RAT KAS RAS WAS TRIS LAS KUS RUS MUS JUM SAM RAM TUM"
)
END_M = words("MAN TO NO DI JO MIN YO YONO TONO WANTO YANTO JAN MAN SONO")
END_F = words("MI NI TI YATI WATI NINGSIH SIH INAH IYEM IYAH ANTI INI ANI SIYAH")
jv_m, jv_f = list(JV_ROOT), []
for pre in ("SU", ""):
    for mid in MIDS:
        for end in END_M:
            jv_m.append(pre + mid + end)
        for end in END_F:
            jv_f.append(pre + mid + end)
jv_m = [n for n in jv_m if not re.search(r"[^AEIOU]{3,}|([^AEIOU])\1", n) and len(n) >= 4]
jv_f = [n for n in jv_f if not re.search(r"[^AEIOU]{3,}|([^AEIOU])\1", n) and len(n) >= 4]
for rank, n in enumerate(dict.fromkeys(jv_m), 1):
    add(n, "M", "javanese", round(300.0 / rank**1.05, 3))
for rank, n in enumerate(dict.fromkeys(jv_f), 1):
    add(n, "F", "javanese", round(300.0 / rank**1.05, 3))
for rank, n in enumerate(SUN_M, 1):
    add(n, "M", "sundanese", round(300.0 / rank**1.1, 3))
for rank, n in enumerate(SUN_F, 1):
    add(n, "F", "sundanese", round(300.0 / rank**1.1, 3))
# Sundanese also use Javanese-style composed names and reduplications (Dadang, Nunung)
for rank, n in enumerate(dict.fromkeys(jv_m[200:600]), 1):
    add(n, "M", "sundanese", round(20.0 / rank**0.8, 3))
for rank, n in enumerate(dict.fromkeys(jv_f[100:400]), 1):
    add(n, "F", "sundanese", round(20.0 / rank**0.8, 3))
with open(OUT / "given_names.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["name", "sex", "culture", "weight"])
    for (n, s, c), wt in sorted(rows.items()):
        w.writerow([n, s, c, wt])
print("distinct given names", len({k[0] for k in rows}))

FAM = {
    "batak": words(
        "SIREGAR NASUTION LUBIS HARAHAP SIMANJUNTAK SITUMORANG PANJAITAN HUTAPEA SINAGA SIHOMBING SIMATUPANG TAMBUNAN MANURUNG SIRAIT PARDEDE GINTING TARIGAN SEMBIRING SITEPU PURBA DAMANIK SARAGIH HUTAGALUNG SIAGIAN SILALAHI PANGARIBUAN NAPITUPULU SIANTURI SIMAMORA SITORUS HUTABARAT MARPAUNG PASARIBU SIHITE RAJAGUKGUK SIMORANGKIR HASIBUAN DALIMUNTHE RITONGA POHAN"
    ),
    "chinese": words(
        "TAN LIEM LIM OEI KWEE NJOO TJAN GO THE ONG WONG LIE HO KHO SIE TJIA SUTANTO SALIM GUNAWAN WIJAYA HALIM TANUWIJAYA SANTOSO HARTONO KURNIAWAN"
    ),
    "minahasa": words(
        "RUMENGAN TAMBAYONG WOWOR LUMINTANG SUMAMPOUW PANGKEY MANDAGI KAUNANG RONDONUWU SUMAKUL WALANDOUW TUMBEL POLI LUMANAUW MONTOLALU"
    ),
}
with open(OUT / "family_names.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["name", "culture", "weight"])
    for c, names in FAM.items():
        for rank, n in enumerate(names, 1):
            w.writerow([n, c, round(100.0 / rank**0.9, 3)])

# Hypocoristics: the last syllable, reduplicated (HERMAWAN -> WAWAN, SUPARMAN -> MAMAN)
V = "AEIOU"
REDUP = ("WAN", "MAN", "MAT", "DIN", "TIN", "YAH", "NAH", "TI", "NI", "DI", "NO", "TO")


def nick(name):
    """Common hypocoristics: drop Su- (SUPARMAN -> PARMAN) or reduplicate the last syllable
    of names ending -wan/-man/-ti/... (HERMAWAN -> WAWAN, SUHARTI -> HARTI, ROSMIATI -> TITI)."""
    if name.startswith("SU") and len(name) >= 7:
        return name[2:]
    for end in REDUP:
        if name.endswith(end) and len(name) >= len(end) + 3:
            return end[:2] + end if len(end) == 3 else end + end
    return None


pairs = {
    "HERMAWAN": "WAWAN",
    "SUPARMAN": "PARMAN",
    "SUHARTI": "HARTI",
    "YULIANTI": "YULI",
    "FITRIANI": "FITRI",
    "SLAMET": "MAMET",
    "RAHMAT": "MAMAT",
    "MUHAMMAD": "MAMAT",
    "ROSMIATI": "ROS",
    "NURHAYATI": "YATI",
    "SUDARSONO": "DARSONO",
    "KUSNADI": "KUSNA",
    "BAMBANG": "BAMBANG",
    "ABDULLAH": "DULLAH",
}
names_all = sorted({k[0] for k in rows})
for n in names_all:
    if len(pairs) >= 400:
        break
    if n not in pairs:
        k = nick(n)
        if k and k != n and len(k) >= 4:
            pairs[n] = k
pairs = {n: k for n, k in pairs.items() if n in {r[0] for r in rows} and n != k}
with open(OUT / "nicknames.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["name", "nickname"])
    for n, k in sorted(pairs.items()):
        w.writerow([n, k])
print("nicknames", len(pairs))

# Regions: real Kemendagri province/regency codes; district and village names composed.
PROV = [
    ("11", "ACEH", "acehnese", [("1106", "ACEH BESAR"), ("1171", "BANDA ACEH")]),
    ("12", "SUMATERA UTARA", "batak", [("1212", "TOBA"), ("1202", "TAPANULI UTARA")]),
    ("13", "SUMATERA BARAT", "minang", [("1306", "PADANG PARIAMAN"), ("1371", "PADANG")]),
    ("31", "DKI JAKARTA", "general", [("3171", "JAKARTA PUSAT"), ("3174", "JAKARTA SELATAN")]),
    ("32", "JAWA BARAT", "sundanese", [("3204", "BANDUNG"), ("3205", "GARUT")]),
    ("33", "JAWA TENGAH", "javanese", [("3302", "BANYUMAS"), ("3310", "KLATEN")]),
    ("35", "JAWA TIMUR", "javanese", [("3507", "MALANG"), ("3509", "JEMBER")]),
    ("51", "BALI", "balinese", [("5108", "BULELENG"), ("5104", "GIANYAR")]),
    ("52", "NUSA TENGGARA BARAT", "sasak", [("5203", "LOMBOK TIMUR"), ("5201", "LOMBOK BARAT")]),
    ("71", "SULAWESI UTARA", "minahasa", [("7102", "MINAHASA"), ("7171", "MANADO")]),
    ("73", "SULAWESI SELATAN", "bugis", [("7308", "BONE"), ("7311", "BULUKUMBA")]),
]
PARTS_A = words(
    "SUKA MEKAR SIDO KARANG TANJUNG SUMBER PASIR BATU BANJAR MULYA JATI CIPTA WANA TELAGA PAYA LUBUK KOTA DESA"
)
PARTS_B = words(
    "MAJU JAYA MAKMUR RAHARJO SARI MULYA AGUNG ASRI BARU INDAH LESTARI REJO WANGI TENGAH UTARA SELATAN TIMUR BARAT"
)
with open(OUT / "regions.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(
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
    combos = [a + b for a, b in itertools.product(PARTS_A, PARTS_B)]
    ci = 0
    n_v = 0
    for p, pname, culture, regencies in PROV:
        for rcode, rname in regencies:
            kota = int(rcode[2:]) >= 71
            for d in range(1, 5):
                dname = combos[(ci * 7) % len(combos)]
                ci += 1
                dcode = f"{rcode}{d:02d}"
                # BPS numbers districts in tens and villages in its own order
                bps_d = f"{rcode}{d * 10:03d}"
                if p == "31":  # Jakarta: BPS and Kemendagri regency codes differ (domain notes)
                    bps_d = f"{'3173' if rcode == '3171' else '3171'}{d * 10:03d}"
                nv = 6
                for v in range(1, nv + 1):
                    vname = combos[(ci * 13 + v * 5) % len(combos)]
                    ci += 1
                    vcode = f"{dcode}{1 if kota else 2}{v:03d}"
                    bps_v = f"{bps_d}{nv + 1 - v:03d}"
                    w.writerow(
                        [p, pname, rcode, rname, dcode, dname, vcode, vname, bps_d, bps_v, culture]
                    )
                    n_v += 1
print("villages", n_v)
