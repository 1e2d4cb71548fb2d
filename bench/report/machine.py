"""What the benchmark ran on, read from /proc and /sys."""
import os
import platform
import subprocess


def _read(path, default="?"):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def _meminfo():
    out = {}
    for line in _read("/proc/meminfo", "").splitlines():
        key, _, rest = line.partition(":")
        out[key] = rest.strip()
    return out


def cpu_model():
    for line in _read("/proc/cpuinfo", "").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def describe():
    mem = _meminfo()
    thp = _read("/sys/kernel/mm/transparent_hugepage/enabled")
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory": mem.get("MemTotal", "?"),
        "kernel": platform.release(),
        "thp": thp,
        "thp_defrag": _read("/sys/kernel/mm/transparent_hugepage/defrag"),
        "hugepages_2m": f"{mem.get('HugePages_Total', '?')} total, {mem.get('HugePages_Free', '?')} free",
        "hugepages_1g": _read("/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "unsupported"),
        "glibc": platform.libc_ver()[1],
        "compiler": _first_line(["g++", "--version"]),
        "virtualization": _first_line(["systemd-detect-virt"]) or "none detected",
    }


def _first_line(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return ""
