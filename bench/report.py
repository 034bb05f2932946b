"""Figures: what each one is, the peer's and the target, `median [min-max]`, and the summary table."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bench.workload import RunFigures, Sizes

LOWER, HIGHER, NONE_ALLOWED, INFO = "lower", "higher", "none", "info"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    digits: int
    # The best-known open-source peer on the same 2-core machine, as printed; "" when not measured.
    peer: str = ""
    target: float | None = None
    # How a figure meets its target: median at most / at least the target, or no run above zero.
    rule: str = INFO

    def target_text(self) -> str:
        if self.rule == NONE_ALLOWED:
            return "0"
        if self.target is None:
            return ""
        return f"{'<=' if self.rule == LOWER else '>='} {self.target:g}"

    def judge(self, values: Sequence[float]) -> str:
        if self.rule == NONE_ALLOWED:
            return "met" if max(values) == 0 else "MISSED"
        if self.target is None:
            return ""
        median = statistics.median(values)
        ok = median <= self.target if self.rule == LOWER else median >= self.target
        return "met" if ok else "MISSED"

    def spread(self, values: Sequence[float]) -> str:
        """`median [min-max]`."""
        d = self.digits
        return f"{statistics.median(values):.{d}f} [{min(values):.{d}f}-{max(values):.{d}f}]"


def metrics(sizes: Sizes) -> list[Metric]:
    return [
        Metric("import_s", f"import {sizes.items:,} items, one mutation", "s", 3, "1.40", 0.3, LOWER),
        Metric("cycles_per_s", f"claim+submit, {sizes.annotators} annotators", "cycles/s", 1, "27", 270, HIGHER),
        Metric("cycle_p50_ms", "  one cycle, p50", "ms", 1, "134"),
        Metric("cycle_p95_ms", "  one cycle, p95", "ms", 1),
        Metric(
            "over_overlap",
            f"items leased beyond overlap, of {sizes.cycles:,}",
            "items",
            0,
            "7 of 200",
            rule=NONE_ALLOWED,
        ),
        Metric("reviews_per_s", f"reviews (ACCEPT), {sizes.review_clients} clients", "reviews/s", 1),
        Metric("page_p50_ms", f"page of {sizes.page_size} items, p50", "ms", 1, "173", 20, LOWER),
        Metric("page_p95_ms", f"page of {sizes.page_size} items, p95", "ms", 1),
        Metric("export_s", "export JSONL, streamed", "s", 3, "7.8", 0.8, LOWER),
        Metric("export_lines", "  lines exported", "lines", 0),
        Metric("export_csv_s", "  the snapshot again as CSV", "s", 3),
        Metric("export_parquet_s", "  as Parquet", "s", 3),
        Metric("export_hf_s", "  as a Hugging Face dataset (zip)", "s", 3),
        Metric("export_label_studio_s", "  as Label Studio tasks", "s", 3),
        Metric("metrics_scrape_ms", "GET /metrics, one scrape", "ms", 1),
        Metric("peak_rss_mib", "server peak RSS (VmHWM)", "MiB", 1, "500", 200, LOWER),
        Metric("srv_ms_per_cycle", "server CPU per cycle", "ms", 2),
        Metric("cli_ms_per_cycle", "bench client CPU per cycle", "ms", 2),
        Metric("srv_ms_per_review", "server CPU per review", "ms", 2),
        Metric("srv_ms_per_page", "server CPU per page", "ms", 1),
        Metric("srv_s_import", "server CPU for the import", "s", 3),
        Metric("srv_s_export", "server CPU for the export", "s", 3),
    ]


def flatten(figures: RunFigures, sizes: Sizes, over_overlap: int, peak_rss_mib: float) -> dict[str, float]:
    cpu, client = figures.server_cpu_s, figures.client_cpu_s
    pages = max(1, figures.page_items // sizes.page_size)
    return {
        "import_s": figures.import_s,
        "cycles_per_s": figures.cycles_per_s,
        "cycle_p50_ms": figures.cycle_p50_ms,
        "cycle_p95_ms": figures.cycle_p95_ms,
        "over_overlap": over_overlap,
        "reviews_per_s": figures.reviews_per_s,
        "page_p50_ms": figures.page_p50_ms,
        "page_p95_ms": figures.page_p95_ms,
        "export_s": figures.export_s,
        "export_lines": figures.export_lines,
        **{f"export_{fmt.replace('-', '_')}_s": seconds for fmt, seconds in figures.format_s.items()},
        "metrics_scrape_ms": figures.metrics_scrape_ms,
        "peak_rss_mib": peak_rss_mib,
        "srv_ms_per_cycle": cpu["label"] / sizes.cycles * 1000,
        "cli_ms_per_cycle": client["label"] / sizes.cycles * 1000,
        "srv_ms_per_review": cpu["review"] / max(1, figures.reviews) * 1000,
        "srv_ms_per_page": cpu["pages"] / pages * 1000,
        "srv_s_import": cpu["import"],
        "srv_s_export": cpu["export"],
    }


def table(sizes: Sizes, results: dict[str, list[dict[str, float]]]) -> str:
    """One row per figure: the peer's, the target, and `median [min-max] met|MISSED` per database."""
    stores = list(results)
    header = ["figure", "unit", "peer", "target", *stores]
    rows = [header]
    for metric in metrics(sizes):
        cells = [metric.label, metric.unit, metric.peer, metric.target_text()]
        for store in stores:
            values = [run[metric.key] for run in results[store]]
            cells.append(f"{metric.spread(values)} {metric.judge(values)}".rstrip() if values else "-")
        rows.append(cells)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
