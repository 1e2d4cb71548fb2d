"""Runs one workload process and measures it from the outside: wall time, and CPU time and peak
RSS from the kernel's rusage of exactly that child, through the wl_measure launcher
(bench/workloads/measure.cpp says why a launcher)."""
import os
import signal
import subprocess
import tempfile
import threading


def parse_result(stdout):
    """The workload's `RESULT key=value ...` line as a dict (numbers converted), or None."""
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            return parse_fields(line.split(None, 1)[1])
    return None


def parse_fields(text):
    """`key=value key=value` -> dict; ints and floats converted, the checksum kept as text."""
    out = {}
    for field in text.split():
        key, _, value = field.partition("=")
        out[key] = value if key == "checksum" else _number(value)
    return out


def _number(value):
    for conv in (int, float):
        try:
            return conv(value)
        except ValueError:
            pass
    return value


def run(measure, cmd, env=None, timeout=600):
    """Runs `cmd` under the `measure` launcher; returns {rc, wall_s, user_s, sys_s, cpu_s,
    maxrss_kib, stdout, stderr, result}. A run past `timeout` is killed (rc -9)."""
    with tempfile.NamedTemporaryFile(suffix=".rusage") as rep, tempfile.TemporaryFile() as out, \
            tempfile.TemporaryFile() as err:
        child = subprocess.Popen([measure, rep.name] + list(cmd), env=env, stdout=out, stderr=err)
        timer = threading.Timer(timeout, lambda: _kill(child.pid))
        timer.start()
        try:
            child.wait()
        finally:
            timer.cancel()
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
        usage = parse_fields(open(rep.name).read())
    if "rc" not in usage:  # the launcher itself failed or was killed
        usage = {"rc": child.returncode or -1, "wall_s": 0.0, "user_s": 0.0, "sys_s": 0.0, "maxrss_kib": 0}
    usage["cpu_s"] = usage["user_s"] + usage["sys_s"]
    usage.update(stdout=stdout, stderr=stderr, result=parse_result(stdout))
    return usage


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
