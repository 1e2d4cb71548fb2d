"""dTLB miss counts through `perf stat`, when the machine exposes the counter."""
import shutil
import subprocess

EVENTS = "dTLB-load-misses,dTLB-loads"


def why_unavailable():
    """None when `perf stat -e dTLB-load-misses` counts here, else the reason in words."""
    if not shutil.which("perf"):
        return "perf is not installed"
    try:
        r = subprocess.run(["perf", "stat", "-x,", "-e", EVENTS, "true"], capture_output=True, text=True,
                           timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        return f"perf stat failed: {e}"
    counts = parse(r.stderr)
    if r.returncode != 0 or counts.get("dTLB-load-misses") is None:
        detail = " ".join(l.strip() for l in r.stderr.splitlines() if l.strip())[:200]
        return f"perf stat -e dTLB-load-misses does not count here (rc {r.returncode}: {detail})"
    return None


def parse(csv_text):
    """perf stat -x, output -> {event: count or None when <not supported>/<not counted>}."""
    out = {}
    for line in csv_text.splitlines():
        fields = line.split(",")
        if len(fields) < 3 or line.startswith("#"):
            continue
        value, event = fields[0], fields[2]
        try:
            out[event] = int(float(value))
        except ValueError:
            out[event] = None
    return out


def wrap(cmd, out_path):
    """`cmd` run under perf stat, the counts written to `out_path`."""
    return ["perf", "stat", "-x,", "-o", out_path, "-e", EVENTS, "--"] + list(cmd)
