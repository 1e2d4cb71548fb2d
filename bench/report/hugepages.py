"""Reserving and releasing 2 MiB hugetlb pages (root only) for the HUGEMEM_PAGES=2m run."""
import os

NR = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"


def _get(path=NR):
    with open(path) as f:
        return int(f.read())


def _set(n, path=NR):
    with open(path, "w") as f:
        f.write(str(n))


class Reservation:
    """Context manager: asks the kernel for `want` more 2 MiB pages, records how many it gave
    (it may give fewer when memory is fragmented), and restores the old count on exit.
    `why_not` says why nothing could be reserved; then `got` is 0."""

    def __init__(self, want, path=NR):
        self.want, self.path = want, path
        self.before = self.got = 0
        self.why_not = None

    def __enter__(self):
        if os.geteuid() != 0:
            self.why_not = "not root: cannot reserve hugetlb pages"
            return self
        try:
            self.before = _get(self.path)
            _set(self.before + self.want, self.path)
            self.got = _get(self.path) - self.before
        except OSError as e:
            self.why_not = f"{self.path}: {e}"
            return self
        if self.got == 0:
            self.why_not = f"asked the kernel for {self.want} 2 MiB pages, it gave none"
        return self

    def __exit__(self, *exc):
        if self.why_not is None or self.got:
            try:
                _set(self.before, self.path)
            except OSError:
                pass
        return False
