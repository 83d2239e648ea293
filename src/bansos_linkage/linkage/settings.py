"""Linkage settings: a Linker's configuration as a plain dict, a YAML or a JSON file.

The settings say *how* to link, not what was learned: the blocking rules, the
comparisons (with their level names, read-only, and their thresholds), the
term-frequency comparisons, the resolution mode, the link and duplicate
thresholds, the EM options and sessions, the random pairs for ``u`` and the seed,
and where a register says which family a record belongs to. A model file
(:mod:`bansos_linkage.linkage.model_file`) holds these settings in its ``settings``
section next to the fitted parameters, so a model's settings can be extracted,
edited and fitted again::

    threshold: 0.5
    resolution: duplicates
    blocking_rules:
    - {type: exact, keys: [nik], name: nik, max_block_pairs: 250000}
    comparisons:
    - type: name
      column: full_name
      high: 0.94
      levels: [exact, token_set, jw>=0.94, ...]

A settings file may leave keys out (they keep the :class:`~bansos_linkage.linkage.linker.Linker`
defaults); every key it names is checked, and a wrong one is a
:class:`~bansos_linkage.errors.SchemaError` naming the file and the key path
(``comparisons[2].levels``). Comparison types are those of
:data:`bansos_linkage.linkage.comparisons.COMPARISON_TYPES`; add your own with
:func:`bansos_linkage.linkage.comparisons.register_comparison`.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bansos_linkage.errors import SchemaError
from bansos_linkage.linkage import comparisons as cmp
from bansos_linkage.linkage import training
from bansos_linkage.linkage.blocking import ExactRule, Rule, SortedNeighbourhoodRule
from bansos_linkage.linkage.fellegi_sunter import FellegiSunter, monotone_flag
from bansos_linkage.linkage.preparation import check_parameters
from bansos_linkage.linkage.resolve import MODES

if TYPE_CHECKING:
    from bansos_linkage.linkage.linker import Linker

#: Blocking rule types by the name settings and model files give them.
RULE_TYPES: dict[str, type] = {"exact": ExactRule, "sorted_neighbourhood": SortedNeighbourhoodRule}
#: The EM options of :class:`~bansos_linkage.linkage.fellegi_sunter.FellegiSunter` a
#: settings file sets.
EM_OPTIONS = ("max_iter", "tol", "prior", "m_init", "monotone", "m_smoothing")
#: The keys of a settings file, in the order they are written.
KEYS = (
    "threshold",
    "duplicate_threshold",
    "ml_threshold",
    "resolution",
    "term_frequency",
    "family_columns",
    "sole_candidates",
    "family_members",
    "blocking_rules",
    "comparisons",
    "u_pairs",
    "random_state",
    "sessions",
    "em",
    "chunk_size",
)
_HEADER = (
    "# bansos-linkage linkage settings: edit, then run\n"
    "#   bansos-linkage link LEFT RIGHT ... --settings THIS_FILE\n"
    "# (a comparison's 'levels' follow from its type and settings: they are shown, not set)\n"
)


# --- objects -> plain dicts ----------------------------------------------------------


def type_name(obj: object, registry: Mapping[str, type]) -> str:
    """The name ``obj``'s class is registered under."""
    for name, cls in registry.items():
        if type(obj) is cls:
            return name
    raise TypeError(f"{type(obj).__name__} cannot be saved in a settings or model file")


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    """A blocking rule as ``{"type": ..., <its fields>}``."""
    return {"type": type_name(rule, RULE_TYPES), **_plain(dataclasses.asdict(rule))}


def comparison_to_dict(comparison: cmp.Comparison) -> dict[str, Any]:
    """A comparison as ``{"type": ..., <its fields>, "levels": [...]}`` (the level names,
    strongest first, for the reader: they follow from the type and the fields)."""
    return {
        "type": type_name(comparison, cmp.COMPARISON_TYPES),
        **_plain(dataclasses.asdict(comparison)),
        "levels": list(comparison.levels),
    }


def sessions_to_list(
    sessions: Sequence[training.Session], labels: Sequence[str]
) -> list[dict[str, Any]]:
    """EM sessions as they apply to comparisons with these labels: a session that
    selects on a comparison not among them never runs (it is left out), and
    excluding a comparison that is not there changes nothing (it is not listed)."""
    return [
        {
            "select": {label: list(levels) for label, levels in s.select},
            "exclude": [label for label in s.exclude if label in labels],
        }
        for s in sessions
        if all(label in labels for label, _ in s.select)
    ]


def em_to_dict(matcher: FellegiSunter | None) -> dict[str, Any]:
    """The EM options of a matcher template (None: the defaults)."""
    params = (matcher if matcher is not None else FellegiSunter()).get_params()
    return _plain({key: params[key] for key in EM_OPTIONS})


def linker_settings(linker: Linker) -> dict[str, Any]:
    """A Linker's settings as a plain dict (lists, numbers, text): see the module doc.

    The rules and comparisons are those it was given, not only those a fit kept.
    """
    return {
        "threshold": float(linker.threshold),
        "duplicate_threshold": float(linker.duplicate_threshold),
        "ml_threshold": float(linker.ml_threshold),
        "resolution": linker.resolution,
        "term_frequency": list(linker.term_frequency),
        "family_columns": list(linker.family_columns),
        "sole_candidates": bool(linker.sole_candidates),
        "family_members": bool(linker.family_members),
        "blocking_rules": [rule_to_dict(r) for r in linker.rules],
        "comparisons": [comparison_to_dict(c) for c in linker.comparisons],
        "u_pairs": int(linker.u_pairs),
        "random_state": int(linker.random_state),
        "sessions": sessions_to_list(linker.sessions, [c.label for c in linker.comparisons]),
        "em": em_to_dict(linker.matcher),
        "chunk_size": int(linker.chunk_size),
    }


def check_params(params: Mapping[str, Any]) -> None:
    """A Linker's parameters (``get_params``), checked when it fits or loads (as
    scikit-learn does): a ValueError names the first wrong one
    (:func:`~bansos_linkage.linkage.preparation.check_parameters`)."""
    thresholds = (params["threshold"], params["ml_threshold"])
    comparisons, term_frequency = params["comparisons"], params["term_frequency"]
    check_parameters(params["resolution"], thresholds, comparisons, term_frequency)


def _plain(value: Any) -> Any:
    """Tuples as lists, all the way down (YAML and JSON know lists)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# --- plain dicts -> objects, checked --------------------------------------------------


def _error(source: str | Path, key: str, message: str) -> SchemaError:
    """``<file>: key '<path>' <message>``, with ``file`` and ``key`` set on the error."""
    where = f"key {key!r} " if key else ""
    exc = SchemaError(f"{source}: {where}{message}")
    exc.file, exc.key = str(source), key or None
    return exc


def build_object(spec: Any, registry: Mapping[str, type], source: str | Path, where: str) -> Any:
    """The rule or comparison a ``{"type": ..., ...}`` mapping describes; every error
    names ``source`` and the key (``where`` is the mapping's own path)."""
    if not isinstance(spec, Mapping):
        raise _error(source, where, f"must be a mapping with a 'type' (one of {sorted(registry)})")
    kind = spec.get("type")
    if not isinstance(kind, str) or kind not in registry:
        raise _error(source, f"{where}.type", f"must be one of {sorted(registry)}, not {kind!r}")
    cls = registry[kind]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    # a comparison's levels are shown, not set (unless the class has a field of that name)
    shows_levels = registry is cmp.COMPARISON_TYPES and "levels" not in fields
    args = {k: v for k, v in spec.items() if k != "type" and not (k == "levels" and shows_levels)}
    for key in args:
        if not isinstance(key, str) or key not in fields:
            raise _error(
                source,
                f"{where}.{key}",
                f"is not a setting of {cls.__name__} (its settings: {sorted(fields)})",
            )
    for name, f in fields.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and name not in args:
            raise _error(source, f"{where}.{name}", f"is missing ({cls.__name__} needs it)")
    hints = _hints(cls)
    for key, value in args.items():
        args[key] = _coerce(value, hints.get(key), source, f"{where}.{key}")
    if "keys" in args and not args["keys"]:
        raise _error(source, f"{where}.keys", "must name at least one key column")
    try:
        obj = cls(**args)
    except (TypeError, ValueError) as exc:
        first = str(exc).split(" ", 1)[0]
        raise _error(source, f"{where}.{first}" if first in fields else where, str(exc)) from None
    if shows_levels and "levels" in spec:
        _check_levels(spec["levels"], obj, source, f"{where}.levels")
    return obj


def _check_levels(given: Any, comparison: Any, source: str | Path, where: str) -> None:
    actual = list(comparison.levels)
    if not isinstance(given, list) or not all(isinstance(g, str) for g in given):
        raise _error(source, where, "must be a list of level names")
    unknown = [g for g in given if g not in actual]
    if unknown:
        raise _error(
            source,
            where,
            f"names an unknown level {unknown[0]!r}: with these settings the levels of "
            f"{comparison.label!r} are {actual} (levels follow from the comparison's type "
            "and settings: change those, and update 'levels' or leave it out)",
        )
    if given != actual:
        raise _error(
            source,
            where,
            f"must be {actual}: levels follow from the comparison's type and settings; "
            "single levels cannot be dropped or reordered (delete the whole 'levels' key "
            "instead)",
        )


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an annotation that cannot be resolved: no type checks
        return {}


_NOT = object()


def _coerce(value: Any, hint: Any, source: str | Path, where: str) -> Any:
    """``value`` as the annotation ``hint`` asks (lists as tuples, whole numbers as
    floats where a float is asked), or a SchemaError."""
    if hint is None:
        return value
    out = _match(value, hint)
    if out is _NOT:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise _error(source, where, f"must be {_describe(hint)}, not {shown}")
    return out


def _match(value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            out = _match(value, arg)
            if out is not _NOT:
                return out
        return _NOT
    if hint is type(None):
        return None if value is None else _NOT
    if hint is bool:
        return value if isinstance(value, bool) else _NOT
    if hint is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _NOT
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok else _NOT
    if hint is str:
        return value if isinstance(value, str) else _NOT
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            if isinstance(value, str) and args[0] is str:
                return (value,)
            if not isinstance(value, list | tuple):
                return _NOT
            items = [_match(v, args[0]) for v in value]
            return _NOT if any(i is _NOT for i in items) else tuple(items)
    return value  # an annotation this check does not know: the class decides


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if typing.get_origin(hint) is tuple:
        return f"a list of {_describe(typing.get_args(hint)[0]).removeprefix('a ')}s"
    names = {
        type(None): "null",
        bool: "true or false",
        int: "a whole number",
        float: "a number",
        str: "a text",
    }
    return names.get(hint, str(hint))


def linker_options(
    settings: Any, *, source: str | Path = "settings", complete: bool = False, prefix: str = ""
) -> dict[str, Any]:
    """The :class:`~bansos_linkage.linkage.linker.Linker` keyword arguments a settings dict asks
    for (``blocking_rules`` as ``rules``, ``em`` as ``matcher``). Keys it leaves out keep
    the Linker's defaults; with ``complete`` every key is required. Checked: a wrong
    key is a SchemaError naming ``source`` and the key path (``prefix`` goes before it,
    e.g. ``settings.`` in a model file)."""

    def err(key: str, message: str) -> SchemaError:
        return _error(source, f"{prefix}{key}", message)

    if not isinstance(settings, Mapping):
        raise _error(source, prefix.rstrip("."), "must be a mapping of settings (key: value)")
    for key in settings:
        if key not in KEYS:
            raise err(str(key), f"is not a linkage setting (the settings: {', '.join(KEYS)})")
    if complete:
        for key in KEYS:
            if key not in settings:
                raise err(key, "is missing")
    out: dict[str, Any] = {}
    for key in ("threshold", "duplicate_threshold", "ml_threshold"):
        if key in settings:
            out[key] = _number(
                settings[key],
                err(key, "must be a match probability: a number strictly between 0 and 1"),
                0,
                1,
            )
    if "resolution" in settings:
        if settings["resolution"] not in MODES:
            raise err("resolution", f"must be one of {list(MODES)}, not {settings['resolution']!r}")
        out["resolution"] = settings["resolution"]
    for key in ("chunk_size", "u_pairs"):
        if key in settings:
            out[key] = _whole(settings[key], err(key, "must be a whole number of at least 1"), 1)
    if "random_state" in settings:
        out["random_state"] = _whole(
            settings["random_state"], err("random_state", "must be a whole number of at least 0"), 0
        )
    for key in ("term_frequency", "family_columns"):
        if key in settings:
            out[key] = _texts(settings[key], err(key, "must be a list of texts"))
    for key in ("sole_candidates", "family_members"):
        if key in settings:
            if not isinstance(settings[key], bool):
                raise err(key, "must be true or false")
            out[key] = settings[key]
    if "blocking_rules" in settings:
        rules = _nonempty(
            settings["blocking_rules"], err("blocking_rules", "must be a non-empty list of rules")
        )
        out["rules"] = [
            build_object(r, RULE_TYPES, source, f"{prefix}blocking_rules[{i}]")
            for i, r in enumerate(rules)
        ]
    comparisons = list(cmp.DEFAULT_COMPARISONS)
    if "comparisons" in settings:
        specs = _nonempty(
            settings["comparisons"], err("comparisons", "must be a non-empty list of comparisons")
        )
        comparisons = [
            build_object(c, cmp.COMPARISON_TYPES, source, f"{prefix}comparisons[{i}]")
            for i, c in enumerate(specs)
        ]
        seen: set[str] = set()
        for i, c in enumerate(comparisons):
            if c.label in seen:
                raise err(
                    f"comparisons[{i}].name",
                    f"label {c.label!r} is used twice: labels must be unique",
                )
            seen.add(c.label)
        out["comparisons"] = comparisons
    levels = {c.label: list(c.levels) for c in comparisons}
    if "term_frequency" not in settings and "comparisons" in out:
        # the default (the name comparison) where there is one
        out["term_frequency"] = [label for label in ("name",) if label in levels]
    for label in out.get("term_frequency", ()):
        if label not in levels:
            raise err(
                "term_frequency",
                f"names {label!r}, which is not a comparison's label ({sorted(levels)})",
            )
    if "sessions" in settings:
        specs = settings["sessions"]
        if not isinstance(specs, list):
            raise err("sessions", "must be a list of EM sessions")
        out["sessions"] = [_session(s, levels, err, f"sessions[{i}]") for i, s in enumerate(specs)]
    if "em" in settings:
        out["matcher"] = _em(settings["em"], len(comparisons), err)
    return out


def _number(value: Any, error: SchemaError, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low < value < high:
        raise error
    return float(value)


def _whole(value: Any, error: SchemaError, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise error
    return value


def _texts(value: Any, error: SchemaError) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise error
    return list(value)


def _nonempty(value: Any, error: SchemaError) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise error
    return value


def _session(spec: Any, levels: dict[str, list[str]], err, where: str) -> training.Session:
    if not isinstance(spec, Mapping):
        raise err(where, "must be a mapping with 'select' and 'exclude'")
    for key in spec:
        if key not in ("select", "exclude"):
            raise err(f"{where}.{key}", "is not a setting of an EM session (select, exclude)")
    for key in ("select", "exclude"):
        if key not in spec:
            raise err(f"{where}.{key}", "is missing")
    select = spec["select"]
    if not isinstance(select, Mapping) or not select:
        raise err(f"{where}.select", "must map comparison labels to lists of level names")
    pairs = []
    for label, wanted in select.items():
        if label not in levels:
            raise err(f"{where}.select.{label}", f"is not a comparison's label ({sorted(levels)})")
        if isinstance(wanted, str):
            wanted = [wanted]
        if not isinstance(wanted, list) or not wanted:
            raise err(f"{where}.select.{label}", "must be a non-empty list of level names")
        for w in wanted:
            if w not in levels[label]:
                raise err(
                    f"{where}.select.{label}",
                    f"names an unknown level {w!r} (the levels of {label!r}: {levels[label]})",
                )
        pairs.append((label, tuple(wanted)))
    exclude = _texts(
        spec["exclude"], err(f"{where}.exclude", "must be a list of comparison labels")
    )
    for label in exclude:
        if label not in levels:
            raise err(f"{where}.exclude", f"names {label!r}, which is not a comparison's label")
    return training.Session(select=tuple(pairs), exclude=tuple(exclude))


def _em(spec: Any, n_comparisons: int, err) -> FellegiSunter:
    if not isinstance(spec, Mapping):
        raise err("em", f"must be a mapping of EM options ({', '.join(EM_OPTIONS)})")
    for key in spec:
        if key not in EM_OPTIONS:
            raise err(f"em.{key}", f"is not an EM option (the options: {', '.join(EM_OPTIONS)})")
    params = {key: FellegiSunter().get_params()[key] for key in EM_OPTIONS}
    for key, value in spec.items():
        if key == "max_iter":
            params[key] = _whole(
                value, err("em.max_iter", "must be a whole number of at least 1"), 1
            )
        elif key in ("prior", "m_init"):
            params[key] = _number(
                value, err(f"em.{key}", "must be a number strictly between 0 and 1"), 0, 1
            )
        elif key == "tol":
            params[key] = _number(
                value, err("em.tol", "must be a positive number"), 0, float("inf")
            )
        elif key == "m_smoothing":
            bad = (
                isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1
            )
            if bad:
                raise err("em.m_smoothing", "must be a number from 0 to below 1")
            params[key] = float(value)
        elif key == "monotone":
            ok = monotone_flag(value) is not None or (
                isinstance(value, list)
                and len(value) == n_comparisons
                and all(monotone_flag(v) is not None for v in value)
            )
            if not ok:
                raise err(
                    "em.monotone",
                    f"must be true, false, 'ends' or a list of {n_comparisons} of them"
                    " (one per comparison)",
                )
            params[key] = value
    return FellegiSunter(**params)


# --- files ---------------------------------------------------------------------------


def read_settings_file(path: str | Path) -> dict[str, Any]:
    """The content of a YAML or JSON settings file (by its suffix; ``.json`` is JSON,
    anything else YAML), not yet checked: a model file's content comes back whole
    (:func:`~bansos_linkage.linkage.configure.read_settings` takes its settings)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaError(
            f"{path}: not a settings file (not UTF-8 text at byte {exc.start})"
        ) from None
    if path.suffix.lower() == ".json":
        try:
            content = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemaError(
                f"{path}: not a JSON settings file (line {exc.lineno}: {exc.msg})"
            ) from None
    else:
        try:
            content = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f"line {mark.line + 1}: " if mark is not None else ""
            problem = getattr(exc, "problem", None) or type(exc).__name__
            raise SchemaError(f"{path}: not a YAML settings file ({line}{problem})") from None
    if content is None:
        raise SchemaError(f"{path}: is empty: expected a mapping of settings (key: value)")
    return content


def settings_text(settings: Mapping[str, Any], fmt: str = "yaml") -> str:
    """Settings as YAML (with a comment saying how to use them) or JSON text."""
    plain = _plain(dict(settings))
    if fmt == "json":
        return json.dumps(plain, indent=2) + "\n"
    if fmt != "yaml":
        raise ValueError(f"fmt must be 'yaml' or 'json', not {fmt!r}")
    body = yaml.safe_dump(
        plain, sort_keys=False, default_flow_style=None, allow_unicode=True, width=100
    )
    return _HEADER + body


def write_settings(settings: Mapping[str, Any], path: str | Path) -> Path:
    """Check ``settings`` and write them as JSON (``.json``) or YAML (any other suffix)."""
    path = Path(path)
    linker_options(settings, source="settings")
    text = settings_text(settings, "json" if path.suffix.lower() == ".json" else "yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


__all__ = [
    "EM_OPTIONS",
    "KEYS",
    "RULE_TYPES",
    "build_object",
    "check_params",
    "comparison_to_dict",
    "em_to_dict",
    "linker_options",
    "linker_settings",
    "read_settings_file",
    "rule_to_dict",
    "sessions_to_list",
    "settings_text",
    "write_settings",
]
