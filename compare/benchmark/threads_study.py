"""`compare bench --threads-study`: 1 thread against all cores, for BLAS (numpy) and torch,
quiet and beside one CPU-burning process per core, and whether `--threads auto` picks the winner."""

from __future__ import annotations

import subprocess
import sys
import time

from compare.benchmark.measure import bench_config, has_torch
from compare.benchmark.plan import BENCH_CONFIGS, RUNNERS, VECTORIZED, Plan
from compare.run.machine import choose_threads, cores, load_now, thread_limits
from shared.data import Dataset


BURN = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"


class Burners:
    """Make the machine busy: one CPU-burning process per core, each bounded in time (it
    ends by itself after `seconds` whatever happens here) and ended by its PID on exit."""

    def __init__(self, count: int, seconds: float = 600.0):
        self.count, self.seconds, self.processes = count, seconds, []

    def __enter__(self) -> "Burners":
        for _ in range(self.count):
            self.processes.append(subprocess.Popen([sys.executable, "-c", BURN, str(self.seconds)]))
        time.sleep(0.5)  # let them start burning
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            process.terminate()  # by its own PID: only what we started
        for process in self.processes:
            process.wait()


def threads_study(dataset: Dataset, plan: Plan, echo) -> dict:
    """1 thread against all cores, for BLAS (numpy) and torch, on each config (float32),
    on this machine as it is and made busy by one burning process per core; what
    `--threads auto` would choose, and whether that is what won."""
    core_count = cores()
    settings = sorted({1, core_count})
    measured = {}  # (condition, threads, config) -> {runner: samples/s}
    loads = {}  # condition -> the load `auto` would have seen when a run started
    for condition in ("quiet", "busy"):
        echo(f"threads study, {condition}{' (one burning process per core)' if condition == 'busy' else ''}:")
        burners = Burners(core_count) if condition == "busy" else None
        if burners:
            burners.__enter__()
        loads[condition] = load_now()
        try:
            for threads in settings:
                with thread_limits(threads, with_torch=has_torch()):
                    for name in BENCH_CONFIGS:
                        runners = [r for r in VECTORIZED if not RUNNERS[r].uses_torch or has_torch()]
                        entry = bench_config(name, "float32", dataset, plan, runners,
                                             lambda line, t=threads: echo(f"  {t} thread(s)" + line))
                        measured[(condition, threads, name)] = {r: v["median"] for r, v in entry["results"].items()}
        finally:
            if burners:
                burners.__exit__()
    rows = []
    for name, spec in BENCH_CONFIGS.items():
        row = {"config": name, "rates": {}, "winner": {}}
        for condition in ("quiet", "busy"):
            for threads in settings:
                for runner, rate in measured[(condition, threads, name)].items():
                    row["rates"][f"{runner} {condition} {threads}"] = rate
        quiet_auto = choose_threads("auto", spec["sizes"], spec["batch_size"], core_count, load=loads["quiet"]).threads
        busy_auto = choose_threads("auto", spec["sizes"], spec["batch_size"], core_count, load=loads["busy"]).threads
        row["auto_quiet"], row["auto_busy"] = quiet_auto, busy_auto
        for runner in measured[("quiet", settings[0], name)]:
            for condition in ("quiet", "busy"):
                rates = {t: measured[(condition, t, name)][runner] for t in settings}
                row["winner"][f"{runner} {condition}"] = max(rates, key=rates.get)
        if "torch" in measured[("quiet", settings[0], name)]:
            quiet = measured[("quiet", quiet_auto, name)]["torch"]
            row["torch_busy_over_quiet"] = measured[("busy", busy_auto, name)]["torch"] / quiet
            row["torch_busy_1_over_quiet"] = measured[("busy", 1, name)]["torch"] / quiet
        else:
            row["torch_busy_over_quiet"] = row["torch_busy_1_over_quiet"] = None
        rows.append(row)
    return {"cores": core_count, "settings": settings, "dtype": "float32", "configs": rows, "loads": loads}
