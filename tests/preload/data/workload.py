# A Python workload for the preload test: dicts, big integers, threads, strings. Its output is
# deterministic (run with PYTHONHASHSEED=0) and must be identical under glibc and hugemem.
import hashlib
import json
import queue
import sys
import threading

if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(0)  # the big integers below are printed whole


def dicts():
    d = {}
    for i in range(200000):
        d[f"key{i}"] = i * i
    for i in range(0, 200000, 3):
        del d[f"key{i}"]
    nested = {i: {"v": [i] * (i % 7), "s": str(i) * (i % 5)} for i in range(30000)}
    merged = {**d, **{f"n{k}": len(v["s"]) for k, v in nested.items()}}
    return len(d), sum(d.values()) % 1000003, sum(len(v["v"]) + len(v["s"]) for v in nested.values()), len(merged)


def bigints():
    f = 1
    for i in range(2, 4000):
        f *= i
    fib = [0, 1]
    for _ in range(8000):
        fib.append(fib[-1] + fib[-2])
    p = pow(3, 10**6, 10**80 + 129)
    digits = str(f)
    return len(digits), sum(map(int, digits)), p, hashlib.sha256(str(fib[-1]).encode()).hexdigest()


def threads():
    work = queue.Queue()
    results = {}
    lock = threading.Lock()

    def worker(n):
        mine = []
        while (item := work.get()) is not None:
            words = [str(item * k) for k in range(200)]
            mine.append((item, len("".join(words)), sum(int(w) for w in words) % 65521))
        with lock:
            results[n] = mine

    ts = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in ts:
        t.start()
    for item in range(4000):
        work.put(item)
    for _ in ts:
        work.put(None)
    for t in ts:
        t.join()
    everything = sorted(x for mine in results.values() for x in mine)
    return len(everything), hashlib.sha256(repr(everything).encode()).hexdigest()


def strings():
    records = [{"id": i, "name": "n" * (i % 50), "tags": [str(j) for j in range(i % 9)]} for i in range(50000)]
    text = json.dumps(records)
    back = json.loads(text)
    words = " ".join(r["name"] + str(r["id"]) for r in back).split()
    return len(text), len(back), len(set(words)), hashlib.md5(text.encode()).hexdigest()


for name, fn in [("dicts", dicts), ("bigints", bigints), ("threads", threads), ("strings", strings)]:
    print(name, fn())
