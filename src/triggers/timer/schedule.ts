import { Cron } from "croner";

/** A parsed TIMER schedule (contract §1.7 "TIMER schedule formats"). */
export type Schedule =
  { kind: "interval"; ms: number } | { kind: "cron"; cron: Cron; timezone: string };

const RATE = /^([1-9][0-9]*)([mhd])$/;
const RATE_LIMITS = { m: [60, 60_000], h: [24, 3_600_000], d: [30, 86_400_000] } as const;

const GO_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const GO_PART = /([0-9]*\.?[0-9]*)(ns|us|µs|μs|ms|s|m|h)/y;

/** robfig/cron's descriptors, as 6-field patterns. */
const DESCRIPTORS: Record<string, string> = {
  "@yearly": "0 0 0 1 1 *",
  "@annually": "0 0 0 1 1 *",
  "@monthly": "0 0 0 1 * *",
  "@weekly": "0 0 0 * * 0",
  "@daily": "0 0 0 * * *",
  "@midnight": "0 0 0 * * *",
  "@hourly": "0 0 * * * *",
};

export class ScheduleError extends Error {}

/**
 * Parse `schedule` for `schedule_type` Rate (`3m`, `1h`, `1d`) or Cron (`@every <Go duration>`,
 * 5 or 6 fields `sec min hour dom month [dow]` with `?`, names and an optional `CRON_TZ=`).
 * Throws ScheduleError naming what is wrong.
 */
export function parseSchedule(type: string, schedule: string): Schedule {
  const s = schedule.trim();
  if (type === "Rate") {
    const m = RATE.exec(s);
    if (!m) throw new ScheduleError(`Rate schedule must be <n>m, <n>h or <n>d: "${schedule}"`);
    const n = Number(m[1]);
    const [max, unitMs] = RATE_LIMITS[m[2] as "m" | "h" | "d"];
    if (n > max) throw new ScheduleError(`Rate "${schedule}" is out of range (1-${max}${m[2]})`);
    return { kind: "interval", ms: n * unitMs };
  }
  if (type !== "Cron") throw new ScheduleError(`schedule_type must be Rate or Cron: "${type}"`);
  let rest = s;
  let timezone = "UTC";
  const tz = /^(?:CRON_TZ|TZ)=(\S+)\s+/.exec(rest);
  if (tz) {
    timezone = tz[1]!;
    if (!isTimeZone(timezone)) throw new ScheduleError(`unknown time zone "${timezone}"`);
    rest = rest.slice(tz[0].length).trim();
  }
  if (rest.startsWith("@every")) {
    if (tz) throw new ScheduleError("CRON_TZ does not apply to @every");
    return { kind: "interval", ms: parseEvery(rest.slice("@every".length).trim()) };
  }
  const pattern = DESCRIPTORS[rest.toLowerCase()] ?? toCronerPattern(rest);
  try {
    return { kind: "cron", cron: new Cron(pattern, { timezone, paused: true }), timezone };
  } catch (err) {
    throw new ScheduleError(`invalid cron expression "${schedule}": ${(err as Error).message}`);
  }
}

/** The first schedule point strictly after `after`; intervals count from `anchor`. */
export function nextPoint(s: Schedule, anchor: number, after: number): number | undefined {
  if (s.kind === "interval") {
    const k = Math.max(1, Math.floor((after - anchor) / s.ms) + 1);
    return anchor + k * s.ms;
  }
  return s.cron.nextRun(new Date(after))?.getTime();
}

/** The last schedule point in (`after`, `upTo`], if any (the one catch-up after downtime). */
export function lastPointUpTo(
  s: Schedule,
  anchor: number,
  after: number,
  upTo: number,
): number | undefined {
  if (s.kind === "interval") {
    if (upTo < anchor + s.ms) return undefined;
    const p = anchor + Math.floor((upTo - anchor) / s.ms) * s.ms;
    return p > after ? p : undefined;
  }
  let last: number | undefined;
  let p = nextPoint(s, anchor, after);
  // Bounded walk: a per-second cron down for a day is 86,400 steps; stop early beyond that.
  for (let i = 0; p !== undefined && p <= upTo && i < 100_000; i++) {
    last = p;
    p = nextPoint(s, anchor, p);
  }
  return last;
}

function parseEvery(d: string): number {
  if (d === "") throw new ScheduleError("@every needs a duration such as 30m or 1h30m");
  let total = 0;
  GO_PART.lastIndex = 0;
  while (GO_PART.lastIndex < d.length) {
    const at = GO_PART.lastIndex;
    const m = GO_PART.exec(d);
    if (!m || m.index !== at || m[1] === "" || m[1] === ".") {
      throw new ScheduleError(`invalid @every duration "${d}"`);
    }
    total += Number(m[1]) * GO_UNITS[m[2]!]!;
  }
  // robfig/cron: whole seconds, at least one.
  return Math.max(1000, Math.floor(total / 1000) * 1000);
}

/** robfig (`sec min hour dom month [dow]`, `?` = any) → croner's 6 fields. */
function toCronerPattern(expr: string): string {
  const fields = expr.split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw new ScheduleError(
      `cron needs 6 fields "sec min hour day month weekday" (weekday optional): "${expr}"`,
    );
  }
  if (fields.length === 5) fields.push("*");
  fields.forEach((f, i) => {
    if (f.includes("?") && f !== "?") throw new ScheduleError(`invalid "?" in "${f}"`);
    if (f === "?" && i !== 3 && i !== 5)
      throw new ScheduleError(`"?" is only allowed for day-of-month and day-of-week`);
    // robfig allows 0-6 for weekdays; croner's 7 (= Sunday) is not in the dialect.
    if (i === 5 && /(^|[,-])7($|[,-/])/.test(f))
      throw new ScheduleError(`day-of-week ranges 0-6 (Sun-Sat): "${f}"`);
  });
  // croner reads "?" as "the current value"; in robfig it means "any".
  return fields.map((f) => (f === "?" ? "*" : f)).join(" ");
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
