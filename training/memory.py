"""Peak memory of one pipeline stage, for the manifest (`memory`, beside `timings`).

Two numbers per stage, both peaks *within the stage* (each is reset when a stage starts):

- `driver_python_peak_mb`: the driver process's peak resident set (Linux `VmHWM`, reset by
  writing 5 to `/proc/self/clear_refs`). In local mode the driver process is the Python
  interpreter; the JVM is a child process and is not counted here. Where the reset is not
  allowed, the process-wide peak (`ru_maxrss`) is reported instead and `driver_python_peak_scope`
  says `process` rather than `stage`.
- `driver_jvm_heap_peak_mb`: the driver JVM's heap in use at its peak (sum over its heap memory
  pools of `MemoryPoolMXBean.getPeakUsage().getUsed()`, reset with `resetPeakUsage()`); in local
  mode the executors run inside that JVM, so this includes their work. The pools peak at
  different moments, so the sum is an upper bound on the heap in use at any one time. Executor JVMs of a
  cluster and Spark's Python workers are not measured.
"""

from __future__ import annotations

import resource
from pathlib import Path

_MB = 1024 * 1024
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _vm_hwm_mb() -> float | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_python_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def _heap_pools(spark) -> list:
    try:
        jvm = spark.sparkContext._jvm
        pools = jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans()
        heap = jvm.java.lang.management.MemoryType.HEAP
        return [pools.get(i) for i in range(pools.size()) if pools.get(i).getType().equals(heap)]
    except Exception:  # noqa: BLE001 - memory figures are a report, never a reason to fail a run
        return []


class StageMemory:
    """Call `start()` before a stage and `peaks()` after it."""

    def __init__(self, spark=None) -> None:
        self.spark = spark
        self.scope = "stage"

    def start(self) -> None:
        self.scope = "stage" if _reset_python_peak() else "process"
        for pool in _heap_pools(self.spark) if self.spark is not None else []:
            pool.resetPeakUsage()

    def peaks(self) -> dict:
        python = _vm_hwm_mb() if self.scope == "stage" else None
        if python is None:
            python = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
            self.scope = "process"
        out = {"driver_python_peak_mb": round(python, 1), "driver_python_peak_scope": self.scope}
        pools = _heap_pools(self.spark) if self.spark is not None else []
        if pools:
            out["driver_jvm_heap_peak_mb"] = round(sum(p.getPeakUsage().getUsed() for p in pools) / _MB, 1)
        return out


def jvm_heap_max_mb(spark) -> float | None:
    """The driver JVM's maximum heap (`-Xmx`, from spark.driver.memory)."""
    try:
        return round(spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory() / _MB, 1)
    except Exception:  # noqa: BLE001
        return None
