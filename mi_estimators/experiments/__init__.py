"""Experiments on real data that use the toolkit's losses and estimators.

Each submodule is one self-contained experiment with a ``main(argv)`` entry point, a
``--quick`` mode for tests and a report written to ``docs/experiments/``:

- :mod:`mi_estimators.experiments.digits`: SimCLR-style contrastive learning on
  scikit-learn's bundled digits, comparing InfoNCE, DCL, HCL, ADNCE and f-MICL by
  linear-probe accuracy, with and without label-aware ("no sampling bias") negatives.
"""
