"""The whole-program workloads (bench/workloads) and their arguments per mode.

kind "time": fixed work, the cost is the wall time (less the `idle_seconds` a workload reports
having slept on purpose before reading its final RSS). kind "rate": fixed time (`seconds=`), the
cost is seconds per operation, shown as throughput.

An entry runs the binary wl_<name>, or wl_<BINARY[name]> when it is another entry's binary with
other arguments (random_sizes_1t); its RESULT line then names that binary."""

# name, kind, quick args, full args. Full sizes are chosen so a run takes about a second on a
# 2-core VM (the TLB one longer: its heap must be far beyond the TLB's reach; large_loop about
# 0.3 s under the peers, because hugemem took ~18x as long there when it was added).
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
    # The mimalloc-bench shapes (bench/README.md says what each models), and the two with a final
    # RSS figure: many live threads, and threads that exit while others free their objects.
    ("many_threads", "time", ["threads=500"], ["threads=2000"]),
    ("exit_free", "time", ["rounds=6", "mb=16"], ["rounds=6", "mb=64"]),
    ("xmalloc", "rate", ["seconds=0.3"], ["seconds=1"]),
    ("mixed_small", "time", ["ops=5000000"], ["ops=25000000"]),
    ("random_sizes_1t", "time", ["threads=1", "ops=400000"], ["threads=1", "ops=2000000"]),
    ("large_loop", "time", ["ops=5000"], ["ops=30000"]),
    ("fixed_time_2t", "rate", ["seconds=0.3"], ["seconds=1"]),
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
    "many_threads": ["threads=50", "settle_ms=10"],
    "exit_free": ["rounds=6", "mb=1", "settle_ms=10"],
    "xmalloc": ["seconds=0.05", "batch=8", "depth=4"],
    "mixed_small": ["ops=20000"],
    "random_sizes_1t": ["threads=1", "ops=2000", "live=100"],
    "large_loop": ["ops=50", "live=4"],
    "fixed_time_2t": ["seconds=0.05", "live=1000"],
}
# Entries that run another entry's binary (with their own arguments).
BINARY = {"random_sizes_1t": "random_sizes"}
NAMES = [w[0] for w in WORKLOADS]
KIND = {w[0]: w[1] for w in WORKLOADS}
REPS = {"quick": 3, "full": 5}


def binary(name):
    """The workload binary's name (wl_<binary>) of entry `name`, which its RESULT line names."""
    return BINARY.get(name, name)


def args_for(name, mode):
    for n, _, quick, full in WORKLOADS:
        if n == name:
            return list(quick if mode == "quick" else full)
    raise KeyError(name)
