"""The report's pictures: per workload, each allocator's time and peak-RSS ratio to glibc."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import ticker  # noqa: E402

import stats  # noqa: E402

COLORS = {"glibc": "#9e9e9e", "hugemem": "#d62728", "mimalloc": "#1f77b4", "jemalloc": "#2ca02c",
          "tcmalloc": "#ff7f0e"}


def ratio_chart(summary, key, title, path, base="glibc"):
    """Grouped bars (log scale) of summary[w][a][key] / summary[w][base][key] per workload, plus
    the geometric mean; 1.0 is the baseline, lower is better."""
    workloads = list(summary)
    allocs = [a for a in stats.ALLOCATOR_ORDER if a != base and any(a in summary[w] for w in workloads)]
    labels = workloads + ["geo-mean"]
    gms = stats.geomeans(summary, base, key)
    width = 0.8 / max(len(allocs), 1)
    fig, ax = plt.subplots(figsize=(max(11, 0.7 * len(labels)), 4.2))
    for i, a in enumerate(allocs):
        ys = [stats.ratio(summary, w, a, base, key) for w in workloads] + [gms.get(a, (None,))[0]]
        xs = [j + (i - (len(allocs) - 1) / 2) * width for j in range(len(labels))]
        ax.bar([x for x, y in zip(xs, ys) if y], [y for y in ys if y], width, label=a, color=COLORS.get(a))
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(ticker.FixedLocator([0.0625, 0.125, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 8, 16, 32, 64]))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}×"))
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=20, ha="right")
    ax.set_ylabel(f"ratio to {base} (lower is better)")
    ax.set_title(title)
    ax.legend(ncol=len(allocs), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.28))
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    plt.rcParams["svg.hashsalt"] = "hugemem"  # stable ids: regenerating an unchanged chart is no diff
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)
