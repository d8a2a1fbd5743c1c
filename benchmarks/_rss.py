"""Memory figures of the running process, shared by the scaling benchmarks."""
from __future__ import annotations

import sys


def status_mb(key: str) -> float | None:
    """A ``/proc/self/status`` memory field in MiB (None where /proc is missing)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def maxrss_mb() -> float:
    """The process's peak RSS in MiB from ``getrusage``."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024.0 if sys.platform != "darwin" else r / 2**20
