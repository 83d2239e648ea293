"""Read and write register exports: CSV, Parquet and Excel, never losing a row.

Every value is read as text so that ids, NIKs and KK numbers keep their leading
zeros; empty cells become ``<NA>``. Each table read from a file carries, in
``DataFrame.attrs``, the file name and the spreadsheet row number of its first
data row so that later stages can point a person at the exact row.

A folder of Parquet files (a partitioned dataset: ``province=11/part-0.parquet``,
hive style, or flat ``*.parquet``) is read as one table, its files in the order of
their paths; ``DataFrame.attrs[ATTR_PARTS]`` then lists each file and its number of
rows, and :func:`locate_rows` turns a row of the table into a file and its row there.
"""

from __future__ import annotations

import csv
import datetime as dt
import io as _io
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from bansos_linkage.errors import InputError

#: ``DataFrame.attrs`` keys set by :func:`read_table`.
ATTR_SOURCE = "bansos_source"
ATTR_FIRST_ROW = "bansos_first_row"
#: ``DataFrame.attrs`` key of a table read from a folder of Parquet files: a list of
#: ``[file, rows]``, in the order the files were read (see :func:`locate_rows`).
ATTR_PARTS = "bansos_parts"
#: The value of a hive partition key that stands for a missing value.
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"

TEXT_DTYPE = pd.StringDtype()
CSV_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
_DELIMITERS = ",;\t|"
_SNIFF_CHARS = 1 << 20  # the delimiter is judged on the first MiB
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")  # latin-1 decodes any byte: the last resort
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def read_table(
    path: str | Path,
    *,
    sheet: str | int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> pd.DataFrame:
    """Read a CSV, Parquet or Excel export with every value as text.

    Parameters
    ----------
    path
        ``.csv``/``.txt``/``.tsv``, ``.parquet`` or ``.xlsx`` file, or a folder of
        Parquet files (a partitioned dataset, :func:`read_parquet_folder`).
    sheet
        Excel sheet name or 0-based position; the first sheet by default.
    encoding
        CSV encoding; by default UTF-16 when the file starts with its byte-order mark,
        else UTF-8 (with or without BOM), then cp1252, then latin-1. A file of binary
        data under a CSV name (NUL bytes) is refused, not decoded.
    delimiter
        CSV delimiter; by default sniffed among ``, ; TAB |``.

    Returns
    -------
    pandas.DataFrame
        Text columns (``string`` dtype) with ``<NA>`` for empty cells.

    Raises
    ------
    InputError
        When the file is missing, of an unknown type, or malformed (naming the row).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("id;nik\\n001;0012\\n", encoding="utf-8")
    >>> read_table(p)["nik"].tolist()
    ['0012']
    """
    path = Path(path)
    if path.is_dir():
        return read_parquet_folder(path)
    if not path.is_file():
        raise InputError("file not found", file=path)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        df, first_row = _read_csv(path, encoding, delimiter), 2
    elif suffix in PARQUET_SUFFIXES:
        df, first_row = _read_parquet(path), 1
    elif suffix in EXCEL_SUFFIXES:
        df, first_row = _read_excel(path, sheet), 2
    else:
        raise InputError("unknown file type; expected .csv, .parquet or .xlsx", file=path)
    _check_header(df, path)
    df.attrs[ATTR_SOURCE] = str(path)
    df.attrs[ATTR_FIRST_ROW] = first_row
    return df


def read_parquet_folder(folder: str | Path) -> pd.DataFrame:
    """Read a folder of Parquet files (a partitioned dataset) as one table of text.

    Every ``.parquet`` file under ``folder``, in the order of their paths (hidden
    files and those starting with ``_``, such as ``_SUCCESS``, left out), read with
    :mod:`pyarrow.dataset` one file at a time so an error names its file. Hive-style
    folder names (``province=11/``) add their key as a column of text (unless the
    file has that column), ``__HIVE_DEFAULT_PARTITION__`` read as missing. Every
    file must have the same columns (in any order); the table has the first file's
    order. ``DataFrame.attrs[ATTR_PARTS]`` lists ``[file, rows]`` of each file, so
    :func:`locate_rows` names a row's file and its row there.

    Raises
    ------
    InputError
        When the folder holds no Parquet file or a file of another type, a file is
        not readable Parquet, or a file's columns differ from the first file's
        (naming the file).
    """
    import pyarrow.dataset as ds

    folder = Path(folder)
    files = dataset_files(folder)
    tables = []
    counts: list[list[Any]] = []
    first: list[str] | None = None
    for path in files:
        try:
            table = ds.dataset(path, format="parquet").to_table()
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise InputError(
                f"not a readable Parquet file ({type(exc).__name__})", file=path
            ) from None
        df = _as_text(table.to_pandas())
        _check_header(df, path)
        for key, value in hive_keys(path.relative_to(folder).parts[:-1]):
            if key not in df:
                df[key] = pd.Series(value, index=df.index, dtype=TEXT_DTYPE)
        if first is None:
            first = list(df.columns)
        check_dataset_columns(folder, files[0], first, path, list(df.columns))
        tables.append(df[first])
        counts.append([str(path), len(df)])
    out = pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0]
    out.attrs = {ATTR_SOURCE: str(folder), ATTR_FIRST_ROW: 1, ATTR_PARTS: counts}
    return out


def dataset_files(folder: Path) -> list[Path]:
    """The Parquet files of a partitioned dataset in the order :func:`read_parquet_folder`
    reads them (hidden files and those starting with ``_`` left out).

    Raises
    ------
    InputError
        When the folder holds no Parquet file, or a file of another type (naming it).
    """
    files = []
    for path in sorted(folder.rglob("*"), key=lambda p: p.relative_to(folder).as_posix()):
        parts = path.relative_to(folder).parts
        if not path.is_file() or any(part.startswith((".", "_")) for part in parts):
            continue
        if path.suffix.lower() not in PARQUET_SUFFIXES:
            raise InputError(
                "not a Parquet file; a folder given as input must hold a partitioned "
                "Parquet dataset (.parquet files only)",
                file=path,
            )
        files.append(path)
    if not files:
        raise InputError(
            "no Parquet files in this folder; expected a partitioned dataset", file=folder
        )
    return files


def check_dataset_columns(
    folder: Path, first_file: Path, first: Sequence[str], path: Path, columns: Sequence[str]
) -> None:
    """Every file of a dataset needs the columns of its first file (in any order).

    Raises
    ------
    InputError
        Naming the file ``path`` and the columns missing there or extra.
    """
    if set(columns) != set(first):
        missing = [c for c in first if c not in columns]
        extra = [c for c in columns if c not in first]
        raise InputError(
            f"its columns differ from those of {first_file.relative_to(folder).as_posix()}"
            f" (missing {missing}, extra {extra}); every file of a dataset needs the "
            "same columns",
            file=path,
            row=1,
        )


def hive_keys(folders: Sequence[str]) -> list[tuple[str, str | None]]:
    """The ``key=value`` folder names of a file's path (hive partitioning)."""
    keys = []
    for name in folders:
        key, sep, value = name.partition("=")
        if sep and key:
            text = unquote(value)
            keys.append((unquote(key), None if text in ("", NULL_PARTITION) else text))
    return keys


def locate_rows(parts: Sequence[Sequence[Any]], rows: Any) -> tuple[np.ndarray, np.ndarray]:
    """The file and the row in it (Parquet: the first data row is 1) of rows of a table
    read from a folder (``rows`` numbered from 1 over the whole table, as
    :func:`~bansos_linkage.standardisation.standardise` numbers them; ``parts`` is
    the table's ``attrs[ATTR_PARTS]``).

    Examples
    --------
    >>> files, rows = locate_rows([["a.parquet", 2], ["b.parquet", 3]], [1, 2, 3, 5])
    >>> files.tolist(), rows.tolist()
    (['a.parquet', 'a.parquet', 'b.parquet', 'b.parquet'], [1, 2, 1, 3])
    """
    rows = np.asarray(rows, dtype=np.int64)
    sizes = np.array([int(n) for _, n in parts], dtype=np.int64)
    names = np.array([str(f) for f, _ in parts], dtype=object)
    ends = np.cumsum(sizes)
    which = np.searchsorted(ends, rows - 1, side="right")
    if len(rows) and (rows.min() < 1 or which.max() >= len(parts)):
        raise ValueError("a row outside the table")
    starts = ends - sizes
    return names[which], rows - starts[which]


#: First characters that make a spreadsheet run a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def defuse_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """The table with a leading apostrophe on every text cell that a spreadsheet would
    run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR first: CSV injection through
    an id or a name); numbers are left as they are. :func:`restore_formulas` undoes it.
    """
    out = df.copy(deep=False)  # the columns changed are replaced, not written into
    for col in out.columns:
        values = out[col]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
            continue
        text = values.astype("string")
        risky = text.str.startswith(FORMULA_START).fillna(False).to_numpy(dtype=bool)
        if risky.any():
            out[col] = values.astype(object)
            out.loc[risky, col] = "'" + text[risky]
    return out


def restore_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`defuse_formulas` on a table read back."""
    out = df.copy()
    for col in out.columns:
        if not (out[col].dtype == object or pd.api.types.is_string_dtype(out[col])):
            continue
        text = out[col].astype("string")
        defused = (text.str.startswith("'") & text.str[1:].str.startswith(FORMULA_START)).fillna(
            False
        )
        if defused.any():
            out.loc[defused.to_numpy(dtype=bool), col] = text[defused].str[1:]
    return out


def write_table(df: pd.DataFrame, path: str | Path, for_people: bool = False) -> Path:
    """Write a table as CSV, Parquet or Excel, chosen by the file extension.

    List-valued columns (such as name tokens) are written space-joined in CSV
    and Excel. In CSV every value holding the delimiter, a double quote, a carriage
    return or a line feed is quoted, so that :func:`read_table` reads the same rows
    back. With ``for_people`` (a file people open in a spreadsheet), text cells a
    spreadsheet would run as a formula get a leading apostrophe
    (:func:`defuse_formulas`; :func:`restore_formulas` reads them back).
    """
    path = Path(path)
    if for_people and path.suffix.lower() not in PARQUET_SUFFIXES:
        df = defuse_formulas(df)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        df.to_parquet(path, index=False)
    elif suffix in CSV_SUFFIXES:
        sep = "\t" if suffix == ".tsv" else ","
        if not _write_csv_arrow(df, path, sep):
            _write_csv_pandas(_flat(df), path, sep)
    elif suffix in EXCEL_SUFFIXES:
        _flat(df).to_excel(path, index=False)
    else:
        raise InputError("unknown output type; expected .csv, .parquet or .xlsx", file=path)
    return path


def _write_csv_arrow(df: pd.DataFrame, path: Path, sep: str) -> bool:
    """Write a table of plain text and numbers with pyarrow (several times faster than
    pandas on link outputs); False, having written nothing, when the pandas writer is
    needed: dates, lists or mixed objects."""
    df = _as_pandas_writes(df)
    plain = all(
        pd.api.types.is_string_dtype(t)
        or (pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t))
        for t in df.dtypes
    )
    if not plain or not df.columns.map(lambda c: isinstance(c, str)).all():
        return False
    try:
        table = pa.Table.from_pandas(df, preserve_index=False)
        if _has_blank_line(table):
            return False
        header = sep.join(_quoted(str(name), sep) for name in df.columns) + "\n"
        _arrow_csv(table, path, header.encode("utf-8"), sep)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        path.unlink(missing_ok=True)
        return False
    return True


#: Rows the arrow CSV writer formats at a time: the file is written as it is formatted,
#: never held whole in memory (hundreds of MB for a national run's links).
CSV_SLICE_ROWS = 200_000


def _arrow_csv(table: pa.Table, path: Path, header: bytes, sep: str) -> None:
    """The header and rows to ``path``: unquoted when no value needs quotes; otherwise
    every text value quoted (the style chosen for the whole table, so a slice at a time
    writes what the whole would). pyarrow's unquoted style refuses a delimiter, quote or
    line feed but lets a bare carriage return through, which would split the row on
    reading."""
    style = "needed" if _has_carriage_return(table) else "none"
    for attempt in (style, "needed"):
        options = pa_csv.WriteOptions(include_header=False, delimiter=sep, quoting_style=attempt)
        try:
            with path.open("wb") as sink:
                sink.write(header)
                for start in range(0, table.num_rows, CSV_SLICE_ROWS):
                    # one chunk per column: pyarrow's CSV writer (26.0) writes garbage
                    # memory for a string column whose first chunk is empty, as pd.concat
                    # of an empty table makes
                    rows = table.slice(start, CSV_SLICE_ROWS).combine_chunks()
                    pa_csv.write_csv(rows, sink, options)
        except pa.ArrowInvalid:
            if attempt == "needed":
                raise
            continue
        return
    raise AssertionError("unreachable")  # pragma: no cover


def _has_carriage_return(table: pa.Table) -> bool:
    for column in table.columns:
        text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        if text and pc.any(pc.match_substring(column, "\r")).as_py():
            return True
    return False


def _has_blank_line(table: pa.Table) -> bool:
    """True when a one-column table has an empty cell: pyarrow would write a blank
    line, which readers skip (pandas writes ``""`` there)."""
    if table.num_columns != 1:
        return False
    column = table.column(0)
    if column.null_count:
        return True
    text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    return bool(text and pc.any(pc.equal(column, "")).as_py())


def _quoted(text: str, sep: str) -> str:
    """One CSV field, quoted when it holds the delimiter, a quote, CR or LF."""
    if any(ch in text for ch in (sep, '"', "\r", "\n")):
        return '"' + text.replace('"', '""') + '"'
    return text


def _write_csv_pandas(df: pd.DataFrame, path: Path, sep: str) -> None:
    """The pandas writer, for dates, lists and mixed objects. Python's csv module does
    not quote a bare carriage return when lines end in LF, so a table holding one
    has every non-numeric value quoted."""
    quoting = csv.QUOTE_NONNUMERIC if _frame_has_carriage_return(df) else csv.QUOTE_MINIMAL
    # pandas-stubs type quoting as Literal[0, 1, 2, 3]; csv.QUOTE_* are plain ints
    df.to_csv(path, index=False, sep=sep, quoting=quoting, lineterminator="\n")  # type: ignore[call-overload]


def _frame_has_carriage_return(df: pd.DataFrame) -> bool:
    if any("\r" in str(name) for name in df.columns):
        return True
    for _, column in df.items():
        kind = column.dtype
        if pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_datetime64_any_dtype(kind):
            continue
        if any(isinstance(v, str) and "\r" in v for v in column.to_numpy(dtype=object)):
            return True
    return False


def _as_pandas_writes(df: pd.DataFrame) -> pd.DataFrame:
    """Booleans as ``True``/``False`` and categories as their values, the text pandas
    writes for them, so the arrow writer can take them too."""
    changed: dict[Any, pd.Series] = {}
    for col, kind in df.dtypes.items():
        if isinstance(kind, pd.CategoricalDtype):
            names = pd.Series(kind.categories)
            if pd.api.types.is_string_dtype(names.dtype):
                codes = df[col].cat.codes.to_numpy()
                text = pd.api.extensions.take(
                    names.astype(TEXT_DTYPE).array, codes, allow_fill=True
                )
                changed[col] = pd.Series(text, index=df.index)
        elif pd.api.types.is_bool_dtype(kind):
            flags = df[col].astype("boolean")
            words = np.where(flags.fillna(False).to_numpy(dtype=bool), "True", "False")
            changed[col] = pd.Series(words, index=df.index, dtype=TEXT_DTYPE).where(flags.notna())
    return df.assign(**changed) if changed else df


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object and out[col].map(lambda v: isinstance(v, list)).any():
            out[col] = out[col].map(lambda v: " ".join(v) if isinstance(v, list) else v)
    return out


def _decode(path: Path, encoding: str | None) -> str:
    raw = path.read_bytes()
    if encoding is None and raw.startswith(_UTF16_BOMS):
        # a spreadsheet's "Unicode text" export; cp1252 would read it as NUL-laced text
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"not valid UTF-16 text at byte {exc.start} (the file starts with a "
                "UTF-16 byte-order mark)",
                file=path,
            ) from None
    for enc in (encoding,) if encoding else _ENCODINGS:
        try:
            return raw.decode(enc)
        except UnicodeDecodeError as exc:
            if encoding:
                raise InputError(
                    f"not valid {encoding} text at byte {exc.start}", file=path
                ) from None
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _looks_binary(path: Path, text: str) -> bool:
    """A binary file under a .csv name: a NUL in the header line, or NULs in a file
    that is not UTF-8 text (a NUL in a UTF-8 cell is data, and is read back as such)."""
    if "\x00" not in text:
        return False
    if "\x00" in text.split("\n", 1)[0]:
        return True
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV text: the one that splits the first records (quoted line
    breaks kept inside their field) into as many fields as the header, the most fields
    when several do; failing that, the csv module's guess."""
    sample = text[:_SNIFF_CHARS]
    truncated = len(text) > len(sample)
    widths = {sep: _record_widths(sample, sep, truncated=truncated) for sep in _DELIMITERS}
    steady = {sep: w[0] for sep, w in widths.items() if w and len(set(w)) == 1}
    if steady:
        widest = max(steady.values())
        best = [sep for sep in steady if steady[sep] == widest]
        if widest > 1 and len(best) == 1:
            return best[0]
        if widest == 1 and all(w and w[0] == 1 for w in widths.values()):
            return best[0]  # one column whatever the delimiter: any steady one reads it
    lines = "\n".join(sample.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(lines, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        header = text.split("\n", 1)[0]
        return max(_DELIMITERS, key=header.count)


def _record_widths(sample: str, sep: str, *, truncated: bool) -> list[int]:
    """Fields per record of the first records of ``sample`` read with ``sep``; the
    last one left out when the sample was cut from a longer text."""
    try:
        rows = list(itertools.islice(csv.reader(_io.StringIO(sample), delimiter=sep), 51))
    except csv.Error:  # a NUL byte or an overlong field: not this delimiter's file
        return []
    if truncated or len(rows) > 50:
        rows = rows[:-1]
    return [len(row) for row in rows if row]


def _read_csv(path: Path, encoding: str | None, delimiter: str | None) -> pd.DataFrame:
    text = _decode(path, encoding)
    if not text.strip():
        raise InputError("the file is empty; expected a header row", file=path)
    if _looks_binary(path, text):
        raise InputError(
            f"binary data, not CSV text (a NUL byte at character {text.index(chr(0)):,}); "
            "expected a CSV export (or a .xlsx/.parquet file under its own suffix)",
            file=path,
        )
    sep = delimiter or _sniff_delimiter(text)
    try:
        fast = _read_csv_arrow(text, sep)
    except csv.Error as exc:  # the header line, read by the csv module
        raise InputError(f"malformed CSV header ({exc})", file=path, row=1) from None
    if fast is not None:
        return _as_text(fast, cells_are_text=True)
    try:
        df = pd.read_csv(
            _io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=False,
        )
    except pd.errors.ParserError as exc:
        raise InputError(f"malformed CSV ({_parser_detail(exc)})", file=path) from None
    return _as_text(df, cells_are_text=True)


def _read_csv_arrow(text: str, sep: str) -> pd.DataFrame | None:
    """The same table parsed by pyarrow (several times faster on large exports), or None
    when the file needs the pandas parser: its padding of short rows and its error
    messages (pyarrow's quote the offending row, which may hold personal data)."""
    header = next(csv.reader(_io.StringIO(text.split("\n", 1)[0]), delimiter=sep), [])
    if not header or len(set(header)) != len(header):
        return None
    try:
        table = pa_csv.read_csv(
            _io.BytesIO(text.encode("utf-8")),
            # a quoted line break must not be taken for the end of a block of rows
            parse_options=pa_csv.ParseOptions(delimiter=sep, newlines_in_values='"' in text),
            convert_options=pa_csv.ConvertOptions(
                # large_string is what pandas' arrow strings hold: no conversion after
                column_types={name: pa.large_string() for name in header},
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.column_names != header or any(t != pa.large_string() for t in table.schema.types):
        return None  # a header the csv module reads differently (a quoted line break)
    return table.to_pandas(types_mapper={pa.large_string(): TEXT_DTYPE}.get)


def _parser_detail(exc: Exception) -> str:
    # pandas says "Expected N fields in line L, saw M": keep only that structure.
    msg = str(exc).strip().splitlines()[-1]
    return msg[:200]


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputError(f"not a readable Parquet file ({type(exc).__name__})", file=path) from None
    return _as_text(df)


def _read_excel(path: Path, sheet: str | int | None) -> pd.DataFrame:
    try:
        df = pd.read_excel(
            path, sheet_name=0 if sheet is None else sheet, dtype=object, engine="openpyxl"
        )
    except (ValueError, KeyError) as exc:
        if sheet is not None and "not found" in str(exc).lower():
            raise InputError(f"no sheet named {sheet!r}", file=path) from None
        raise InputError(f"not a readable Excel file ({type(exc).__name__})", file=path) from None
    except Exception as exc:  # zip/xml errors from openpyxl
        raise InputError(f"not a readable Excel file ({type(exc).__name__})", file=path) from None
    return _as_text(df)


def _cell_text(value: object) -> object:
    """Text of one cell as the exporting program showed it; None for empty."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        if np.isnan(value):
            return None
        # integral floats lost nothing more than their ".0" when written by a program
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, dt.datetime):  # pd.Timestamp is one too
        midnight = value.hour == value.minute == value.second == value.microsecond == 0
        return value.date().isoformat() if midnight else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    text = str(value)
    return text if text.strip() else None


def _column_text(series: pd.Series) -> pd.Series:
    """:func:`_cell_text` of a whole column: typed columns (Parquet) vectorised, the
    rare cells they cannot do (fractions, times of day, mixed objects) one by one."""
    kind = series.dtype
    if isinstance(kind, pd.CategoricalDtype):  # each category once
        names = _column_text(pd.Series(kind.categories)).astype(TEXT_DTYPE).array
        codes = series.cat.codes.to_numpy()
        taken = pd.api.extensions.take(names, codes, allow_fill=True)
        return pd.Series(taken, index=series.index, dtype=TEXT_DTYPE)
    if pd.api.types.is_bool_dtype(kind) or pd.api.types.is_integer_dtype(kind):
        return series.astype(TEXT_DTYPE)  # str() of a bool or int, <NA> kept
    if pd.api.types.is_string_dtype(kind) and not pd.api.types.is_object_dtype(kind):
        text = series.astype(TEXT_DTYPE)
        return text.where(text.str.strip() != "")
    if pd.api.types.is_float_dtype(kind):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(values) & (np.mod(values, 1) == 0) & (np.abs(values) < 1e16)
        out = pd.Series(pd.NA, index=series.index, dtype=TEXT_DTYPE)
        out[whole] = pd.Series(values[whole].astype(np.int64)).astype(TEXT_DTYPE).to_numpy()
        rest = ~whole & ~np.isnan(values)
        out[rest] = [_cell_text(float(v)) for v in values[rest]]
        return out
    if pd.api.types.is_datetime64_any_dtype(kind):
        stamps = pd.Series(series.to_numpy(), index=series.index)
        midnight = (stamps == stamps.dt.normalize()).to_numpy()
        out = stamps.dt.strftime("%Y-%m-%d").astype(TEXT_DTYPE)
        timed = ~midnight & stamps.notna().to_numpy()
        out[timed] = [_cell_text(v) for v in stamps[timed]]  # type: ignore[call-overload]
        return out
    return pd.Series([_cell_text(v) for v in series.tolist()], index=series.index, dtype=object)


def _as_text(df: pd.DataFrame, cells_are_text: bool = False) -> pd.DataFrame:
    df.columns = [str(c).strip() for c in df.columns]
    out = {}
    for col in df.columns:
        series = df[col]
        if not cells_are_text:
            series = _column_text(series)
        out[col] = series.astype(TEXT_DTYPE)
    result = pd.DataFrame(out, index=pd.RangeIndex(len(df)))
    result.columns = list(df.columns)
    return result


def _check_header(df: pd.DataFrame, path: Path) -> None:
    cols = [str(c) for c in df.columns]
    if any(c == "" or c.startswith("Unnamed:") for c in cols):
        pos = next(i for i, c in enumerate(cols) if c == "" or c.startswith("Unnamed:"))
        raise InputError(f"column {pos + 1} has no header name", file=path, row=1)
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    if dupes or any(
        "." in c and c.rsplit(".", 1)[0] in cols and c.rsplit(".", 1)[1].isdigit() for c in cols
    ):
        raise InputError("duplicate column names in the header", file=path, row=1)


__all__ = [
    "ATTR_FIRST_ROW",
    "ATTR_PARTS",
    "ATTR_SOURCE",
    "CSV_SUFFIXES",
    "EXCEL_SUFFIXES",
    "FORMULA_START",
    "PARQUET_SUFFIXES",
    "TEXT_DTYPE",
    "check_dataset_columns",
    "dataset_files",
    "defuse_formulas",
    "hive_keys",
    "locate_rows",
    "read_parquet_folder",
    "read_table",
    "restore_formulas",
    "write_table",
]
