"""The phenomena added after the first scenarios, and the mix01 .. mix24 scenario family."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from bansos_linkage import SchemaError, standardise
from bansos_linkage.cli import main
from bansos_linkage.synthetic import (
    MIX_SCENARIOS,
    REPORT_MIXES,
    SCENARIOS,
    TUNING_MIXES,
    LifeEvents,
    RecordingErrors,
    config_from_dict,
    flat_rates,
    generate,
    mix_rates,
    scenario,
)
from bansos_linkage.synthetic.lexicons import load_regions
from bansos_linkage.synthetic.phenomena import other_in_group

REF = dt.date(2026, 1, 1)
# sha256 of every table of scenario(name, households=400, seed=3), computed with the
# generator as it was before the phenomena below existed (commit 20ee7bb): new rates
# at 0 must not move a single byte (CSV text as written by this pandas)
BEFORE_PHENOMENA = {
    "clean": "765395d9c994b03e094f63284c81f85e526eb5d545316885c19d3e8fa66c07dd",
    "default": "85cafcd5375cad8528378af271dd0231859a18eee8ca8285620987746eeb678c",
    "hard": "b81ee7c9a7014d74e20bb9ac088bde1d60c8aefb8600560f2f6dd1ddf633d1ee",
}
DTKS_RATES = {
    "nik_relative": 0.06,
    "nik_shared": 0.02,
    "nik_missing_date_damaged": 0.05,
    "date_days_off": 0.05,
    "duplicate": 0.04,
    "name_varied_duplicate": 1.0,
    "nik_missing_duplicate": 0.5,
}


def _digest(data) -> str:
    h = hashlib.sha256()
    tables = {
        **data.registers,
        **{f"truth_{k}": v for k, v in data.truth.items()},
        "persons": data.persons,
        "households": data.households,
        "survey": data.survey,
    }
    for name in sorted(tables):
        h.update(name.encode())
        h.update(tables[name].to_csv(index=False).encode())
    return h.hexdigest()


def _config(**top):
    base = scenario("default")
    errors = {**base.errors, "dtks": replace(base.errors["dtks"], **DTKS_RATES)}
    return scenario(
        "default",
        households=1_000,
        seed=9,
        villages=120,
        errors=errors,
        events=replace(LifeEvents(), kk_renumbered=0.5),
        **top,
    )


@pytest.fixture(scope="module")
def data():
    return generate(_config(one_word_names=0.2, village_recoded=0.3))


@pytest.fixture(scope="module")
def plain():
    """The same population and registers with the new phenomena at 0."""
    return generate(scenario("default", households=1_000, seed=9, villages=120))


def _tolerance(rate: float, n: int) -> float:
    return 4 * np.sqrt(max(rate, 1e-3) * (1 - min(rate, 0.999)) / n) + 0.003


def _dtks(data) -> pd.DataFrame:
    """DTKS records with their truth and the true person and household behind them."""
    table = data.registers["dtks"].copy()
    truth = data.truth["dtks"]
    persons = data.persons.set_index("person_id")
    table["person_id"] = truth["person_id"].to_numpy()
    table["household_id"] = truth["household_id"].to_numpy()
    table["true_nik"] = persons.loc[truth["person_id"], "nik"].to_numpy()
    table["true_birth"] = persons.loc[truth["person_id"], "birth_date"].to_numpy()
    return table


@pytest.mark.parametrize("name", sorted(BEFORE_PHENOMENA))
def test_first_scenarios_are_byte_identical_to_before(name):
    assert _digest(generate(scenario(name, households=400, seed=3))) == BEFORE_PHENOMENA[name]


def test_phenomena_leave_the_population_draws_alone(data, plain):
    # every phenomenon has its own generator: the households and who is enumerated stay
    assert data.households.drop(columns="kk_number").equals(
        plain.households.drop(columns="kk_number")
    )
    assert data.truth["regsosek"].equals(plain.truth["regsosek"])


def test_same_seed_same_registers_other_seed_other_population():
    a = generate(scenario("mix07", households=300, seed=1))
    b = generate(scenario("mix07", households=300, seed=1))
    c = generate(scenario("mix07", households=300, seed=2))
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)
    assert a.config.errors == c.config.errors and a.config.events == c.config.events


def test_nik_relative_is_a_household_members_nik_mostly_the_heads(data):
    table, masks = _dtks(data), data.masks["dtks"]
    hit = masks["nik_relative"]
    expected = DTKS_RATES["nik_relative"]
    # rows alone in their household cannot borrow: the observed rate is a little lower
    assert expected * 0.6 <= hit.mean() <= expected + _tolerance(expected, len(hit))
    other_nik = ~np.any(
        [m for k, m in masks.items() if k.startswith("nik_") and k != "nik_relative"], axis=0
    )
    rows = table[hit & other_nik]
    assert len(rows) > 30
    persons = data.persons.set_index("nik")
    donor = persons.loc[rows["NIK"]]
    assert (donor["household_then"].to_numpy() == rows["household_id"].to_numpy()).all()
    assert (donor.index.to_numpy() != rows["true_nik"].to_numpy()).all()
    assert (donor["relationship_then"] == 1).mean() > 0.6
    # the dead and departed, kept on the list, borrow more often
    gone = ~data.persons.set_index("person_id").loc[table["person_id"], "present_now"].to_numpy()
    assert hit[gone].mean() > 2 * hit[~gone].mean()


def test_nik_shared_is_an_unrelated_villagers_nik(data):
    table, masks = _dtks(data), data.masks["dtks"]
    hit = masks["nik_shared"]
    expected = DTKS_RATES["nik_shared"]
    assert abs(hit.mean() - expected) <= _tolerance(expected, len(hit)) + 0.004
    alone = sum(m for k, m in masks.items() if k.startswith("nik_")) == 1
    rows = table[hit & alone]
    donor = data.persons.set_index("nik").loc[rows["NIK"]]
    assert (donor["household_then"].to_numpy() != rows["household_id"].to_numpy()).all()
    # the donor is listed in the same village of the same register
    village = table.groupby("person_id")["KODE DESA"].first()
    assert (village.loc[donor["person_id"]].to_numpy() == rows["KODE DESA"].to_numpy()).all()
    assert rows["NIK"].isin(table.loc[~hit, "NIK"]).mean() > 0.6  # two people, one NIK


def test_missing_nik_comes_with_a_damaged_date(data):
    table, masks = _dtks(data), data.masks["dtks"]
    hit = masks["nik_missing_date_damaged"]
    expected = DTKS_RATES["nik_missing_date_damaged"]
    assert abs(hit.mean() - expected) <= _tolerance(expected, len(hit))
    rows = table[hit]
    assert (rows["NIK"] == "").all()
    true = pd.to_datetime(rows["true_birth"]).dt.strftime("%d-%m-%Y")
    assert (rows["TANGGAL LAHIR"] != true).all()
    swapped = rows["TANGGAL LAHIR"] != ""
    assert 0.05 < swapped.mean() < 0.5
    flip = pd.to_datetime(rows["true_birth"]).dt.strftime("%m-%d-%Y")
    assert (rows.loc[swapped, "TANGGAL LAHIR"].str.replace("/", "-") == flip[swapped]).all()
    # the overwritten errors are no longer claimed by the masks
    assert not (hit & masks["nik_digit_wrong"]).any() and not (hit & masks["date_year_only"]).any()


def test_dates_a_few_days_off(data):
    table, masks = _dtks(data), data.masks["dtks"]
    hit = masks["date_days_off"]
    untouched = ~np.any(
        [m for k, m in masks.items() if k.startswith("date_") and k != "date_days_off"], axis=0
    )
    expected = DTKS_RATES["date_days_off"] * untouched.mean()
    assert abs(hit.mean() - expected) <= _tolerance(expected, len(hit))
    rows = table[hit & (table["TANGGAL LAHIR"].str.len() == 10)]
    recorded = pd.to_datetime(rows["TANGGAL LAHIR"].str.replace("/", "-"), format="%d-%m-%Y")
    off = (recorded - pd.to_datetime(rows["true_birth"])).dt.days.abs()
    assert off.between(1, 10).all() and off.nunique() > 5


def test_duplicates_are_spelled_otherwise(data):
    table, masks = _dtks(data), data.masks["dtks"]
    second = table["person_id"].duplicated().to_numpy()
    assert second.mean() > 0.025
    assert (masks["name_varied_duplicate"] == second).mean() > 0.995
    first_name = table.drop_duplicates("person_id").set_index("person_id")["NAMA"]
    dup = table[second]
    assert (dup["NAMA"].to_numpy() != first_name.loc[dup["person_id"]].to_numpy()).mean() > 0.99
    no_nik = masks["nik_missing_duplicate"]
    assert not (no_nik & ~second).any()
    assert 0.35 < no_nik[second].mean() < 0.65
    assert (table.loc[no_nik, "NIK"] == "").all()


def test_kk_renumbered_for_whole_families(data, plain):
    hh = data.households.set_index("household_id")
    renumbered = hh["kk_number"] != plain.households.set_index("household_id")["kk_number"]
    assert abs(renumbered.mean() - 0.5) < 0.07
    assert hh["kk_number"].is_unique
    reg = data.registers["regsosek"].assign(household_id=data.truth["regsosek"]["household_id"])
    p3ke = data.registers["p3ke"].assign(household_id=data.truth["p3ke"]["household_id"])
    clean = ~data.masks["p3ke"]["kk_stale"]
    regsosek_kk = reg[~data.masks["regsosek"]["kk_stale"]].groupby("household_id")["no_kk"].first()
    p3ke_kk = p3ke[clean].groupby("household_id")["NO_KK"].first()
    both = regsosek_kk.index.intersection(p3ke_kk.index)
    differ = regsosek_kk.loc[both] != p3ke_kk.loc[both]
    assert (differ == renumbered.loc[both]).all()  # the whole family, never one record
    mask = data.masks["p3ke"]["kk_renumbered"]
    assert (mask == renumbered.loc[p3ke["household_id"]].to_numpy()).all()
    assert not data.masks["regsosek"]["kk_renumbered"].any()


def test_one_word_names(data, plain):
    words = data.persons["full_name"].str.split().str.len()
    before = plain.persons["full_name"].str.split().str.len()
    share0 = (before == 1).mean()
    expected = share0 + 0.2 * (1 - share0)
    assert abs((words == 1).mean() - expected) < 0.03
    changed = data.persons["full_name"] != plain.persons["full_name"]
    assert (words[changed] == 1).all()  # nobody else's name moved


def test_village_codes_recoded_in_the_older_registers(data):
    masks = data.masks["p3ke"]
    p3ke = data.registers["p3ke"].assign(household_id=data.truth["p3ke"]["household_id"])
    true_code = (
        data.households.set_index("household_id")
        .loc[p3ke["household_id"], "village_code"]
        .reset_index(drop=True)
    )
    recorded = p3ke["KODE_KEMENDAGRI"].to_numpy()
    assert ((recorded != true_code.to_numpy()) == masks["village_recoded"]).all()
    old = p3ke.loc[masks["village_recoded"]]
    assert not old["KODE_KEMENDAGRI"].isin(load_regions()["village_code"]).any()
    assert (old["KODE_KEMENDAGRI"].str[:7] == true_code[masks["village_recoded"]].str[:7]).all()
    share = true_code[masks["village_recoded"]].nunique() / true_code.nunique()
    assert 0.15 < share < 0.45
    # Regsosek keeps the BPS codes, and a village keeps its name
    assert not data.masks["regsosek"]["village_recoded"].any()
    names = p3ke.groupby("household_id")["DESA"].first()
    regs = data.registers["regsosek"].assign(household_id=data.truth["regsosek"]["household_id"])
    both = names.index.intersection(regs["household_id"])
    assert (names.loc[both] == regs.groupby("household_id")["nama_desa"].first().loc[both]).all()


def test_other_in_group_never_picks_the_row_itself():
    keys = np.array(["a", "b", "a", "c", "a", "b"], dtype=object)
    other = other_in_group(keys, np.random.default_rng(1))
    assert other[3] == -1
    rows = np.flatnonzero(other >= 0)
    assert (keys[other[rows]] == keys[rows]).all() and (other[rows] != rows).all()
    assert len(other_in_group(np.array([], dtype=object), np.random.default_rng(1))) == 0


def test_the_mix_family():
    assert len(MIX_SCENARIOS) == 24 and set(MIX_SCENARIOS) <= set(SCENARIOS)
    assert tuple(f"mix{i:02d}" for i in range(1, 7)) == TUNING_MIXES
    assert set(TUNING_MIXES) | set(REPORT_MIXES) == set(MIX_SCENARIOS)
    assert not set(TUNING_MIXES) & set(REPORT_MIXES)
    rates = {name: mix_rates(name) for name in MIX_SCENARIOS}
    default = flat_rates(scenario("default"))
    rows = {tuple(sorted(r.items())) for r in rates.values()}
    assert len(rows) == 24 and tuple(sorted(default.items())) not in rows
    table = pd.DataFrame(rates).T
    assert ((table >= 0) & (table <= 1)).all().all()
    for key, upper in (
        ("errors.dtks.nik_relative", 0.06),
        ("errors.dtks.nik_shared", 0.02),
        ("errors.dtks.nik_missing_date_damaged", 0.05),
        ("errors.dtks.date_days_off", 0.05),
        ("errors.dtks.duplicate", 0.04),
        ("events.kk_renumbered", 0.6),
        ("one_word_names", 0.3),
        ("village_recoded", 0.3),
    ):
        assert table[key].max() <= upper and table[key].max() > upper / 3, key
    ratio = table["errors.dtks.nik_missing"] / default["errors.dtks.nik_missing"]
    assert ratio.min() >= 0.25 - 1e-6 and ratio.max() <= 3 + 1e-6 and ratio.max() / ratio.min() > 3
    events = table["events.death"] / default["events.death"]
    assert events.min() >= 0.5 - 1e-6 and events.max() <= 2 + 1e-6
    # the seed changes the population, never the rates
    assert scenario("mix07", seed=1, households=10) == replace(
        scenario("mix07", seed=2, households=10), seed=1
    )


@pytest.mark.parametrize("name", MIX_SCENARIOS)
def test_every_mix_has_consistent_truth(name):
    data = generate(scenario(name, households=300, seed=4))
    persons = set(data.persons["person_id"])
    households = set(data.households["household_id"])
    for reg, table in data.registers.items():
        truth = data.truth[reg]
        assert len(truth) == len(table) and truth["record_id"].is_unique
        assert set(truth["person_id"]) <= persons and set(truth["household_id"]) <= households
        member = data.persons.set_index("person_id").loc[truth["person_id"]]
        # a record's household is its person's, then (DTKS) or now
        col = "household_then" if reg == "dtks" else "household_id"
        assert (member[col].to_numpy() == truth["household_id"].to_numpy()).all()
        for mask in data.masks[reg].values():
            assert len(mask) == len(table)
    assert data.truth["regsosek"]["person_id"].is_unique
    assert data.households["kk_number"].is_unique and data.persons["nik"].is_unique


def test_mix_registers_fit_their_presets():
    data = generate(scenario("mix11", households=400, seed=2))
    for name in ("dtks", "regsosek", "p3ke"):
        out = standardise(data.registers[name].astype("string"), name, reference_date=REF)
        assert out.n_rejected == 0 and out.n_kept == len(data.registers[name])


def test_mix_config_round_trip_and_old_configs_still_load():
    config = scenario("mix03", households=50, seed=1)
    assert config_from_dict(config.to_dict()) == config
    old = scenario("default").to_dict()
    del old["one_word_names"], old["events"]["kk_renumbered"], old["errors"]["dtks"]["nik_relative"]
    assert config_from_dict(old) == scenario("default")


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"one_word_names": 1.5}, "one_word_names"),
        ({"village_recoded": -0.1}, "village_recoded"),
        ({"events": LifeEvents(kk_renumbered=2.0)}, "events.kk_renumbered"),
        ({"errors": {"dtks": RecordingErrors(nik_relative=-1)}}, "errors.dtks.nik_relative"),
    ],
)
def test_bad_new_rates_name_their_key(kwargs, key):
    with pytest.raises(SchemaError) as err:
        scenario("default", **kwargs)
    assert err.value.key == key
    with pytest.raises(SchemaError, match="mix01"):
        scenario("mix25")


def test_cli_synth_writes_a_mix(tmp_path):
    assert main(["synth", "--households", "40", "--scenario", "mix07", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "dtks.csv").exists() and (tmp_path / "config.json").exists()
