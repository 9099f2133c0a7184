"""Reading data files for ``mi-bench estimate``: NPZ, CSV/TSV and Parquet, checked cell by cell.

:func:`load_xy` returns ``(x, y, description)`` as float64 arrays; :func:`read_table`
reads a CSV (dialect sniffed) or Parquet file into named columns; :func:`parse_columns`
turns a column spec (names, indices, ranges) into indices. Every problem (a missing or
non-numeric value, a ragged line, a pickled NPZ array, an unknown column) is a
ValueError naming the file and the line, row or column.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["load_xy", "read_table", "parse_columns"]

def parse_columns(spec: str, columns: list[str], *, flag: str) -> list[int]:
    """Column indices from a spec: comma-separated names, 0-based indices, ranges.

    An item is a column name (exact match first), an index ``3``, a half-open range
    ``2:5`` (columns 2, 3, 4) or an inclusive range ``2-4``. Unknown names raise a
    ValueError listing the file's columns.
    """
    chosen: list[int] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        if item in columns:
            chosen.append(columns.index(item))
            continue
        rng = None
        for sep, inclusive in ((":", False), ("-", True)):
            a, s, b = item.partition(sep)
            if s and a.strip().isdigit() and b.strip().isdigit():
                rng = range(int(a), int(b) + (1 if inclusive else 0))
                break
        if item.isdigit():
            rng = range(int(item), int(item) + 1)
        if rng is None:
            shown = ", ".join(columns[:30]) + (", ..." if len(columns) > 30 else "")
            raise ValueError(f"{flag}: no column {item!r} in the file; its columns are: {shown}")
        for i in rng:
            if not 0 <= i < len(columns):
                raise ValueError(f"{flag}: column index {i} out of range (the file has {len(columns)} columns, 0-{len(columns) - 1})")
            chosen.append(i)
    if not chosen:
        raise ValueError(f"{flag}: no columns selected by {spec!r}")
    return chosen


def read_table(path: Path) -> tuple[list[str], list[list]]:
    """Column names and column values (lists) of a CSV or Parquet file."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ValueError("reading Parquet needs pyarrow: pip install 'mi-estimators[parquet]'") from None
        try:
            table = pq.read_table(path)
        except Exception as err:  # pyarrow raises its own error types
            raise ValueError(f"{path}: cannot read Parquet: {err}") from None
        return list(table.column_names), [table.column(i).to_pylist() for i in range(table.num_columns)]
    try:
        return _read_csv(path)
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start}); is it really a CSV file?") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_header(path: Path, header: list[str]) -> None:
    """Refuse a header that would silently lose data: repeated names (a name would pick the
    first of them) or a first line of numbers only (data read as column names)."""
    seen, repeated = set(), []
    for name in header:
        if name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
    if repeated:
        raise ValueError(f"{path}: the header repeats the column name(s) {', '.join(map(repr, repeated))}; "
                         "rename them so that --x/--y/--z select what you mean")
    if header and all(_is_number(h) for h in header) and len(header) > 1 and any("." in h for h in header):
        raise ValueError(f"{path}: the first line ({', '.join(header[:5])}{', ...' if len(header) > 5 else ''}) holds "
                         "numbers, not column names: the file seems to have no header, and its first row would be "
                         "lost; add a header line (e.g. x0,x1,y0)")


def _read_csv(path: Path) -> tuple[list[str], list[list]]:
    import csv

    with open(path, newline="", encoding="utf-8-sig") as fh:
        sample = fh.read(65536)
        fh.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t ")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(fh, dialect)
        try:
            header = next(reader)
        except StopIteration:
            raise ValueError(f"{path} is empty") from None
        header = [h.strip() for h in header]
        _check_header(path, header)
        cols: list[list] = [[] for _ in header]
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}: line {line_no} has {len(row)} fields, the header has {len(header)}")
            for c, cell in zip(cols, row):
                c.append(cell)
    return header, cols


def _categorical(path: Path, name: str, values: list, *, csv_lines: bool):
    """A text column as integer codes 0..L-1 in order of the sorted distinct labels."""
    import numpy as np

    for i, v in enumerate(values):
        if v is None or (isinstance(v, str) and v.strip() == ""):
            where = f"line {i + 2}" if csv_lines else f"row {i}"
            raise ValueError(f"{path}: column {name!r} has a missing value at {where}")
    labels = [str(v).strip() for v in values]
    levels = sorted(set(labels))
    if len(levels) < 2:
        raise ValueError(f"{path}: column {name!r} has a single level ({levels[0]!r}): it carries no information")
    index = {lab: i for i, lab in enumerate(levels)}
    return np.array([index[lab] for lab in labels], dtype=np.float64)


def _numeric(path: Path, name: str, values: list, *, csv_lines: bool, categorical: bool = False):
    import numpy as np

    if categorical:
        try:
            return _numeric(path, name, values, csv_lines=csv_lines)
        except ValueError as err:
            if "not numeric" not in str(err):
                raise
            return _categorical(path, name, values, csv_lines=csv_lines)
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        where = f"line {i + 2}" if csv_lines else f"row {i}"
        if v is None or (isinstance(v, str) and v.strip().lower() in ("", "nan", "na", "null")):
            raise ValueError(f"{path}: column {name!r} has a missing value (NaN) at {where}")
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"{path}: column {name!r} is not numeric ({v!r} at {where})") from None
        if not math.isfinite(out[i]):
            raise ValueError(f"{path}: column {name!r} has a non-finite value ({v!r}) at {where}")
    return out



def _check_rows(path: Path, n: int, what: str) -> None:
    """Fewer than 2 rows is no sample to estimate from: say so (a 1-row column is not "constant")."""
    if n < 2:
        raise ValueError(f"{path} has {n} {what}: estimating MI needs paired samples, at least 2 rows "
                         "and in practice hundreds")


def load_xy(path: str | os.PathLike, x_spec: str | None, y_spec: str | None):
    """``(x, y, description)`` from an NPZ (arrays ``x``/``y`` by default), CSV or Parquet file."""
    (x, y), desc = load_columns(path, [("--x", x_spec), ("--y", y_spec)])
    return x, y, desc


def load_columns(path: str | os.PathLike, specs: list[tuple[str, str | None]], *, categorical: bool = False):
    """``([array per spec], description)``: each ``(flag, spec)`` names an NPZ array (default: the
    flag without dashes, e.g. ``x``) or CSV/Parquet columns. Specs may not share columns.
    ``categorical``: a CSV/Parquet column that is not numeric becomes integer codes of its
    sorted labels (a discrete variable) instead of an error."""
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"file {str(path)!r} does not exist")
    if path.suffix.lower() == ".npz":
        try:
            data = np.load(path, allow_pickle=False)
        except Exception as err:
            raise ValueError(f"{path}: cannot read NPZ: {err}") from None
        keys = list(data.keys())
        arrays = []
        for flag, spec in specs:
            key = spec or flag.lstrip("-")
            if key not in keys:
                raise ValueError(f"{flag}: no array {key!r} in {path}; its arrays are: {', '.join(keys)}")
            try:
                arr = data[key]
            except ValueError:  # an object array: its pickle is never loaded (allow_pickle=False)
                raise ValueError(f"{path}: array {key!r} holds Python objects (a pickle), which mi-bench never "
                                 "loads; save it as a numeric array") from None
            if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
                raise ValueError(f"{path}: array {key!r} is not numeric real data (dtype {arr.dtype})")
            arr = np.asarray(arr, dtype=np.float64)
            arr = arr[:, None] if arr.ndim == 1 else arr
            if arr.ndim != 2:
                raise ValueError(f"{path}: array {key!r} must have shape (n,) or (n, d), got {arr.shape}")
            bad = ~np.isfinite(arr)
            if bad.any():
                r, c = np.argwhere(bad)[0]
                raise ValueError(f"{path}: array {key!r} has a NaN/inf value at row {r}, column {c}")
            _check_rows(path, arr.shape[0], f"row(s) in array {key!r}")
            arrays.append(arr)
        return arrays, f"{path.name} [{' ; '.join(spec or flag.lstrip('-') for flag, spec in specs)}]"
    if path.suffix.lower() not in (".csv", ".tsv", ".txt", ".parquet", ".pq"):
        raise ValueError(f"{path}: unknown file type {path.suffix!r}; valid: .csv, .tsv, .parquet, .npz")
    header, cols = read_table(path)
    specs = list(specs)
    if specs[0][1] is None or specs[1][1] is None:
        if len(header) == 2 and len(specs) == 2 and specs[0][1] is None and specs[1][1] is None:
            specs = [(specs[0][0], "0"), (specs[1][0], "1")]
        else:
            raise ValueError(
                f"{path} has {len(header)} columns: choose them with --x COLS --y COLS "
                f"(names, indices or ranges such as 0:3); columns: {', '.join(header[:30])}"
            )
    indices = [parse_columns(spec, header, flag=flag) for flag, spec in specs]
    for a in range(len(specs)):
        for b in range(a + 1, len(specs)):
            overlap = sorted(set(indices[a]) & set(indices[b]))
            if overlap:
                raise ValueError(f"{specs[a][0]} and {specs[b][0]} share the column(s) "
                                 f"{', '.join(header[i] for i in overlap)}")
    csv_lines = path.suffix.lower() not in (".parquet", ".pq")
    _check_rows(path, len(cols[0]) if cols else 0, "data row(s) after the header" if csv_lines else "row(s)")
    arrays = [np.stack([_numeric(path, header[i], cols[i], csv_lines=csv_lines, categorical=categorical)
                        for i in idx], axis=1) for idx in indices]
    desc = f"{path.name} [{' ; '.join(', '.join(header[i] for i in idx) for idx in indices)}]"
    return arrays, desc
