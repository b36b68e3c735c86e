/**
 * `npm run bench`: warm latency, throughput and cold starts of fngraph next to a bare node:http
 * floor. Prints a markdown table and writes bench/results/<date>.json. See bench/README.md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createFnApi, type FnApi } from "./lib/api.js";
import { FULL_PLAN, QUICK_PLAN, type BenchContext } from "./lib/context.js";
import { startFloor, type Floor } from "./lib/floor.js";
import { machineInfo } from "./lib/machine.js";
import { markdownTable, type Row } from "./lib/report.js";
import { startServer, type Server } from "./lib/server.js";
import { coldSection } from "./sections/cold.js";
import { languagesSection } from "./sections/languages.js";
import { peersSection } from "./sections/peers.js";
import { sandboxSection } from "./sections/sandbox.js";
import { scalingSection } from "./sections/scaling.js";
import { latencySection, throughputSection } from "./sections/warm.js";

const SECTIONS = {
  latency: latencySection,
  throughput: throughputSection,
  cold: coldSection,
  scaling: scalingSection,
  peers: peersSection,
  sandbox: sandboxSection,
  languages: languagesSection,
} as const;
type SectionName = keyof typeof SECTIONS;
const isSection = (s: string): s is SectionName => Object.hasOwn(SECTIONS, s);

const USAGE = `usage: npm run bench -- [options]
  --quick               smoke run (~30 s): small samples, 2 s load runs
  --only <names>        comma-separated sections: ${Object.keys(SECTIONS).join(", ")}
  --isolation <tier>    passed to \`fngraph serve --isolation\` (auto | A | B | C); default: not passed
  --ref <git-ref>       compile and run a committed snapshot (e.g. HEAD) instead of the working tree
  --memory <MB>         memory_size of the bench functions (default 128; CPU quota follows it)
  --use-dist            run the existing dist/ (bin/fngraph.js) instead of compiling the tree
  --node-options=<opts> node options for the server, e.g. --node-options="--cpu-prof --cpu-prof-dir=/tmp/p"
                        (the profile is written when the bench stops the server)
  --out <file>          JSON output (default bench/results/<YYYY-MM-DD>[-quick|-partial].json)
  -h, --help`;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const log = (line: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

function parseCli(): {
  quick: boolean;
  only: SectionName[];
  isolation: string | undefined;
  useDist: boolean;
  ref: string | undefined;
  memoryMb: number;
  out: string | undefined;
  nodeArgs: string[];
} {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string", multiple: true },
      isolation: { type: "string" },
      "use-dist": { type: "boolean", default: false },
      ref: { type: "string" },
      memory: { type: "string", default: "128" },
      out: { type: "string" },
      "node-options": { type: "string", default: "" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    process.exit(0);
  }
  const names = (values.only ?? []).flatMap((s) => s.split(",")).map((s) => s.trim());
  const only: SectionName[] = [];
  for (const n of names.filter(Boolean)) {
    if (!isSection(n)) throw new Error(`unknown section "${n}"\n${USAGE}`);
    if (!only.includes(n)) only.push(n);
  }
  if (values.isolation !== undefined && !["auto", "A", "B", "C"].includes(values.isolation)) {
    throw new Error(`--isolation must be auto, A, B or C\n${USAGE}`);
  }
  if (!/^\d+$/.test(values.memory)) throw new Error(`--memory must be a number of MB\n${USAGE}`);
  return {
    quick: values.quick,
    only,
    isolation: values.isolation,
    useDist: values["use-dist"],
    ref: values.ref,
    memoryMb: Number(values.memory),
    out: values.out,
    nodeArgs: values["node-options"].split(/\s+/).filter(Boolean),
  };
}

async function main(): Promise<number> {
  const cli = parseCli();
  const startedAt = new Date();
  const machine = machineInfo(repoRoot);
  const plan = cli.quick ? QUICK_PLAN : FULL_PLAN;
  // Fixed order whatever --only says: warm sections first, cold last.
  const selected = (Object.keys(SECTIONS) as SectionName[]).filter(
    (s) => cli.only.length === 0 || cli.only.includes(s),
  );
  log(
    `${cli.quick ? "quick" : "full"} run of ${selected.join(", ")} on ${machine.cpus} cpus, ` +
      `load ${machine.loadAvgAtStart.join(" ")}`,
  );

  let server: Server | undefined;
  let floor: Floor | undefined;
  let api: FnApi | undefined;
  const cleanup = async (): Promise<void> => {
    await api?.close().catch(() => undefined);
    await Promise.allSettled([server?.stop(), floor?.stop()]);
  };
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = true;
    log(`${signal}: stopping the server and the floor`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const rows: Row[] = [];
  let tier = "?";
  let tierDescription = "";
  let failure: unknown;
  try {
    server = await startServer({
      repoRoot,
      isolation: cli.isolation,
      useDist: cli.useDist,
      ref: cli.ref,
      log,
      nodeArgs: cli.nodeArgs,
    });
    log(`server: pid ${server.pid}, ${server.credentials.endpoint}, data ${server.dataDir}`);
    api = await createFnApi(server.credentials);
    const health = await api.health();
    const iso = health["isolation"] as { tier?: string; description?: string } | undefined;
    tier = iso?.tier ?? "?";
    tierDescription = iso?.description ?? "";
    log(`server: isolation tier ${tier} (${tierDescription})`);
    if (cli.isolation && cli.isolation !== "auto" && cli.isolation !== tier) {
      log(`WARNING: asked for --isolation ${cli.isolation}, the server reports tier ${tier}`);
    }
    if (selected.includes("latency") || selected.includes("throughput")) {
      floor = await startFloor(repoRoot);
      log(`floor: pid ${floor.pid}, ${floor.origin}`);
    }
    const ctx: BenchContext = {
      api,
      floor,
      plan,
      memoryMb: cli.memoryMb,
      tier,
      log,
      addRow: (r) => rows.push(r),
      repoRoot,
      coldWithPeers: selected.includes("cold") && selected.includes("peers"),
      startServer: (env) =>
        startServer({
          repoRoot,
          isolation: cli.isolation,
          useDist: cli.useDist,
          ref: cli.ref,
          log,
          env,
          nodeArgs: cli.nodeArgs,
        }),
    };
    for (const name of selected) await SECTIONS[name](ctx);
  } catch (err) {
    failure = err;
    // After Ctrl-C the section fails because its server went away: not worth a stack trace.
    if (interrupted) return 130;
    log(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (server) log(`server output (tail):\n${server.output().slice(-4000)}`);
  } finally {
    await cleanup();
  }

  const finishedAt = new Date();
  const header = [
    `fngraph bench (${cli.quick ? "quick" : "full"}) ${startedAt.toISOString()}`,
    `functions: memory_size ${cli.memoryMb} MB; isolation tier ${tier}${tierDescription ? ` (${tierDescription})` : ""}` +
      (cli.isolation ? `, asked --isolation ${cli.isolation}` : ", auto-detected"),
    `${machine.cpus} × ${machine.cpuModel}, node ${machine.node}, load ${machine.loadAvgAtStart.join(" ")} at start, ` +
      `commit ${machine.git.commit.slice(0, 10)}${machine.git.dirtyFiles ? ` + ${machine.git.dirtyFiles} uncommitted files` : ""}`,
    `server: ${server?.build ?? "not started"}`,
    ...(machine.loadAvgAtStart[0]! > machine.cpus / 2
      ? [
          `WARNING: 1-min load average ${machine.loadAvgAtStart[0]} on ${machine.cpus} cpus at start: ` +
            `other work shares the machine; treat the numbers as noisy`,
        ]
      : []),
    `server and floor each in a child process; client (undici / autocannon) in the bench process; loopback`,
  ];
  process.stdout.write(
    `\n${header.map((l) => `> ${l}`).join("  \n")}\n\n${markdownTable(rows)}\n\n`,
  );

  const suffix = cli.quick ? "-quick" : cli.only.length ? "-partial" : "";
  const out =
    cli.out ??
    path.join(
      repoRoot,
      "bench",
      "results",
      `${startedAt.toISOString().slice(0, 10)}${suffix}.json`,
    );
  mkdirSync(path.dirname(out), { recursive: true });
  const report = {
    schema: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationS: Math.round((finishedAt.getTime() - startedAt.getTime()) / 100) / 10,
    mode: cli.quick ? "quick" : "full",
    sections: selected,
    plan,
    memoryMb: cli.memoryMb,
    machine: { ...machine, loadAvgAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100) },
    server: {
      process: "child: fngraph serve --port 0 --keep-alive 600 with a temp data dir",
      build: server?.build,
      isolationRequested: cli.isolation ?? null,
      tier,
      tierDescription,
    },
    floor: {
      process: "child: bench/floor-server.ts (node:http, handler called in-process, no auth)",
    },
    client: "bench process: undici Pool (1 keep-alive connection) for c=1, autocannon 9 for c=32",
    ...(failure !== undefined
      ? { failure: failure instanceof Error ? failure.message : JSON.stringify(failure) }
      : {}),
    rows,
  };
  writeFileSync(out, JSON.stringify(report, null, 2) + "\n");
  log(`wrote ${path.relative(process.cwd(), out)} in ${report.durationS} s`);
  return failure ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
