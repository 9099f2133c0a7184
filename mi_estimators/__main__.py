"""``python -m mi_estimators`` runs the ``mi-bench`` command line."""
import sys

from mi_estimators.cli import main

sys.exit(main())
