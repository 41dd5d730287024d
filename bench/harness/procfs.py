"""Readings from /proc: CPU ticks, RSS, whole-machine busy time."""

import os

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_ticks(pid):
    """utime + stime of a process (all its threads, live and exited), in clock ticks; 0 when gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except OSError:
        return 0
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)


def proc_status_kib(pid, key):
    """A `Vm*` line of /proc/<pid>/status in KiB (VmRSS, VmHWM), or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def machine_busy_ticks():
    """Busy ticks of all CPUs: user + nice + system + irq + softirq + steal (not idle, not iowait)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu "):
                v = [int(x) for x in line.split()[1:]]
                return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
    return 0
