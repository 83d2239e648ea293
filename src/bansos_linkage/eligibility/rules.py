"""Programme rules as data: YAML files read into validated rule objects, evaluated over
the whole register at once.

A programme file holds one programme or a list under ``programmes:``::

    name: PKH
    level: household            # or "person" (PBI-JK, PIP)
    source: Kemensos PKH 2025 (../shared/domain/INDONESIA.md)
    eligible:                   # conditions on household fields (person: also member fields)
      all:
        - {field: desil, between: [1, 4]}
    requires_component: true    # no component, no benefit
    components:                 # counted over the household's members
      - name: child_0_6
        members: {field: age, between: [0, 5]}
        amount: 3000000         # per member per year
        max_members: 2
    amount: 0                   # flat amount per household (or person) per year

Conditions are ``{field: F, OP: VALUE}`` leaves combined with ``all``, ``any`` and
``not``. Operators: ``equals``, ``not_equals``, ``in``, ``not_in``, ``between``
(inclusive ``[low, high]``), ``at_least``, ``at_most``. Fields are those in
:data:`HOUSEHOLD_FIELDS` and :data:`MEMBER_FIELDS`; ``parameters`` of the file can
be used as values (``{field: age, at_least: elderly_age}``), so a cut-off that
sources disagree on (PKH's elderly age: 60 or 70) is one edit.

A file with an unknown field, an operator typo, a value of the wrong type or an
impossible range is refused with a :class:`~bansos_linkage.errors.SchemaError`
naming the file, the programme and the key, with every problem of the file listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from bansos_linkage.errors import SchemaError

#: Household fields a rule may test, with their kind.
HOUSEHOLD_FIELDS: dict[str, str] = {
    "desil": "number",
    "criteria_met": "number",
    "poor_14_criteria": "bool",
    "size": "number",
    "children_0_6": "number",
    "school_age_6_21": "number",
    "elderly_60": "number",
    "elderly_70": "number",
    "disabled": "number",
    "pregnant": "number",
    "adults_working": "number",
    "province_code": "text",
    "regency_code": "text",
    "district_code": "text",
    "village_code": "text",
    "extremely_poor": "bool",
}
#: Member fields a rule may test (``age`` at the reference date, schooling level).
MEMBER_FIELDS: dict[str, str] = {
    "age": "number",
    "sex": "text",
    "relationship": "number",
    "school_level": "text",
    "in_school": "bool",
    "disability": "bool",
    "pregnant_member": "bool",
    "pregnancy_number": "number",
}
OPERATORS = ("equals", "not_equals", "in", "not_in", "between", "at_least", "at_most")
_KEYS = {
    "name",
    "level",
    "source",
    "eligible",
    "requires_component",
    "components",
    "amount",
    "parameters",
}


@dataclass(frozen=True)
class Condition:
    """One test of one field: ``field OP value``."""

    field: str
    op: str
    value: Any

    @property
    def label(self) -> str:
        value = self.value
        if self.op == "between":
            value = f"{value[0]}-{value[1]}"
        elif isinstance(value, list | tuple):
            value = ",".join(map(str, value))
        return f"{self.field} {self.op.replace('_', ' ')} {value}"

    def evaluate(self, frame: pd.DataFrame) -> np.ndarray:
        """True where the condition holds; a missing value never satisfies it."""
        column = frame[self.field]
        kind = {**HOUSEHOLD_FIELDS, **MEMBER_FIELDS}[self.field]
        if kind == "number":
            x = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
            known = ~np.isnan(x)
        elif kind == "bool":
            x = column.astype("boolean").fillna(False).to_numpy(dtype=bool)
            known = np.ones(len(x), dtype=bool)
        else:
            # test each distinct text once, then spread the answer over the rows
            values = column if isinstance(column.dtype, pd.CategoricalDtype) else None
            if values is None:
                values = column.astype("string").astype("category")
            codes = values.cat.codes.to_numpy()
            categories = values.cat.categories.astype(str).to_numpy(dtype=object)
            per_value = self._hits(categories)
            return np.append(per_value, False)[codes]  # code -1 (missing) never holds
        return self._hits(x) & known

    def _hits(self, x: np.ndarray) -> np.ndarray:
        v = self.value
        with np.errstate(invalid="ignore"):
            if self.op == "equals":
                hit = x == v
            elif self.op == "not_equals":
                hit = x != v
            elif self.op == "in":
                hit = np.isin(x, list(v))
            elif self.op == "not_in":
                hit = ~np.isin(x, list(v))
            elif self.op == "between":
                hit = (x >= v[0]) & (x <= v[1])
            elif self.op == "at_least":
                hit = x >= v
            else:  # at_most
                hit = x <= v
        return np.asarray(hit, dtype=bool)


@dataclass(frozen=True)
class Node:
    """``all`` / ``any`` / ``not`` over conditions and nodes."""

    kind: str
    parts: tuple[Condition | Node, ...]

    def evaluate(self, frame: pd.DataFrame) -> np.ndarray:
        results = [p.evaluate(frame) for p in self.parts]
        if self.kind == "not":
            return ~results[0]
        if not results:
            return np.ones(len(frame), dtype=bool)
        stack = np.vstack(results)
        return np.asarray(stack.all(axis=0) if self.kind == "all" else stack.any(axis=0))

    def leaves(self) -> list[Condition]:
        out: list[Condition] = []
        for p in self.parts:
            out.extend(p.leaves() if isinstance(p, Node) else [p])
        return out


@dataclass(frozen=True)
class Component:
    """A benefit counted per qualifying member, capped at ``max_members``."""

    name: str
    members: Node
    amount: float
    max_members: int | None = None


@dataclass(frozen=True)
class Programme:
    """A programme's rules, validated."""

    name: str
    level: str
    eligible: Node
    components: tuple[Component, ...] = ()
    amount: float = 0.0
    requires_component: bool = False
    source: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def with_parameters(programme: Programme, **values: Any) -> Programme:
    """The programme with some of its ``parameters`` changed (e.g. ``max_desil=5``,
    ``elderly_age=60``): a rule variant for a what-if, validated like a file.

    Examples
    --------
    >>> pkh = load_programmes("pkh")[0]
    >>> with_parameters(pkh, max_desil=3).eligible.leaves()[0].value
    [1, 3]
    """
    unknown = sorted(set(values) - set(programme.parameters))
    if unknown:
        known = ", ".join(sorted(programme.parameters)) or "none"
        raise SchemaError(
            f"programme {programme.name!r} has no parameter {', '.join(map(repr, unknown))} "
            f"(its parameters: {known})",
            key="parameters",
        )
    spec = {**programme.spec, "parameters": {**programme.parameters, **values}}
    problems: list[str] = []
    changed = _programme(spec, 0, problems)
    if problems or changed is None:
        raise SchemaError(f"{len(problems)} problems: " + "; ".join(problems), key="parameters")
    return changed


#: The built-in programmes, in the order ``load_programmes("all")`` gives them.
BUILTIN = ("pkh", "sembako", "pbi_jk", "pip", "blt_dana_desa")


def builtin_path(name: str) -> Path:
    """The built-in rule file of a programme (one of :data:`BUILTIN`)."""
    path = Path(str(resources.files("bansos_linkage.eligibility") / "programmes" / f"{name}.yaml"))
    if not path.exists():
        raise SchemaError(f"no built-in rule file {name!r}", file=name)
    return path


def load_programmes(source: str | Path) -> list[Programme]:
    """Programmes from a YAML file, a built-in name, or ``"all"`` for every built-in one;
    every problem of a file is reported at once."""
    if str(source) == "all" and not Path(source).exists():
        return [p for name in BUILTIN for p in load_programmes(name)]
    path = Path(source)
    if not path.exists() and not path.suffix:
        path = builtin_path(str(source))
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SchemaError(f"not valid YAML ({type(exc).__name__})", file=path) from None
    specs = content.get("programmes", [content]) if isinstance(content, dict) else None
    if not isinstance(specs, list) or not specs:
        raise SchemaError("expected a programme or a list under 'programmes'", file=path)
    problems: list[str] = []
    programmes = [_programme(spec, i, problems) for i, spec in enumerate(specs)]
    if problems:
        raise SchemaError(f"{len(problems)} problems: " + "; ".join(problems), file=path)
    return [p for p in programmes if p is not None]


def _programme(spec: Any, i: int, problems: list[str]) -> Programme | None:
    where = f"programmes[{i}]"
    if not isinstance(spec, dict):
        problems.append(f"{where}: expected a mapping")
        return None
    name = str(spec.get("name", where))
    where = f"programme {name!r}"
    for key in sorted(set(spec) - _KEYS):
        problems.append(f"{where}: key {key!r} is not a programme key ({', '.join(sorted(_KEYS))})")
    level = spec.get("level", "household")
    if level not in ("household", "person"):
        problems.append(f"{where}: key 'level' must be 'household' or 'person', not {level!r}")
    params = spec.get("parameters", {}) or {}
    allowed = dict(HOUSEHOLD_FIELDS) | (MEMBER_FIELDS if level == "person" else {})
    eligible = _node(
        spec.get("eligible", {"all": []}), f"{where}: eligible", allowed, params, problems
    )
    components = []
    for k, comp in enumerate(spec.get("components", []) or []):
        components.append(_component(comp, f"{where}: components[{k}]", params, problems))
    amount = _amount(spec.get("amount", 0), f"{where}: amount", problems)
    return Programme(
        name=name,
        level=str(level),
        eligible=eligible,
        components=tuple(c for c in components if c is not None),
        amount=amount,
        requires_component=bool(spec.get("requires_component", False)),
        source=str(spec.get("source", "")),
        parameters=dict(params),
        spec=dict(spec),
    )


def _component(spec: Any, where: str, params: dict, problems: list[str]) -> Component | None:
    if not isinstance(spec, dict) or "name" not in spec or "members" not in spec:
        problems.append(f"{where}: expected name, members and amount")
        return None
    extra = sorted(set(spec) - {"name", "members", "amount", "max_members"})
    for key in extra:
        problems.append(f"{where}: key {key!r} is not a component key")
    cap = spec.get("max_members")
    if cap is not None and (not isinstance(cap, int) or cap < 1):
        problems.append(f"{where}: key 'max_members' must be a whole number of at least 1")
        cap = None
    return Component(
        name=str(spec["name"]),
        members=_node(spec["members"], f"{where}: members", MEMBER_FIELDS, params, problems),
        amount=_amount(spec.get("amount", 0), f"{where}: amount", problems),
        max_members=cap,
    )


def _amount(value: Any, where: str, problems: list[str]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        problems.append(f"{where} must be a non-negative number of rupiah a year")
        return 0.0
    return float(value)


def _node(spec: Any, where: str, allowed: dict, params: dict, problems: list[str]) -> Node:
    if isinstance(spec, list):
        spec = {"all": spec}
    if not isinstance(spec, dict):
        problems.append(f"{where}: expected a condition or all/any/not")
        return Node("all", ())
    logic = [k for k in ("all", "any", "not") if k in spec]
    if logic:
        kind = logic[0]
        parts = spec[kind] if kind != "not" else [spec[kind]]
        if not isinstance(parts, list):
            problems.append(f"{where}.{kind}: expected a list")
            return Node("all", ())
        nodes = [
            _node(p, f"{where}.{kind}[{i}]", allowed, params, problems) for i, p in enumerate(parts)
        ]
        return Node(kind, tuple(n.parts[0] if _is_leaf(n) else n for n in nodes))
    return Node("all", tuple(_leaf(spec, where, allowed, params, problems)))


def _is_leaf(node: Node) -> bool:
    return node.kind == "all" and len(node.parts) == 1 and isinstance(node.parts[0], Condition)


def _leaf(
    spec: dict, where: str, allowed: dict, params: dict, problems: list[str]
) -> list[Condition]:
    name = spec.get("field")
    ops = [k for k in spec if k != "field"]
    if name not in allowed:
        problems.append(f"{where}: field {name!r} is not one of {', '.join(sorted(allowed))}")
        return []
    if len(ops) != 1 or ops[0] not in OPERATORS:
        key = ops[0] if ops else "(none)"
        problems.append(f"{where}: key {key!r} is not an operator ({', '.join(OPERATORS)})")
        return []
    op = ops[0]
    value = _resolve(spec[op], params)
    kind = allowed[name]
    problem = _check_value(op, value, kind)
    if problem:
        problems.append(f"{where}: {name} {op}: {problem}")
        return []
    return [Condition(name, op, value)]  # type: ignore[arg-type]


def _resolve(value: Any, params: dict) -> Any:
    if isinstance(value, str) and value in params:
        return params[value]
    if isinstance(value, list):
        return [_resolve(v, params) for v in value]
    return value


def _check_value(op: str, value: Any, kind: str) -> str | None:
    def number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    if op == "between":
        if not (isinstance(value, list) and len(value) == 2 and all(map(number, value))):
            return "expected [low, high] numbers"
        if value[0] > value[1]:
            return f"impossible range: {value[0]} is above {value[1]}"
    elif op in ("at_least", "at_most") and not number(value):
        return "expected a number"
    elif op in ("in", "not_in") and (not isinstance(value, list) or not value):
        return "expected a non-empty list"
    if kind == "number" and op in ("equals", "not_equals", "in", "not_in"):
        values = value if isinstance(value, list) else [value]
        if not all(map(number, values)):
            return "expected numbers"
    if kind == "bool" and op in ("equals", "not_equals") and not isinstance(value, bool):
        return "expected true or false"
    if kind in ("bool", "text") and op in ("between", "at_least", "at_most"):
        return f"a {kind} field cannot be compared by size"
    return None


def member_fields(members: pd.DataFrame, reference_date) -> pd.DataFrame:
    """The member fields rules test: ``age`` at ``reference_date``, ``school_level`` and
    ``in_school`` (school participation, from the register's ``in_school`` and
    ``school_level`` or assumed from age and the level completed:
    :func:`~bansos_linkage.eligibility.members.school_attendance`), ``relationship``
    (codes from codes or words), ``sex``, ``disability``, ``pregnant_member`` and
    ``pregnancy_number`` (see :func:`pregnancy_number`); and, for the reasons,
    ``school_assumed`` and ``pregnancy_estimated``."""
    from bansos_linkage.eligibility.inputs import clean_ids
    from bansos_linkage.eligibility.members import (
        _flag,
        age_at,
        relationship_codes,
        school_attendance,
        sex_codes,
    )

    out = pd.DataFrame(index=members.index)
    out["household_id"] = clean_ids(members["household_id"]).to_numpy()
    if "person_id" in members:
        out["person_id"] = clean_ids(members["person_id"]).astype(str).to_numpy()
    out["age"] = age_at(members["birth_date"], reference_date).to_numpy()
    school = school_attendance(members, out["age"])
    out["school_level"] = school["school_level"].astype("category").to_numpy()
    out["in_school"] = school["in_school"].to_numpy()
    out["school_assumed"] = school["school_assumed"].to_numpy()
    sex = sex_codes(members["sex"]) if "sex" in members else pd.Series(pd.NA, out.index)
    out["sex"] = sex.astype("string").astype("category").to_numpy()
    relationship = relationship_codes(members.get("relationship"), members.index)
    out["relationship"] = relationship.to_numpy()
    out["disability"] = _flag(members, "disability").to_numpy()
    out["pregnant_member"] = _flag(members, "pregnant").to_numpy()
    number, estimated = pregnancy_number(
        members.assign(relationship=relationship.to_numpy()),
        out["pregnant_member"].to_numpy(),
        with_estimated=True,
    )
    out["pregnancy_number"] = number
    out["pregnancy_estimated"] = estimated
    return out.reset_index(drop=True)


def pregnancy_number(members: pd.DataFrame, pregnant: np.ndarray, with_estimated: bool = False):
    """Which pregnancy each pregnant member is carrying (NaN for the others); with
    ``with_estimated`` also whether it was estimated.

    From a ``pregnancy_number`` column where the register fills it. Regsosek and DTKS
    do not record it, so otherwise (no column, or a blank cell) it is estimated from
    the family: one more than the children (relationship 3) in the household for the
    head or spouse, one more than the grandchildren (relationship 5) for a daughter or
    daughter-in-law. Children who left the household are not seen, so the estimate
    errs towards paying (PKH pays up to the 2nd pregnancy).
    """
    from bansos_linkage.eligibility.inputs import clean_ids, numbers
    from bansos_linkage.eligibility.members import relationship_codes

    given = (
        numbers(members["pregnancy_number"]).to_numpy(dtype=float)
        if "pregnancy_number" in members
        else np.full(len(members), np.nan)
    )
    relationship = relationship_codes(members.get("relationship"), members.index).to_numpy(
        dtype=float
    )
    household, distinct = pd.factorize(clean_ids(members["household_id"]))
    counts = {}
    for code in (3.0, 5.0):
        known = (relationship == code) & (household >= 0)
        per_household = np.bincount(household[known], minlength=len(distinct) + 1)
        counts[code] = per_household[household]  # -1 (no household): the padding, 0
    younger_generation = np.isin(relationship, [3.0, 4.0])
    born_before = np.where(younger_generation, counts[5.0], counts[3.0])
    pregnant = np.asarray(pregnant, dtype=bool)
    estimated = pregnant & np.isnan(given)
    number = np.where(pregnant, np.where(estimated, born_before + 1, given), np.nan)
    return (number, estimated) if with_estimated else number


def evaluate(
    programme: Programme, households: pd.DataFrame, members: pd.DataFrame, reference_date
) -> pd.DataFrame:
    """Who is eligible for ``programme``, why not, the components and the yearly amount.

    ``households`` has ``household_id`` and the household fields the rules use;
    ``members`` one row per person (``household_id``, ``birth_date`` and what the
    member conditions test). Household programmes give one row per household,
    person programmes one per member: ``eligible``, ``amount`` (rupiah a year),
    ``components`` (e.g. ``child_0_6 x2; sd_pupil x1``, with ``(in school assumed
    from age)`` where the register did not say), ``failed`` (the conditions that did
    not hold) and ``not_paid`` (members excluded by a cap or the pregnancy limit,
    e.g. ``not paid: child_0_6 x1 over the cap of 2``).
    """
    return evaluate_fields(programme, households, member_fields(members, reference_date))


def member_rows(households: pd.DataFrame, member_table: pd.DataFrame) -> np.ndarray:
    """Each member's household as a row number of ``households`` (-1: not there)."""
    ids = pd.Index(households["household_id"].astype("string"))
    return ids.get_indexer(member_table["household_id"].astype("string"))  # type: ignore[arg-type]


def evaluate_fields(
    programme: Programme,
    households: pd.DataFrame,
    member_table: pd.DataFrame,
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """:func:`evaluate` on members already turned into :func:`member_fields` (compute
    them once when evaluating several programmes or variants on one register), with
    ``rows`` from :func:`member_rows` when already known."""
    hh = households.reset_index(drop=True)
    m = member_table
    rows = member_rows(hh, m) if rows is None else rows
    if programme.level == "person":
        return _evaluate_people(programme, hh, m, rows)
    frame = _with_defaults(hh, HOUSEHOLD_FIELDS)
    ok = programme.eligible.evaluate(frame)
    amount = np.full(len(hh), programme.amount)
    n_comp = len(programme.components)
    # per component: paid, over the cap, excluded by the pregnancy number, that
    # exclusion estimated, school attendance assumed (0 no, 1 level, 2 attendance)
    counts = np.zeros((len(hh), 5 * n_comp), dtype=np.int64)
    known = rows >= 0
    assumed_code = _assumed_codes(m)
    estimated = _column(m, "pregnancy_estimated", False).astype(bool)
    for k, comp in enumerate(programme.components):
        hit = comp.members.evaluate(m) & known
        n = np.bincount(rows[hit], minlength=len(hh))
        if comp.max_members is not None:
            counts[:, n_comp + k] = np.maximum(n - comp.max_members, 0)
            n = np.minimum(n, comp.max_members)
        amount = amount + n * comp.amount
        counts[:, k] = n
        near = _near_miss(comp.members, m)
        if near is not None:
            out = near & ~hit & known
            counts[:, 2 * n_comp + k] = np.bincount(rows[out], minlength=len(hh))
            guessed = np.bincount(rows[out & estimated], minlength=len(hh))
            counts[:, 3 * n_comp + k] = guessed > 0
        if _uses_school(comp.members):
            per_household = np.zeros(len(hh), dtype=np.int64)
            np.maximum.at(per_household, rows[hit], assumed_code[hit])
            counts[:, 4 * n_comp + k] = per_household
    any_component = counts[:, :n_comp].any(axis=1)
    failed = _failed(programme.eligible, frame, programme.requires_component & ~any_component)
    if programme.requires_component:
        ok &= any_component
    inverse, paid, not_paid = _household_labels(counts, programme)
    return _result(
        hh["household_id"].array,
        None,
        programme,
        ok,
        amount,
        (inverse, paid),
        failed,
        (inverse, not_paid),
    )


#: Notes on a paid component whose members' school attendance was assumed.
ASSUMED_NOTES = ("", " (school level assumed from age)", " (in school assumed from age)")
#: Member fields on a count of the member's own history, not on who the member is:
#: a member who fails only these is named in the reasons as not paid.
LIMIT_FIELDS = ("pregnancy_number",)


def _column(frame: pd.DataFrame, name: str, default) -> np.ndarray:
    if name in frame:
        return frame[name].to_numpy()
    return np.full(len(frame), default)


def _assumed_codes(m: pd.DataFrame) -> np.ndarray:
    text = _column(m, "school_assumed", "")
    return np.select([text == "attendance", text == "level"], [2, 1], 0).astype(np.int64)


def _uses_school(node: Node) -> bool:
    return any(leaf.field in ("in_school", "school_level") for leaf in node.leaves())


def _near_miss(node: Node, frame: pd.DataFrame) -> np.ndarray | None:
    """Members who meet every condition of a component but those on a limit field
    (:data:`LIMIT_FIELDS`), or None when the component has no such condition."""
    if node.kind != "all" or not any(
        isinstance(p, Condition) and p.field in LIMIT_FIELDS for p in node.parts
    ):
        return None
    others = [p for p in node.parts if not (isinstance(p, Condition) and p.field in LIMIT_FIELDS)]
    return Node("all", tuple(others)).evaluate(frame)


def _household_labels(counts: np.ndarray, programme: Programme):
    """Each household's label code and the paid and not-paid texts per code."""
    combos, inverse = _distinct_rows(counts)
    comps = programme.components
    n_comp = len(comps)
    paid, not_paid = [], []
    for combo in combos:
        parts, missed = [], []
        for k, comp in enumerate(comps):
            n, over, out, guessed, assumed = (int(combo[j * n_comp + k]) for j in range(5))
            if n:
                parts.append(f"{comp.name} x{n}{ASSUMED_NOTES[assumed]}")
            if over:
                missed.append(f"{comp.name} x{over} over the cap of {comp.max_members}")
            if out:
                limits = [
                    p.label
                    for p in comp.members.parts
                    if isinstance(p, Condition) and p.field in LIMIT_FIELDS
                ]
                how = ", estimated from the children at home" if guessed else ""
                missed.append(f"{comp.name} x{out} ({'; '.join(limits)} not met{how})")
        paid.append("; ".join(parts))
        not_paid.append(("not paid: " + ", ".join(missed)) if missed else "")
    return inverse, paid, not_paid


def _result(
    household_id, person_id, programme, ok, amount, components, failed, not_paid=None
) -> pd.DataFrame:
    """The result table; texts as categoricals (a register repeats a few hundred texts
    millions of times). An eligible row failed nothing that mattered. ``not_paid``
    names the members who would have been components but were excluded (over a cap,
    above the pregnancy limit), eligible or not."""
    out = pd.DataFrame({"household_id": household_id})
    if person_id is not None:
        out["person_id"] = person_id
    out["programme"] = pd.Categorical.from_codes(np.zeros(len(ok), np.int8), [programme.name])  # type: ignore[call-overload]
    out["eligible"] = ok
    out["amount"] = np.where(ok, amount, 0.0)
    # each a (codes, labels) pair
    out["components"] = _texts(components[0], components[1], show=ok)
    out["failed"] = _texts(failed[0], failed[1], show=~ok)
    if not_paid is None:
        not_paid = (np.zeros(len(ok), dtype=np.int64), [""])
    out["not_paid"] = _texts(not_paid[0], not_paid[1], show=np.ones(len(ok), dtype=bool))
    return out


def _texts(codes: np.ndarray, labels: list[str], show: np.ndarray) -> pd.Categorical:
    """``labels[codes]`` where ``show``, ``""`` elsewhere."""
    position, distinct = pd.factorize(np.asarray([*labels, ""], dtype=object))
    return pd.Categorical.from_codes(position[np.where(show, codes, len(labels))], distinct)  # type: ignore[call-overload]


def _combos(counts: np.ndarray, programme: Programme) -> tuple[np.ndarray, list[str]]:
    """``child_0_6 x2; sd_pupil x1``: each row's code and the distinct texts."""
    combos, inverse = _distinct_rows(counts)
    names = [c.name for c in programme.components]
    labels = [
        "; ".join(f"{name} x{n}" for name, n in zip(names, combo, strict=True) if n)
        for combo in combos
    ]
    return inverse, labels


def _distinct_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a small non-negative integer matrix and each row's position
    among them; rows packed into one integer key when they fit (hashing beats sorting)."""
    if not matrix.shape[1]:
        return matrix[:1], np.zeros(len(matrix), dtype=np.int64)
    base = int(matrix.max(initial=0)) + 1
    if base ** matrix.shape[1] < 2**62:
        key = matrix.astype(np.int64) @ (base ** np.arange(matrix.shape[1], dtype=np.int64))
        inverse = pd.factorize(key)[0]
        first = np.unique(inverse, return_index=True)[1]  # codes 0..k-1 in order of appearance
        return matrix[first], inverse
    # too wide to pack: combine the columns one at a time, each step re-coded small
    inverse = np.zeros(len(matrix), dtype=np.int64)
    for column in matrix.T:
        inverse = pd.factorize(inverse * (int(column.max(initial=0)) + 1) + column)[0]
    first = np.unique(inverse, return_index=True)[1]
    return matrix[first], inverse


def _evaluate_people(
    programme: Programme, hh: pd.DataFrame, m: pd.DataFrame, rows: np.ndarray
) -> pd.DataFrame:
    fields = [c for c in HOUSEHOLD_FIELDS if c in hh and c not in m]
    # household fields spread over members by row number (-1 gives missing)
    taken = {f: pd.api.extensions.take(hh[f].array, rows, allow_fill=True) for f in fields}
    frame = _with_defaults(m.assign(**taken), {**HOUSEHOLD_FIELDS, **MEMBER_FIELDS})
    ok = programme.eligible.evaluate(frame)
    amount = np.full(len(frame), programme.amount)
    n_comp = len(programme.components)
    which = np.full(len(frame), n_comp, dtype=np.int64)
    note = np.zeros(len(frame), dtype=np.int64)
    assumed_code = _assumed_codes(frame)
    for k, comp in enumerate(programme.components):  # a person gets the first that fits
        hit = comp.members.evaluate(frame) & (which == n_comp)
        amount = np.where(hit, amount + comp.amount, amount)
        which[hit] = k
        if _uses_school(comp.members):
            note[hit] = assumed_code[hit]
    matched = which < n_comp
    failed = _failed(programme.eligible, frame, programme.requires_component & ~matched)
    if programme.requires_component:
        ok &= matched
    if programme.eligible.leaves() and _uses_school(programme.eligible):
        school = programme.eligible.evaluate(frame)  # e.g. PIP: in_school is a condition
        note = np.where(school & (note == 0), assumed_code, note)
    labels = [
        f"{c.name}{ASSUMED_NOTES[a]}"
        for a in range(len(ASSUMED_NOTES))
        for c in programme.components
    ]
    labels += [ASSUMED_NOTES[a].strip() for a in range(len(ASSUMED_NOTES))]
    code = np.where(matched, note * n_comp + which, len(ASSUMED_NOTES) * n_comp + note)
    names = (code, labels)
    person = frame["person_id"].array if "person_id" in frame else np.arange(len(frame))
    return _result(frame["household_id"].array, person, programme, ok, amount, names, failed)


def _with_defaults(frame: pd.DataFrame, fields: dict[str, str]) -> pd.DataFrame:
    """Absent fields as all-missing columns: a rule on them never holds (never crashes)."""
    nothing = {
        "number": lambda n: np.full(n, np.nan),
        "bool": lambda n: pd.array(np.zeros(n, dtype=bool), dtype="boolean").fillna(False),
        "text": lambda n: pd.Categorical.from_codes(np.full(n, -1, np.int8), categories=[]),  # type: ignore[call-overload]
    }
    missing = {f: nothing[kind](len(frame)) for f, kind in fields.items() if f not in frame}
    return frame.assign(**missing) if missing else frame


def _failed(node: Node, frame: pd.DataFrame, no_component) -> tuple[np.ndarray, list[str]]:
    """The conditions that did not hold, as ``desil between 1-4; no benefit component``:
    each row's code and the distinct texts."""
    labels = [leaf.label for leaf in node.leaves()] + ["no benefit component"]
    failures = np.zeros((len(frame), len(labels)), dtype=bool)
    for k, leaf in enumerate(node.leaves()):
        failures[:, k] = ~leaf.evaluate(frame)
    failures[:, -1] = no_component
    patterns, inverse = _distinct_rows(failures)
    text = ["; ".join(lab for lab, f in zip(labels, p, strict=True) if f) for p in patterns]
    return inverse, text


def programme_to_dict(programme: Programme) -> dict[str, Any]:
    """A programme as the YAML mapping it is read from (parameters resolved)."""

    def node(n: Node | Condition) -> dict[str, Any]:
        if isinstance(n, Condition):
            return {"field": n.field, n.op: n.value}
        return {n.kind: node(n.parts[0]) if n.kind == "not" else [node(p) for p in n.parts]}

    out: dict[str, Any] = {"name": programme.name, "level": programme.level}
    if programme.source:
        out["source"] = programme.source
    if programme.parameters:
        out["parameters"] = dict(programme.parameters)
    out["eligible"] = node(programme.eligible)
    out["requires_component"] = programme.requires_component
    out["components"] = [
        {
            "name": c.name,
            "members": node(c.members),
            "amount": c.amount,
            **({"max_members": c.max_members} if c.max_members is not None else {}),
        }
        for c in programme.components
    ]
    out["amount"] = programme.amount
    return out


def dump_programmes(programmes: list[Programme], path: str | Path) -> Path:
    """Write programmes as one YAML file that :func:`load_programmes` reads back."""
    path = Path(path)
    data = {"programmes": [programme_to_dict(p) for p in programmes]}
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


__all__ = [
    "ASSUMED_NOTES",
    "BUILTIN",
    "Component",
    "Condition",
    "HOUSEHOLD_FIELDS",
    "LIMIT_FIELDS",
    "MEMBER_FIELDS",
    "Node",
    "OPERATORS",
    "Programme",
    "builtin_path",
    "dump_programmes",
    "evaluate",
    "evaluate_fields",
    "load_programmes",
    "member_fields",
    "member_rows",
    "pregnancy_number",
    "programme_to_dict",
    "with_parameters",
]
