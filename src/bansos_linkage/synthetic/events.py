"""Life between the snapshots: deaths, members who left, moves and household splits.

The population describes the newer (Regsosek) snapshot. This stage records, per
person, whether they were present at the older (DTKS) snapshot and in which
household, and per household, where it lived then and which KK it had
(``kk_then``: the same number unless the family was renumbered since).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bansos_linkage.synthetic.config import SynthConfig
from bansos_linkage.synthetic.phenomena import stream
from bansos_linkage.synthetic.population import Population, registration_stems, with_serial


def apply_events(pop: Population, config: SynthConfig, rng: np.random.Generator) -> None:
    """Add the ``*_then`` / ``in_*`` columns describing the older snapshot (in place)."""
    persons, hh = pop.persons, pop.households
    ev = config.events
    rel = persons["relationship"].to_numpy()
    age = persons["age"].to_numpy()
    n = len(persons)
    # deaths: mostly the elderly; a household keeps its head so it has someone to list
    p_death = ev.death * np.where(age >= 60, 4.0, 0.4)
    died = (rng.random(n) < p_death) & (rel != 1)
    left = (rng.random(n) < ev.member_left) & (rel != 1) & (age >= 15) & (age <= 45) & ~died
    born_after = persons["birth_date"].to_numpy() > np.datetime64(config.dtks_date)
    persons["alive_now"] = ~died
    persons["present_now"] = ~died & ~left
    persons["present_then"] = ~born_after
    persons["household_then"] = persons["household_id"]
    persons["relationship_then"] = rel
    hh["village_index_then"] = hh["village_index"].to_numpy()
    hh["moved"] = rng.random(len(hh)) < ev.move
    n_villages = int(hh["village_index"].max()) + 1 if len(hh) else 1
    shift = rng.integers(1, max(n_villages, 2), len(hh))
    hh.loc[hh["moved"], "village_index_then"] = (hh["village_index"].to_numpy() + shift)[
        hh["moved"].to_numpy()
    ] % max(n_villages, 1)
    _splits(persons, hh, ev.split, rng)
    hh["kk_previous"] = _previous_kk(hh["kk_number"].to_numpy(), rng)
    _renumber(hh, config, stream(config.seed, "kk_renumbered"))


def _renumber(hh: pd.DataFrame, config: SynthConfig, gen: np.random.Generator) -> None:
    """Families issued a new KK after the older registers' dates (whole family, in place).

    Any change on the family card (a birth, a death, a correction, the 2021-22
    re-issue drives) gives it a new number, so a large share of families carry
    another KK in Regsosek than in DTKS and P3KE. ``kk_number`` is the new one
    (the population is the newer state), ``kk_then`` what the older registers show.
    """
    hh["kk_then"] = hh["kk_number"].to_numpy()
    rate = config.events.kk_renumbered
    hh["kk_renumbered"] = (gen.random(len(hh)) < rate) if rate > 0 else np.zeros(len(hh), bool)
    renumbered = hh["kk_renumbered"].to_numpy()
    if not renumbered.any():
        return
    start = max(np.datetime64(config.dtks_date), np.datetime64(config.p3ke_date))
    end = np.datetime64(config.regsosek_date)
    # issued between the last older register and Regsosek: a stem no older KK has
    days = gen.integers(1, max(int((end - start).astype(int)), 1) + 1, renumbered.sum())
    dates = start + days.astype("timedelta64[D]")
    stems = registration_stems(hh.loc[renumbered, "district_code"], dates)
    hh.loc[renumbered, "kk_number"] = with_serial(stems, gen)


def _splits(persons: pd.DataFrame, hh: pd.DataFrame, rate: float, rng: np.random.Generator) -> None:
    """Young households that were, at the older snapshot, a child in an older household."""
    heads = persons[persons["relationship"] == 1]
    head_age = pd.Series(heads["age"].to_numpy(), index=heads["hh_index"].to_numpy())
    age = head_age.reindex(range(len(hh))).to_numpy()
    young = (age >= 20) & (age <= 38)
    old = age >= 45
    hh["split_from"] = pd.Series(pd.NA, index=hh.index, dtype="string")
    village = hh["village_index"].to_numpy()
    candidates = {v: np.flatnonzero(old & (village == v)) for v in np.unique(village)}
    split = young & (rng.random(len(hh)) < rate) & ~hh["moved"].to_numpy()
    hh_ids = hh["household_id"].to_numpy()
    for i in np.flatnonzero(split):
        parents = candidates.get(village[i], np.array([], dtype=int))
        if len(parents) == 0:
            split[i] = False
            continue
        parent = parents[int(rng.integers(0, len(parents)))]
        hh.loc[hh.index[int(i)], "split_from"] = hh_ids[parent]
    hh["split"] = split
    split_hh = set(hh_ids[split])
    parent_of = dict(zip(hh_ids[split], hh["split_from"].to_numpy()[split], strict=True))
    in_split = persons["household_id"].isin(split_hh).to_numpy()
    is_head = persons["relationship"].to_numpy() == 1
    # the young head lived with the parents as a child; the rest joined or were born later
    persons.loc[in_split & ~is_head, "present_then"] = False
    heads_split = in_split & is_head
    persons.loc[heads_split, "household_then"] = persons.loc[heads_split, "household_id"].map(
        parent_of
    )
    persons.loc[heads_split, "relationship_then"] = 3


def _previous_kk(kk: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An older KK number of each family: same region, earlier registration, other serial."""
    serial = rng.integers(1, 10000, len(kk))
    return np.array(
        [
            f"{k[:6]}0101{int(k[10:12]) - 1 if int(k[10:12]) > 0 else 99:02d}{s:04d}"
            for k, s in zip(kk, serial, strict=True)
        ],
        dtype=object,
    )


__all__ = [
    "apply_events",
]
