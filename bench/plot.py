"""Renders bench/run.sh's JSON results as one PNG (docs/benchmarks.png).

Usage: python bench/plot.py RESULTS.json OUT.png
Three panels: status throughput (ceiling, no edge, in-process edge, nginx) with the
edge targets (75% of the ceiling, 85% of no edge); register throughput against 90% of cores / hash time; RSS
against the 30 MB idle target.
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")  # no display on a server
import matplotlib.pyplot as plt  # noqa: E402


def main(results_path: str, out_path: str) -> None:
    with open(results_path, encoding="utf-8") as f:
        r = json.load(f)

    fig, (ax_status, ax_reg, ax_rss) = plt.subplots(
        1, 3, figsize=(13, 4.2), gridspec_kw={"width_ratios": [2.2, 1.3, 1.3]}
    )
    fig.suptitle(
        f"gamegate · {r['date']} · {r['backend']} · {r['cores']} cores · {r['cpu']} · "
        f"wrk {r['duration']} per bar",
        fontsize=9,
    )

    status = r["status_rps"]
    labels = ["bare axum\n(ceiling)", "serve status\n(no edge)", "all, full\nin-process edge", "nginx TLS →\nserve status"]
    values = [status["ceiling"], status["no_edge"], status["edge"], status["nginx"] or 0]
    colors = ["#9e9e9e", "#1f77b4", "#ff7f0e", "#2ca02c"]
    bars = ax_status.bar(labels, [v / 1000 for v in values], color=colors)
    target = 0.75 * status["ceiling"] / 1000
    ax_status.axhline(target, color="red", linestyle="--", linewidth=1)
    ax_status.text(3.4, target, "edge target: 75% of ceiling ", color="red", va="bottom", ha="right", fontsize=8)
    target_no_edge = 0.85 * status["no_edge"] / 1000
    ax_status.axhline(target_no_edge, color="purple", linestyle=":", linewidth=1)
    ax_status.text(3.4, target_no_edge, "85% of no edge ", color="purple", va="top", ha="right", fontsize=8)
    for bar, v in zip(bars, values):
        pct = 100 * v / status["ceiling"]
        ax_status.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{v / 1000:.1f}k\n{pct:.0f}%",
                       ha="center", va="bottom", fontsize=8)
    ax_status.set_ylabel("GET /api/server/status, thousand req/s")
    ax_status.set_ylim(0, max(values) / 1000 * 1.25)
    ax_status.set_title("status (wrk -t2 -c64)", fontsize=10)

    reg = r["register_rps"]
    ceiling_reg = r["cores"] / (r["hash_ms"] / 1000)
    reg_values = [reg["c1"], reg["c16"], ceiling_reg]
    bars = ax_reg.bar(["1 conn", "16 conns", "cores ÷\nhash time"], reg_values,
                      color=["#1f77b4", "#1f77b4", "#9e9e9e"])
    ax_reg.axhline(0.9 * ceiling_reg, color="red", linestyle="--", linewidth=1)
    ax_reg.text(-0.4, 0.9 * ceiling_reg, "90% target", color="red", va="bottom", ha="left", fontsize=8)
    for bar, v in zip(bars, reg_values):
        ax_reg.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{v:.0f}/s", ha="center",
                    va="bottom", fontsize=8)
    ax_reg.set_ylabel("POST /api/register, accounts/s")
    ax_reg.set_ylim(0, max(reg_values) * 1.25)
    ax_reg.set_title(f"register (Argon2id {r['hash_ms']:.1f} ms/hash)", fontsize=10)

    rss = r["rss_mib"]
    rss_values = [rss["idle"], rss["after_status"], rss["after_register"]]
    bars = ax_rss.bar(["idle", "after\nstatus load", "after\nregister load"], rss_values, color="#8c564b")
    ax_rss.axhline(30 / 1.048576, color="red", linestyle="--", linewidth=1)
    ax_rss.text(-0.4, 30 / 1.048576, "idle target 30 MB", color="red", va="bottom", ha="left", fontsize=8)
    for bar, v in zip(bars, rss_values):
        ax_rss.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{v} MiB", ha="center",
                    va="bottom", fontsize=8)
    ax_rss.set_ylabel("VmRSS of gamegate all, MiB")
    ax_rss.set_ylim(0, max(rss_values + [30]) * 1.25)
    ax_rss.set_title("memory", fontsize=10)

    for ax in (ax_status, ax_reg, ax_rss):
        ax.tick_params(axis="x", labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
