"""Source-schema mappings: presets, YAML files, validation errors."""

from __future__ import annotations

import pytest
import yaml

from bansos_linkage.errors import SchemaError
from bansos_linkage.schema import (
    MAPPABLE_FIELDS,
    list_presets,
    load_schema,
    normalise_header,
    preset_path,
)


def test_presets_are_listed_and_load():
    assert list_presets() == ["dtks", "p3ke", "regsosek"]
    for name in list_presets():
        schema = load_schema(name)
        assert schema.name == name
        assert set(schema.fields) <= MAPPABLE_FIELDS
        assert "full_name" in schema.fields and "nik" in schema.fields


def test_regsosek_preset_uses_bps_codes_and_numeric_sex():
    schema = load_schema("regsosek")
    assert schema.region_scheme == "bps"
    assert schema.sex_codes == {"1": "M", "2": "F"}


def test_preset_copied_and_edited_loads_from_file(tmp_path):
    data = yaml.safe_load(preset_path("dtks").read_text(encoding="utf-8"))
    data["name"] = "my_dtks"
    data["fields"]["nik"] = "NIK KTP"
    path = tmp_path / "my_dtks.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    schema = load_schema(path)
    assert schema.name == "my_dtks"
    assert schema.fields["nik"].columns == ("NIK KTP",)
    assert schema.origin == str(path)


def test_to_yaml_round_trips():
    for name in list_presets():
        schema = load_schema(name)
        again = load_schema(yaml.safe_load(schema.to_yaml()))
        assert again.fields == schema.fields
        assert again.sex_codes == schema.sex_codes
        assert again.relationship_codes == schema.relationship_codes
        assert again.date_formats == schema.date_formats


def test_unknown_preset_names_the_preset():
    with pytest.raises(SchemaError, match="unknown preset") as err:
        load_schema("dtsk")
    assert err.value.file == "dtsk"


@pytest.mark.parametrize(
    ("mapping", "key"),
    [
        ({"fields": {"full_name": "NAMA"}}, "id_column"),
        ({"id_column": "ID", "fields": {"fullname": "NAMA"}}, "fields.fullname"),
        ({"id_column": "ID", "fields": {"record_id": "ID"}}, "fields.record_id"),
        ({"id_column": "ID", "fields": {}}, "fields"),
        ({"id_column": "ID", "fields": {"nik": 5}}, "fields.nik"),
        ({"id_column": "ID", "fields": {"nik": {"column": "NIK"}}}, "fields.nik"),
        (
            {"id_column": "ID", "fields": {"nik": "NIK"}, "codes": {"sex": {"L": "male"}}},
            "codes.sex.L",
        ),
        (
            {"id_column": "ID", "fields": {"nik": "NIK"}, "codes": {"relationship": {"X": 9}}},
            "codes.relationship.X",
        ),
        (
            {"id_column": "ID", "fields": {"nik": "NIK"}, "codes": {"religion": {}}},
            "codes.religion",
        ),
        (
            {"id_column": "ID", "fields": {"nik": "NIK"}, "regions": {"scheme": "bpss"}},
            "regions.scheme",
        ),
        (
            {"id_column": "ID", "fields": {"nik": "NIK"}, "dates": {"formats": ["dd-mm-yyyy"]}},
            "dates.formats",
        ),
        ({"id_column": "ID", "fields": {"nik": "NIK"}, "keep": 3}, "keep"),
        ({"id_column": "ID", "fields": {"nik": "NIK"}, "colums": {}}, "colums"),
    ],
)
def test_malformed_mapping_names_the_key(mapping, key):
    with pytest.raises(SchemaError) as err:
        load_schema(mapping)
    assert err.value.key == key
    assert key in str(err.value)


def test_malformed_yaml_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("id_column: ID\nfields: [unclosed\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="malformed YAML") as err:
        load_schema(path)
    assert err.value.file == str(path)


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("id_column: !!python/object/apply:os.system ['echo hi']\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="malformed YAML"):
        load_schema(path)


def test_missing_mapping_file(tmp_path):
    with pytest.raises(SchemaError, match="not found"):
        load_schema(tmp_path / "nope.yaml")


def test_header_normalisation_ignores_case_space_and_punctuation():
    assert normalise_header("Nomor K.K.") == normalise_header("NOMOR_KK") == "NOMORKK"
    assert normalise_header("tgl_lahir") != normalise_header("tgl_lahir_ibu")


def test_a_folder_named_like_a_preset_does_not_hide_it(tmp_path, monkeypatch):
    (tmp_path / "dtks").mkdir()  # e.g. a folder holding the DTKS exports
    monkeypatch.chdir(tmp_path)
    assert load_schema("dtks").name == "dtks"
    (tmp_path / "mine").write_text("id_column: ID\nfields:\n  full_name: NAMA\n")
    assert load_schema("mine").fields["full_name"].columns == ("NAMA",)
