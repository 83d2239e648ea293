"""standardise(): whole exports in, canonical records + report out, nothing lost."""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd
import pytest

from bansos_linkage import (
    CANONICAL_FIELDS,
    SchemaError,
    load_schema,
    read_table,
    sample_path,
    standardise,
)
from bansos_linkage.datasets import SAMPLES, sample_crosswalk_path
from bansos_linkage.standardisation import REPORT_COLUMNS

REF = dt.date(2026, 1, 1)


@pytest.fixture(scope="module")
def dtks():
    return standardise(sample_path("dtks"), "dtks", reference_date=REF)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_row_ends_in_exactly_one_output(name):
    raw = read_table(sample_path(name))
    crosswalk = sample_crosswalk_path() if name == "regsosek" else None
    out = standardise(raw, SAMPLES[name][1], crosswalk=crosswalk, reference_date=REF)
    assert out.n_input == len(raw) == out.n_kept + out.n_rejected
    kept = set(out.records["record_id"])
    assert out.records["record_id"].is_unique
    for row in out.rejected.itertuples():
        if row.reason == "duplicate_id":
            assert row.record_id in kept  # the first occurrence was kept
        else:
            assert row.reason == "missing_id" and (pd.isna(row.record_id) or row.record_id == "")
    assert set(out.report["record_id"]) <= kept
    assert list(out.report.columns) == list(REPORT_COLUMNS)


def test_canonical_columns_come_first_in_order(dtks):
    cols = list(dtks.records.columns)
    present = [c for c in CANONICAL_FIELDS if c in cols]
    assert cols[: len(present)] == present
    assert "STATUS DTKS" in cols  # unmapped source column rides along untouched
    assert "full_name_raw" in cols and "nik_raw" in cols


def test_missing_and_duplicate_ids_are_rejected_with_reason_and_row(dtks):
    rej = dtks.rejected.set_index("reason")
    assert rej.loc["missing_id", "row"] == 19  # header is row 1
    assert rej.loc["duplicate_id", "record_id"] == "DTKS-0017"
    assert rej.loc["duplicate_id", "row"] == 20
    assert "source:NAMA" in dtks.rejected.columns  # original values kept for the person fixing it
    assert dtks.records.set_index("record_id").loc["DTKS-0017", "full_name"] == "LIEM SWIE KING"


def test_names_are_standardised_and_originals_kept(dtks):
    rec = dtks.records.set_index("record_id")
    assert rec.loc["DTKS-0002", "full_name"] == "SITI AMINAH"
    assert rec.loc["DTKS-0002", "full_name_raw"] == "Hj. Siti Aminah, S.Pd."
    assert rec.loc["DTKS-0003", "full_name"] == "MUHAMMAD RIDWAN"
    assert rec.loc["DTKS-0005", "full_name"] == "SUHARTO"
    assert rec.loc["DTKS-0008", "full_name"] == "SUDARMA"
    assert rec.loc["DTKS-0008", "name_birth_order"] == "WAYAN"
    assert rec.loc["DTKS-0004", "name_patronym"] == "LALU ZAINI" or "ZAINI" in str(
        rec.loc["DTKS-0004", "name_patronym"]
    )


def test_invalid_values_become_null_with_a_reason(dtks):
    rec = dtks.records.set_index("record_id")
    report = dtks.report.set_index(["record_id", "field"])
    # KK typed as NIK
    assert pd.isna(rec.loc["DTKS-0003", "nik"])
    assert report.loc[("DTKS-0003", "nik"), "problem"] == "nik_is_kk"
    # placeholder (region code + zeros) and Excel scientific notation
    assert report.loc[("DTKS-0005", "nik"), "problem"] == "nik_placeholder"
    assert report.loc[("DTKS-0006", "nik"), "problem"] == "nik_excel_scientific"
    assert report.loc[("DTKS-0006", "nik"), "value"] == "5.20309E+15"
    assert rec.loc[["DTKS-0005", "DTKS-0006"], ["nik", "nik_decoded"]].isna().all(axis=None)
    # impossible date and unknown marker
    assert pd.isna(rec.loc["DTKS-0014", "birth_date"])
    assert report.loc[("DTKS-0014", "birth_date"), "problem"] == "date_invalid"
    assert report.loc[("DTKS-0004", "birth_date"), "severity"] == "missing"
    # the preset's L/P list extends the built-in codes, so a stray "1" still reads as male
    assert rec.loc["DTKS-0020", "sex"] == "M"


def test_structurally_flagged_numbers_are_kept_but_not_decoded():
    raw = pd.DataFrame(
        {
            "ID": ["1", "2", "3", "4"],
            "NAMA": ["Siti", "Budi", "Ani", "Joko"],
            "NIK": ["3302033508900003", "3302031708900003", "3302033201150001", "3302030000000000"],
            "NO KK": ["3302033201150001", "3302033201150001", "3302033201150001", None],
        }
    )
    schema = {
        "id_column": "ID",
        "fields": {"full_name": "NAMA", "nik": "NIK", "kk_number": "NO KK"},
    }
    out = standardise(raw, schema, reference_date=REF)
    rec = out.records.set_index("record_id")
    # day 35: kept for exact agreement, nothing decoded from it
    assert rec.loc["1", "nik"] == "3302033508900003"
    assert rec.loc["1", "nik_decoded"] == False  # noqa: E712
    assert rec.loc[["1"], ["nik_birth_date", "nik_sex", "nik_region"]].isna().all(axis=None)
    assert rec.loc["2", "nik_decoded"] == True  # noqa: E712
    assert rec.loc["2", "nik_birth_date"] == pd.Timestamp("1990-08-17")
    # a KK number with day 32 is kept: the family's rows still share it
    assert rec["kk_number"].tolist()[:3] == ["3302033201150001"] * 3
    # ... but typed in the NIK field it is someone else's number, and a placeholder is no number
    assert rec[["nik", "nik_decoded"]].loc[["3", "4"]].isna().all(axis=None)
    report = out.report.set_index(["record_id", "field"])
    assert report.loc[("1", "nik"), "problem"] == "nik_bad_date"
    assert report.loc[("1", "nik"), "severity"] == "warning"
    assert report.loc[("1", "kk_number"), "problem"] == "kk_bad_date"
    assert report.loc[("1", "kk_number"), "severity"] == "warning"
    assert report.loc[("3", "nik"), "problem"] == "nik_is_kk"
    assert report.loc[("3", "nik"), "severity"] == "invalid"
    assert report.loc[("4", "nik"), "problem"] == "nik_placeholder"


def test_serial_0000_is_spreadsheet_damage_and_null():
    # P3KE's 5203096506800000 is DTKS-0007's 5203096506800003 with the 16th digit lost to
    # Excel: kept, it would disagree with the true NIK as if it were a sibling's serial
    out = standardise(sample_path("p3ke"), SAMPLES["p3ke"][1], reference_date=REF)
    rec = out.records.set_index("record_id")
    assert pd.isna(rec.loc["P-52-0003", "nik"])
    assert rec.loc["P-52-0003", "nik_raw"] == "5203096506800000"
    report = out.report.set_index(["record_id", "field"])
    assert report.loc[("P-52-0003", "nik"), "problem"] == "nik_bad_serial"
    assert report.loc[("P-52-0003", "nik"), "severity"] == "invalid"


def test_duplicate_niks_are_flagged_but_kept(dtks):
    rec = dtks.records.set_index("record_id")
    assert rec.loc["DTKS-0012", "nik"] == rec.loc["DTKS-0013", "nik"] == "3302034708900003"
    flagged = dtks.report[dtks.report["problem"] == "nik_duplicate"]["record_id"]
    assert {"DTKS-0012", "DTKS-0013"} <= set(flagged)


def test_nik_decoding_and_regions(dtks):
    rec = dtks.records.set_index("record_id")
    assert rec.loc["DTKS-0012", "nik_sex"] == "F"
    assert rec.loc["DTKS-0012", "nik_birth_date"] == pd.Timestamp("1990-08-07")
    assert rec.loc["DTKS-0011", "village_code"] == "3302032001"
    assert rec.loc["DTKS-0011", "district_code"] == "330203"
    assert rec.loc["DTKS-0011", "rt"] == "003" and rec.loc["DTKS-0011", "rw"] == "005"
    assert rec.loc["DTKS-0001", "relationship"] == 1
    assert rec.loc["DTKS-0002", "sex"] == "F"


def test_rt_rw_taken_from_the_address_are_not_reported_missing(dtks):
    rec = dtks.records.set_index("record_id")
    assert rec.loc["DTKS-0005", "rt"] == "002" and rec.loc["DTKS-0005", "rw"] == "001"
    reported = dtks.report[dtks.report["field"].isin(["rt", "rw"])]
    assert "DTKS-0005" not in set(reported["record_id"])


def test_year_only_dates_are_kept_but_flagged(dtks):
    rec = dtks.records.set_index("record_id")
    assert rec.loc["DTKS-0011", "birth_date_precision"] == "year"
    assert rec.loc["DTKS-0003", "birth_date_precision"] == "year"  # 01-01 placeholder


def test_regsosek_bps_codes_need_a_crosswalk():
    without = standardise(sample_path("regsosek"), "regsosek", reference_date=REF)
    assert set(without.records["region_scheme"].dropna()) == {"bps"}
    with_cw = standardise(
        sample_path("regsosek"), "regsosek", crosswalk=sample_crosswalk_path(), reference_date=REF
    )
    rec = with_cw.records.set_index("record_id")
    assert rec.loc["R22-000601", "village_code"] == "3171021001"  # Jakarta Pusat: BPS 3173
    assert rec.loc["R22-000601", "region_scheme"] == "kemendagri"
    assert rec.loc["R22-000101", "region_scheme"] == "bps"  # not in the crosswalk: kept as BPS
    assert "luas_lantai" in with_cw.records.columns


def test_missing_required_column_names_schema_file_and_key(tmp_path):
    raw = read_table(sample_path("dtks")).drop(columns=["NIK"])
    with pytest.raises(SchemaError) as err:
        standardise(raw, "dtks")
    assert err.value.key == "fields.nik"
    assert err.value.file == "preset:dtks"
    assert "dtks_sample.csv" in str(err.value)


def test_optional_columns_may_be_absent():
    raw = read_table(sample_path("dtks")).drop(columns=["NAMA IBU KANDUNG", "RT", "RW"])
    out = standardise(raw, "dtks", reference_date=REF)
    assert "mother_name" not in out.records.columns
    assert out.records.set_index("record_id").loc["DTKS-0001", "rt"] == "003"  # from ALAMAT


def test_headers_match_ignoring_case_and_punctuation():
    raw = read_table(sample_path("dtks"))
    raw.columns = [c.lower().replace(" ", "_") for c in raw.columns]
    out = standardise(raw, "dtks", reference_date=REF)
    assert out.records.set_index("record_id").loc["DTKS-0002", "full_name"] == "SITI AMINAH"


def test_no_personal_data_in_logs(caplog):
    with caplog.at_level(logging.DEBUG, logger="bansos_linkage"):
        standardise(sample_path("dtks"), "dtks", reference_date=REF)
    text = caplog.text.upper()
    for secret in ("AMINAH", "SUDARMA", "5203071502750001", "3302034708900003"):
        assert secret not in text


def test_summary_counts_match_report(dtks):
    summary = dtks.summary()
    assert summary["count"].sum() == len(dtks.report)
    assert (summary["description"] != "").all()
    text = dtks.summary_text()
    assert f"rows read: {dtks.n_input:,}" in text and "rejected duplicate_id: 1" in text
    for secret in ("AMINAH", "5203071502750001"):
        assert secret not in text.upper()


def test_keep_none_and_list():
    base = load_schema("dtks").to_dict()
    base["keep"] = "none"
    out = standardise(sample_path("dtks"), base, reference_date=REF)
    assert "STATUS DTKS" not in out.records.columns
    base["keep"] = ["STATUS DTKS"]
    out = standardise(sample_path("dtks"), base, reference_date=REF)
    assert "STATUS DTKS" in out.records.columns


def test_empty_table_standardises_to_empty_outputs():
    raw = read_table(sample_path("dtks")).iloc[0:0]
    out = standardise(raw, "dtks", reference_date=REF)
    assert out.n_input == out.n_kept == out.n_rejected == 0
    assert out.report.empty and "no problems" in out.summary_text()


def test_every_problem_code_is_documented():
    from pathlib import Path

    from bansos_linkage.standardisation import addresses, codes, dates, names, nik, regions

    doc = (Path(__file__).parents[1] / "docs" / "standardisation.md").read_text(encoding="utf-8")
    for module in (names, nik, dates, codes, regions, addresses):
        for code in module.PROBLEMS:
            assert f"`{code}`" in doc, code


def test_progress_callback_reports_every_stage_in_order():
    calls = []
    standardise(
        sample_path("dtks"), "dtks", reference_date=REF, progress=lambda *a: calls.append(a)
    )
    done = [c[0] for c in calls]
    assert done == sorted(done) and done[0] == 0
    assert calls[-1] == (calls[-1][1], calls[-1][1], "done")
    assert {"names", "identifiers", "dates"} <= {c[2] for c in calls}


def test_fields_skip_steps_nobody_asked_for_but_reject_the_same_rows(dtks):
    wanted = ["full_name", "nik", "birth_date", "village_code"]
    some = standardise(sample_path("dtks"), "dtks", reference_date=REF, fields=wanted)
    assert "rt" in dtks.records and "village_name" in dtks.records
    assert "rt" not in some.records and "village_name" not in some.records
    pd.testing.assert_frame_equal(some.rejected, dtks.rejected)
    for col in wanted:
        pd.testing.assert_series_equal(some.records[col], dtks.records[col])
    # asking for an address column runs the address step
    with_rt = standardise(sample_path("dtks"), "dtks", reference_date=REF, fields=["rt"])
    pd.testing.assert_series_equal(with_rt.records["rt"], dtks.records["rt"])
