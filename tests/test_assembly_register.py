"""Tests of bansos_linkage.assembly.register: chosen person values and field conflicts."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from bansos_linkage.assembly.register import (
    PERSON_FIELDS,
    conflict_values,
    field_conflicts,
    person_values,
)
from bansos_linkage.errors import InputError, UsageError

PRIORITY = ("regsosek", "p3ke", "dtks")
NA = pd.NA


def _src(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if "birth_date" in frame:
        frame["birth_date"] = pd.to_datetime(frame["birth_date"])
    for col in ("nik", "kk_number", "full_name", "sex", "name_phonetic", "mother_name"):
        if col in frame:
            frame[col] = frame[col].astype("string")
    if "nik_decoded" in frame:
        frame["nik_decoded"] = frame["nik_decoded"].astype("boolean")
    return frame


def _row(rid, nik=NA, kk="3201010101010001", name="BUDI SANTOSO", sex="M", bd="1980-05-02",
         prec="day", rel=1, valid=True, **extra):  # fmt: skip
    phon = extra.pop("phon", NA if name is NA else name)
    return {
        "record_id": rid, "nik": nik, "kk_number": kk, "full_name": name, "name_phonetic": phon,
        "sex": sex, "birth_date": bd, "birth_date_precision": prec, "relationship": rel,
        "nik_decoded": valid if nik is not NA else NA, **extra,
    }  # fmt: skip


NIK_A = "3201014205800001"
NIK_B = "3201014205800002"
KK = "3201010101010001"


@pytest.fixture
def case() -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Six persons over three sources; p3ke has no mother_name nor relationship column."""
    dtks = _src(
        [
            _row("D1", NIK_A, mother_name="SITI"),  # P1: all agree
            _row("D2", NIK_B, bd="1980-05-02", mother_name="ANI"),  # P2: nik differs, swap
            _row("D3", NIK_A, name="AGUS", sex="F", bd="1975-07-01", prec="year"),  # P3 (+dup D3b)
            _row("D3b", NIK_A, name="AGUS", sex="M", bd="1975-03-04", mother_name="RINA"),
            _row("D4", NIK_A, bd="1990-01-01"),  # P4: nik only in dtks
            _row("D6", KK, bd="1970-06-15", prec="month"),  # P6: KK typed as NIK
        ]
    )
    p3ke = _src(
        [
            _row("K1", NIK_A),
            _row("K2", NIK_A, bd="1980-05-02"),
            _row("K5", NIK_B, name="WATI", sex="F", bd="1985-01-10", valid=False),
            _row("K6", NIK_B, bd="1970-06-15"),
        ]
    ).drop(columns=["relationship"])
    regsosek = _src(
        [
            _row("R1", NIK_A),
            _row("R2", NIK_A, bd="1980-02-05"),
            _row("R3", NA, name="JOKO", bd="1975-03-04"),  # P3: name differs, nik missing
            _row("R4", NA, bd="1990-01-04"),  # P4: 3 days apart
            _row("R5", NIK_A, name="WATY", sex="F", bd="1985-01-10", phon="WATA", valid=False),
        ]
    )
    rows = [
        ("dtks", "D1", "P1", "F1", NA), ("p3ke", "K1", "P1", "F1", NA),
        ("regsosek", "R1", "P1", "F1", NA),
        ("dtks", "D2", "P2", "F1", NA), ("p3ke", "K2", "P2", "F1", NA),
        ("regsosek", "R2", "P2", "F1", NA),
        ("dtks", "D3", "P3", "F2", NA), ("dtks", "D3b", "P3", "F2", "D3"),
        ("regsosek", "R3", "P3", "F2", NA),
        ("dtks", "D4", "P4", "F2", NA), ("regsosek", "R4", "P4", "F2", NA),
        ("p3ke", "K5", "P5", "F3", NA), ("regsosek", "R5", "P5", "F3", NA),
        ("dtks", "D6", "P6", "F3", NA), ("p3ke", "K6", "P6", "F3", NA),
    ]  # fmt: skip
    records = pd.DataFrame(rows, columns=["source", "record_id", "person_id", "family_id",
                                          "duplicate_of"])  # fmt: skip
    return records, {"dtks": dtks, "p3ke": p3ke, "regsosek": regsosek}


def _by_person(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("person_id")


def test_person_values_shape_and_columns(case):
    records, sources = case
    out = person_values(records, sources, PRIORITY)
    assert out["person_id"].tolist() == ["P1", "P2", "P3", "P4", "P5", "P6"]
    expected = ["person_id"] + [c for f in PERSON_FIELDS for c in (f, f"{f}_source")]
    assert list(out.columns) == expected


def test_nik_choice_agreement_validity_and_kk(case):
    records, sources = case
    out = _by_person(person_values(records, sources, PRIORITY))
    # P2: NIK_A in p3ke and regsosek beats NIK_B in dtks (2 records to 1).
    assert out.loc["P2", "nik"] == NIK_A
    assert out.loc["P2", "nik_source"] == "regsosek"
    # P4: only dtks has one.
    assert out.loc["P4", "nik"] == NIK_A and out.loc["P4", "nik_source"] == "dtks"
    # P5: both invalid, one each: priority decides.
    assert out.loc["P5", "nik_source"] == "regsosek"
    # P6: dtks's NIK is the person's KK number: the p3ke NIK is chosen instead.
    assert out.loc["P6", "nik"] == NIK_B and out.loc["P6", "nik_source"] == "p3ke"


def test_valid_nik_beats_more_agreed_invalid_one():
    records = pd.DataFrame(
        {"source": ["dtks", "p3ke", "regsosek"], "record_id": ["D", "K", "R"],
         "person_id": ["P"] * 3, "family_id": ["F"] * 3, "duplicate_of": [NA] * 3}
    )  # fmt: skip
    sources = {
        "dtks": _src([_row("D", NIK_B, valid=True)]),
        "p3ke": _src([_row("K", NIK_A, valid=False)]),
        "regsosek": _src([_row("R", NIK_A, valid=False)]),
    }
    out = person_values(records, sources, PRIORITY)
    assert out.loc[0, "nik"] == NIK_B and out.loc[0, "nik_source"] == "dtks"


def test_kk_as_nik_kept_when_no_other(case):
    records, sources = case
    sources = dict(sources, p3ke=sources["p3ke"].assign(nik=pd.array([NA] * 4, "string")))
    out = _by_person(person_values(records, sources, PRIORITY))
    assert out.loc["P6", "nik"] == KK


def test_birth_date_most_precise_then_agreement(case):
    records, sources = case
    out = _by_person(person_values(records, sources, PRIORITY))
    # P6: day-precise p3ke beats month-precise dtks, which ranks higher on priority.
    assert out.loc["P6", "birth_date"] == pd.Timestamp("1970-06-15")
    assert out.loc["P6", "birth_date_precision"] == "day"
    assert out.loc["P6", "birth_date_source"] == "p3ke"
    assert out.loc["P6", "birth_date_precision_source"] == "p3ke"
    # P2: 1980-05-02 held by dtks and p3ke beats regsosek's (top priority) 1980-02-05.
    assert out.loc["P2", "birth_date"] == pd.Timestamp("1980-05-02")
    assert out.loc["P2", "birth_date_source"] == "p3ke"
    # P3: year-only D3 and day-precise D3b/R3 agree: the day value is chosen.
    assert out.loc["P3", "birth_date"] == pd.Timestamp("1975-03-04")
    assert out.loc["P3", "birth_date_source"] == "regsosek"


def test_other_fields_follow_priority_and_duplicates(case):
    records, sources = case
    out = _by_person(person_values(records, sources, PRIORITY))
    assert out.loc["P3", "full_name"] == "JOKO" and out.loc["P3", "full_name_source"] == "regsosek"
    # mother_name is only in dtks; for P3 the representative D3 lacks it, so D3b's.
    assert out.loc["P3", "mother_name"] == "RINA"
    assert out.loc["P1", "mother_name_source"] == "dtks"
    # P5 only has p3ke (no mother_name column) and regsosek (no mother_name).
    assert pd.isna(out.loc["P5", "mother_name"]) and pd.isna(out.loc["P5", "mother_name_source"])
    # relationship: p3ke lacks the column, so P6 takes it from dtks.
    assert out.loc["P6", "relationship_source"] == "dtks"
    # Within dtks the representative comes first: P3 sex from regsosek, then D3 (F) not D3b.
    only_dtks = person_values(records, sources, ("dtks", "p3ke", "regsosek"))
    assert _by_person(only_dtks).loc["P3", "sex"] == "F"


def test_representative_first_even_when_listed_after_duplicate(case):
    records, sources = case
    records = records.copy()
    records.loc[records["record_id"] == "D3", "duplicate_of"] = "D3b"
    records.loc[records["record_id"] == "D3b", "duplicate_of"] = NA
    out = _by_person(person_values(records, sources, ("dtks",)))
    assert out.loc["P3", "sex"] == "M"


def test_missing_columns_and_unknown_sources():
    records = pd.DataFrame(
        {"source": ["a", "b", "c"], "record_id": ["1", "2", "3"], "person_id": ["P", "P", "Q"],
         "family_id": ["F", "F", "G"]}
    )  # fmt: skip
    sources = {"a": pd.DataFrame({"record_id": ["1"], "sex": ["M"]}),
               "b": pd.DataFrame({"record_id": ["2"], "full_name": ["ANI"]})}  # fmt: skip
    out = person_values(records, sources, ["b"])
    assert list(out.columns) == ["person_id", "full_name", "full_name_source", "sex", "sex_source"]
    assert out.loc[0, "sex_source"] == "a" and out.loc[0, "full_name_source"] == "b"
    assert out.loc[1].drop("person_id").isna().all()  # source c has no table


def test_deterministic_under_row_order(case):
    records, sources = case
    first = person_values(records, sources, PRIORITY)
    shuffled = records.sample(frac=1, random_state=4)
    second = person_values(shuffled, {k: v.iloc[::-1] for k, v in sources.items()}, PRIORITY)
    pd.testing.assert_frame_equal(first, second)
    c1 = field_conflicts(records, sources, PRIORITY)
    c2 = field_conflicts(shuffled, sources, PRIORITY)
    pd.testing.assert_frame_equal(c1, c2)


def _conflicts(case) -> pd.DataFrame:
    records, sources = case
    out = field_conflicts(records, sources, PRIORITY)
    assert list(out.columns) == ["kind", "person_id", "family_id", "field", "detail", "record_ids"]
    return out.set_index(["person_id", "field"])


def test_conflict_kinds(case):
    conf = _conflicts(case)
    assert (conf["kind"] == "field").all()
    assert conf.loc[("P2", "nik"), "detail"] == "differs between regsosek, p3ke and dtks"
    assert conf.loc[("P2", "nik"), "record_ids"] == "D2;K2;R2"
    assert conf.loc[("P2", "birth_date"), "detail"] == (
        "day and month swapped between regsosek, p3ke and dtks"
    )
    assert conf.loc[("P4", "nik"), "detail"] == "only in dtks"
    assert conf.loc[("P4", "nik"), "record_ids"] == "D4;R4"
    assert conf.loc[("P4", "birth_date"), "detail"] == "differs by 3 days between regsosek and dtks"
    assert conf.loc[("P4", "nik"), "family_id"] == "F2"


def test_within_source_and_name_conflicts(case):
    conf = _conflicts(case)
    # P3: D3 (F) vs its duplicate D3b (M); regsosek agrees with D3b.
    assert (
        conf.loc[("P3", "sex"), "detail"]
        == "differs between regsosek and dtks; differs within dtks"
    )
    assert conf.loc[("P3", "sex"), "record_ids"] == "D3;D3b;R3"
    assert conf.loc[("P3", "full_name"), "detail"] == "differs between regsosek and dtks"
    assert conf.loc[("P3", "nik"), "detail"] == "only in dtks"
    assert conf.loc[("P3", "nik"), "record_ids"] == "D3;D3b;R3"
    # Year-only 1975 agrees with 1975-03-04: no birth date conflict.
    assert ("P3", "birth_date") not in conf.index
    # P5: WATI vs WATY share no phonetic word here (phonetic keys set apart on purpose).
    assert conf.loc[("P5", "full_name"), "detail"] == "differs between regsosek and p3ke"


def test_agreeing_persons_have_no_conflicts(case):
    conf = _conflicts(case)
    persons = set(conf.index.get_level_values("person_id"))
    assert "P1" not in persons
    # P6: month 1970-06 agrees with 1970-06-15; NIK differs (KK typed as NIK).
    assert ("P6", "birth_date") not in conf.index
    assert conf.loc[("P6", "nik"), "detail"] == "differs between p3ke and dtks"


def test_shared_phonetic_word_is_no_conflict():
    records = pd.DataFrame(
        {"source": ["dtks", "regsosek"], "record_id": ["D", "R"], "person_id": ["P", "P"],
         "family_id": ["F", "F"], "duplicate_of": [NA, NA]}
    )  # fmt: skip
    sources = {
        "dtks": _src([_row("D", name="SITI AMINAH", phon="SATA AMANAH")]),
        "regsosek": _src([_row("R", name="SITI", phon="SATA")]),
    }
    assert field_conflicts(records, sources, PRIORITY).empty


def test_phonetic_computed_when_column_absent():
    records = pd.DataFrame(
        {"source": ["dtks", "regsosek"], "record_id": ["D", "R"], "person_id": ["P", "P"],
         "family_id": ["F", "F"]}
    )  # fmt: skip
    sources = {
        "dtks": pd.DataFrame({"record_id": ["D"], "full_name": ["SOEHARTO"]}),
        "regsosek": pd.DataFrame({"record_id": ["R"], "full_name": ["BAMBANG"]}),
    }
    conf = field_conflicts(records, sources, PRIORITY)
    assert conf["field"].tolist() == ["full_name"]
    sources["regsosek"] = pd.DataFrame({"record_id": ["R"], "full_name": ["SUHARTO"]})
    assert field_conflicts(records, sources, PRIORITY).empty


def test_detail_never_holds_values(case):
    records, sources = case
    conf = field_conflicts(records, sources, PRIORITY)
    values = set()
    for frame in sources.values():
        for col in ("nik", "kk_number", "full_name", "mother_name"):
            if col in frame:
                values |= set(frame[col].dropna())
        values |= {d.strftime("%Y-%m-%d") for d in frame["birth_date"].dropna()}
        values |= {str(d.year) for d in frame["birth_date"].dropna()}
    for detail in conf["detail"]:
        assert not any(v in detail for v in values), detail
        assert set(detail.split()) <= {
            "differs", "between", "within", "and", "only", "in", "day", "month", "swapped",
            "by", "days", "regsosek", "p3ke", "dtks", "regsosek,", "p3ke,", "dtks;", "3",
        }  # fmt: skip


def test_conflict_values(case):
    records, sources = case
    conf = field_conflicts(records, sources, PRIORITY)
    vals = conflict_values(conf, records, sources)
    assert list(vals.columns) == ["person_id", "field", "source", "record_id", "value"]
    n_ids = conf["record_ids"].str.count(";").add(1).sum()
    assert len(vals) == n_ids
    p2 = vals[(vals["person_id"] == "P2") & (vals["field"] == "birth_date")]
    assert p2.set_index("record_id")["value"].to_dict() == {
        "D2": "1980-05-02", "K2": "1980-05-02", "R2": "1980-02-05"
    }  # fmt: skip
    p4 = vals[(vals["person_id"] == "P4") & (vals["field"] == "nik")].set_index("record_id")
    assert p4.loc["D4", "value"] == NIK_A and pd.isna(p4.loc["R4", "value"])
    assert p4.loc["R4", "source"] == "regsosek"
    # A year-only date shows as its year.
    fake = pd.DataFrame({"person_id": ["P3"], "field": ["birth_date"], "record_ids": ["D3;R3"]})
    shown = conflict_values(fake, records, sources)
    assert shown["value"].tolist() == ["1975", "1975-03-04"]


def test_conflict_values_unknown_record(case):
    records, sources = case
    fake = pd.DataFrame({"person_id": ["P1"], "field": ["sex"], "record_ids": ["NOPE"]})
    with pytest.raises(InputError):
        conflict_values(fake, records, sources)


def test_input_errors(case):
    records, sources = case
    with pytest.raises(UsageError):
        person_values(records, sources, ("dtks", "dtks"))
    with pytest.raises(InputError):
        person_values(records.drop(columns="person_id"), sources, PRIORITY)
    repeated = pd.concat([sources["dtks"], sources["dtks"].iloc[:1]], ignore_index=True)
    with pytest.raises(InputError) as err:
        field_conflicts(records, dict(sources, dtks=repeated), PRIORITY)
    assert NIK_A not in str(err.value)


def test_synthetic_run_recovers_true_nik():
    from bansos_linkage import standardise
    from bansos_linkage.synthetic import generate, scenario

    data = generate(scenario("default", households=60, seed=3))
    sources = {
        name: standardise(data.registers[name], name, reference_date=dt.date(2026, 1, 1)).records
        for name in ("dtks", "p3ke", "regsosek")
    }
    records = pd.concat(
        [truth.assign(source=name) for name, truth in data.truth.items()], ignore_index=True
    ).rename(columns={"household_id": "family_id"})
    records["duplicate_of"] = pd.NA
    out = person_values(records, sources, PRIORITY)
    assert out["person_id"].is_unique
    assert set(out["person_id"]) == set(records["person_id"])
    truth = out.merge(data.persons[["person_id", "nik"]], on="person_id", suffixes=("", "_true"))
    assert len(truth) == len(out)
    assert (truth["nik"] == truth["nik_true"]).mean() >= 0.95
    conf = field_conflicts(records, sources, PRIORITY)
    assert set(conf["person_id"]) <= set(out["person_id"])
