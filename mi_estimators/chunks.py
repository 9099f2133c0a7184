"""Row chunks for passes over large arrays that must not copy them whole.

A streamed pass (the canonical correlations' tall-skinny QR, the copula test's Mardia statistics)
reads ``rows`` slices of at most ``max(STREAM_ROWS, d)`` rows, so its working memory is about
``(STREAM_ROWS + d) x d`` floats whatever n is. This module imports nothing from the package.
"""
from __future__ import annotations

__all__ = ["STREAM_ROWS", "row_chunks"]

#: Rows one step of a streamed pass reads.
STREAM_ROWS = 8192


def row_chunks(n: int, d: int):
    """Slices of at most max(STREAM_ROWS, d) rows covering range(n), in order."""
    step = max(STREAM_ROWS, d)
    return (slice(s, min(s + step, n)) for s in range(0, n, step))
