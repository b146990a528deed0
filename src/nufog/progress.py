"""Progress lines for long jobs: rows done, elapsed and expected remaining time, at least every 10 %.

>>> import logging
>>> p = Progress(4, logging.getLogger("doc"), what="masses", every=0.5)
>>> for _ in range(4):
...     p.step()
>>> p.done
4
"""

from __future__ import annotations

import logging
import time

__all__ = ["Progress"]


class Progress:
    """Log ``what``: done/total, elapsed and remaining time whenever another ``every`` of the total is done.

    Parameters
    ----------
    total
        Number of units of work (rows, masses, grid points); must be positive.
    log
        Logger to write to (the rule's log in a Snakemake job).
    what
        Name of the units, for the message.
    every
        Fraction of the total between two lines (0.1: at least every 10 %).
    """

    def __init__(self, total: int, log: logging.Logger, what: str = "rows", every: float = 0.1) -> None:
        if not total > 0:
            raise ValueError(f"progress total must be positive, got {total!r}")
        if not 0 < every <= 1:
            raise ValueError(f"progress step must lie in (0, 1], got {every!r}")
        self.total, self.log, self.what, self.every = int(total), log, what, float(every)
        self.done = 0
        self._start = time.perf_counter()
        self._next = self.every

    def step(self, n: int = 1) -> None:
        """Count ``n`` more units; log when another ``every`` of the total is reached."""
        self.done += n
        fraction = self.done / self.total
        if fraction + 1e-12 >= self._next or self.done >= self.total:
            elapsed = time.perf_counter() - self._start
            remaining = elapsed * (self.total - self.done) / max(self.done, 1)
            self.log.info(
                "%s %d/%d (%.0f %%), %.1f s elapsed, about %.1f s remaining",
                self.what,
                self.done,
                self.total,
                100.0 * fraction,
                elapsed,
                remaining,
            )
            while self._next <= fraction + 1e-12:
                self._next += self.every
