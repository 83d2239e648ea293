"""A fitted Linker's state as the content of a model file, and back.

:mod:`~bansos_linkage.linkage.model_file` reads, checks and writes the file; this
module says which of the Linker's settings and fitted attributes go where.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from bansos_linkage.linkage import model_file
from bansos_linkage.linkage.blocking import Rule
from bansos_linkage.linkage.comparisons import Comparison
from bansos_linkage.linkage.ml_matcher import matcher_to_dict
from bansos_linkage.linkage.settings import linker_settings

if TYPE_CHECKING:
    from bansos_linkage.linkage.linker import Linker


def model_content(linker: Linker) -> dict[str, Any]:
    """What :meth:`Linker.save` writes: the settings (to fit again with), the rules and
    comparisons used, the fitted parameters and what the run was (``settings``)."""
    reviewed = linker.reviewed_
    return {
        "settings": linker_settings(linker),
        "blocking_rules": [model_file.rule_to_dict(r) for r in linker.rules_],
        "comparisons": [model_file.comparison_to_dict(c) for c in linker.comparisons_],
        "matcher": model_file.matcher_to_dict(linker.fitted_model),
        "ml_matcher": None if linker.ml_model_ is None else matcher_to_dict(linker.ml_model_),
        "fitted": {
            "tf_typical": linker.tf_typical_,
            "max_level_seen": linker.max_level_seen_,
            "within": linker.within_,
            "ml_training": linker.ml_training_,
            "reviewed": None if reviewed is None else reviewed.to_numpy().tolist(),
        },
        "run": dict(linker.settings),
    }


def fitted_attributes(
    content: dict[str, Any], rules: Sequence[Rule], comparisons: Sequence[Comparison]
) -> dict[str, Any]:
    """The fitted attributes of a Linker (by name) from a loaded model file's content;
    ``rules``, ``comparisons``: the Linker's parameters, to say which the fit left out."""
    # the rules and comparisons the fitted model uses (a fit may have left some out)
    rules_ = tuple(content["blocking_rules"])
    comparisons_ = tuple(content["comparisons"])
    used = {c.label for c in comparisons_}
    used_rules = {r.name for r in rules_}
    fitted = content["fitted"]
    reviewed = None
    if fitted["reviewed"] is not None:
        reviewed = pd.DataFrame(
            fitted["reviewed"], columns=["left_id", "right_id", "is_match"]
        ).astype({"left_id": str, "right_id": str, "is_match": bool})
    return {
        "rules_": rules_,
        "comparisons_": comparisons_,
        "dropped_": {
            "comparisons": [c.label for c in comparisons if c.label not in used],
            "blocking_rules": [r.name for r in rules if r.name not in used_rules],
        },
        "tf_typical_": fitted["tf_typical"],
        "max_level_seen_": fitted["max_level_seen"],
        "within_": bool(fitted.get("within", False)),  # absent in older model files
        "ml_training_": fitted["ml_training"],
        "reviewed_": reviewed,
        "settings": dict(content["run"]),
        "model_": content["matcher"],
        "ml_model_": content["ml_matcher"],
    }


__all__ = [
    "fitted_attributes",
    "model_content",
]
