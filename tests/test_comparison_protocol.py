"""A user's comparison class in a Linker: what the Linker asks of a comparison, with
defaults for what a user class does not say, and the model file round trip."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from bansos_linkage import standardise
from bansos_linkage.linkage.comparisons import (
    COMPARISON_TYPES,
    DEFAULT_COMPARISONS,
    ComparisonResult,
    DateComparison,
    ExactComparison,
    NameComparison,
    NikComparison,
    RegionComparison,
    RelationshipComparison,
    StringComparison,
    register_comparison,
)
from bansos_linkage.linkage.duplicates import person_evidence, recorded_dates
from bansos_linkage.linkage.fitting import exact_u
from bansos_linkage.linkage.linker import Linker
from bansos_linkage.linkage.preparation import main_columns
from bansos_linkage.synthetic import generate, scenario


@dataclass(frozen=True)
class FirstWord:
    """A user's comparison: the same name, else the same first word, else not."""

    column: str = "full_name"
    name: str = "first_word"

    @property
    def label(self) -> str:
        return self.name

    @property
    def levels(self) -> tuple[str, ...]:
        return ("exact", "same_first_word", "else")

    @property
    def exact_column(self) -> str:  # optional: u(exact) from the value frequencies
        return self.column

    def compare(self, left, right, left_rows, right_rows) -> ComparisonResult:
        def values(frame: pd.DataFrame, rows: np.ndarray) -> pd.Series:
            return frame[self.column].astype("string").iloc[rows].reset_index(drop=True)

        a, b = values(left, left_rows), values(right, right_rows)
        missing = (a.isna() | b.isna()).to_numpy()
        exact = (a == b).fillna(False).to_numpy(dtype=bool)
        first = (a.str.split().str[0] == b.str.split().str[0]).fillna(False).to_numpy(bool)
        levels = np.select([missing, exact, first], [-1, 2, 1], 0).astype(np.int8)
        return ComparisonResult(levels, np.where(missing, np.nan, levels / 2))


@dataclass(frozen=True)
class Bare:
    """A comparison that says nothing beyond the required label, levels and compare."""

    field: str = "sex"
    name: str = "bare"

    label = property(lambda self: self.name)
    levels = property(lambda self: ("same", "else"))

    def compare(self, left, right, left_rows, right_rows) -> ComparisonResult:
        raise NotImplementedError


@pytest.fixture
def first_word_type():
    register_comparison("first_word", FirstWord)
    yield "first_word"
    del COMPARISON_TYPES["first_word"]


@pytest.fixture(scope="module")
def registers() -> tuple[pd.DataFrame, pd.DataFrame]:
    data = generate(scenario("default", households=300, seed=2))
    ref = dt.date(2026, 1, 1)
    left, right = (
        standardise(data.registers[name], name, reference_date=ref).records
        for name in ("dtks", "regsosek")
    )
    return left, right


def test_defaults_for_what_a_user_comparison_does_not_say(registers):
    left, right = registers
    # the columns it cannot do without: its column, else the first column it reads
    assert main_columns(FirstWord()) == ["full_name"]
    assert main_columns(Bare()) == ["sex"]
    assert main_columns(RegionComparison(kk_column="kk_number")) == ["province_code"]
    # u(exact) from value frequencies only where the comparison names its exact column
    assert list(exact_u(left, right, [Bare(), FirstWord()])) == [1]
    assert RegionComparison(kk_column="kk_number").exact_column == "kk_number"
    assert getattr(DateComparison(), "exact_column", None) is None
    assert getattr(StringComparison("address"), "exact_column", None) is None
    assert NameComparison().exact_column == "full_name"
    assert NikComparison().exact_column == ExactComparison("nik").exact_column == "nik"
    # evidence about the person: none from a user comparison, so without a full-name
    # comparison every pair passes the test
    levels = np.array([[0, 1], [1, 0]], dtype=np.int8)
    assert person_evidence([Bare(), FirstWord()])(levels).all()
    both = [NameComparison(), DateComparison()]
    exact, other = len(both[0].levels) - 1, 0
    date_exact = len(both[1].levels) - 1
    test = person_evidence(both)
    assert test(np.array([[exact, -1], [other, -1], [other, date_exact]])).tolist() == [
        True,
        False,
        True,
    ]


def test_a_user_comparison_fits_links_and_round_trips(registers, first_word_type, tmp_path):
    left, right = registers
    linker = Linker(comparisons=(*DEFAULT_COMPARISONS, FirstWord()), n_jobs=2)
    result = linker.fit_link(left, right)
    assert set(result.links["first_word"]) <= {"exact", "same_first_word", "else", "missing"}
    assert result.summary["left_out"]["comparisons"] == []
    path = linker.save(tmp_path / "model.json")
    loaded = Linker.load(path)
    assert isinstance(loaded.comparisons_[-1], FirstWord)
    pd.testing.assert_frame_equal(loaded.parameters(), linker.parameters())
    loaded.n_jobs = 1  # one process or several: the same links
    again = loaded.link(left, right)
    pd.testing.assert_frame_equal(again.links, result.links)
    ids = result.links[["left_id", "right_id"]].iloc[:20]
    np.testing.assert_array_equal(
        loaded.score_pairs(left, right, ids["left_id"], ids["right_id"]),
        linker.score_pairs(left, right, ids["left_id"], ids["right_id"]),
    )


def test_a_built_in_comparison_is_labelled_by_its_name_else_its_column():
    assert ExactComparison("sex").label == "sex"
    assert ExactComparison("sex", name="gender").label == "gender"
    assert StringComparison("address").label == "address"
    assert StringComparison("address", name="street").label == "street"
    assert [c.label for c in (NameComparison(), NikComparison(), DateComparison())] == [
        "name",
        "nik",
        "birth_date",
    ]
    assert RegionComparison(name="where").label == "where"
    # a name is the label even when empty, where the class names itself by default
    assert NameComparison(name="").label == ""


def test_a_shared_nik_or_kk_lets_agreeing_names_outweigh_a_mistyped_date():
    household = RegionComparison(kk_column="kk_number")
    comparisons = [NameComparison(), DateComparison(), NikComparison(), household]
    name, date, nik, _ = comparisons

    def at(comp, level):  # level numbers count from the weakest (0)
        return -1 if level is None else len(comp.levels) - 1 - comp.levels.index(level)

    def person(name_level, date_level, nik_level, kk_level="village"):
        given = (name_level, date_level, nik_level, kk_level)
        row = [at(c, v) for c, v in zip(comparisons, given, strict=True)]
        levels = np.array([row], dtype=np.int8)
        return bool(person_evidence(comparisons)(levels)[0])

    # one registration typed twice, a digit of the date wrong in one, a word dropped
    assert person("exact", "one_year_off", "exact")
    assert person("jw>=0.94", "year_typo", "exact")
    assert person("subset", "within_45d", None, "same_kk")
    assert person("exact", "same_month", None, "same_kk")
    # a year apart on one family card: siblings with similar names as often
    assert not person("exact", "one_year_off", None, "same_kk")
    assert not person("jw>=0.94", "one_year_off", "else", "same_kk")
    # without the same NIK or KK, similar names close in age are no one person
    assert not person("exact", "one_year_off", "else")
    assert not person("exact", "same_month", "one_digit_date")
    assert not person("subset", None, None)
    # a shared NIK or KK alone (a relative's NIK on a member's row) is never enough
    assert not person("else", "one_year_off", "exact", "same_kk")
    assert not person("else", None, "exact", "same_kk")
    assert not person("nickname", "same_month", "exact", "same_kk")
    # dates that disagree outright stay a contradiction
    assert not person("exact", "else", "exact", "same_kk")
    # the rules that held before still hold
    assert person("exact", None, "else") and person("else", "exact", "else")


def test_a_date_decoded_from_a_shared_nik_is_evidence_only_on_one_family_card_in_one_role():
    """The head's NIK typed on his son's row, without the son's own date, or one NIK
    issued to two people: the NIK's date agrees with either record whoever they are.
    Two records carrying one NIK agree on such a date as people only where they share a
    family card and their role on it."""
    household = RegionComparison(kk_column="kk_number", name="household")
    comparisons = [
        NameComparison(),
        NikComparison(),
        DateComparison(),
        household,
        RelationshipComparison(),
    ]
    records = pd.DataFrame(
        {
            "birth_date": pd.to_datetime(["1970-03-05", None, "1970-01-01"]),
            "birth_date_precision": ["day", None, "year"],
            "nik_birth_date": pd.to_datetime(["1970-03-05"] * 3),
            "nik_conflict": [False, False, False],
        }
    )
    head, son = np.array([0]), np.array([1])
    date = comparisons[2]
    exact = len(date.levels) - 1
    # with the NIK date the son's date agrees to the day; as recorded it is missing
    assert date.compare(records, records, head, son).levels.tolist() == [exact]
    assert date.recorded_only().compare(records, records, head, son).levels.tolist() == [-1]
    recorded = recorded_dates(comparisons, records, records, np.array([0, 0]), np.array([1, 2]))
    assert recorded[:, 2].tolist() == [-1, date.levels[::-1].index("year_only_agrees")]
    assert (recorded[:, [0, 1, 3, 4]] == -1).all()

    def at(comp, level):
        return -1 if level is None else len(comp.levels) - 1 - comp.levels.index(level)

    def levels_of(*given: str | None) -> np.ndarray:
        row = [at(c, v) for c, v in zip(comparisons, given, strict=True)]
        return np.array([row], dtype=np.int8)

    def person(role: str | None, recorded_date: str | None, kk="same_kk", nik="exact") -> bool:
        levels = levels_of("else", nik, "exact", kk, role)
        own = np.full_like(levels, -1)
        own[0, 2] = at(date, recorded_date)
        return bool(person_evidence(comparisons)(levels, own)[0])

    # the son: names share nothing, the head's NIK, his date only through it
    assert not person("role_changed", None)
    assert not person("else", None)
    # one NIK issued to two heads of two families, their own dates a month apart
    assert not person("exact", "same_month", kk="village")
    # one person registered twice in one role on one card (a year-only date on one row)
    assert person("exact", "year_only_agrees")
    assert person(None, None)  # no roles to tell: the card decides
    # dates that agree as recorded, or through a NIK the records do not share, still count
    assert person("role_changed", "exact", kk="village")
    assert person("role_changed", None, nik="else")
    # without the recorded dates the test is the one it was
    assert person_evidence(comparisons)(levels_of("else", "exact", "exact", "village", "else"))[0]
