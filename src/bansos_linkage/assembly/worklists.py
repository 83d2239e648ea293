"""Verval worklists: who to visit in each village and why, and the verifiers' decisions.

A verval round is:

1. :func:`worklist_items` lists the items to verify from the assembly tables (see
   :mod:`bansos_linkage.assembly` for their contract), one row per item:

   ``uncertain_link``
       a person whose ``weakest_link`` is below ``uncertain_below``: is it really one
       person? Decisions ``same`` | ``different``.
   ``conflict``
       a row of the conflicts table. Kind ``field`` (the sources disagree on a
       field): ``keep`` (the chosen value is right) | ``correct`` (the right value in
       ``verified_value``). Kind ``transitive`` (records joined through a third
       source): ``same`` | ``different``.
   ``drop_out``
       a DTKS family leaving (transition ``drop``): ``confirm`` | ``keep`` (still
       lives here and is poor) | ``moved`` | ``deceased`` (the whole family).
   ``member_not_found``
       a person of a DTKS family whose DTSEN family has backbone members but who has
       no backbone record: ``deceased`` | ``moved`` | ``still_member``.

2. :func:`write_worklists` writes one Excel workbook per village (or per district,
   one sheet per village) with an instructions sheet ``PETUNJUK``, every cell text
   (no formula can run, NIKs keep 16 digits), a dropdown of the allowed decisions and
   a keyed ``check`` code per row (HMAC under a secret, as for review sheets:
   :func:`bansos_linkage.runs.review.review_secret`).
3. :func:`read_worklists` reads filled workbooks back: every filled row is either a
   decision or a rejected row naming the file, sheet, Excel row and column.
4. :func:`apply_decisions` applies the decisions to the register without re-linking.

Layer: the runs layer (``tests/test_layers.py``), beside the assembly core it
builds on: it writes and reads the workbooks of an ``assemble`` run folder
(atomically, signed with the review sheets' check code).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import numpy as np
import pandas as pd

from bansos_linkage.errors import InputError, UsageError
from bansos_linkage.io import _cell_text, _column_text, defuse_formulas
from bansos_linkage.review import check_code, undefuse
from bansos_linkage.runs import atomic_files
from bansos_linkage.standardisation.codes import standardise_sex
from bansos_linkage.standardisation.dates import standardise_date
from bansos_linkage.standardisation.nik import standardise_nik

if TYPE_CHECKING:  # openpyxl has no type information: Any to mypy
    from openpyxl.worksheet.worksheet import Worksheet

logger = logging.getLogger(__name__)

#: Reason -> (meaning in Indonesian, in English).
REASONS: dict[str, tuple[str, str]] = {
    "uncertain_link": (
        "Data dari beberapa sumber digabung sebagai satu orang, tetapi kemiripannya rendah.",
        "Records of several sources were joined as one person, with low confidence.",
    ),
    "conflict": (
        "Sumber berbeda pendapat tentang satu isian, atau catatan tergabung lewat sumber ketiga.",
        "Sources disagree on a field, or records were joined through a third source.",
    ),
    "drop_out": (
        "Keluarga DTKS ini keluar dari daftar (lihat kolom detail untuk alasannya).",
        "This DTKS family leaves the register (the detail column says why).",
    ),
    "member_not_found": (
        "Anggota keluarga DTKS ini tidak ditemukan di keluarga Regsosek-nya.",
        "This DTKS family member was not found in the family's backbone records.",
    ),
}
#: (kind of item, decision) -> (meaning in Indonesian, in English).
DECISION_MEANINGS: dict[tuple[str, str], tuple[str, str]] = {
    ("uncertain_link", "same"): ("Orang yang sama", "The same person"),
    ("uncertain_link", "different"): ("Orang yang berbeda", "Different persons"),
    ("field", "keep"): ("Nilai terpilih benar", "The chosen value is right"),
    ("field", "correct"): (
        "Nilai terpilih salah: tulis nilai yang benar di verified_value",
        "The chosen value is wrong: write the right one in verified_value",
    ),
    ("transitive", "same"): ("Orang yang sama", "The same person"),
    ("transitive", "different"): ("Orang yang berbeda", "Different persons"),
    ("drop_out", "confirm"): ("Keluarga memang keluar", "The family does leave"),
    ("drop_out", "keep"): (
        "Masih tinggal di sini dan miskin",
        "Still lives here and is poor",
    ),
    ("drop_out", "moved"): ("Keluarga pindah", "The family moved away"),
    ("drop_out", "deceased"): ("Seluruh keluarga meninggal", "The whole family is deceased"),
    ("member_not_found", "deceased"): ("Meninggal", "Deceased"),
    ("member_not_found", "moved"): ("Pindah", "Moved away"),
    ("member_not_found", "still_member"): ("Masih anggota keluarga", "Still a family member"),
}
#: Allowed decisions of each kind of item.
ALLOWED: dict[str, tuple[str, ...]] = {
    "uncertain_link": ("same", "different"),
    "field": ("keep", "correct"),
    "transitive": ("same", "different"),
    "drop_out": ("confirm", "keep", "moved", "deceased"),
    "member_not_found": ("deceased", "moved", "still_member"),
}
#: Shown per source for each person: register field -> column prefix.
SHOWN_FIELDS = {"full_name": "name", "nik": "nik", "birth_date": "birth_date"}
#: Columns the verifier fills in.
VERIFIER_COLUMNS = ("decision", "verified_value", "note", "verifier", "visit_date")
#: Columns the check code protects (with ``allowed``): editing any refuses the row.
KEY_COLUMNS = ("item_id", "reason", "family_id", "person_id", "field", "source_family")
_LEADING = (
    "item_id",
    "village_code",
    "village_name",
    "district_code",
    "family_id",
    "person_id",
    "source_family",
    "reason",
    "field",
    "chosen_value",
    "detail",
    "allowed",
)
_PLACE = ("village_code", "village_name", "district_code")
INSTRUCTIONS_SHEET = "PETUNJUK"
DECISION_COLUMNS = (
    *KEY_COLUMNS,
    "decision",
    "verified_value",
    "note",
    "verifier",
    "visit_date",
    "file",
    "sheet",
    "row",
)
REJECTED_COLUMNS = ("file", "sheet", "row", "column", "item_id", "problem", "expected")
CHANGE_COLUMNS = (
    "item_id",
    "reason",
    "decision",
    "person_id",
    "family_id",
    "new_person_id",
    "change",
)
_PERSON_ID = re.compile(r"P(\d{10})")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_EDITABLE_FILL = "FFF2CC"


# --------------------------------------------------------------------------- items


def worklist_items(
    persons: pd.DataFrame,
    families: pd.DataFrame,
    conflicts: pd.DataFrame | None,
    transitions: pd.DataFrame | None,
    records: pd.DataFrame,
    sources: Mapping[str, pd.DataFrame],
    *,
    backbone: str = "regsosek",
    uncertain_below: float = 0.9,
    dtks: str = "dtks",
) -> pd.DataFrame:
    """The verval items of the assembly tables, one row per item.

    Parameters
    ----------
    persons, families, records, conflicts
        Assembly tables (:mod:`bansos_linkage.assembly`); ``conflicts`` may be None.
    transitions
        One row per DTKS family with ``source_family``, ``transition`` (items for
        ``"drop"``), optionally ``reason`` and ``family_id`` (else the DTSEN family of
        most of its DTKS records); may be None.
    sources
        Source name -> standardised records (``record_id``, ``full_name``, ``nik``,
        ``birth_date``), in the order their columns are shown.
    backbone
        The source whose families are the frame (``member_not_found``).
    uncertain_below
        ``uncertain_link`` items for persons whose ``weakest_link`` is below it.
    dtks
        The source whose families can drop out or miss members.

    Returns
    -------
    pandas.DataFrame
        ``item_id`` (``W`` + 12 hex digits of a hash of the reason and ids: stable
        across runs), place (``village_code``, ``village_name``, ``district_code``),
        ids, ``reason``, ``field``, ``chosen_value``, ``detail``, ``allowed``,
        ``name_<source>`` / ``nik_<source>`` / ``birth_date_<source>``, empty
        verifier columns and an empty ``check`` (filled by :func:`write_worklists`).
        Sorted by village, family, person, reason and item id.
    """
    _require(persons, "persons", ("person_id", "family_id", "weakest_link"))
    _require(families, "families", ("family_id", "village_code", "village_name"))
    _require(records, "records", ("source", "record_id", "person_id", "family_id"))
    parts = [
        _uncertain_items(persons, uncertain_below),
        _conflict_items(conflicts, persons, records),
        _drop_items(transitions, records, dtks),
        _missing_member_items(persons, records, backbone, dtks),
    ]
    items = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    items["item_id"] = _item_ids(items)
    items = _add_places(items.drop(columns="key"), families)
    items = _add_source_values(items, records, sources)
    for col in VERIFIER_COLUMNS:
        items[col] = ""
    items["check"] = ""
    order = items.sort_values(
        ["village_code", "family_id", "person_id", "reason", "item_id"], kind="stable"
    )
    shown = [c for c in items if c not in _LEADING and c not in (*VERIFIER_COLUMNS, "check")]
    return order[[*_LEADING, *shown, *VERIFIER_COLUMNS, "check"]].reset_index(drop=True)


def _require(table: pd.DataFrame, name: str, columns: Iterable[str]) -> None:
    for col in columns:
        if col not in table:
            raise InputError(f"the {name} table has no column {col!r}", column=col)


def _text(values: pd.Series | np.ndarray | Sequence[object]) -> pd.Series:
    """Values as plain stripped strings, "" for missing, dates as ISO dates; on a new
    range index. Vectorised for typed and all-text columns (big tables)."""
    series = pd.Series(values.to_numpy() if isinstance(values, pd.Series) else list(values))
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) not in (
        "string",
        "empty",
    ):
        return pd.Series([_as_text(v) for v in series.tolist()], dtype=object)
    text = series.astype("string") if series.dtype == object else _column_text(series)
    return text.fillna("").str.strip().astype(object)


def _as_text(value: object) -> str:
    if isinstance(value, (list, tuple, np.ndarray)):
        return ";".join(sorted(_as_text(v) for v in value))
    text = _cell_text(value)
    return "" if text is None else str(text).strip()


def _frame(**columns: object) -> pd.DataFrame:
    """An item part: the given columns, the others of an item empty."""
    frame = pd.DataFrame(columns)
    for col in ("person_id", "family_id", "source_family", "field", "chosen_value", "key"):
        if col not in frame:
            frame[col] = ""
    return frame


def _uncertain_items(persons: pd.DataFrame, below: float) -> pd.DataFrame:
    weakest = pd.to_numeric(persons["weakest_link"], errors="coerce")
    chosen = persons[(weakest < below).to_numpy(dtype=bool)]
    link = weakest[chosen.index].to_numpy(dtype=float)
    sources = _text(chosen["sources"]) if "sources" in chosen else pd.Series([""] * len(chosen))
    return _frame(
        reason="uncertain_link",
        person_id=_text(chosen["person_id"]),
        family_id=_text(chosen["family_id"]),
        detail=[f"weakest link {p:.3f} ({s})" for p, s in zip(link, sources, strict=True)],
        allowed=" / ".join(ALLOWED["uncertain_link"]),
    )


def _conflict_items(
    conflicts: pd.DataFrame | None, persons: pd.DataFrame, records: pd.DataFrame
) -> pd.DataFrame:
    if conflicts is None or conflicts.empty:
        return _frame(reason=[], detail=[], allowed=[])
    _require(conflicts, "conflicts", ("kind", "person_id"))
    chosen = _joined_conflicts(conflicts, records)
    if not chosen.all():
        logger.info(
            "%d conflicts left out: not a field conflict nor records joined in one "
            "person (collisions, refused links)",
            int((~chosen).sum()),
        )
    conflicts = conflicts[chosen.to_numpy()]
    kind = _text(conflicts["kind"])
    person = _text(conflicts["person_id"])
    field = _text(conflicts["field"]) if "field" in conflicts else pd.Series([""] * len(person))
    field = field.where(kind == "field", "")
    by_person = persons.set_index(_text(persons["person_id"]).to_numpy())
    family = _text(conflicts["family_id"]) if "family_id" in conflicts else None
    fallback = _text(by_person["family_id"].reindex(person).to_numpy())
    family = fallback if family is None else family.where(family != "", fallback)
    return _frame(
        reason="conflict",
        person_id=person,
        family_id=family,
        field=field,
        chosen_value=[_chosen(by_person, p, f) for p, f in zip(person, field, strict=True)],
        detail=_text(conflicts["detail"]) if "detail" in conflicts else "",
        allowed=[" / ".join(ALLOWED[k]) for k in kind],
        key=_text(conflicts["record_ids"]) if "record_ids" in conflicts else "",
    )


def _joined_conflicts(conflicts: pd.DataFrame, records: pd.DataFrame) -> pd.Series:
    """Field conflicts where sources disagree (a value given in one source only, the
    others empty, stays in conflicts.csv: nothing to decide on a visit), and transitive
    ones whose records are all in their person (a refused link or a collision left the
    records apart: nothing to split)."""
    kind = _text(conflicts["kind"])
    detail = _text(conflicts["detail"]) if "detail" in conflicts else pd.Series([""] * len(kind))
    disagree = (kind == "field") & ~detail.str.startswith("only in").to_numpy()
    if "record_ids" not in conflicts:
        return disagree | (kind == "transitive")
    ids = pd.DataFrame(
        {
            "n": range(len(kind)),
            "rid": _text(conflicts["record_ids"]).str.split(";"),
            "pid": _text(conflicts["person_id"]).to_numpy(),
        }
    ).explode("rid")
    owner = pd.DataFrame(
        {
            "rid": _text(records["record_id"]).to_numpy(),
            "owner": _text(records["person_id"]).to_numpy(),
        }
    )
    ids = ids.merge(owner, on="rid", how="left")
    all_inside = (ids["owner"] == ids["pid"]).groupby(ids["n"]).all()
    inside = all_inside.reindex(range(len(kind)), fill_value=False).to_numpy()
    return disagree | ((kind == "transitive") & inside)


def _chosen(by_person: pd.DataFrame, person_id: str, field: str) -> str:
    if not field or field not in by_person or person_id not in by_person.index:
        return ""
    value = by_person.loc[person_id, field]
    return _as_text(value.iloc[0] if isinstance(value, pd.Series) else value)


def _drop_items(transitions: pd.DataFrame | None, records: pd.DataFrame, dtks: str) -> pd.DataFrame:
    if transitions is None or transitions.empty:
        return _frame(reason=[], detail=[], allowed=[])
    _require(transitions, "transitions", ("source_family", "transition"))
    drops = transitions[_text(transitions["transition"]).to_numpy() == "drop"]
    kk = _text(drops["source_family"])
    mine = records[_text(records["source"]).to_numpy() == dtks]
    own = _text(mine["source_family"]) if "source_family" in mine else _text([""] * len(mine))
    ids = pd.DataFrame(
        {
            "kk": own.to_numpy(),
            "rid": _text(mine["record_id"]).to_numpy(),
            "fam": _text(mine["family_id"]).to_numpy(),
        }
    )
    keys = ids.sort_values("rid").groupby("kk")["rid"].agg(";".join)
    # the DTSEN family most of its DTKS records are in (ties: the lowest id)
    counts = ids.groupby(["kk", "fam"]).size().rename("n").reset_index()
    ranked = counts.sort_values(["kk", "n", "fam"], ascending=[True, False, True])
    main = ranked.drop_duplicates("kk").set_index("kk")["fam"]
    family = _text(main.reindex(kk).fillna("").to_numpy())
    if "family_id" in drops:
        given = _text(drops["family_id"])
        family = given.where(given != "", family)
    why = _text(drops["reason"]) if "reason" in drops else pd.Series([""] * len(drops))
    places = {c: _text(drops[c]) for c in _PLACE if c in drops}  # where the family counts
    return _frame(
        **places,
        reason="drop_out",
        family_id=family,
        source_family=kk,
        detail=["DTKS family leaving" + (f": {w}" if w else "") for w in why],
        allowed=" / ".join(ALLOWED["drop_out"]),
        key=_text(keys.reindex(kk).fillna("").to_numpy()),
    )


def _missing_member_items(
    persons: pd.DataFrame, records: pd.DataFrame, backbone: str, dtks: str
) -> pd.DataFrame:
    source = _text(records["source"]).to_numpy()
    person = _text(records["person_id"]).to_numpy()
    on_backbone = set(person[source == backbone])
    families_with_backbone = set(_text(records["family_id"]).to_numpy()[source == backbone])
    in_dtks = set(person[source == dtks])
    pid = _text(persons["person_id"])
    fam = _text(persons["family_id"])
    chosen = (
        pid.isin(in_dtks).to_numpy()
        & ~pid.isin(on_backbone).to_numpy()
        & fam.isin(families_with_backbone).to_numpy()
    )
    return _frame(
        reason="member_not_found",
        person_id=pid[chosen].to_numpy(),
        family_id=fam[chosen].to_numpy(),
        detail=f"in a {dtks} family, not among its {backbone} members",
        allowed=" / ".join(ALLOWED["member_not_found"]),
    )


def _item_ids(items: pd.DataFrame) -> list[str]:
    """``W`` + 12 hex digits of a hash of the reason and ids (no personal data in it):
    the same item gets the same id in every run; a repeat gets ``-2``, ``-3``..."""
    base = [
        "W" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12].upper()
        for parts in zip(
            *(items[c].astype(str) for c in ("reason", *KEY_COLUMNS[2:], "key")), strict=True
        )
    ]
    seen: dict[str, int] = {}
    out = []
    for item in base:
        seen[item] = seen.get(item, 0) + 1
        out.append(item if seen[item] == 1 else f"{item}-{seen[item]}")
    return out


def _add_places(items: pd.DataFrame, families: pd.DataFrame) -> pd.DataFrame:
    """The village of each item's family, unless the item has its own (a transition)."""
    place = families.set_index(_text(families["family_id"]).to_numpy())
    for col in _PLACE:
        values = place[col] if col in place else pd.Series("", index=place.index)
        of_family = _text(values.reindex(items["family_id"]).to_numpy())
        own = _text(items[col]) if col in items else of_family
        items[col] = own.where(own != "", of_family).to_numpy()
    return items


def _add_source_values(
    items: pd.DataFrame, records: pd.DataFrame, sources: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """``name_<source>``, ``nik_<source>``, ``birth_date_<source>`` of each item's
    person: the distinct values of its records in that source, joined by `` / ``."""
    wanted = set(items["person_id"]) - {""}
    mine = records[_text(records["person_id"]).isin(wanted).to_numpy()]
    frames = []
    for name, frame in sources.items():
        cols = [f for f in SHOWN_FIELDS if f in frame]
        values = frame[["record_id", *cols]].copy()
        values["record_id"] = _text(values["record_id"]).to_numpy()
        part = mine[_text(mine["source"]).to_numpy() == name]
        part = pd.DataFrame(
            {
                "person_id": _text(part["person_id"]).to_numpy(),
                "record_id": _text(part["record_id"]).to_numpy(),
            }
        ).merge(values, on="record_id", how="left")
        for field in SHOWN_FIELDS:
            shown = _text(part[field]) if field in part else _text([""] * len(part))
            per = pd.DataFrame({"p": part["person_id"].to_numpy(), "v": shown.to_numpy()})
            joined = per[per["v"] != ""].drop_duplicates().groupby("p", sort=False)["v"]
            frames.append(joined.agg(" / ".join).rename(f"{SHOWN_FIELDS[field]}_{name}"))
    for column in frames:
        items[column.name] = column.reindex(items["person_id"]).fillna("").to_numpy()
    return items


# --------------------------------------------------------------------------- writing


def write_worklists(
    items: pd.DataFrame,
    out_dir: str | Path,
    *,
    by: Literal["village", "district"] = "village",
    secret_key: bytes,
) -> list[Path]:
    """Write the items as Excel workbooks safe to open, one per village or district.

    ``by="village"``: ``verval_desa_<village_code>.xlsx``, one sheet. ``by="district"``:
    ``verval_kecamatan_<district_code>.xlsx``, one sheet per village (named by its
    code). Each workbook starts with the sheet ``PETUNJUK`` (instructions in
    Indonesian and English). Every cell is text (``@``): a value starting with
    ``= + - @`` gets a leading apostrophe (:func:`~bansos_linkage.io.defuse_formulas`)
    and NIKs keep 16 digits; the ``decision`` cells have a dropdown of the row's
    allowed decisions. ``check`` is an HMAC under ``secret_key`` of the row's ids,
    reason and allowed decisions. All files appear at once (or none).

    Returns
    -------
    list of Path
        The workbooks written, sorted.
    """
    if by not in ("village", "district"):
        raise UsageError("expected 'village' or 'district'", option="by")
    _check_key(secret_key)
    _require(items, "items", (*_LEADING, *VERIFIER_COLUMNS))
    sheet = items.copy()
    sheet["check"] = _checks(sheet, secret_key)
    group = "village_code" if by == "village" else "district_code"
    prefix = "verval_desa_" if by == "village" else "verval_kecamatan_"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    books = {
        out / f"{prefix}{_safe_name(code)}.xlsx": part
        for code, part in sheet.groupby(sheet[group].astype(str), sort=True)
    }
    if len(books) != sheet[group].astype(str).nunique():
        raise UsageError(f"two {group}s give the same file name", option="items")
    paths = sorted(books)
    with atomic_files(*paths) as temps:
        for temp, path in zip(temps, paths, strict=True):
            _write_book(books[path], temp)
    logger.info("wrote %d worklist items in %d workbooks", len(sheet), len(paths))
    return paths


def _check_key(secret_key: bytes) -> None:
    if not isinstance(secret_key, bytes) or len(secret_key) < 16:
        raise UsageError("expected a secret of at least 16 bytes", option="secret_key")


def _checks(items: pd.DataFrame, key: bytes) -> list[str]:
    rows = zip(*(items[c].astype(str) for c in (*KEY_COLUMNS, "allowed")), strict=True)
    return [_row_check(key, *row) for row in rows]


def _row_check(key: bytes, item_id: str, reason: str, *rest: str) -> str:
    # the review sheets' HMAC: "worklist" in place of a batch id, the rest as one message
    return check_code(key, "worklist", 0, item_id, json.dumps([reason, *rest]))


def _safe_name(code: str) -> str:
    code = code.strip()
    return _SAFE_NAME.sub("_", code) if code else "tanpa_kode"


def _write_book(items: pd.DataFrame, path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    _write_instructions(book.active)
    for code, part in items.groupby(items["village_code"].astype(str), sort=True):
        title = _safe_name(code)[:31]
        _write_sheet(book.create_sheet(title), part)
    book.save(path)


def _write_sheet(ws: Worksheet, items: pd.DataFrame) -> None:
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    columns = list(items.columns)
    safe = defuse_formulas(items.astype(object).map(_as_text).astype(object))
    ws.append(columns)
    for row in safe.itertuples(index=False):
        ws.append([v if v != "" else None for v in row])
    for cells in ws.iter_rows(min_row=1):
        for cell in cells:
            if cell.value is not None:
                cell.data_type = "s"  # text, never a formula or a number
            cell.number_format = "@"
    fill = PatternFill("solid", fgColor=_EDITABLE_FILL)
    for i, name in enumerate(columns, start=1):
        ws.cell(1, i).font = Font(bold=True)
        width = max([len(name), *(len(v) for v in safe[name].astype(str))])
        ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 40)
        if name in VERIFIER_COLUMNS:
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.fill = fill
    _add_dropdowns(ws, items["allowed"].astype(str).tolist(), columns.index("decision") + 1)
    ws.freeze_panes = "B2"


def _add_dropdowns(ws: Worksheet, allowed: list[str], column: int) -> None:
    """One list validation per set of allowed decisions, on the rows that allow it."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    letter = get_column_letter(column)
    for choice in sorted(set(allowed)):
        options = ",".join(d.strip() for d in choice.split("/"))
        rule = DataValidation(type="list", formula1=f'"{options}"', allow_blank=True)
        rule.showErrorMessage = True
        rule.errorTitle = "Keputusan tidak sah / invalid decision"
        rule.error = f"Pilih / choose: {options}"
        for i, value in enumerate(allowed):
            if value == choice:
                rule.add(f"{letter}{i + 2}")
        ws.add_data_validation(rule)


def _write_instructions(ws: Worksheet) -> None:
    from openpyxl.styles import Font

    ws.title = INSTRUCTIONS_SHEET
    lines = [
        ["PETUNJUK VERVAL / VERVAL INSTRUCTIONS"],
        [],
        [
            "Kunjungi setiap keluarga/orang pada lembar desa, lalu isi kolom kuning: decision "
            "(pilih dari daftar), verified_value (hanya untuk 'correct'), note, verifier, "
            "visit_date (YYYY-MM-DD)."
        ],
        [
            "Visit each family or person on the village sheet, then fill in the yellow columns: "
            "decision (pick from the list), verified_value (only for 'correct'), note, "
            "verifier, visit_date (YYYY-MM-DD)."
        ],
        [
            "Jangan ubah kolom lain (item_id, reason, family_id, person_id, field, "
            "source_family, allowed, check): baris yang diubah akan ditolak."
        ],
        [
            "Do not edit the other columns (item_id, reason, family_id, person_id, field, "
            "source_family, allowed, check): an edited row is refused."
        ],
        [
            "verified_value: NIK 16 angka/digits; tanggal lahir/birth date YYYY-MM-DD, tidak di "
            "masa depan/not in the future; jenis kelamin/sex M (L) atau/or F (P)."
        ],
        [],
        ["reason", "arti", "meaning", "decision", "arti keputusan", "meaning of the decision"],
    ]
    for reason, kinds in (
        ("uncertain_link", ("uncertain_link",)),
        ("conflict", ("field", "transitive")),
        ("drop_out", ("drop_out",)),
        ("member_not_found", ("member_not_found",)),
    ):
        for kind in kinds:
            for decision in ALLOWED[kind]:
                lines.append(
                    [reason, *REASONS[reason], decision, *DECISION_MEANINGS[kind, decision]]
                )
    for row in lines:
        ws.append(row)
    for cells in ws.iter_rows():
        for cell in cells:
            cell.data_type = "s"
    ws["A1"].font = Font(bold=True)
    for col, width in zip("ABCDEF", (18, 50, 50, 14, 40, 40), strict=True):
        ws.column_dimensions[col].width = width


# --------------------------------------------------------------------------- reading


def read_worklists(
    paths: Sequence[str | Path], *, secret_key: bytes
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The verifiers' decisions from filled worklists, each filled row checked.

    Rows with no decision and nothing else filled were not visited: skipped, counted
    in ``decisions.attrs["skipped"]``. Every other row is a decision or rejected:
    its check code does not verify under ``secret_key`` (ids, reason or allowed
    decisions edited, a row made up); no decision though other cells are filled; a
    decision not allowed for the item; a ``verified_value`` that is missing or
    invalid for ``correct`` (NIK: 16 digits; birth date: a day, not in the future;
    sex: M/F, L/P accepted) or given with another decision; a bad ``visit_date``; or
    an item decided differently in another row (all its rows are rejected). An item
    decided alike twice is kept once (``decisions.attrs["repeated"]`` counts them).

    Returns
    -------
    (decisions, rejected)
        ``decisions``: :data:`DECISION_COLUMNS`, values normalised (decision in
        lower case, NIK digits, ISO dates, M/F). ``rejected``: :data:`REJECTED_COLUMNS`,
        ``row`` the Excel row number.

    Raises
    ------
    InputError
        A file that is missing or not an Excel workbook.
    """
    _check_key(secret_key)
    rows: list[dict[str, object]] = []
    rejected: list[dict[str, object]] = []
    skipped = 0
    for path in paths:
        for sheet, table, missing in _sheets(Path(path)):
            if missing:
                rejected.append(
                    _reject(
                        path,
                        sheet,
                        1,
                        missing,
                        "",
                        "missing column",
                        "the columns of a verval worklist",
                    )
                )
                continue
            skipped += _read_rows(table, Path(path), sheet, secret_key, rows, rejected)
    decisions = pd.DataFrame(rows, columns=list(DECISION_COLUMNS))
    decisions = _validate_values(decisions, rejected)
    decisions, repeated = _one_per_item(decisions, rejected)
    decisions = decisions.reset_index(drop=True)
    decisions.attrs.update(skipped=skipped, repeated=repeated)
    out = pd.DataFrame(rejected, columns=list(REJECTED_COLUMNS))
    out = out.sort_values(["file", "sheet", "row"], kind="stable").reset_index(drop=True)
    logger.info(
        "worklists: %d decisions, %d rejected rows, %d rows not yet visited",
        len(decisions),
        len(out),
        skipped,
    )
    return decisions, out


def _sheets(path: Path) -> Iterable[tuple[str, list[tuple[int, dict[str, str]]], str]]:
    """Each data sheet: its name, its rows (Excel row number, column -> text) and the
    first required column it lacks ("" when none)."""
    from openpyxl import load_workbook

    if not path.is_file():
        raise InputError("file not found", file=path)
    try:
        book = load_workbook(path, data_only=False)  # a typed formula comes back as its text
    except Exception as exc:  # zip/xml errors from openpyxl
        raise InputError(
            f"not a readable Excel workbook ({type(exc).__name__})", file=path
        ) from None
    for ws in book.worksheets:
        if ws.title == INSTRUCTIONS_SHEET:
            continue
        grid = ws.iter_rows(values_only=True)
        header = [_as_text(v) for v in next(grid, ())]
        need = (*KEY_COLUMNS, "allowed", *VERIFIER_COLUMNS, "check")
        missing = next((c for c in need if c not in header), "")
        rows = [
            (number, {h: undefuse(_as_text(v)) for h, v in zip(header, values, strict=False)})
            for number, values in enumerate(grid, start=2)
        ]
        yield ws.title, rows, missing


def _reject(
    path: object, sheet: str, row: int, column: str, item: str, problem: str, expected: str
) -> dict[str, object]:
    return {
        "file": str(path),
        "sheet": sheet,
        "row": row,
        "column": column,
        "item_id": item,
        "problem": problem,
        "expected": expected,
    }


def _read_rows(
    table: list[tuple[int, dict[str, str]]],
    path: Path,
    sheet: str,
    key: bytes,
    rows: list[dict[str, object]],
    rejected: list[dict[str, object]],
) -> int:
    """Check each filled row's code and decision; returns the rows not yet visited."""
    skipped = 0
    for number, cells in table:
        item = cells.get("item_id", "")
        filled = [c for c in VERIFIER_COLUMNS if cells.get(c, "")]
        if not filled:
            skipped += bool(item)
            continue
        allowed = tuple(d.strip() for d in cells.get("allowed", "").split("/"))
        decision = re.sub(r"[\s_-]+", "_", cells.get("decision", "").strip().lower())
        expected = "one of " + ", ".join(allowed)
        problem = None
        if not hmac.compare_digest(
            _row_check(key, *(cells.get(c, "") for c in (*KEY_COLUMNS, "allowed"))),
            cells.get("check", "").strip().lower(),
        ):
            problem = (
                "check",
                "the check code does not verify (ids, reason or allowed "
                "decisions edited, or a row not exported with this key)",
                "the row as exported",
            )
        elif not decision:
            problem = ("decision", "filled row without a decision", expected)
        elif decision not in allowed:
            problem = ("decision", "decision not allowed for this item", expected)
        if problem:
            rejected.append(_reject(path, sheet, number, problem[0], item, *problem[1:]))
            continue
        record: dict[str, object] = {c: cells.get(c, "") for c in DECISION_COLUMNS[:-3]}
        record.update(decision=decision, file=str(path), sheet=sheet, row=number)
        rows.append(record)
    return skipped


def _validate_values(decisions: pd.DataFrame, rejected: list[dict[str, object]]) -> pd.DataFrame:
    """``verified_value`` and ``visit_date`` checked and normalised; bad rows rejected."""
    value = decisions["verified_value"].astype(str)
    correct = (decisions["decision"] == "correct").to_numpy()
    problems = pd.Series("", index=decisions.index, dtype=object)
    expect = pd.Series("", index=decisions.index, dtype=object)
    problems[~correct & (value != "").to_numpy()] = (
        "a verified_value with a decision other than correct"
    )
    expect[~correct & (value != "").to_numpy()] = "empty (or decision correct)"
    problems[correct & (value == "").to_numpy()] = "decision correct without a verified_value"
    expect[correct & (value == "").to_numpy()] = "the right value"
    normal = value.copy()
    fields = decisions["field"].astype(str)
    for field, (check, wanted) in _VALUE_CHECKS.items():
        mask = correct & (fields == field).to_numpy() & (value != "").to_numpy()
        if mask.any():
            good = check(value[mask])
            normal[mask] = good.fillna("").to_numpy()
            bad = good.isna().reindex(decisions.index, fill_value=False).to_numpy(dtype=bool)
            problems[bad] = f"not a valid {field}"
            expect[bad] = wanted
    decisions = decisions.assign(verified_value=normal)
    visit = decisions["visit_date"].astype(str)
    given = (visit != "").to_numpy()
    if given.any():
        day = _valid_day(visit[given])
        decisions.loc[given, "visit_date"] = day.fillna("").to_numpy()
        bad = given.copy()
        bad[given] = day.isna().to_numpy()
        late = bad & (problems == "").to_numpy()
        problems[late] = "not a valid visit date"
        expect[late] = "a date YYYY-MM-DD, not in the future"
    bad = (problems != "").to_numpy()
    for i in np.flatnonzero(bad):
        row = decisions.iloc[i]
        column = "visit_date" if problems.iloc[i] == "not a valid visit date" else "verified_value"
        rejected.append(
            _reject(
                row["file"],
                row["sheet"],
                row["row"],
                column,
                row["item_id"],
                problems.iloc[i],
                expect.iloc[i],
            )
        )
    return decisions[~bad]


def _valid_nik(values: pd.Series) -> pd.Series:
    clean = standardise_nik(values.astype("string"))["nik"]
    return clean.where(clean.str.fullmatch(r"\d{16}").fillna(False).astype(bool))


def _valid_day(values: pd.Series) -> pd.Series:
    parsed = standardise_date(values.astype("string"), reference_date=dt.date.today())
    ok = parsed["problem"].isna() & (parsed["date_precision"] == "day").fillna(False)
    return parsed["date"].dt.strftime("%Y-%m-%d").astype(object).where(ok.to_numpy(dtype=bool))


def _valid_sex(values: pd.Series) -> pd.Series:
    sex = standardise_sex(values.astype("string"))["sex"]
    return sex.astype(object).where(sex.notna())


_VALUE_CHECKS = {
    "nik": (_valid_nik, "16 digits"),
    "birth_date": (_valid_day, "a date YYYY-MM-DD, not in the future"),
    "sex": (_valid_sex, "M or F (L or P)"),
}


def _one_per_item(
    decisions: pd.DataFrame, rejected: list[dict[str, object]]
) -> tuple[pd.DataFrame, int]:
    """One row per item: alike repeats dropped (counted), contradicting ones rejected."""
    what = decisions["decision"] + "\x1f" + decisions["verified_value"].astype(str)
    variants = what.groupby(decisions["item_id"]).transform("nunique")
    clash = (variants > 1).to_numpy()
    for i in np.flatnonzero(clash):
        row = decisions.iloc[i]
        others = decisions[(decisions["item_id"] == row["item_id"]) & (what != what.iloc[i])]
        where = "; ".join(
            f"{o['file']} sheet {o['sheet']} row {o['row']}" for _, o in others.iterrows()
        )
        rejected.append(
            _reject(
                row["file"],
                row["sheet"],
                row["row"],
                "decision",
                row["item_id"],
                f"item decided differently in {where}",
                "one decision per item",
            )
        )
    kept = decisions[~clash]
    unique = kept.drop_duplicates("item_id", keep="first")
    return unique, len(kept) - len(unique)


# --------------------------------------------------------------------------- applying


def apply_decisions(
    records: pd.DataFrame,
    persons: pd.DataFrame,
    family_links: pd.DataFrame,
    decisions: pd.DataFrame,
    *,
    backbone: str = "regsosek",
    dtks: str = "dtks",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Apply verval decisions to the register, without re-linking.

    - ``different`` (``uncertain_link`` or transitive ``conflict``): the person's
      records of every source but the backbone (without a backbone record: but the
      first of its ``sources``) move to a new person ``P`` + 10 digits, numbered after
      the highest id, in the DTSEN family of their source family
      (``family_links``). Chosen field values whose ``<field>_source`` moved go with
      them and are cleared on the person left (choose them again from its records:
      ``changes`` names the fields); a person left with one record gets
      ``weakest_link`` 1.0.
    - ``same`` marks the person ``verified`` and sets ``weakest_link`` to 1.0;
      ``keep`` marks it ``verified``; ``correct`` sets the field to
      ``verified_value`` and ``<field>_source`` to ``"verval"``.
    - ``drop_out``: ``verval_status`` of the family's row of ``family_links``;
      ``member_not_found``: ``verval_status`` of the person.

    Decisions are applied in ``item_id`` order. Applying them again changes nothing.

    Returns
    -------
    (records, persons, family_links, changes)
        Updated copies (``persons`` gains ``verified`` and ``verval_status``,
        ``family_links`` ``verval_status``) and one row per decision that changed
        something (:data:`CHANGE_COLUMNS`; ids and field names, no personal values).

    Raises
    ------
    InputError
        A decision's person is not in ``persons``, a drop-out's family not in
        ``family_links``, a corrected field not in ``persons``, or a decision is not
        one an item allows (naming the item id).
    """
    records, persons, links = records.copy(), persons.copy(), family_links.copy()
    if "verified" not in persons:
        persons["verified"] = False
    for table in (persons, links):
        if "verval_status" not in table:
            table["verval_status"] = pd.Series(pd.NA, index=table.index, dtype="string")
    todo = decisions.sort_values("item_id", kind="stable").fillna("")
    _check_decisions(todo, persons)
    wanted = set(todo["person_id"].astype(str))
    state = _State(
        records, persons.set_index("person_id", drop=False), links, backbone, dtks, wanted
    )
    rows = cast(list[dict[str, object]], todo.to_dict("records"))  # stubs: Hashable keys
    changes = [c for row in rows if (c := state.apply(row))]
    return (
        state.records,
        state.finished_persons(),
        state.links,
        pd.DataFrame(changes, columns=list(CHANGE_COLUMNS)),
    )


def _check_decisions(todo: pd.DataFrame, persons: pd.DataFrame) -> None:
    allowed = {
        **{r: ALLOWED[r] for r in ("uncertain_link", "drop_out", "member_not_found")},
        "conflict": (*ALLOWED["field"], *ALLOWED["transitive"]),
    }
    for row in todo.itertuples(index=False):
        if row.decision not in allowed.get(row.reason, ()):  # type: ignore[arg-type]  # a str
            raise InputError(
                f"item {row.item_id}: decision not allowed for its reason", column="decision"
            )
    known = set(persons["person_id"].astype(str))
    need = todo[todo["reason"] != "drop_out"]
    unknown = need[~need["person_id"].astype(str).isin(known)]
    if len(unknown):
        raise InputError(
            "decisions of items whose person is not in the register (from another "
            f"assembly run?): items {list(unknown['item_id'])[:5]}",
            column="person_id",
        )


class _State:
    """The tables being updated; one method per kind of decision.

    Records and family links are found through position maps made once, so a
    decision costs the size of its person or family, not of the tables."""

    def __init__(
        self,
        records: pd.DataFrame,
        persons: pd.DataFrame,
        links: pd.DataFrame,
        backbone: str,
        dtks: str,
        wanted: set[str],
    ) -> None:
        self.records, self.persons, self.links = records, persons, links
        self.backbone, self.dtks = backbone, dtks
        numbers = persons["person_id"].astype(str).str.extract(f"^{_PERSON_ID.pattern}$")[0]
        highest = pd.to_numeric(numbers, errors="coerce").max(skipna=True)
        self.next_number = (0 if pd.isna(highest) else int(highest)) + 1
        self.new_persons: list[pd.DataFrame] = []
        self.rows = _positions(records["person_id"], wanted)
        # unique column names: get_loc gives each one's position
        self.col = cast(dict[str, int], {c: records.columns.get_loc(c) for c in records.columns})
        link_source = _text(links["source"]).to_numpy()
        link_family = _text(links["source_family"]).to_numpy()
        self.dtks_links = _positions(pd.Series(np.where(link_source == dtks, link_family, "")))
        self.dtks_families = _positions(
            pd.Series(np.where(link_source == dtks, _text(links["family_id"]).to_numpy(), ""))
        )
        self.family_of = dict(
            zip(zip(link_source, link_family, strict=True), links["family_id"], strict=True)
        )

    def apply(self, row: dict[str, object]) -> dict[str, object] | None:
        reason, decision = str(row["reason"]), str(row["decision"])
        pid, new = str(row["person_id"]), ""
        if reason == "drop_out":
            what = self._family_status(row)
        elif reason == "member_not_found":
            what = self._set(pid, "verval_status", decision)
        elif decision == "different":
            what, new = self._split(pid)
        elif decision == "same":
            what = self._set(pid, "verified", True) + self._set(pid, "weakest_link", 1.0)
        elif decision == "keep":
            what = self._set(pid, "verified", True)
        else:
            what = self._correct(row)
        if not what:
            return None
        return {
            "item_id": row["item_id"],
            "reason": reason,
            "decision": decision,
            "person_id": row["person_id"],
            "family_id": row["family_id"],
            "new_person_id": new,
            "change": what.strip("; "),
        }

    def _set(self, pid: str, column: str, value: object) -> str:
        old = self.persons.at[pid, column]
        if not pd.isna(old) and old == value:  # type: ignore[arg-type]  # isna takes any value
            return ""
        self.persons.at[pid, column] = value  # type: ignore[assignment]  # stubs: scalars only
        return f"{column} set; "

    def _correct(self, row: dict[str, object]) -> str:
        pid, field = str(row["person_id"]), str(row["field"])
        if field not in self.persons:
            raise InputError(
                f"item {row['item_id']}: the persons table has no such field", column="field"
            )
        value: object = row["verified_value"]
        if pd.api.types.is_datetime64_any_dtype(self.persons[field]):
            value = pd.Timestamp(str(value))
        what = self._set(pid, field, value)
        source = f"{field}_source"
        if source in self.persons:
            what += self._set(pid, source, "verval")
        return f"{field} corrected" if what else ""

    def _family_status(self, row: dict[str, object]) -> str:
        kk = str(row.get("source_family", ""))
        rows = self.dtks_links.get(kk) if kk else self.dtks_families.get(str(row["family_id"]))
        if rows is None:
            raise InputError(
                f"item {row['item_id']}: its {self.dtks} family is not in family_links "
                "(decisions from another assembly run?)",
                column="source_family",
            )
        column = self.links.columns.get_loc("verval_status")
        status = self.links["verval_status"].iloc[rows]
        todo = rows[(status.isna() | (status != row["decision"])).to_numpy(dtype=bool)]
        if not len(todo):
            return ""
        # (get_loc gives an int here; any value can be set: the stubs know neither)
        self.links.iloc[todo, column] = row["decision"]  # type: ignore[call-overload]
        return f"verval_status set on {len(todo)} family link(s)"

    def _split(self, pid: str) -> tuple[str, str]:
        mine = self.rows.get(pid, np.array([], dtype=int))
        here = self.records["source"].iloc[mine].astype(str).to_numpy()
        if not len(here):
            return "", ""
        order = [s for s in str(self.persons.at[pid, "sources"] or "").split("+") if s]
        order += sorted(set(here) - set(order))
        keep = self.backbone if self.backbone in set(here) else order[0]
        moving = mine[here != keep]
        if not len(moving):
            return "", ""
        moved = [s for s in order if s in set(here[here != keep])]
        new_id = f"P{self.next_number:010d}"
        self.next_number += 1
        family = self._family_of(moving, moved[0])
        self.records.iloc[moving, self.col["person_id"]] = new_id
        self.records.iloc[moving, self.col["family_id"]] = family  # type: ignore[call-overload]  # any value
        self.rows[pid], self.rows[new_id] = mine[here == keep], moving
        cleared = self._new_person(pid, new_id, family, moved, keep)
        note = f"; fields {', '.join(cleared)} cleared on {pid}" if cleared else ""
        return f"records of {', '.join(moved)} moved to {new_id}{note}", new_id

    def _family_of(self, moving: np.ndarray, source: str) -> object:
        """The DTSEN family of the moved records' source family (of its first source)."""
        if "source_family" not in self.col:
            return pd.NA
        part = self.records.iloc[moving]
        first = part[part["source"].astype(str) == source]["source_family"]
        return self.family_of.get((source, _as_text(first.iloc[0])), pd.NA)

    def _new_person(
        self, pid: str, new_id: str, family: object, moved: list[str], keep: str
    ) -> list[str]:
        """Add the split-off person; chosen values of the moved sources go with it."""
        new = self.persons.loc[[pid]].copy()
        new.index = pd.Index([new_id], dtype=self.persons.index.dtype)
        # (the stubs take neither a row label with a column list nor a list of values)
        new.loc[new_id, ["person_id", "family_id", "sources"]] = [new_id, family, "+".join(moved)]  # type: ignore[index,assignment]
        new.loc[new_id, "verified"] = False
        new.loc[new_id, "verval_status"] = pd.NA
        cleared = []
        names = cast("Iterable[str]", new)  # its column names
        for col in [c for c in names if c.endswith("_source") and c[: -len("_source")] in new]:
            field, origin = col[: -len("_source")], self.persons.at[pid, col]
            if not pd.isna(origin) and origin in moved:  # type: ignore[arg-type]  # any value
                self.persons.loc[pid, [field, col]] = pd.NA
                cleared.append(field)
            else:
                new.loc[new_id, [field, col]] = pd.NA
        self.persons.at[pid, "sources"] = keep
        self._recount(self.persons, pid)
        self._recount(new, new_id)
        self.new_persons.append(new)  # added at the end: one concat, not one per split
        return cleared

    def _recount(self, persons: pd.DataFrame, pid: str) -> None:
        """``n_records``, and for a person of one record no link left to doubt."""
        mine = self.rows[pid]
        if "n_records" in persons:
            persons.at[pid, "n_records"] = len(mine)
        if len(mine) <= 1:
            persons.at[pid, "weakest_link"] = 1.0
            if "link_probability" in self.col:
                self.records.iloc[mine, self.col["link_probability"]] = np.nan

    def finished_persons(self) -> pd.DataFrame:
        return pd.concat([self.persons, *self.new_persons]).reset_index(drop=True)


def _positions(keys: pd.Series, wanted: set[str] | None = None) -> dict[str, np.ndarray]:
    """Key -> row positions holding it (of the ``wanted`` keys only, when given)."""
    text = _text(keys)
    take = np.flatnonzero(text.isin(wanted).to_numpy() if wanted is not None else text != "")
    groups = pd.Series(take).groupby(text.to_numpy()[take]).indices
    return {key: take[pos] for key, pos in groups.items()}  # type: ignore[misc]  # str keys


__all__ = [
    "ALLOWED",
    "CHANGE_COLUMNS",
    "DECISION_COLUMNS",
    "DECISION_MEANINGS",
    "INSTRUCTIONS_SHEET",
    "KEY_COLUMNS",
    "REASONS",
    "REJECTED_COLUMNS",
    "SHOWN_FIELDS",
    "VERIFIER_COLUMNS",
    "apply_decisions",
    "read_worklists",
    "worklist_items",
    "write_worklists",
]
