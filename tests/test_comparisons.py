"""Comparison levels on hand-made pairs from the domain notes, and on synthetic registers."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bansos_linkage.linkage.comparisons import (
    DEFAULT_COMPARISONS,
    DateComparison,
    NameComparison,
    NikComparison,
    RegionComparison,
    RelationshipComparison,
    compare,
    nik_conflicts,
)
from bansos_linkage.standardisation import standardise_name


def _names(raw):
    out = standardise_name(pd.Series(raw))
    return pd.DataFrame({"full_name": out["name"], "name_phonetic": out["name_phonetic"]})


def _level(comp, left, right, i=0, j=0):
    result = comp.compare(left, right, np.array([i]), np.array([j]))
    return comp.levels[len(comp.levels) - 1 - result.levels[0]] if result.levels[0] >= 0 else None


def test_name_levels_on_domain_cases():
    comp = NameComparison()
    left = _names(["Soeharto", "Siti Aminah", "M. Yusuf", "I Wayan Sudarma", "Hermawan", "Budi"])
    right = _names(
        ["SUHARTO", "AMINAH SITI", "MOH YUSUF RIZAL", "Wayan Sudarma", "HERMAWAN", "Agus"]
    )
    assert _level(comp, left, right, 0, 0) == "exact"
    assert _level(comp, left, right, 1, 1) == "token_set"
    assert _level(comp, left, right, 3, 3) == "exact"  # birth order never enters the name
    assert _level(comp, left, right, 5, 5) == "else"
    assert _level(comp, left, right.assign(full_name=[None] * 6), 0, 0) is None
    initials = _names(["M Yusuf"]), _names(["Muhammad Yusuf"])
    assert (
        _level(
            comp, initials[0].assign(full_name=["M YUSUF"], name_phonetic=["M YASAP"]), initials[1]
        )
        == "initials"
    )


def test_birth_order_alone_creates_no_agreement():
    comp = NameComparison()
    left, right = _names(["I Wayan Sudarma"]), _names(["I Wayan Gede Sukarta"])
    assert _level(comp, left, right) in {"else", f"jw>={comp.low}"}


def test_nik_levels():
    comp = NikComparison()
    nik = "3302034708900003"
    left = pd.DataFrame({"nik": [nik] * 7 + [None]})
    right = pd.DataFrame(
        {
            "nik": [
                nik,
                "3302034078900003",  # two adjacent digits swapped
                "3302034709900003",  # one digit in the date part
                "3302054708900003",  # one digit in the region part: 0001s born that day
                "3302044709900003",  # two digits
                "3302034708900014",  # serial only: another person born that day there
                "5203071502750001",
                nik,
            ]
        }
    )
    got = [_level(comp, left, right, i, i) for i in range(8)]
    assert got == [
        "exact",
        "transposed",
        "one_digit_date",
        "else",
        "else",
        "else",
        "else",
        None,
    ]


def test_nik_difference_explained_by_the_birth_dates_is_no_evidence():
    # two people born a day apart in one district: their NIKs differ by one date digit
    comp = NikComparison()
    left = pd.DataFrame({"nik": ["3302034708900003"], "birth_date": pd.to_datetime(["1990-08-07"])})
    right = pd.DataFrame(
        {"nik": ["3302034808900003"], "birth_date": pd.to_datetime(["1990-08-08"])}
    )
    assert _level(comp, left, right) is None
    # the same dates on both records: the difference is a typo in the NIK
    same = right.assign(birth_date=left["birth_date"])
    assert _level(comp, left, same) == "one_digit_date"


def test_nik_of_a_twin_of_the_other_sex_is_no_typo():
    # a woman's NIK carries her day + 40: her brother born the same day has a NIK one
    # date digit away (0 -> 4), which is two people, not a mistyped digit
    brother = pd.DataFrame({"nik": ["1371062410070001"] * 3})
    others = pd.DataFrame(
        {
            "nik": [
                "1371066410070001",  # the twin sister: day 24 + 40
                "1371062510070001",  # the last digit of the day mistyped
                "1371067410070001",  # day tens 2 -> 7: a typo (five apart), not the sex
            ]
        }
    )
    got = [_level(NikComparison(), brother, others, i, i) for i in range(3)]
    assert got == ["else", "one_digit_date", "one_digit_date"]


def test_nik_of_someone_else_agrees_only_weakly():
    # a wife's DTKS row carries her husband's NIK: it decodes to his birth date and sex
    wife = pd.DataFrame(
        {
            "nik": ["3302031203650001"],
            "nik_birth_date": pd.to_datetime(["1965-03-12"]),
            "nik_sex": ["M"],
            "birth_date": pd.to_datetime(["1970-06-02"]),
            "sex": ["F"],
        }
    )
    husband = pd.DataFrame(
        {
            "nik": ["3302031203650001"],
            "nik_birth_date": pd.to_datetime(["1965-03-12"]),
            "nik_sex": ["M"],
            "birth_date": pd.to_datetime(["1965-03-12"]),
            "sex": ["M"],
        }
    )
    assert nik_conflicts(wife).tolist() == [True]
    assert nik_conflicts(husband).tolist() == [False]
    comp = NikComparison()
    with_flags = [f.assign(nik_conflict=nik_conflicts(f)) for f in (wife, husband)]
    assert _level(comp, *with_flags) == "exact_conflict"
    assert _level(comp, with_flags[1], with_flags[1]) == "exact"
    # nor does the husband's NIK lend the wife his birth date
    dates = DateComparison()
    assert _level(dates, *with_flags) == "else"


def test_kk_number_typed_in_the_nik_field_is_missing_not_disagreement():
    comp = NikComparison()
    kk = "3302030101150007"
    left = pd.DataFrame({"nik": [kk], "kk_number": ["3302030101120001"]})
    right = pd.DataFrame({"nik": ["3302034708900003"], "kk_number": [kk]})
    assert _level(comp, left, right) is None
    assert _level(NikComparison(kk_column=None), left, right) == "else"


def test_birth_date_from_the_nik_rescues_a_mistyped_date():
    comp = DateComparison()
    ts = pd.Timestamp
    left = pd.DataFrame({"birth_date": [ts("1990-08-17")], "nik_birth_date": [pd.NaT]})
    right = pd.DataFrame({"birth_date": [ts("1993-02-02")], "nik_birth_date": [ts("1990-08-17")]})
    assert _level(comp, left, right) == "exact"
    assert _level(DateComparison(alternative=None), left, right) == "else"
    # the NIK dates of both sides are never compared with each other
    both_nik = pd.DataFrame({"birth_date": [pd.NaT], "nik_birth_date": [ts("1990-08-17")]})
    assert _level(comp, both_nik, both_nik) is None


def test_date_levels_and_year_only_dates():
    comp = DateComparison()
    ts = pd.Timestamp
    left = pd.DataFrame(
        {
            "birth_date": [ts("1980-03-04")] * 6 + [ts("1975-07-01"), ts("1980-03-04")],
            "birth_date_precision": ["day"] * 6 + ["year", "day"],
        }
    )
    right = pd.DataFrame(
        {
            "birth_date": [
                ts("1980-03-04"),
                ts("1980-04-03"),
                ts("1980-03-20"),
                ts("1980-04-10"),
                ts("1980-11-01"),
                ts("1981-06-01"),
                ts("1975-03-02"),
                ts("1986-03-04"),  # a mistyped year digit
            ],
            "birth_date_precision": ["day"] * 8,
        }
    )
    got = [_level(comp, left, right, i, i) for i in range(8)]
    assert got == [
        "exact",
        "day_month_swapped",
        "same_month",
        f"within_{comp.within_days}d",
        "same_year",
        "one_year_off",
        "year_only_agrees",
        "year_typo",
    ]


def test_name_subset_and_nickname_levels():
    comp = NameComparison()
    left = _names(["Otong", "Wawan", "Agus", "Siti", "Ujang"])
    right = _names(["Asep Otong", "Hermawan", "Agustinus", "Siti Aminah Rahayu", "Hermawan"])
    assert _level(comp, left, right, 0, 0) == "subset"
    assert _level(comp, left, right, 1, 1) == "nickname"  # doubled syllable: WAN in HERMAWAN
    assert _level(comp, left, right, 2, 2) == "nickname"
    assert _level(comp, left, right, 3, 3) == "subset"
    assert _level(comp, left, right, 4, 4) == "else"


def test_names_whose_words_sound_alike_in_another_order_or_shortened():
    comp = NameComparison()
    left = _names(["Husein Hermawan", "Kurniawan Hendra", "Fitrriani Enok", "Hasan Ali", "Siti"])
    right = _names(
        [
            "Muhammad Hermawan Huusein",
            "Hendra Kurniawan",
            "Enok Fitriani Rohmah",
            "Hasan Amir",
            "Sity",
        ]
    )
    # a doubled letter on top of a word added and the order changed
    assert _level(comp, left, right, 0, 0) == "phonetic_words"
    # the same words in another order stay the stronger token_set
    assert _level(comp, left, right, 1, 1) == "token_set"
    assert _level(comp, left, right, 2, 2) == "phonetic_words"
    # one word of the shorter name sounds like none of the other's
    assert _level(comp, left, right, 3, 3) != "phonetic_words"
    # without a phonetic column there is no such level to reach
    bare = NameComparison(phonetic=None)
    assert _level(bare, left, right, 0, 0) == "else"


def test_region_levels_respect_the_coding_scheme():
    comp = RegionComparison()
    left = pd.DataFrame(
        {
            "province_code": ["33", "31"],
            "regency_code": ["3302", "3173"],
            "district_code": ["330203", "317302"],
            "village_code": ["3302032001", "3173020001"],
            "region_scheme": ["kemendagri", "bps"],
        }
    )
    right = pd.DataFrame(
        {
            "province_code": ["33", "31"],
            "regency_code": ["3302", "3173"],
            "district_code": ["330203", "317302"],
            "village_code": ["3302032002", "3173020001"],
            "region_scheme": ["kemendagri", "kemendagri"],
        }
    )
    assert _level(comp, left, right, 0, 0) == "district"
    assert _level(comp, left, right, 1, 1) == "province"  # same digits, different schemes


def test_true_pairs_agree_more_than_other_candidates_on_synthetic_registers(dtks_regsosek):
    p = dtks_regsosek
    levels, sims = compare(p.left, p.right, p.pairs.left, p.pairs.right)
    assert list(levels.columns) == [c.label for c in DEFAULT_COMPARISONS]
    assert levels.dtypes.eq(np.int8).all() and len(levels) == len(p.pairs)
    top = len(NameComparison().levels) - 1
    assert (levels["name"][p.true] == top).mean() > 0.7
    assert (levels["name"][~p.true] == top).mean() < 0.2
    assert sims["name"][p.true].mean() > sims["name"][~p.true].mean() + 0.1


def test_generic_string_comparison_levels():
    from bansos_linkage.linkage.comparisons import StringComparison

    comp = StringComparison("suburb", thresholds=(0.8, 0.95))
    assert comp.levels == ("exact", "jw>=0.95", "jw>=0.8", "else")
    left = pd.DataFrame({"suburb": ["KINGSTON", "KINGSTON", "KINGSTON", None]})
    right = pd.DataFrame({"suburb": ["KINGSTON", "KINGSTONE", "KENSINGTON", "X"]})
    got = [_level(comp, left, right, i, i) for i in range(4)]
    assert got[:2] == ["exact", "jw>=0.95"] and got[2] in {"jw>=0.8", "else"} and got[3] is None


def test_sex_decoded_from_the_nik_counts_when_the_field_is_missing():
    from bansos_linkage.linkage.comparisons import ExactComparison

    comp = ExactComparison("sex", alternative="nik_sex")
    left = pd.DataFrame({"sex": [None, "M", None], "nik_sex": ["F", None, None]})
    right = pd.DataFrame({"sex": ["F", "F", "M"], "nik_sex": [None, "M", "M"]})
    assert _level(comp, left, right, 0, 0) == "exact"  # left's NIK says F
    assert _level(comp, left, right, 1, 1) == "exact"  # right's NIK says M
    assert _level(comp, left, right, 2, 2) is None  # only NIK against field is missing
    assert _level(ExactComparison("sex"), left, right, 0, 0) is None


def test_year_month_day_arithmetic_agrees_with_the_calendar():
    from bansos_linkage.linkage.comparisons import _year_month_day

    days = np.arange(
        np.datetime64("1600-01-01"), np.datetime64("2400-12-31"), dtype="datetime64[D]"
    )
    year, month, day = _year_month_day(days)
    month_start = days.astype("datetime64[M]")
    assert (year == days.astype("datetime64[Y]").astype(np.int64) + 1970).all()
    assert (month == month_start.astype(np.int64) % 12 + 1).all()
    assert (day == (days - month_start).astype(np.int64) + 1).all()


def test_relationship_levels_exact_role_change_else_missing():
    comp = RelationshipComparison()
    left = pd.DataFrame({"relationship": pd.array([1, 2, 3, 2, None, 5], dtype="Int8")})
    right = pd.DataFrame({"relationship": pd.array([1, 1, 2, 6, 3, 3], dtype="Int8")})
    rows = np.arange(6)
    labels = [
        comp.levels[len(comp.levels) - 1 - k] if k >= 0 else "missing"
        for k in comp.compare(left, right, rows, rows).levels
    ]
    # a mother and her daughter (spouse vs child) of one name are told apart
    assert labels == ["exact", "role_changed", "else", "role_changed", "missing", "role_changed"]


def test_relationship_reads_encoded_and_text_codes_alike():
    from bansos_linkage.linkage.encoding import encode_columns

    left = pd.DataFrame({"relationship": pd.array([2, 3, 1], dtype="Int8")})
    right = pd.DataFrame({"relationship": ["2", "2", "3"]})
    rows = np.arange(3)
    plain = RelationshipComparison().compare(left, right, rows, rows).levels
    encoded = encode_columns(left.astype(str), right, [["relationship"]])
    assert plain.tolist() == [2, 0, 1]
    assert RelationshipComparison().compare(*encoded, rows, rows).levels.tolist() == [2, 0, 1]


_WORDS = st.sampled_from(
    ["A", "M", "MU", "SITI", "SITIAMINAH", "AMINAH", "MINAH", "WAWAN", "WAN", "HERMAWAN"]
    + ["AGUS", "AGUSTINUS", "MUHAMMAD", "YUSUF", "MAMAT", "MAT", "NUR", "NURAINI"]
)
# one or two spaces between words (the masks count spaces, the tests split words), up to
# more words than a row of word ids holds
_NAMES = st.tuples(st.lists(_WORDS, max_size=10), st.sampled_from([" ", "  "])).map(
    lambda words_sep: words_sep[1].join(words_sep[0])
)


def _outcome(test, names, a, b):
    try:
        return test(names, a, b).tolist()
    except ValueError as exc:  # the initials' definition refuses uneven words
        return type(exc)


@settings(max_examples=150, deadline=None)
@given(st.lists(_NAMES, min_size=1, max_size=12, unique=True))
@example(
    ["SITI AMINAH", "SITIAMINAH", "AMINAH SITI", "M YUSUF", "MUHAMMAD YUSUF", "M MU YUSUF"]
    + ["M MUHAMMAD YUSUF"]
)
def test_word_tests_on_word_ids_equal_their_python_definitions(vocabulary):
    from unittest import mock

    from bansos_linkage.linkage import name_tests

    text = np.array(vocabulary, dtype=object)
    a, b = (ij.ravel() for ij in np.indices((len(text), len(text))))
    vectorised = name_tests.Names.of(text)
    with mock.patch.object(name_tests, "MAX_WORDS", 0):  # every name too long: all in Python
        in_python = name_tests.Names.of(text)
    assert not vectorised.word_ids.long.any() or max(map(len, map(str.split, text))) > 8
    for test in (
        name_tests.same_tokens,
        name_tests.initials_compatible,
        name_tests.word_subset,
        name_tests.nickname,
    ):
        expected = _outcome(test, in_python, a, b)
        assert _outcome(test, vectorised, a, b) == expected, test.__name__


def test_word_subset_past_the_signature_bits_equals_its_definition():
    # more than 64 distinct words: words 64 apart share a signature bit, so the
    # signature only screens and the word ids decide
    from unittest import mock

    from bansos_linkage.linkage import name_tests

    words = [f"W{i:03d}" for i in range(130)]
    text = np.array(
        words + [f"{words[i]} {words[(i + 64) % 130]}" for i in range(130)] + ["W000 W064 W128"],
        dtype=object,
    )
    a, b = (ij.ravel() for ij in np.indices((len(text), len(text))))
    with mock.patch.object(name_tests, "MAX_WORDS", 0):
        expected = name_tests.word_subset(name_tests.Names.of(text), a, b)
    got = name_tests.word_subset(name_tests.Names.of(text), a, b)
    assert expected.sum() > 260 and (got == expected).all()


def test_a_name_column_one_register_lacks_is_missing_in_every_pair():
    comp = NameComparison(column="mother_name", phonetic=None, name="mother_name")
    left = pd.DataFrame({"mother_name": pd.Categorical(["SITI", "AMINAH", None])})
    right = pd.DataFrame({"other": [1, 2]})
    for one, other in ((left, right), (right, left)):
        result = comp.compare(one, other, np.array([0, 1, 2]), np.array([0, 1, 0]))
        assert (result.levels == -1).all() and np.isnan(result.similarity).all()


def _edited_nik(base, edits):
    """``base`` with each (position, digit) edit, or (position, None): swapped with the next."""
    digits = list(base)
    for pos, digit in edits:
        if digit is None and pos < 15:
            digits[pos], digits[pos + 1] = digits[pos + 1], digits[pos]
        elif digit is not None:
            digits[pos] = digit
    return "".join(digits)


_NIK_PAIRS = st.tuples(
    st.text("0123456789", min_size=16, max_size=16),
    st.lists(st.tuples(st.integers(0, 15), st.sampled_from([None, *"0123456789"])), max_size=3),
).map(lambda base_edits: (base_edits[0], _edited_nik(*base_edits)))


@settings(max_examples=300, deadline=None)
@given(st.lists(_NIK_PAIRS, min_size=1, max_size=20))
def test_nik_digit_differences_equal_their_per_pair_definition(pairs):
    from bansos_linkage.linkage.comparisons import DATE_START, SERIAL_START, _digit_differences

    def as_digits(niks):
        return np.array(niks, dtype="U16").view("U1").reshape(len(niks), 16)

    lefts, rights = zip(*pairs, strict=True)
    n_diff, swapped, in_date = _digit_differences(as_digits(lefts), as_digits(rights))
    for k, (x, y) in enumerate(pairs):
        at = [i for i in range(16) if x[i] != y[i]]
        assert n_diff[k] == len(at)
        adjacent = len(at) == 2 and at[1] == at[0] + 1
        assert swapped[k] == (adjacent and x[at[0]] == y[at[1]] and x[at[1]] == y[at[0]])
        sex_day = at == [DATE_START] and abs(int(x[DATE_START]) - int(y[DATE_START])) == 4
        assert in_date[k] == (any(DATE_START <= i < SERIAL_START for i in at) and not sex_day)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text("0123456789\u0663x", max_size=20)), max_size=30))
def test_nik_digits_are_the_zero_padded_first_16_characters(values):
    from bansos_linkage.linkage.comparisons import _digits

    expected = [list(("" if v is None else v).rjust(16, "0")[:16]) for v in values]
    digits = _digits(np.array(values, dtype=object))
    assert digits.dtype == np.dtype("U1") and digits.tolist() == expected
