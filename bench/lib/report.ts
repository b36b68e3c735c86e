import { round } from "./stats.js";

/** One line of the results table; `detail` keeps the raw numbers for the JSON file. */
export interface Row {
  section: "latency" | "throughput" | "cold";
  scenario: string;
  system: "fngraph" | "floor" | "proxy" | "serverless-offline";
  p50Ms: number;
  tailMs: number;
  tailLabel: "p99" | "p95";
  reqPerSec?: number;
  vsFloor?: string;
  notes?: string;
  detail: unknown;
}

/** A row's figures from a measured run (sequential or load): p50, p99 and req/s. */
export function measured(r: {
  latency: { p50: number; p99: number };
  reqPerSec: number;
}): Pick<Row, "p50Ms" | "tailMs" | "tailLabel" | "reqPerSec"> {
  return { p50Ms: r.latency.p50, tailMs: r.latency.p99, tailLabel: "p99", reqPerSec: r.reqPerSec };
}

export function fmtMs(n: number): string {
  if (!Number.isFinite(n)) return "—";
  if (n < 0) return `−${fmtMs(-n)}`;
  if (n < 1) return n.toFixed(3);
  if (n < 100) return n.toFixed(2);
  return n.toFixed(1);
}

/** "+1.23 ms (×4.5)": how far above the floor a latency is. */
export function latencyOverhead(value: number, floor: number): string {
  const d = value - floor;
  const sign = d >= 0 ? "+" : "−";
  return `${sign}${fmtMs(Math.abs(d))} ms (×${round(value / floor, 2)})`;
}

/** "38% of floor": throughput as a share of the floor's. */
export function throughputShare(value: number, floor: number): string {
  return `${Math.round((value / floor) * 100)}% of floor`;
}

export function markdownTable(rows: readonly Row[]): string {
  const head = ["scenario", "p50 ms", "p99 / p95 ms", "req/s", "vs floor", "notes"];
  const lines = [
    `| ${head.join(" | ")} |`,
    `|${head.map((h, i) => (i === 0 || i === 5 ? ":---" : "---:")).join("|")}|`,
  ];
  for (const r of rows) {
    lines.push(
      `| ${[
        r.scenario,
        fmtMs(r.p50Ms),
        `${fmtMs(r.tailMs)} (${r.tailLabel})`,
        r.reqPerSec === undefined ? "—" : r.reqPerSec.toFixed(r.reqPerSec < 100 ? 1 : 0),
        r.vsFloor ?? "—",
        r.notes ?? "",
      ].join(" | ")} |`,
    );
  }
  return lines.join("\n");
}
