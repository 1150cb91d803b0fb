"""The suite's table: each figure beside its same-run baseline, its ratio, target and pass/miss."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness import WrkResult, percentile
from http_load import SCENARIOS, SizeResults
from latency import LagResult, ThousandResult
from rebuild import RebuildResult

READ_SHARE = 0.30  # every read endpoint ≥ 30% of the ceiling's requests/s
SUBMIT_SHARE = 0.10  # submit ≥ 10%
SCALE_LIMIT = 1.5  # a read at the largest store within 1.5× of the same read at the smallest
STOP_SLACK = 0.100  # stop p99 ≤ one step + 100 ms
SUBMIT_RUNNING_P50 = 0.020
LAG_P99 = 0.100
REBUILD_SHARE = 0.25
RSS_LIMIT_MB = 300.0
UNCHANGED = 1.5  # stop p99 among 1,000 running jobs ≤ 1.5× the p99 without them
ANALYSIS_MARKER = "<!-- analysis: kept when the table above is regenerated -->"


def verdict(ok: bool) -> str:
    return "pass" if ok else "**miss**"


@dataclass
class Report:
    connections: int
    step: float
    context: dict[str, str] = field(default_factory=dict)
    sizes: list[SizeResults] = field(default_factory=list)
    round_trip: float | None = None
    stops: list[float] | None = None
    submit_running: list[float] | None = None
    lag: LagResult | None = None
    thousand: ThousandResult | None = None
    rebuild: RebuildResult | None = None
    missed: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        self.missed = []
        parts = ["# jobkeeper benchmark results", ""]
        parts += [f"- {name}: {value}" for name, value in self.context.items()]
        if self.sizes:
            parts += ["", f"## HTTP at {self.connections} connections (wrk)", ""]
            parts += self._http_table()
        others = self._other_rows()
        if others:
            parts += ["", "## Latency, lag, rebuild, a thousand live jobs", ""]
            parts += ["| figure | measured | baseline (same run) | ratio | target | result |"]
            parts += ["| --- | --- | --- | --- | --- | --- |"]
            parts += others
        parts += ["", "## Missed targets", ""]
        parts += [f"- {line}" for line in self.missed] or ["- none"]
        return "\n".join(parts) + "\n"

    # HTTP.

    def _http_table(self) -> list[str]:
        lines = [
            "| endpoint | jobs in store | req/s | p50 ms | p99 ms | × ceiling req/s "
            "| × ceiling p50 | slowdown vs smallest store | answers | target | result |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
        ]
        smallest = min(self.sizes, key=lambda s: s.store.jobs)
        for size in self.sizes:
            jobs = f"{size.store.jobs:,}"
            c = size.ceiling
            lines.append(
                f"| ceiling: bare Falcon GET /hello | ({jobs} run) | {c.rps:,.0f} | "
                f"{c.p50_ms:.1f} | {c.p99_ms:.1f} | 1.00 | 1.00 | | {_answers(c, 200)} | | |"
            )
            for scenario in SCENARIOS:
                result = size.endpoints.get(scenario.key)
                if result is None:
                    continue
                share = result.rps / c.rps
                slowdown = None
                if size is not smallest and scenario.key in smallest.endpoints:
                    slowdown = smallest.endpoints[scenario.key].rps / result.rps
                targets, results = self._http_targets(scenario.kind, share, slowdown)
                expected = 201 if scenario.kind == "submit" else 200
                answers = _answers(result, expected)
                label = scenario.label
                for target, outcome in zip(targets, results, strict=False):
                    if "miss" in outcome:
                        slower = f", {slowdown:.2f}× slower than smallest" if slowdown else ""
                        self.missed.append(
                            f"{label} at {jobs} jobs: {target} "
                            f"(measured {share:.2f}× ceiling{slower})"
                        )
                lines.append(
                    f"| {label} | {jobs} | {result.rps:,.0f} | {result.p50_ms:.1f} | "
                    f"{result.p99_ms:.1f} | {share:.2f} | {result.p50_ms / c.p50_ms:.2f} | "
                    f"{f'{slowdown:.2f}×' if slowdown else ''} | {answers} | "
                    f"{'; '.join(targets)} | {' / '.join(results)} |"
                )
        return lines

    def _http_targets(
        self, kind: str, share: float, slowdown: float | None
    ) -> tuple[list[str], list[str]]:
        if kind == "command":
            return ["none set"], [""]
        floor = READ_SHARE if kind == "read" else SUBMIT_SHARE
        targets = [f"≥ {floor:.2f}× ceiling"]
        results = [verdict(share >= floor)]
        if kind == "read" and slowdown is not None:
            targets.append(f"≤ {SCALE_LIMIT}× slower")
            results.append(verdict(slowdown <= SCALE_LIMIT))
        return targets, results

    # The rest.

    def _other_rows(self) -> list[str]:
        rows: list[str] = []
        step_ms = self.step * 1000
        rtt = self.round_trip
        rtt_text = f"HTTP round trip to the ceiling {rtt * 1000:.2f} ms" if rtt else "—"
        if self.stops:
            p50, p99, worst = _ms(self.stops)
            limit = step_ms + STOP_SLACK * 1000
            rows.append(self._row(
                f"stop latency ({len(self.stops)} stops, {step_ms:g} ms steps)",
                f"p50 {p50:.1f} ms · p99 {p99:.1f} ms · max {worst:.1f} ms",
                f"one step {step_ms:g} ms", f"p99 {p99 / step_ms:.2f} steps",
                f"p99 ≤ {limit:g} ms", p99 <= limit,
            ))  # fmt: skip
        if self.submit_running:
            p50, p99, worst = _ms(self.submit_running)
            rows.append(self._row(
                f"submit → running ({len(self.submit_running)} jobs, workers free)",
                f"p50 {p50:.1f} ms · p99 {p99:.1f} ms · max {worst:.1f} ms",
                rtt_text, f"p50 {p50 / (rtt * 1000):.1f}× round trip" if rtt else "—",
                f"p50 ≤ {SUBMIT_RUNNING_P50 * 1000:g} ms", p50 <= SUBMIT_RUNNING_P50 * 1000,
            ))  # fmt: skip
        if self.lag:
            lag = self.lag
            p50, p99, worst = _ms(lag.lags)
            s50, s99, _ = _ms(lag.submit_latencies)
            rows.append(self._row(
                f"projection lag at {lag.offered_rate:g} submits/s "
                f"(achieved {lag.achieved_rate:,.0f}/s, {len(lag.lags):,} events)",
                f"p50 {p50:.1f} ms · p99 {p99:.1f} ms · max {worst:.1f} ms",
                rtt_text, f"p99 {p99 / (rtt * 1000):.1f}× round trip" if rtt else "—",
                f"p99 ≤ {LAG_P99 * 1000:g} ms, rate sustained",
                p99 <= LAG_P99 * 1000 and lag.sustained,
            ))  # fmt: skip
            rows.append(self._row(
                f"submit latency during that load ({lag.late_sends} sends > 50 ms late)",
                f"p50 {s50:.1f} ms · p99 {s99:.1f} ms", "", "", "", None,
            ))  # fmt: skip
        if self.rebuild:
            r = self.rebuild
            rows.append(self._row(
                f"view rebuild, fresh view store + Projector.catch_up() ({r.events:,} events)",
                f"{r.rebuild_per_second:,.0f} events/s",
                f"raw select_notifications {r.raw_per_second:,.0f} events/s "
                f"(+ mapping to events: {r.mapped_per_second:,.0f}/s)",
                f"{r.ratio:.1%}", f"≥ {REBUILD_SHARE:.0%} of raw", r.ratio >= REBUILD_SHARE,
            ))  # fmt: skip
        if self.thousand:
            t = self.thousand
            rows.append(self._row(
                f"{t.running + t.probes:,} sleep jobs running in one `jobkeeper serve`: worker RSS",
                f"{t.rss_mb:,.0f} MB (peak; {t.threads:,} threads; all running after "
                f"{t.start_seconds:.0f} s)",
                f"the same service idle: {t.idle_rss_mb:,.0f} MB",
                f"{t.rss_mb / t.idle_rss_mb:.2f}×", f"≤ {RSS_LIMIT_MB:g} MB",
                t.rss_mb <= RSS_LIMIT_MB,
            ))  # fmt: skip
            p50, p99, worst = _ms(t.stop_latencies)
            limit = step_ms + STOP_SLACK * 1000
            if self.stops:
                base = percentile(self.stops, 99) * 1000
                baseline, ratio = f"stop p99 without them {base:.1f} ms", f"{p99 / base:.2f}×"
                ok = p99 <= limit and p99 <= UNCHANGED * base
                target = f"p99 ≤ {limit:g} ms and ≤ {UNCHANGED}× the p99 without them"
            else:
                baseline, ratio, ok = "—", "—", p99 <= limit
                target = f"p99 ≤ {limit:g} ms"
            rows.append(self._row(
                f"stop latency among them ({len(t.stop_latencies)} stops, {step_ms:g} ms steps)",
                f"p50 {p50:.1f} ms · p99 {p99:.1f} ms · max {worst:.1f} ms",
                baseline, ratio, target, ok,
            ))  # fmt: skip
        return rows

    def _row(
        self, figure: str, measured: str, baseline: str, ratio: str, target: str, ok: bool | None
    ) -> str:
        outcome = "" if ok is None else verdict(ok)
        if ok is False:
            self.missed.append(f"{figure}: {measured} (target {target})")
        return f"| {figure} | {measured} | {baseline} | {ratio} | {target} | {outcome} |"


def _ms(values: list[float]) -> tuple[float, float, float]:
    return (percentile(values, 50) * 1000, percentile(values, 99) * 1000, max(values) * 1000)


def _answers(result: WrkResult, expected: int) -> str:
    """The answers that were not the expected status, and socket errors (blank when none)."""
    others = {k: v for k, v in result.statuses.items() if k != str(expected)}
    parts = [f"{v:,}× {k}" for k, v in sorted(others.items())]
    parts += [f"{v:,} {k} errors" for k, v in result.errors.items() if v]
    if result.extra.get("unchanged"):
        parts.append(f"{result.extra['unchanged']:,} unchanged")
    return ", ".join(parts) if parts else f"all {expected}"


def merge_analysis(text: str, previous: str | None) -> str:
    """The new report, followed by the hand-written analysis of the previous file, if any."""
    if previous and ANALYSIS_MARKER in previous:
        return text + "\n" + ANALYSIS_MARKER + previous.split(ANALYSIS_MARKER, 1)[1]
    return text + "\n" + ANALYSIS_MARKER + "\n"


__all__ = ["Report", "merge_analysis"]
