"""``python -m mi_estimators.bench`` runs the ``mi-bench`` command line."""
import sys

from mi_estimators.bench.cli import main

sys.exit(main())
