"""The microbenchmark part's output (bench/malloc/run writes micro.md and micro.json)."""
import json
import os

KEYS = ("instructions_per_pair", "ns_per_pair")


def _find(obj, key, path=()):
    """(path, value) of every `key` in nested dicts, depth first."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key and isinstance(v, (int, float)):
                yield path, v
            else:
                yield from _find(v, key, path + (k,))


def read(micro_dir):
    """(markdown, figures): micro.md's text, or a line saying why there is none; and
    {instructions_per_pair, ns_per_pair, <key>_source, why} for hugemem's fast path, taken from
    micro.json's `targets` (bench/malloc/README.md), else wherever those keys appear with a
    number (under a "hugemem" key when there are several)."""
    md_path = os.path.join(micro_dir, "micro.md") if micro_dir else None
    js_path = os.path.join(micro_dir, "micro.json") if micro_dir else None
    if not md_path or not os.path.exists(md_path):
        why = "the microbenchmark part (bench/malloc/run) is absent or wrote no micro.md"
        return f"Not run: {why}.", {"why": why}
    md = open(md_path).read()
    if md.startswith("## Microbenchmarks"):  # the report gives the section its heading
        md = md.split("\n", 1)[1] if "\n" in md else ""
    figures = {}
    if js_path and os.path.exists(js_path):
        data = json.load(open(js_path))
        for key in KEYS:
            # bench/malloc/README.md: targets.<key> = {limit, measured, met}.
            t = (data.get("targets") or {}).get(key)
            if isinstance(t, dict) and isinstance(t.get("measured"), (int, float)):
                figures[key] = t["measured"]
                figures[f"{key}_source"] = f"micro.json: targets.{key}.measured"
                continue
            hits = list(_find(data, key))
            pick = [h for h in hits if "hugemem" in h[0]] or hits
            if pick:
                figures[key] = pick[0][1]
                figures[f"{key}_source"] = "micro.json: " + ".".join(pick[0][0] + (key,))
    else:
        figures["why"] = "micro.json absent"
    return md, figures
