"""``python -m mi_estimators`` runs the ``mi-bench`` command line (:mod:`mi_estimators.bench.cli`)."""
import sys

from mi_estimators.bench.cli import main

sys.exit(main())
