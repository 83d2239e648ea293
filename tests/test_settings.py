"""Linkage settings files: defaults, round trips, edits, bad files, the CLI, model files."""

from __future__ import annotations

import copy
import datetime as dt
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import yaml

from bansos_linkage import standardise
from bansos_linkage.cli import EXIT_OK, EXIT_USAGE, main
from bansos_linkage.errors import SchemaError
from bansos_linkage.io import read_table
from bansos_linkage.linkage.comparisons import (
    COMPARISON_TYPES,
    ComparisonResult,
    register_comparison,
)
from bansos_linkage.linkage.configure import (
    default_settings,
    linker_from_settings,
    model_settings,
    read_settings,
)
from bansos_linkage.linkage.linker import Linker
from bansos_linkage.linkage.settings import linker_settings, settings_text, write_settings
from bansos_linkage.synthetic import generate, scenario


@pytest.fixture(scope="module")
def registers():
    data = generate(scenario("default", households=200, seed=1))
    ref = dt.date(2026, 1, 1)
    return tuple(
        standardise(data.registers[name], name, reference_date=ref).records
        for name in ("dtks", "regsosek")
    )


@pytest.fixture(scope="module")
def fitted(registers):
    left, right = registers
    linker = Linker(n_jobs=1)
    return linker, linker.fit_link(left, right, keep_pairs=True)


def _linker(settings, **kwargs):
    linker = linker_from_settings(settings, **kwargs)
    linker.n_jobs = 1  # results do not depend on it; the test machine is small
    return linker


# --- round trips -----------------------------------------------------------------------


def test_default_settings_round_trip_through_a_linker_and_files(tmp_path):
    settings = default_settings()
    assert settings == linker_settings(Linker())
    assert linker_settings(linker_from_settings(settings)) == settings
    for name in ("settings.yaml", "settings.yml", "settings.json"):
        path = write_settings(settings, tmp_path / name)
        assert read_settings(path) == settings
        assert linker_settings(linker_from_settings(path)) == settings
    text = (tmp_path / "settings.yaml").read_text()
    assert text.startswith("# ") and "!!python" not in text
    assert yaml.safe_load(settings_text(settings)) == settings
    assert json.loads((tmp_path / "settings.json").read_text()) == settings


def test_default_settings_say_what_a_reader_needs():
    settings = default_settings()
    name = settings["comparisons"][0]
    assert name["type"] == "name" and name["high"] == 0.94 and "jw>=0.94" in name["levels"]
    assert settings["blocking_rules"][0] == {
        "type": "exact",
        "keys": ["nik"],
        "name": "nik",
        "max_block_pairs": 250_000,
    }
    assert settings["sessions"][0] == {
        "select": {"nik": ["exact"]},
        "exclude": ["nik", "birth_date"],
    }
    assert set(settings["em"]) == {"max_iter", "tol", "prior", "m_init", "monotone", "m_smoothing"}
    assert settings["em"]["monotone"] == "ends"


def test_monotone_per_comparison_reads_back_from_a_settings_file(tmp_path):
    settings = copy.deepcopy(default_settings())
    flags = ["ends", True, False] + ["ends"] * (len(settings["comparisons"]) - 3)
    settings["em"]["monotone"] = flags
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(settings))
    assert linker_from_settings(path).matcher.get_params()["monotone"] == flags


def test_a_linker_from_the_default_settings_links_as_linker_does(registers, fitted):
    left, right = registers
    _, expected = fitted
    result = _linker(default_settings()).fit_link(left, right)
    pd.testing.assert_frame_equal(result.links, expected.links)


def test_a_partial_settings_file_keeps_the_other_defaults(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("threshold: 0.8\nem:\n  max_iter: 50\n")
    linker = linker_from_settings(path)
    settings = linker_settings(linker)
    assert settings["threshold"] == 0.8 and settings["em"]["max_iter"] == 50
    defaults = default_settings()
    assert {k: v for k, v in settings.items() if k not in ("threshold", "em")} == {
        k: v for k, v in defaults.items() if k not in ("threshold", "em")
    }


# --- edits take effect ---------------------------------------------------------------


def test_edited_settings_take_effect(registers, fitted, tmp_path):
    left, right = registers
    _, default = fitted
    settings = default_settings()
    settings["threshold"] = 0.95
    settings["blocking_rules"] = [r for r in settings["blocking_rules"] if r["name"] != "nik"]
    name = settings["comparisons"][0]
    name["high"] = 0.9
    name["levels"] = [("jw>=0.9" if lv == "jw>=0.94" else lv) for lv in name["levels"]]
    path = write_settings(settings, tmp_path / "edited.yaml")
    linker = _linker(path)
    assert linker.threshold == 0.95 and linker.comparisons[0].high == 0.9
    assert "nik" not in [r.name for r in linker.rules]
    result = linker.fit_link(left, right, keep_pairs=True)
    # every link at the threshold as a pair, but the sole candidates (at it as a link)
    above = result.links["match_probability"] >= 0.95
    assert (~above).sum() == result.summary["sole_candidates"]
    assert above.sum() < len(default.links)
    assert "nik" not in set(result.pairs["rule"]) and "nik" in set(default.pairs["rule"])
    assert set(result.links["name"]) <= set(name["levels"]) | {"missing"}
    assert linker.comparisons[0].levels[2] == "jw>=0.9" and linker_settings(linker) == settings


def test_levels_may_be_left_out_after_changing_a_threshold():
    settings = default_settings()
    settings["comparisons"][0]["high"] = 0.9
    del settings["comparisons"][0]["levels"]
    linker = linker_from_settings(settings)
    assert linker.comparisons[0].levels[2] == "jw>=0.9"


# --- bad files are refused, naming the file and the key --------------------------------


def _set(path, value):
    def edit(settings):
        *head, last = path
        target = settings
        for step in head:
            target = target[step]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return edit


_DELETE = object()


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (_set(["colour"], "red"), "colour"),
        (_set(["em", "speed"], 3), "em.speed"),
        (_set(["comparisons", 2, "type"], "soundex"), "comparisons[2].type"),
        (_set(["comparisons", 1, "colour"], "red"), "comparisons[1].colour"),
        (
            lambda s: s["comparisons"][2]["levels"].insert(1, "fuzzy"),
            "comparisons[2].levels",
        ),
        (_set(["comparisons", 0, "high"], 0.9), "comparisons[0].levels"),
        (_set(["comparisons", 0, "levels"], ["exact", "else"]), "comparisons[0].levels"),
        (_set(["blocking_rules", 1, "keys"], []), "blocking_rules[1].keys"),
        (_set(["blocking_rules", 0, "keys"], _DELETE), "blocking_rules[0].keys"),
        (_set(["blocking_rules", 2, "type"], "fuzzy"), "blocking_rules[2].type"),
        (_set(["blocking_rules", -1, "window"], 1), "blocking_rules[13].window"),
        (_set(["blocking_rules"], []), "blocking_rules"),
        (_set(["threshold"], 1.5), "threshold"),
        (_set(["threshold"], "high"), "threshold"),
        (_set(["resolution"], "best"), "resolution"),
        (_set(["sole_candidates"], "yes"), "sole_candidates"),
        (_set(["u_pairs"], -1), "u_pairs"),
        (_set(["comparisons", 0, "high"], "high"), "comparisons[0].high"),
        (_set(["comparisons", 5, "name"], "name"), "comparisons[5].name"),
        (_set(["term_frequency"], ["nmae"]), "term_frequency"),
        (_set(["sessions", 0, "select", "nik"], ["fuzzy"]), "sessions[0].select.nik"),
        (_set(["sessions", 1, "select", "nmae"], ["exact"]), "sessions[1].select.nmae"),
        (_set(["sessions", 0, "colour"], "red"), "sessions[0].colour"),
        (_set(["em", "monotone"], "yes"), "em.monotone"),
        (_set(["em", "max_iter"], 0), "em.max_iter"),
    ],
)
def test_bad_settings_files_name_the_file_and_the_key(tmp_path, edit, key):
    settings = copy.deepcopy(default_settings())
    edit(settings)
    for name in ("bad.yaml", "bad.json"):
        path = tmp_path / name
        text = json.dumps(settings) if name.endswith(".json") else yaml.safe_dump(settings)
        path.write_text(text)
        with pytest.raises(SchemaError) as err:
            linker_from_settings(path)
        assert str(path) in str(err.value) and f"'{key}'" in str(err.value)
        assert err.value.file == str(path) and err.value.key == key
    with pytest.raises(SchemaError, match="settings: key"):
        linker_from_settings(settings)
    with pytest.raises(SchemaError):
        write_settings(settings, tmp_path / "never.yaml")
    assert not (tmp_path / "never.yaml").exists()


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("s.yaml", "threshold: [0.5\n", "not a YAML settings file"),
        ("s.json", "{not json", "not a JSON settings file"),
        ("s.yaml", "", "empty"),
        ("s.yaml", "- threshold\n", "mapping of settings"),
        ("s.yaml", "!!python/object:os.system {}\n", "not a YAML settings file"),
    ],
)
def test_unreadable_settings_files_are_clear_errors(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SchemaError, match=message) as err:
        read_settings(path)
    assert str(path) in str(err.value)


# --- model files ---------------------------------------------------------------------


def test_a_model_file_holds_the_settings_to_extract_edit_and_refit(registers, fitted, tmp_path):
    left, right = registers
    linker, result = fitted
    path = linker.save(tmp_path / "model.json")
    content = json.loads(path.read_text())
    assert content["version"] == 2 and content["settings"] == linker_settings(linker)
    assert model_settings(path) == content["settings"] == read_settings(path)
    loaded = Linker.load(path)
    loaded.n_jobs = 1
    assert linker_settings(loaded) == linker_settings(linker)
    pd.testing.assert_frame_equal(loaded.link(left, right).links, result.links)
    # extract, edit, refit
    settings = model_settings(path)
    settings["threshold"] = 0.9
    edited = write_settings(settings, tmp_path / "edited.yaml")
    refit = _linker(edited).fit_link(left, right)
    assert refit.summary["threshold"] == 0.9
    below = (refit.links["match_probability"] < 0.9).sum()
    assert below == refit.summary["sole_candidates"] < len(refit.links) / 50
    # a setting file that turns sole candidates off links by the pairs alone
    settings["sole_candidates"] = False
    pairs_only = _linker(write_settings(settings, tmp_path / "pairs.yaml")).fit_link(left, right)
    assert (pairs_only.links["match_probability"] >= 0.9).all()
    assert pairs_only.summary["sole_candidates"] == 0
    same = _linker(path).fit_link(left, right)  # a model file's settings, refitted
    pd.testing.assert_frame_equal(same.links, result.links)


def test_a_bad_settings_section_of_a_model_file_is_named(fitted, tmp_path):
    linker, _ = fitted
    path = linker.save(tmp_path / "model.json")
    content = json.loads(path.read_text())
    content["settings"]["comparisons"][0]["levels"].append("fuzzy")
    path.write_text(json.dumps(content))
    with pytest.raises(SchemaError, match=r"settings\.comparisons\[0\]\.levels") as err:
        Linker.load(path)
    assert str(path) in str(err.value)


def test_version_1_model_files_still_load(registers, fitted, tmp_path):
    """A model file from before settings files (settings and fitted values in one section)."""
    left, right = registers
    linker, result = fitted
    content = json.loads(linker.save(tmp_path / "model.json").read_text())
    old = {
        "format": content["format"],
        "version": 1,
        "settings": {
            **{
                k: content["settings"][k]
                for k in (
                    "threshold",
                    "resolution",
                    "term_frequency",
                    "duplicate_threshold",
                    "chunk_size",
                    "ml_threshold",
                    "family_columns",
                )
            },
            **content["fitted"],
            "reference_date": "2026-01-01",
        },
        "blocking_rules": [{k: v for k, v in r.items()} for r in content["blocking_rules"]],
        "comparisons": [
            {k: v for k, v in c.items() if k != "levels"} for c in content["comparisons"]
        ],
        "matcher": content["matcher"],
        "ml_matcher": None,
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    loaded = Linker.load(path)
    loaded.n_jobs = 1
    assert loaded.settings == {"reference_date": "2026-01-01"}
    pd.testing.assert_frame_equal(loaded.link(left, right).links, result.links)
    assert model_settings(path)["threshold"] == linker.threshold


# --- custom comparisons ---------------------------------------------------------------


@dataclass(frozen=True)
class InitialComparison:
    """A user's comparison: do the names start with the same letter?"""

    column: str = "full_name"
    name: str = "initial"

    @property
    def label(self) -> str:
        return self.name

    @property
    def levels(self) -> tuple[str, ...]:
        return ("same_initial", "else")

    def compare(self, left, right, left_rows, right_rows) -> ComparisonResult:
        def initials(frame, rows):
            text = frame[self.column].astype("string").str[:1]
            return text.to_numpy(dtype=object, na_value=None)[rows]

        a, b = initials(left, left_rows), initials(right, right_rows)
        missing = pd.isna(a) | pd.isna(b)
        same = ~missing & (a == b)
        levels = np.where(missing, -1, same.astype(np.int8)).astype(np.int8)
        return ComparisonResult(levels, np.where(missing, np.nan, same * 1.0))


@pytest.fixture
def initial_type():
    register_comparison("initial", InitialComparison)
    yield "initial"
    del COMPARISON_TYPES["initial"]


def test_a_registered_comparison_works_from_a_settings_file(registers, initial_type, tmp_path):
    left, right = registers
    path = tmp_path / "custom.yaml"
    settings = default_settings()
    settings["comparisons"].append({"type": "initial", "column": "full_name"})
    path.write_text(yaml.safe_dump(settings))
    linker = _linker(path)
    assert isinstance(linker.comparisons[-1], InitialComparison)
    assert linker_settings(linker)["comparisons"][-1] == {
        "type": "initial",
        "column": "full_name",
        "name": "initial",
        "levels": ["same_initial", "else"],
    }
    result = linker.fit_link(left, right)
    assert set(result.links["initial"]) <= {"same_initial", "else", "missing"}
    # and the model file carries it
    loaded = Linker.load(linker.save(tmp_path / "model.json"))
    loaded.n_jobs = 1
    pd.testing.assert_frame_equal(loaded.link(left, right).links, result.links)


def test_registering_checks_the_class(initial_type):
    register_comparison("initial", InitialComparison)  # the same again: nothing happens
    with pytest.raises(ValueError, match="taken"):
        register_comparison("initial", type("Other", (InitialComparison,), {}))
    with pytest.raises(TypeError, match="dataclass"):
        register_comparison("thing", object)


def test_an_unregistered_comparison_type_is_refused():
    settings = default_settings()
    settings["comparisons"].append({"type": "initial"})
    last = len(settings["comparisons"]) - 1
    with pytest.raises(SchemaError, match=rf"comparisons\[{last}\]\.type.*'initial'"):
        linker_from_settings(settings, source="my settings")


# --- command line ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    out = tmp_path_factory.mktemp("exports")
    assert main(["synth", "--households", "200", "--seed", "1", "--out", str(out)]) == EXIT_OK
    return out


def _link(exports, out, *extra):
    return main(
        [
            *("link", str(exports / "dtks.csv"), str(exports / "regsosek.csv")),
            *("--left-schema", "dtks", "--right-schema", "regsosek"),
            *("--out", str(out), "--reference-date", "2026-01-01"),
            *extra,
        ]
    )


def test_cli_settings_prints_yaml_that_link_accepts(exports, tmp_path, capsys):
    assert main(["settings"]) == EXIT_OK
    text = capsys.readouterr().out
    assert yaml.safe_load(text) == default_settings()
    path = tmp_path / "settings.yaml"
    path.write_text(text.replace("threshold: 0.5\n", "threshold: 0.9\n", 1))
    assert _link(exports, tmp_path / "run", "--settings", str(path)) == EXIT_OK
    links = read_table(tmp_path / "run" / "links.csv")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    below = (links["match_probability"].astype(float) < 0.9).sum()
    assert len(links) and below == summary["sole_candidates"]
    model = tmp_path / "run" / "model.json"
    assert json.loads(model.read_text())["settings"]["threshold"] == 0.9
    # the model's settings, printed and written, and --threshold still overrides
    capsys.readouterr()
    assert main(["settings", "--model", str(model)]) == EXIT_OK
    assert yaml.safe_load(capsys.readouterr().out)["threshold"] == 0.9
    out = tmp_path / "from_model.json"
    assert main(["settings", "--model", str(model), "--out", str(out)]) == EXIT_OK
    assert json.loads(out.read_text()) == model_settings(model)
    strict = tmp_path / "strict"
    assert _link(exports, strict, "--settings", str(out), "--threshold", "0.99") == EXIT_OK
    assert json.loads((strict / "model.json").read_text())["settings"]["threshold"] == 0.99


def test_cli_link_refuses_a_bad_settings_file_and_settings_with_a_model(exports, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("threshold: 0.5\ncolour: red\n")
    assert _link(exports, tmp_path / "x", "--settings", str(bad)) == EXIT_USAGE
    err = capsys.readouterr().err
    assert str(bad) in err and "'colour'" in err
    with pytest.raises(SystemExit) as exc:
        _link(exports, tmp_path / "y", "--settings", str(bad), "--model", str(bad))
    assert exc.value.code == EXIT_USAGE
    assert _link(exports, tmp_path / "z", "--settings", str(tmp_path / "none.yaml")) == 2
    assert "none.yaml" in capsys.readouterr().err
