"""The synthetic population and registers: reproducible, consistent, with the configured errors."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from bansos_linkage import SchemaError, standardise
from bansos_linkage.cli import main
from bansos_linkage.standardisation import decode_nik
from bansos_linkage.synthetic import (
    RecordingErrors,
    SynthConfig,
    config_from_dict,
    generate,
    scenario,
)

REF = dt.date(2026, 1, 1)


@pytest.fixture(scope="module")
def data():
    return generate(scenario("default", households=3_000, seed=7))


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_gives_identical_files_across_processes(tmp_path):
    # a fresh interpreter has another string-hash seed: set order must not leak into the data
    import subprocess
    import sys

    for name, hash_seed in (("x", "1"), ("y", "2")):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bansos_linkage",
                "synth",
                "--households",
                "150",
                "--seed",
                "5",
                "--out",
                str(tmp_path / name),
            ],
            check=True,
            capture_output=True,
            env={**__import__("os").environ, "PYTHONHASHSEED": hash_seed},
        )
    assert _digest(tmp_path / "x") == _digest(tmp_path / "y")


def test_same_seed_gives_byte_identical_files(tmp_path):
    config = scenario("hard", households=200, seed=11)
    generate(config).write(tmp_path / "a")
    generate(config).write(tmp_path / "b")
    generate(replace(config, seed=12)).write(tmp_path / "c")
    a, b, c = _digest(tmp_path / "a"), _digest(tmp_path / "b"), _digest(tmp_path / "c")
    assert a == b
    generate(config).write(tmp_path / "pa", fmt="parquet")
    generate(config).write(tmp_path / "pb", fmt="parquet")
    assert _digest(tmp_path / "pa") == _digest(tmp_path / "pb")
    assert a["dtks.csv"] != c["dtks.csv"]
    assert {
        "regsosek.csv",
        "dtks.csv",
        "p3ke.csv",
        "truth_dtks.csv",
        "persons.csv",
        "households.csv",
        "survey.csv",
        "config.json",
    } <= set(a)


def test_truth_is_consistent(data):
    persons = set(data.persons["person_id"])
    households = set(data.households["household_id"])
    assert set(data.persons["household_id"]) <= households
    for name, table in data.registers.items():
        truth = data.truth[name]
        assert len(truth) == len(table)
        assert truth["record_id"].is_unique
        assert set(truth["person_id"]) <= persons
        assert set(truth["household_id"]) <= households
    # one person is one record in Regsosek; DTKS holds some people twice
    assert data.truth["regsosek"]["person_id"].is_unique
    assert data.truth["dtks"]["person_id"].duplicated().any()


def test_households_contain_their_members(data):
    counts = data.persons[data.persons["present_now"]].groupby("household_id").size()
    heads = data.persons[data.persons["relationship"] == 1].groupby("household_id").size()
    assert (heads == 1).all() and len(heads) == len(data.households)
    assert (counts.reindex(data.households["household_id"]).fillna(0) >= 1).all()


def test_niks_are_unique_and_decode_to_their_person(data):
    persons = data.persons.set_index("person_id")
    assert persons["nik"].is_unique
    reg = data.registers["regsosek"].assign(person_id=data.truth["regsosek"]["person_id"])
    masks = data.masks["regsosek"]
    clean = ~np.any([masks[k] for k in masks if k.startswith("nik_")], axis=0)
    sample = reg[clean].head(500)
    for row in sample.itertuples():
        parts = decode_nik(row.nik, reference_year=2022)
        true = persons.loc[row.person_id]
        assert parts is not None
        assert pd.Timestamp(parts.birth_date) == true["birth_date"]
        assert parts.sex == true["sex"]
    # region of first issue is a real district of the generated villages
    districts = set(data.households["district_code"])
    assert sample["nik"].str[:6].isin(districts).mean() > 0.5


@pytest.mark.parametrize("register", ["dtks", "regsosek", "p3ke"])
def test_observed_error_rates_match_configured(data, register):
    rates = data.config.errors[register]
    masks = data.masks[register]
    n = len(next(iter(masks.values())))
    for key in (
        "nik_missing",
        "nik_digit_wrong",
        "nik_is_kk",
        "date_missing",
        "sex_flip",
        "name_typo",
        "kk_stale",
    ):
        expected = getattr(rates, key)
        observed = masks[key].mean()
        tolerance = 4 * np.sqrt(max(expected, 1e-3) * (1 - expected) / n) + 0.002
        assert abs(observed - expected) <= tolerance, (key, observed, expected)


def test_name_error_masks_are_exactly_the_changed_names(data):
    table, truth = data.registers["dtks"], data.truth["dtks"]
    true_names = data.persons.set_index("person_id").loc[truth["person_id"], "full_name"]
    changed = table["NAMA"].to_numpy() != true_names.to_numpy()
    masks = data.masks["dtks"]
    any_name_error = np.any([m for k, m in masks.items() if k.startswith("name_")], axis=0)
    assert (changed == any_name_error).mean() > 0.995  # two errors may cancel out, rarely
    assert 0.1 < changed.mean() < 0.6
    # titles only ever go on adults
    adults = data.persons.set_index("person_id").loc[truth["person_id"], "birth_date"] <= (
        pd.Timestamp(data.config.regsosek_date) - pd.Timedelta(days=20 * 365.25)
    )
    assert not (masks["name_title"] & ~adults.to_numpy()).any()


def test_recorded_values_show_the_errors(data):
    table, truth = data.registers["dtks"], data.truth["dtks"]
    masks = data.masks["dtks"]
    persons = data.persons.set_index("person_id").loc[truth["person_id"]]
    assert (table["NIK"].to_numpy()[masks["nik_missing"]] == "").all()
    assert (
        table["NIK"].to_numpy()[masks["nik_is_kk"]]
        == table["NOMOR KK"].to_numpy()[masks["nik_is_kk"]]
    ).mean() > 0.9
    recorded_sex = np.where(table["JENIS KELAMIN"] == "L", "M", "F")
    flipped = recorded_sex != persons["sex"].to_numpy()
    assert (flipped == masks["sex_flip"]).all()


def test_registers_fit_their_presets(data):
    for name in ("dtks", "regsosek", "p3ke"):
        out = standardise(data.registers[name].astype("string"), name, reference_date=REF)
        assert out.n_rejected == 0
        assert out.n_kept == len(data.registers[name])


def test_clean_scenario_records_the_truth():
    clean = generate(scenario("clean", households=300, seed=2))
    table, truth = clean.registers["regsosek"], clean.truth["regsosek"]
    persons = clean.persons.set_index("person_id").loc[truth["person_id"]]
    assert (table["nama"].to_numpy() == persons["full_name"].to_numpy()).all()
    assert (table["nik"].to_numpy() == persons["nik"].to_numpy()).all()


def test_dtks_is_poorer_than_the_population_but_not_exactly_the_poorest(data):
    hh = data.households.set_index("household_id")
    in_dtks = hh.index.isin(data.truth["dtks"]["household_id"])
    pce = hh["per_capita_expenditure"]
    assert pce[in_dtks].median() < pce[~in_dtks].median()
    cutoff = pce.quantile(in_dtks.mean())
    assert (pce[in_dtks] > cutoff).mean() > 0.05  # inclusion errors exist
    assert (pce[~in_dtks] < cutoff).mean() > 0.05  # and exclusion errors


def test_life_between_snapshots(data):
    p = data.persons
    assert (~p["alive_now"]).any() and (~p["present_then"]).any()
    assert data.households["moved"].any() and data.households["split"].any()
    dtks_people = set(data.truth["dtks"]["person_id"])
    died = set(p.loc[~p["alive_now"], "person_id"])
    assert died & dtks_people  # the dead are still listed in the older register
    assert not died & set(data.truth["regsosek"]["person_id"])


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"households": -1}, "households"),
        ({"seed": -3}, "seed"),
        ({"regsosek_coverage": 1.5}, "regsosek_coverage"),
        ({"errors": {"dtks": RecordingErrors(nik_missing=2.0)}}, "errors.dtks.nik_missing"),
        ({"errors": {"siks": RecordingErrors()}}, "errors.siks"),
        ({"dtks_date": "2020-13-01"}, "dtks_date"),
    ],
)
def test_bad_config_names_the_key(kwargs, key):
    with pytest.raises(SchemaError) as err:
        SynthConfig(**kwargs)
    assert err.value.key == key


def test_unknown_scenario_and_config_round_trip():
    with pytest.raises(SchemaError, match="unknown scenario"):
        scenario("messy")
    config = scenario("hard", households=10, seed=4)
    assert config_from_dict(config.to_dict()) == config
    with pytest.raises(SchemaError) as err:
        config_from_dict({**config.to_dict(), "househods": 3})
    assert err.value.key == "househods"


def test_cli_synth_writes_registers(tmp_path, capsys):
    assert (
        main(
            [
                "synth",
                "--households",
                "60",
                "--seed",
                "1",
                "--scenario",
                "hard",
                "--out",
                str(tmp_path),
                "--format",
                "parquet",
            ]
        )
        == 0
    )
    assert (tmp_path / "dtks.parquet").exists() and (tmp_path / "config.json").exists()
    assert "dtks" in capsys.readouterr().out
    assert main(["synth", "--households", "10", "--scenario", "nope", "--out", str(tmp_path)]) == 2
