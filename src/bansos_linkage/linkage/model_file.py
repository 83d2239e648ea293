"""The model file: the linkage settings plus the fitted parameters, in one JSON.

Human-readable on purpose: a data team can see (and diff) what a run used.
Loading validates every part and names the file and the key that is wrong.

Layout (version 2): ``settings`` is a settings dict as in :mod:`bansos_linkage.linkage.settings`
(what to fit again with, e.g. after editing: ``bansos-linkage settings --model``
extracts it); ``blocking_rules`` and ``comparisons`` are those the fitted model uses
(the settings' ones less those whose columns neither register had), in the same
format; ``matcher`` and ``ml_matcher`` are the fitted matchers; ``fitted`` holds the
other fitted values (term-frequency typical u, levels seen, the reviewed pairs);
``run`` says what the run was (reference date, schemas). Version 1 files (settings
and fitted values in one ``settings`` section) still load.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from bansos_linkage.errors import SchemaError
from bansos_linkage.linkage import comparisons as cmp
from bansos_linkage.linkage import settings as linkage_settings
from bansos_linkage.linkage import training
from bansos_linkage.linkage.fellegi_sunter import FellegiSunter, monotone_flag
from bansos_linkage.linkage.ml_matcher import matcher_from_dict
from bansos_linkage.linkage.settings import RULE_TYPES, comparison_to_dict, rule_to_dict

FORMAT = "bansos-linkage-model"
VERSION = 2
#: The versions :func:`load` reads.
VERSIONS = (1, 2)

__all__ = [
    "FORMAT",
    "VERSION",
    "comparison_to_dict",
    "load",
    "matcher_to_dict",
    "rule_to_dict",
    "save",
]


def matcher_to_dict(model: FellegiSunter) -> dict[str, Any]:
    """A fitted Fellegi-Sunter model as JSON-ready data: its parameters and m, u, prior."""
    params = dict(model.get_params())
    for key in ("u_probabilities", "m_probabilities", "n_levels"):
        if params.get(key) is not None:
            params[key] = [np.asarray(p).tolist() for p in params[key]]
    fitted = {
        "m": [np.asarray(m).tolist() for m in model.m_],
        "u": [np.asarray(u).tolist() for u in model.u_],
        "lambda": float(model.lambda_),
        "n_levels": [int(n) for n in model.n_levels_],
        "comparisons": [str(c) for c in model.feature_names_in_],
        "n_iter": int(model.n_iter_),
        "converged": bool(model.converged_),
        "log_likelihood": float(model.log_likelihood_),
    }
    if not isinstance(params.get("monotone"), bool | str):
        params["monotone"] = [monotone_flag(x) for x in params["monotone"]]
    return {"params": params, "fitted": fitted}


def save(path: str | Path, content: dict[str, Any]) -> Path:
    """Write ``content`` (see :meth:`~bansos_linkage.linkage.linker.Linker.save`) as JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": FORMAT, "version": VERSION, **content}, indent=2) + "\n")
    return path


def read(path: str | Path) -> dict[str, Any]:
    """A model file's JSON, its format and version checked (nothing else: see :func:`load`)."""
    path = Path(path)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{path}: not a JSON model file (line {exc.lineno}: {exc.msg})") from None
    except UnicodeDecodeError as exc:
        raise SchemaError(
            f"{path}: not a JSON model file (not UTF-8 text at byte {exc.start})"
        ) from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise SchemaError(f"{path}: key 'format' must be {FORMAT!r}")
    version = content.get("version")
    if version not in VERSIONS:
        raise SchemaError(f"{path}: key 'version' must be one of {list(VERSIONS)}, not {version!r}")
    return content


def load(path: str | Path) -> dict[str, Any]:
    """Read and check a model file; every error names the file and the key.

    Returns ``options`` (the Linker's keyword arguments, from the settings),
    ``blocking_rules`` and ``comparisons`` (the objects the fitted model uses),
    ``matcher``, ``ml_matcher``, ``fitted`` (``tf_typical``, ``max_level_seen``,
    ``ml_training``, ``reviewed``), ``run`` and the file's ``settings`` and ``version``.
    """
    path = Path(path)
    content = read(path)
    version = content["version"]
    required = ("blocking_rules", "comparisons", "matcher", "settings")
    for key in (*required, *(("fitted",) if version >= 2 else ())):
        if key not in content:
            raise SchemaError(f"{path}: key {key!r} is missing")
    raw_rules = _list(path, "blocking_rules", content)
    raw_comparisons = _list(path, "comparisons", content)
    _with_added_levels(path, content, raw_comparisons)
    content["blocking_rules"] = [
        _build(path, f"blocking_rules[{i}]", d, RULE_TYPES) for i, d in enumerate(raw_rules)
    ]
    content["comparisons"] = [
        _build(path, f"comparisons[{i}]", d, cmp.COMPARISON_TYPES)
        for i, d in enumerate(raw_comparisons)
    ]
    if version == 1:
        settings, fitted, run = _version_1(path, content, raw_rules, raw_comparisons)
        fitted_key = "settings"
    else:
        settings, fitted, run = content["settings"], content["fitted"], content.get("run") or {}
        fitted_key = "fitted"
        if not isinstance(run, dict):
            raise SchemaError(f"{path}: key 'run' must be a mapping")
        if isinstance(settings, dict) and "sole_candidates" not in settings:
            # files from before sole candidates linked by the pairs' probabilities alone
            settings = {**settings, "sole_candidates": False}
        if isinstance(settings, dict) and "family_members" not in settings:
            # nor did they link families' members on the family's prior
            settings = {**settings, "family_members": False}
    options = linkage_settings.linker_options(
        settings, source=path, complete=True, prefix="settings."
    )
    content["options"] = options
    content["matcher"] = _matcher(path, content["matcher"], content["comparisons"])
    content["ml_matcher"] = _ml_matcher(path, content.get("ml_matcher"))
    content["fitted"] = _fitted(path, fitted_key, fitted)
    content["run"] = run
    return content


def _version_1(
    path: Path, content: dict[str, Any], rules: list[Any], comparisons: list[Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A version 1 file's settings (in the settings format), fitted values and run."""
    old = content["settings"]
    if not isinstance(old, dict):
        raise SchemaError(f"{path}: key 'settings' must be a mapping")
    old = dict(old)
    for key in ("threshold", "resolution", "term_frequency", "duplicate_threshold", "chunk_size"):
        if key not in old:
            raise SchemaError(f"{path}: key 'settings.{key}' is missing")
    params = content["matcher"].get("params", {}) if isinstance(content["matcher"], dict) else {}
    defaults = linkage_settings.em_to_dict(None)
    settings = {
        "threshold": old.pop("threshold"),
        "duplicate_threshold": old.pop("duplicate_threshold"),
        "ml_threshold": old.pop("ml_threshold", 0.5),
        "resolution": old.pop("resolution"),
        "term_frequency": old.pop("term_frequency"),
        # model files from before family context: none
        "family_columns": old.pop("family_columns", []),
        "sole_candidates": False,
        "family_members": False,
        "blocking_rules": rules,
        "comparisons": comparisons,
        # not saved in version 1: the defaults of the time
        "u_pairs": training.DEFAULT_U_PAIRS,
        "random_state": 0,
        "sessions": linkage_settings.sessions_to_list(
            training.DEFAULT_SESSIONS, [c.label for c in content["comparisons"]]
        ),
        "em": {k: params.get(k, v) for k, v in defaults.items()},
        "chunk_size": old.pop("chunk_size"),
    }
    fitted = {
        k: old.pop(k)
        for k in ("tf_typical", "max_level_seen", "within", "ml_training", "reviewed")
        if k in old
    }
    return settings, fitted, old


def _fitted(path: Path, key: str, spec: Any) -> dict[str, Any]:
    """The fitted values besides the matchers, typed."""
    try:
        reviewed = spec.get("reviewed")
        return {
            "tf_typical": {str(k): float(v) for k, v in spec["tf_typical"].items()},
            "max_level_seen": [int(x) for x in spec["max_level_seen"]],
            # fitted on one register's own pairs (absent in older files: across two)
            "within": bool(spec.get("within", False)),
            "ml_training": dict(spec.get("ml_training") or {}),
            "reviewed": None if reviewed is None else [list(row) for row in reviewed],
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SchemaError(f"{path}: key {key!r} is incomplete or malformed ({exc})") from None


def _ml_matcher(path: Path, spec: Any):
    """The ML matcher refitted from its saved training set (None when there is none)."""
    if spec is None:
        return None
    try:
        return matcher_from_dict(spec)
    except (KeyError, TypeError, ValueError, AttributeError, ImportError) as exc:
        raise SchemaError(f"{path}: key 'ml_matcher' is malformed ({exc})") from None


def _with_added_levels(path: Path, content: dict[str, Any], raw_comparisons: list[Any]) -> None:
    """A file saved before a comparison gained a level (e.g. the name's ``phonetic_words``)
    loads: the new level gets m = u (no weight either way, as a level the model never
    saw), the levels it knew keep their m and u. An ML matcher reads level numbers,
    which a new level moves: such a file must be fitted again."""
    fitted = (
        content.get("matcher", {}).get("fitted")
        if isinstance(content.get("matcher"), dict)
        else None
    )
    settings = content.get("settings")
    others = settings.get("comparisons", []) if isinstance(settings, dict) else []
    for k, spec in enumerate(raw_comparisons):
        found = _level_moves(spec)
        if found is None:
            continue
        moved, n_levels = found
        if content.get("ml_matcher") is not None:
            raise SchemaError(
                f"{path}: key 'comparisons[{k}].levels' are those of an earlier version and "
                "the file holds an ML matcher trained on them: fit the model again"
            )
        old_levels = spec.pop("levels")
        for other in others if isinstance(others, list) else []:
            if isinstance(other, dict) and other.get("levels") == old_levels:
                other.pop("levels")
        if isinstance(fitted, dict):
            for key in ("m", "u"):
                values = fitted.get(key)
                if isinstance(values, list) and k < len(values) and isinstance(values[k], list):
                    values[k] = _moved(values[k], moved, n_levels)
        record = content.get("fitted") or content.get("settings") or {}
        seen = record.get("max_level_seen") if isinstance(record, dict) else None
        if isinstance(seen, list) and k < len(seen) and isinstance(seen[k], int) and seen[k] >= 0:
            seen[k] = moved[seen[k]] if seen[k] < len(moved) else seen[k]


def _level_moves(spec: Any) -> tuple[list[int], int] | None:
    """Where the saved level numbers of a comparison are now, and how many levels it has
    now (None: nothing moved), when its saved level names are the current ones less
    some added since."""
    if not isinstance(spec, dict) or not isinstance(spec.get("levels"), list):
        return None
    kind = cmp.COMPARISON_TYPES.get(spec.get("type"))  # type: ignore[arg-type]
    if kind is None or "levels" in {f.name for f in dataclasses.fields(kind)}:
        return None
    try:
        actual = list(kind(**{k: v for k, v in spec.items() if k not in ("type", "levels")}).levels)
    except (TypeError, ValueError):
        return None  # the settings check names what is wrong
    saved = spec["levels"]
    if saved == actual or not set(saved) < set(actual):
        return None
    if [name for name in actual if name in saved] != saved:
        return None  # reordered, not added to: the settings check refuses it
    # level numbers count from the weakest level (0)
    return [len(actual) - 1 - actual.index(name) for name in reversed(saved)], len(actual)


def _moved(values: list[Any], moved: list[int], n_levels: int) -> list[Any]:
    """Per-level values (by saved level number) at their current numbers; an added level
    gets 0 (m = u = 0: no weight)."""
    out: list[Any] = [0.0] * n_levels
    for new, value in zip(moved, values, strict=False):
        out[new] = value
    return out


def _list(path: Path, key: str, content: dict[str, Any]) -> list[Any]:
    value = content[key]
    if not isinstance(value, list) or not value:
        raise SchemaError(f"{path}: key {key!r} must be a non-empty list")
    return value


def _build(path: Path, where: str, spec: Any, registry: dict[str, type]) -> Any:
    return linkage_settings.build_object(spec, registry, path, where)


def _matcher(path: Path, spec: Any, comparisons: list[cmp.Comparison]) -> FellegiSunter:
    try:
        params, fitted = spec["params"], spec["fitted"]
        model = FellegiSunter(**params)
        names = [str(c) for c in fitted["comparisons"]]
        m = [np.asarray(x, dtype=float) for x in fitted["m"]]
        u = [np.asarray(x, dtype=float) for x in fitted["u"]]
        lam = float(fitted["lambda"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SchemaError(f"{path}: key 'matcher' is incomplete or malformed ({exc})") from None
    labels = [c.label for c in comparisons]
    if names != labels:
        raise SchemaError(
            f"{path}: key 'matcher.fitted.comparisons' {names} does not match "
            f"the comparisons {labels}"
        )
    for k, c in enumerate(comparisons):
        n = len(c.levels)
        if len(m[k]) != n or len(u[k]) != n:
            raise SchemaError(
                f"{path}: key 'matcher.fitted.m[{k}]' / 'u[{k}]' must have {n} values "
                f"(the levels of {c.label!r})"
            )
    if not 0 < lam < 1:
        raise SchemaError(f"{path}: key 'matcher.fitted.lambda' must be between 0 and 1")
    model.m_, model.u_, model.lambda_ = m, u, lam
    model.n_levels_ = np.array([len(x) for x in m])
    model.feature_names_in_ = np.asarray(names, dtype=object)
    model.n_features_in_ = len(names)
    model.n_iter_ = int(fitted.get("n_iter", 0))
    model.converged_ = bool(fitted.get("converged", True))
    model.log_likelihood_ = float(fitted.get("log_likelihood", float("nan")))
    model.classes_ = np.array([0, 1])
    return model
