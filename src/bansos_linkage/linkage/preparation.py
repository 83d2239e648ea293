"""Registers made ready to link: checked, pruned to the columns linking reads, encoded.

What a model uses is decided here too: at fit, comparisons and blocking rules whose
columns neither register has are left out (:func:`choose`); a fitted model checks
that its columns are there (:func:`check_columns`). Errors name columns and record
ids, never the values found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from bansos_linkage.errors import EmptyInputError, SchemaError, UnknownRecordError
from bansos_linkage.linkage.blocking import (
    ExactRule,
    Rule,
    blocking_keys,
    family_codes,
    rule_keys,
)
from bansos_linkage.linkage.comparisons import (
    Comparison,
    add_derived_columns,
    columns_read,
    columns_used,
    derived_columns,
    vocabulary_groups,
)
from bansos_linkage.linkage.encoding import encode_columns
from bansos_linkage.linkage.resolve import MODES
from bansos_linkage.linkage.scoring import FAMILY

#: Record columns the derived blocking keys come from (any one of them suffices).
KEY_SOURCE = {
    "bk_name_first": ("name_phonetic",),
    "bk_name_last": ("name_phonetic",),
    "bk_name_pair": ("name_phonetic",),
    "bk_birth_date": ("birth_date",),
    "bk_birth_year": ("birth_date",),
    "bk_nik_birth_date": ("nik_birth_date",),
    "bk_village": ("village_name", "village_code"),
    "bk_name_end": ("name_phonetic",),
    "bk_name_words": ("name_phonetic",),
    "bk_village_name": ("full_name",),
    "bk_village_eman": ("full_name",),
}


class Chosen(NamedTuple):
    """The comparisons and rules a fit uses, and the labels / names of those left out."""

    comparisons: tuple[Comparison, ...]
    rules: tuple[Rule, ...]
    dropped: dict[str, list[str]]


def main_columns(comp: Comparison) -> list[str]:
    """The columns without which a comparison has nothing to compare: its
    ``main_columns`` if it says, else its ``column``, else the first column it reads."""
    declared = getattr(comp, "main_columns", None)
    if declared is not None:
        return list(declared)
    column = getattr(comp, "column", None)
    return [column] if column else columns_used(comp)[:1]


def check_parameters(
    resolution: str,
    thresholds: Sequence[float],
    comparisons: Sequence[Comparison],
    term_frequency: Sequence[str],
) -> None:
    """A Linker's parameters, checked when it fits (as scikit-learn does)."""
    if resolution not in MODES:
        raise ValueError(f"resolution must be one of {MODES}, not {resolution!r}")
    if not all(0 < t < 1 for t in thresholds):
        raise ValueError("a threshold is a match probability: between 0 and 1")
    labels = [c.label for c in comparisons]
    if len(set(labels)) != len(labels):
        raise ValueError("comparison labels must be unique")
    unknown = sorted(set(term_frequency) - set(labels))
    if unknown:
        raise ValueError(f"term_frequency names unknown comparisons {unknown}")


def check_not_empty(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Linking needs records on both sides (an export of only a header has none)."""
    for side, records in (("left", left), ("right", right)):
        if len(records) == 0:
            raise EmptyInputError(
                f"no {side} records to link: the register has no rows below its header, "
                "or every row was rejected",
                side=side,
            )


def require_ids(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Both registers need their record ids: links and errors name records by id."""
    for side, frame in (("left", left), ("right", right)):
        if "record_id" not in frame:
            raise SchemaError(f"{side} records have no 'record_id' column: standardise first")


def choose(
    left: pd.DataFrame,
    right: pd.DataFrame,
    rules: Sequence[Rule],
    comparisons: Sequence[Comparison],
) -> Chosen:
    """Leave out the comparisons and blocking rules whose columns neither register has
    (a comparison missing on one side only stays: it counts as missing there)."""
    require_ids(left, right)

    def has(column: str) -> bool:
        return column in left or column in right

    derived = derived_columns(comparisons)
    keep: list[Comparison] = []
    dropped: list[Comparison] = []
    for comp in comparisons:
        main = [c for c in main_columns(comp) if c not in derived]
        (keep if all(has(c) for c in main) else dropped).append(comp)
    if not keep:
        raise SchemaError(
            "neither register has the columns of any of the model's comparisons "
            f"({[c.label for c in comparisons]}): were they standardised?"
        )
    usable: list[Rule] = []
    dropped_rules: list[Rule] = []
    for rule in rules:
        ok = all(any(has(c) for c in KEY_SOURCE.get(k, (k,))) for k in rule_keys([rule]))
        (usable if ok else dropped_rules).append(rule)
    return Chosen(
        tuple(keep),
        tuple(usable),
        {
            "comparisons": [c.label for c in dropped],
            "blocking_rules": [r.name for r in dropped_rules],
        },
    )


def check_columns(
    left: pd.DataFrame, right: pd.DataFrame, comparisons: Sequence[Comparison]
) -> None:
    """A fitted model needs its comparisons' columns on at least one side."""
    require_ids(left, right)
    derived = derived_columns(comparisons)
    used = {c for comp in comparisons for c in main_columns(comp)} - set(derived)
    absent = sorted(c for c in used if c not in left and c not in right)
    if absent:
        raise SchemaError(
            f"neither register has the columns {absent} that the model's comparisons "
            "use: were they standardised with a matching schema?"
        )


def check_rule_columns(left: pd.DataFrame, right: pd.DataFrame, rules: Sequence[Rule]) -> None:
    """A blocking rule pairs records on columns both registers have: one side without
    them is a schema mismatch (a comparison's column, by contrast, may be missing on
    one side: it counts as missing there)."""
    for rule in rules:
        for key in rule_keys([rule]):
            if key not in left and key not in right:
                raise SchemaError(
                    f"neither register has the column {key!r} that blocking rule "
                    f"{rule.name!r} reads: were they standardised with a matching schema?"
                )
            for side, frame, other in (("left", left, right), ("right", right, left)):
                if key not in frame and key in other:
                    raise SchemaError(
                        f"the {side} register has no column {key!r} that blocking rule "
                        f"{rule.name!r} reads (the other register has it): were both "
                        "standardised with matching schemas?"
                    )


def prepare(
    left: pd.DataFrame,
    right: pd.DataFrame,
    rules: Sequence[Rule],
    comparisons: Sequence[Comparison],
    family_columns: Sequence[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both registers with only the columns blocking and comparing read (registers
    carry many household columns), text columns encoded over shared vocabularies, and
    each record's family code (column ``_family``)."""
    require_ids(left, right)
    keys = rule_keys(rules)
    read = columns_read(rules, comparisons)
    frames = []
    for records in (left, right):
        needs_keys = any(k.startswith("bk_") and k not in records for k in keys)
        out = blocking_keys(records) if needs_keys else records
        out = add_derived_columns(out, comparisons)
        frames.append(out[[c for c in read if c in out]].reset_index(drop=True))
    check_rule_columns(frames[0], frames[1], rules)
    groups = [g for comp in comparisons for g in vocabulary_groups(comp)]
    # a sorted-neighbourhood key only sorts (by Arrow, as text): encoding one, nearly
    # every value distinct, costs more than it saves unless a comparison reads it
    groups += [[k] for k in rule_keys([r for r in rules if isinstance(r, ExactRule)])]
    encoded = encode_columns(frames[0], frames[1], groups)
    for frame, records in zip(encoded, (left, right), strict=True):
        frame[FAMILY] = family_codes(records, family_columns)
    return encoded


def position(frame: pd.DataFrame, record_id: str, side: str) -> np.ndarray:
    """The position of one record (as a one-element array); an unknown id is an
    :class:`~bansos_linkage.errors.UnknownRecordError`."""
    hit = np.flatnonzero(frame["record_id"].astype(str).to_numpy() == str(record_id))
    if not len(hit):
        raise UnknownRecordError(record_id, side=side)
    return hit[:1]


def positions(frame: pd.DataFrame, ids: pd.Series) -> np.ndarray:
    """Position of each id in ``frame`` (-1 where absent)."""
    index = pd.Index(frame["record_id"].astype(str))
    return index.get_indexer(ids.astype(str))  # type: ignore[arg-type]  # stubs: Index only


__all__ = [
    "Chosen",
    "KEY_SOURCE",
    "check_columns",
    "check_not_empty",
    "check_parameters",
    "check_rule_columns",
    "choose",
    "main_columns",
    "position",
    "positions",
    "prepare",
    "require_ids",
]
