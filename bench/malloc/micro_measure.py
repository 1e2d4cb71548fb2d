"""Building and measuring for bench/malloc/run: the per-allocator binaries, Google Benchmark runs
in alternating order, and callgrind instruction counts. Rendering is micro_report.py's job."""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ALLOCATORS = ["glibc", "hugemem", "mimalloc", "jemalloc", "tcmalloc"]
NOHARDENED = "hugemem-nohardened"


def log(msg):
    print(f"[micro] {msg}", file=sys.stderr, flush=True)


def _ninja_targets(build):
    out = subprocess.run(["ninja", "-C", build, "-t", "targets", "all"],
                         capture_output=True, text=True, check=True).stdout
    return {line.split(":", 1)[0] for line in out.splitlines()}


def _configure(src, build, *flags):
    subprocess.run(["cmake", "-S", src, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release", *flags],
                   check=True, stdout=subprocess.DEVNULL)


def _build(build, targets):
    subprocess.run(["ninja", "-C", build, "-j2", *targets], check=True, stdout=subprocess.DEVNULL)


def build_main(src, build):
    """Builds the microbenchmarks of every allocator CMake found; returns {allocator: (bench, count)}."""
    if not os.path.exists(os.path.join(build, "build.ninja")):
        log(f"configuring {build}")
        _configure(src, build)
    if "micro_bench_glibc" not in _ninja_targets(build):  # configured before bench/malloc existed
        _configure(src, build)
    known = _ninja_targets(build)
    found = [a for a in ALLOCATORS if f"micro_bench_{a}" in known]
    if not found:
        sys.exit(f"[micro] {build} has no microbenchmark targets (configured with -DHUGEMEM_BENCH=OFF?)")
    log(f"building microbenchmarks for {', '.join(found)}")
    _build(build, [f"{kind}_{a}" for a in found for kind in ("micro_bench", "pair_count")])
    return {a: _binaries(build, a) for a in found}


def build_nohardened(src, build, may_build):
    """The library again with -DHUGEMEM_HARDENED=OFF, in its own build folder under `build`, from
    the same source. Returns (bench, count) or None when it is not built and may_build is false."""
    nh = os.path.join(build, "bench", "malloc", "nohardened")
    if not os.path.exists(os.path.join(nh, "build.ninja")):
        if not may_build:
            return None
        log(f"configuring {nh} (-DHUGEMEM_HARDENED=OFF)")
        _configure(src, nh, "-DHUGEMEM_HARDENED=OFF", "-DHUGEMEM_TESTS=OFF")
    log("building hugemem without the hardened checks")
    _build(nh, ["micro_bench_hugemem", "pair_count_hugemem"])
    return _binaries(nh, "hugemem")


def build_settings(build):
    """The main build's type and hardening, which decide what the "hugemem" figures stand for."""
    cache = {}
    with open(os.path.join(build, "CMakeCache.txt")) as f:
        for line in f:
            m = re.match(r"(CMAKE_BUILD_TYPE|HUGEMEM_HARDENED):\w+=(.*)", line.strip())
            if m:
                cache[m.group(1)] = m.group(2)
    build_type = cache.get("CMAKE_BUILD_TYPE") or "no build type"
    return f"hugemem built as {build_type}, HUGEMEM_HARDENED={cache.get('HUGEMEM_HARDENED', 'ON')}"


def _binaries(build, alloc):
    d = os.path.join(build, "bench", "malloc")
    return os.path.join(d, f"micro_bench_{alloc}"), os.path.join(d, f"pair_count_{alloc}")


def _ns_per_op(entry):
    """ns per operation of one Google Benchmark run: every benchmark counts its operations as
    items, and items_per_second is per second of CPU time (of all its threads)."""
    return 1e9 / entry["items_per_second"]


def _bench_name(entry):
    return entry["run_name"].replace("/process_time", "")


def run_benchmarks(variants, rounds, repetitions, min_time):
    """Runs every variant's binary `rounds` times, in alternating order, each time with
    `repetitions` repetitions; returns {benchmark: {variant: [ns per op, ...]}}."""
    samples = {}
    with tempfile.TemporaryDirectory(prefix="micro-") as tmp:
        for r in range(rounds):
            order = list(variants) if r % 2 == 0 else list(reversed(variants))
            for i, name in enumerate(order):
                log(f"round {r + 1}/{rounds}: {name} ({i + 1}/{len(order)})")
                out = os.path.join(tmp, f"{name}.{r}.json")
                res = subprocess.run([variants[name][0], f"--benchmark_repetitions={repetitions}",
                                      f"--benchmark_min_time={min_time}", f"--benchmark_out={out}",
                                      "--benchmark_out_format=json"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
                if res.returncode != 0:  # e.g. the startup check found another allocator
                    sys.exit(f"[micro] {variants[name][0]} failed ({res.returncode}):\n{res.stderr}")
                with open(out) as f:
                    for e in json.load(f)["benchmarks"]:
                        if e.get("run_type") == "iteration" and "error_occurred" not in e:
                            samples.setdefault(_bench_name(e), {}).setdefault(name, []).append(_ns_per_op(e))
    return samples


def medians(samples):
    """{benchmark: {variant: (median, samples, min, max)}}."""
    return {b: {v: (statistics.median(xs), len(xs), min(xs), max(xs)) for v, xs in per.items()}
            for b, per in samples.items()}


def _callgrind(binary, pairs, size, tmp):
    """(total instructions, instructions in main itself) of one run of a pair_count binary."""
    out = os.path.join(tmp, "cg.out")
    res = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary, str(pairs), str(size)],
                         capture_output=True, text=True, check=True)
    total = int(re.search(r"Collected : (\d+)", res.stderr).group(1))
    ann = subprocess.run(["callgrind_annotate", "--threshold=100", out],
                         capture_output=True, text=True, check=True).stdout
    main = re.search(r"^\s*([\d,]+).*?:main \[" + re.escape(os.path.realpath(binary)), ann, re.M)
    if not main:
        sys.exit(f"[micro] callgrind_annotate shows no main() of {binary}")
    return total, int(main.group(1).replace(",", ""))


def count_instructions(variants, pairs):
    """Instructions per malloc(size)+free pair under callgrind, for each size of `pairs` ({size:
    how many pairs}): (run with that many pairs minus run with none) / pairs, whole and without
    the benchmark loop's own instructions (main's self cost). Returns {variant: {"pair/<size>": {"whole": .., "allocator": ..}}}."""
    if not shutil.which("valgrind") or not shutil.which("callgrind_annotate"):
        return None
    counts = {}
    with tempfile.TemporaryDirectory(prefix="micro-cg-") as tmp:
        for name, (_, binary) in variants.items():
            log(f"counting instructions: {name}")
            for size, n in pairs.items():
                t0, m0 = _callgrind(binary, 0, size, tmp)
                t1, m1 = _callgrind(binary, n, size, tmp)
                whole = (t1 - t0) / n
                counts.setdefault(name, {})[f"pair/{size}"] = {"whole": whole, "allocator": whole - (m1 - m0) / n}
    return counts
