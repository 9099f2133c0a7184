"""SimCLR-style contrastive learning on scikit-learn's digits (issue 7, part 3).

Compares InfoNCE, DCL, HCL, ADNCE and f-MICL (from ``mi_estimators.losses``) by the test
accuracy of a linear probe on the frozen encoder, over several seeds, with standard and
with label-aware negatives, next to raw-pixel and random-init baselines. Writes
``contrastive-digits.md`` (tables, verdict, the command) and ``contrastive-digits.png``
into ``--out`` (default ``docs/experiments``).

    .venv/bin/python examples/contrastive_digits.py            # full run, < 10 min on 2 cores
    .venv/bin/python examples/contrastive_digits.py --quick --out /tmp/digits   # seconds

The reusable core lives in :mod:`mi_estimators.experiments.digits`.
"""
from __future__ import annotations

import sys

from mi_estimators.experiments.digits import main

if __name__ == "__main__":
    main(sys.argv[1:])
