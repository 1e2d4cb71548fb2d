"""The whole-program workloads (bench/workloads) and their arguments per mode.

kind "time": fixed work, the cost is the wall time. kind "rate": fixed time (`seconds=`), the
cost is seconds per operation, shown as throughput."""

# name, kind, quick args, full args. Full sizes are chosen so a run takes about a second on a
# 2-core VM (the TLB one longer: its heap must be far beyond the TLB's reach).
WORKLOADS = [
    ("larson", "rate", ["threads=2", "seconds=0.3"], ["threads=2", "seconds=1"]),
    ("prodcons", "time", ["msgs=500000"], ["msgs=5000000"]),
    ("false_sharing", "time", ["threads=2", "iters=20000"], ["threads=2", "iters=100000"]),
    ("random_sizes", "time", ["threads=2", "ops=200000"], ["threads=2", "ops=1000000"]),
    ("realloc_growth", "time", ["ops=15000"], ["ops=100000"]),
    ("big_allocs", "time", ["ops=40"], ["ops=200"]),
    ("short_threads", "time", ["rounds=300"], ["rounds=2000"]),
    ("fragmentation", "time", ["phases=10", "mib=8"], ["phases=12", "mib=32"]),
    ("tlb", "time", ["mib=256", "steps=500000"], ["mib=3072", "steps=4000000"]),
]
# Tiny arguments for the smoke tests (tests/bench): every code path, milliseconds each.
SMOKE = {
    "larson": ["threads=2", "seconds=0.02", "slots=100"],
    "prodcons": ["msgs=2000"],
    "false_sharing": ["iters=100", "writes=10"],
    "random_sizes": ["ops=2000", "live=100"],
    "realloc_growth": ["ops=500", "max=64k"],
    "big_allocs": ["ops=4", "live=2"],
    "short_threads": ["rounds=3", "ops=100"],
    "fragmentation": ["phases=3", "mib=1"],
    "tlb": ["mib=8", "steps=1000"],
}
NAMES = [w[0] for w in WORKLOADS]
KIND = {w[0]: w[1] for w in WORKLOADS}
REPS = {"quick": 3, "full": 5}


def args_for(name, mode):
    for n, _, quick, full in WORKLOADS:
        if n == name:
            return list(quick if mode == "quick" else full)
    raise KeyError(name)
