"""The model file: blocking rules, comparisons, fitted parameters and settings in one JSON.

Human-readable on purpose: a data team can see (and diff) what a run used.
Loading validates every part and names the file and the key that is wrong.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from bansos_linkage import comparisons as cmp
from bansos_linkage.blocking import ExactRule, Rule, SortedNeighbourhoodRule
from bansos_linkage.errors import SchemaError
from bansos_linkage.fellegi_sunter import FellegiSunter
from bansos_linkage.ml_matcher import matcher_from_dict

FORMAT = "bansos-linkage-model"
VERSION = 1

_RULE_TYPES: dict[str, type] = {"exact": ExactRule, "sorted_neighbourhood": SortedNeighbourhoodRule}
_COMPARISON_TYPES: dict[str, type] = {
    "exact": cmp.ExactComparison,
    "name": cmp.NameComparison,
    "nik": cmp.NikComparison,
    "date": cmp.DateComparison,
    "region": cmp.RegionComparison,
    "string": cmp.StringComparison,
}


def _type_name(obj: object, registry: dict[str, type]) -> str:
    for name, cls in registry.items():
        if type(obj) is cls:
            return name
    raise TypeError(f"{type(obj).__name__} cannot be saved in a model file")


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    return {"type": _type_name(rule, _RULE_TYPES), **dataclasses.asdict(rule)}


def comparison_to_dict(comparison: cmp.Comparison) -> dict[str, Any]:
    return {"type": _type_name(comparison, _COMPARISON_TYPES), **dataclasses.asdict(comparison)}


def matcher_to_dict(model: FellegiSunter) -> dict[str, Any]:
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
    if not isinstance(params.get("monotone"), bool):
        params["monotone"] = [bool(x) for x in params["monotone"]]
    return {"params": params, "fitted": fitted}


def save(path: str | Path, content: dict[str, Any]) -> Path:
    """Write ``content`` (see :func:`bansos_linkage.linker.Linker.save`) as indented JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": FORMAT, "version": VERSION, **content}, indent=2) + "\n")
    return path


def load(path: str | Path) -> dict[str, Any]:
    """Read and check a model file; every error names the file and the key."""
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
    if content.get("version") != VERSION:
        raise SchemaError(
            f"{path}: key 'version' must be {VERSION}, not {content.get('version')!r}"
        )
    for key in ("blocking_rules", "comparisons", "matcher", "settings"):
        if key not in content:
            raise SchemaError(f"{path}: key {key!r} is missing")
    content["blocking_rules"] = [
        _build(path, f"blocking_rules[{i}]", d, _RULE_TYPES)
        for i, d in enumerate(_list(path, "blocking_rules", content))
    ]
    content["comparisons"] = [
        _build(path, f"comparisons[{i}]", d, _COMPARISON_TYPES)
        for i, d in enumerate(_list(path, "comparisons", content))
    ]
    content["matcher"] = _matcher(path, content["matcher"], content["comparisons"])
    content["ml_matcher"] = _ml_matcher(path, content.get("ml_matcher"))
    return content


def _ml_matcher(path: Path, spec: Any):
    """The ML matcher refitted from its saved training set (None when there is none)."""
    if spec is None:
        return None
    try:
        return matcher_from_dict(spec)
    except (KeyError, TypeError, ValueError, AttributeError, ImportError) as exc:
        raise SchemaError(f"{path}: key 'ml_matcher' is malformed ({exc})") from None


def _list(path: Path, key: str, content: dict[str, Any]) -> list[Any]:
    value = content[key]
    if not isinstance(value, list) or not value:
        raise SchemaError(f"{path}: key {key!r} must be a non-empty list")
    return value


def _build(path: Path, where: str, spec: Any, registry: dict[str, type]) -> Any:
    if not isinstance(spec, dict) or spec.get("type") not in registry:
        raise SchemaError(f"{path}: key '{where}.type' must be one of {sorted(registry)}")
    cls = registry[spec["type"]]
    fields = {f.name for f in dataclasses.fields(cls)}
    args = {k: v for k, v in spec.items() if k != "type"}
    unknown = sorted(set(args) - fields)
    if unknown:
        raise SchemaError(f"{path}: key '{where}.{unknown[0]}' is not a setting of {cls.__name__}")
    for key in ("keys", "thresholds"):
        if key in args and isinstance(args[key], list):
            args[key] = tuple(args[key])
    try:
        return cls(**args)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"{path}: key {where!r}: {exc}") from None


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
