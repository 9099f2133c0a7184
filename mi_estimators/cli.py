"""Compatibility module: the ``mi-bench`` command line lives in :mod:`mi_estimators.bench.cli`."""
import sys

from mi_estimators.bench.cli import DEMO_CONFIG, build_parser, main, parse_columns, read_table

__all__ = ["main", "build_parser", "DEMO_CONFIG", "parse_columns", "read_table"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
