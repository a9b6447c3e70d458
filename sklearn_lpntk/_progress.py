"""Timing and progress reporting for long fits."""

import sys
import time
from contextlib import contextmanager

from tqdm.auto import tqdm


class Stopwatch:
    """Accumulates wall-clock seconds per named phase."""

    def __init__(self):
        self.seconds = {}

    @contextmanager
    def phase(self, name):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def add(self, name, seconds):
        """Count ``seconds`` spent elsewhere (e.g. in a parallel job) towards ``name``."""
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def summary(self, title):
        total = sum(self.seconds.values())
        lines = [f"{title}: {total:.2f} s in total"]
        for name, sec in self.seconds.items():
            share = 100.0 * sec / total if total > 0 else 0.0
            lines.append(f"  {name:<12s} {sec:8.2f} s  {share:5.1f} %")
        return "\n".join(lines)


def progress_bar(total, desc, unit, enabled):
    """A tqdm bar on stderr, or a disabled one that costs nothing."""
    return tqdm(
        total=total, desc=desc, unit=unit, disable=not enabled, leave=False, file=sys.stderr
    )
