import { createHmac } from "node:crypto";
import { chmodSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { systemClock, type Clock } from "./core/clock.js";
import type { Config } from "./core/config.js";
import type { Logger } from "./core/logger.js";
import { openStore } from "./store/index.js";
import { retentionTargets, startRecordRetention } from "./store/record-retention.js";
import { codeDirWithDependencies, createBlobStore, createMergedDirs } from "./blobs/index.js";
import { openDependencyStore } from "./store/dependencies.js";
import { createDependencyService } from "./api/dependency-service.js";
import { createDownloadLinks } from "./api/dependency-links.js";
import {
  defaultPublicDependenciesDir,
  registerPublicDependencies,
} from "./api/public-dependencies.js";
import { extractZip } from "./packages/index.js";
import { createSandbox } from "./sandbox/index.js";
import { createPlainProcessSandbox } from "./sandbox/plain-process.js";
import type { Sandbox } from "./sandbox/types.js";
import { createRuntimeRegistry } from "./runtimes/registry.js";
import { createRecordBatcher } from "./invoker/record-batcher.js";
import { createInvoker } from "./invoker/invoker.js";
import { createPrewarmPool, parsePrewarmSpecs } from "./invoker/prewarm-pool.js";
import { createReservedInstances } from "./invoker/reserved-instances.js";
import { openReservedStore } from "./store/reserved.js";
import { createAuthenticator, createTokenService } from "./auth/index.js";
import { createFunctionService } from "./api/function-service.js";
import { createApiServer, createGatewayServer } from "./api/server.js";
import type { VersionHooks } from "./api/versions-service.js";
import { toConfigModel } from "./async/config.js";
import { toQualifiedUrn } from "./core/urn.js";
import { openTriggerStore } from "./store/triggers.js";
import {
  createAsyncDelivery,
  createTriggerRegistry,
  createTriggerService,
  type TriggerService,
} from "./triggers/index.js";
import { createAsyncService, createDispatcher, type DispatcherOptions } from "./async/index.js";
import { openAsyncStore } from "./store/async.js";
import type { AsyncStore } from "./store/async-types.js";
import {
  loadOrCreateIdentity,
  urlOf,
  writeCredentials,
  type Credentials,
} from "./platform-identity.js";

export type { Credentials } from "./platform-identity.js";

export interface Platform {
  readonly config: Config;
  readonly credentials: Credentials;
  readonly isolation: { tier: string; description: string };
  close(): Promise<void>;
}

export interface PlatformOptions {
  logger?: Logger;
  clock?: Clock;
  /** Sandbox factory; default: detect the best tier (ARCHITECTURE §5). */
  createSandbox?: (logger: Logger, dataDir: string) => Promise<Sandbox>;
  /** Async dispatcher tuning (retry backoff, leases, polling); tests shorten the delays. */
  asyncDispatch?: Pick<
    DispatcherOptions,
    "maxInflight" | "leaseMs" | "pollMs" | "retryBaseMs" | "retryMaxMs" | "busyRetryMs"
  >;
}

/** The composition root: builds every part, wires them, starts the roles. */
export async function startPlatform(
  config: Config,
  options: PlatformOptions = {},
): Promise<Platform> {
  const logger: Logger =
    options.logger ?? pino({ level: config.logLevel, base: { service: "fngraph" } });
  const clock = options.clock ?? systemClock;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o755 });
  // Sandboxed instances (uid 1003) reach their code through this directory: search, not read.
  const mode = statSync(config.dataDir).mode;
  if ((mode & 0o001) === 0) chmodSync(config.dataDir, (mode & 0o777) | 0o001);

  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        logger.warn({ err }, "error while shutting down");
      }
    }
  };

  try {
    const store = await openStore(config.store, { logger: logger.child({ component: "store" }) });
    closers.push(() => store.close());
    // Closed after the invoker (closers run in reverse), so the last calls' records are kept.
    const records = createRecordBatcher({
      write: (rs) => store.addInvocations(rs),
      clock,
      logger: logger.child({ part: "records" }),
    });
    closers.push(() => records.close());
    const identity = await loadOrCreateIdentity(store, config.region);

    const blobs = await createBlobStore({
      dir: path.join(config.dataDir, "blobs"),
      unpack: (zip, dest) => extractZip(zip, dest),
    });
    closers.push(() => blobs.close());
    // Dependency packages (issue 8): versions in the store, code + dependencies merged per list.
    const dependencyStore = openDependencyStore(config.store);
    closers.push(() => dependencyStore.close());
    const merged = await createMergedDirs({ dir: path.join(config.dataDir, "blobs", "merged") });
    closers.push(() => merged.close());

    const sandboxLogger = logger.child({ part: "sandbox" });
    const sandbox = await (options.createSandbox
      ? options.createSandbox(sandboxLogger, config.dataDir)
      : createSandbox({
          isolation: config.isolation,
          favorDynmods: config.cgroupFavorDynmods,
          dataDir: config.dataDir,
          logger: sandboxLogger,
          // Under the data dir, so a restart finds and deletes what a killed platform left.
          createPlain: () =>
            createPlainProcessSandbox({
              logger: sandboxLogger,
              tmpRoot: path.join(config.dataDir, "sandbox", "plain-tmp"),
            }),
        }));
    closers.push(() => sandbox.close());

    const runtimes = createRuntimeRegistry({
      nodePath: config.nodePath,
      pythonPath: config.pythonPath,
    });
    // Generic runtimes started ahead of time (docs/scaling.md); specs checked before anything runs.
    const prewarmSpecs = parsePrewarmSpecs(config.prewarm);
    const runtimeDefs = [...new Set(runtimes.names().map((n) => runtimes.get(n)!))];
    const prewarm =
      prewarmSpecs.length > 0
        ? createPrewarmPool({
            sandbox,
            runtimes: runtimeDefs,
            dir: path.join(config.dataDir, "prewarm"),
            specs: prewarmSpecs,
            maxPerKey: config.prewarmMax,
            tmpMb: 512,
            clock,
            logger: logger.child({ part: "invoker" }),
          })
        : undefined;
    const invoker = createInvoker({
      sandbox,
      runtimes,
      ...(prewarm ? { prewarm } : {}),
      maxQueue: config.maxQueue,
      queueTimeoutMs: config.queueTimeoutSeconds * 1000,
      codeDir: (digest, dependencies) =>
        codeDirWithDependencies(
          blobs,
          merged,
          digest,
          dependencies.map((d) => d.digest),
        ),
      record: (r) => records.add(r),
      logger: logger.child({ part: "invoker" }),
      clock,
      keepAliveMs: config.keepAliveSeconds * 1000,
      concurrencyQuota: config.concurrencyQuota,
      mountRoots: config.mountRoots,
    });
    closers.push(() => invoker.close());
    prewarm?.start();

    const tokens = createTokenService({ identity, clock });
    const authenticate = createAuthenticator({ tokens, clock, identity });
    const dependencies = createDependencyService({
      store: dependencyStore,
      blobs,
      codeReferences: (digest) => store.isDigestReferenced(digest),
      runtimes,
      clock,
      fileRoots: config.dependencyRoots,
    });
    await registerPublicDependencies(
      dependencies,
      config.publicDependenciesDir ?? defaultPublicDependenciesDir(),
      logger.child({ part: "dependencies" }),
    );
    const downloadLinks = createDownloadLinks({
      key: createHmac("sha256", identity.tokenKey).update("dependency download links").digest(),
      ttlSeconds: 3600,
      now: () => clock.now(),
    });
    // Triggers (issue 7) and the async store are built later; version events reach them here.
    const late: { triggers?: TriggerService; asyncStore?: AsyncStore } = {};
    const triggerHooks: VersionHooks = {
      deleting: async (fn, version) => {
        await late.triggers?.hooks.deleting(fn, version);
        // A whole function's async rows go with it in the store; a version's config goes here.
        if (version !== undefined) await late.asyncStore?.deleteConfig(fn.id, version);
      },
      triggerCount: async (fn, qualifier) =>
        (await late.triggers?.hooks.triggerCount(fn, qualifier)) ?? 0,
      // A published version keeps the async config latest had (issue 5: the snapshot includes it).
      published: async (fn, version) => {
        const c = await late.asyncStore?.getConfig(fn.id, "latest");
        if (!c || !late.asyncStore) return;
        const now = clock.now();
        await late.asyncStore.putConfig({
          ...c,
          qualifier: version.version,
          createdAt: now,
          lastModified: now,
        });
      },
      asyncConfig: async (fn, version) => {
        const c = await late.asyncStore?.getConfig(fn.id, version);
        const ref = {
          region: config.region,
          projectId: fn.projectId,
          package: fn.package,
          name: fn.name,
        };
        return c ? toConfigModel(c, toQualifiedUrn(ref, version)) : null;
      },
    };
    const functions = createFunctionService({
      hooks: triggerHooks,
      dependencies,
      store,
      blobs,
      invoker,
      runtimes,
      clock,
      region: config.region,
      defaultMaxInstances: 400,
      mountRoots: config.mountRoots,
    });

    // Reserved instances (issue 4): restored now, kept warm by the invoker's pools.
    const reservedStore = openReservedStore(config.store);
    closers.push(() => reservedStore.close());
    const reserved = createReservedInstances({
      store: reservedStore,
      invoker,
      resolve: async (c) => {
        const fn = await store.getFunctionById(c.functionId);
        if (!fn) return undefined;
        const name =
          c.qualifierType === "alias"
            ? (await store.getAlias(fn.id, c.qualifier))?.version
            : c.qualifier;
        const version = name === undefined ? undefined : await store.getVersion(fn.id, name);
        return version
          ? { fn, version, alias: c.qualifierType === "alias" ? c.qualifier : "" }
          : undefined;
      },
      clock,
      logger: logger.child({ part: "invoker" }),
    });
    await reserved.start();
    closers.push(() => reserved.close());

    const asyncStore = await openAsyncStore(config.store);
    closers.push(() => asyncStore.close());
    // Closed before the stores (closers run in reverse).
    const retention = startRecordRetention({
      targets: retentionTargets(store, asyncStore),
      clock,
      logger: logger.child({ part: "retention" }),
      retentionHours: config.recordRetentionHours,
    });
    closers.push(() => retention.close());
    late.asyncStore = asyncStore;
    const dispatcher = createDispatcher({
      store: asyncStore,
      invoker,
      resolve: functions.resolve,
      clock,
      logger: logger.child({ part: "async" }),
      exclusive: asyncStore.kind === "sqlite",
      // Leave a fifth of the project quota to sync calls while a backlog drains.
      maxInflight: Math.max(1, Math.ceil(config.concurrencyQuota * 0.8)),
      ...options.asyncDispatch,
    });
    const asyncService = createAsyncService({
      store: asyncStore,
      resolve: functions.resolve,
      clock,
      dispatcher: () => dispatcher,
    });
    await dispatcher.start();
    closers.push(() => dispatcher.close());

    const triggerStore = openTriggerStore(config.store);
    closers.push(() => triggerStore.close());
    let gatewayEndpoint = "";
    const triggerRegistry = createTriggerRegistry({
      store: triggerStore,
      delivery: createAsyncDelivery({
        accept: (projectId, urn, input) => asyncService.accept(projectId, urn, input),
        status: async (requestId) => (await asyncStore.get(requestId))?.status,
        clock,
      }),
      clock,
      logger: logger.child({ part: "triggers" }),
      region: config.region,
      natsUrl: config.natsUrl,
      gatewayEndpoint: () => gatewayEndpoint,
    });
    const triggerService = createTriggerService({
      store: triggerStore,
      registry: triggerRegistry,
      resolve: functions.resolve,
      listAliases: (functionId) => store.listAliases(functionId),
      clock,
      logger: logger.child({ part: "triggers" }),
    });
    late.triggers = triggerService;

    let endpoint = "";
    const isolation = { tier: sandbox.tier, description: sandbox.description };
    const api = createApiServer({
      logger,
      identity,
      tokens,
      authenticate,
      functions,
      blobs,
      invoker,
      dependencies: { service: dependencies, links: downloadLinks },
      async: { service: asyncService, now: () => clock.now() },
      triggers: triggerService,
      scaling: {
        reserved,
        functionById: (id) => store.getFunctionById(id),
        region: config.region,
        now: () => clock.now(),
        quotas: {
          concurrencyQuota: config.concurrencyQuota,
          keepAliveSeconds: config.keepAliveSeconds,
          usage: (projectId) => invoker.usage(projectId),
          countFunctions: (projectId) => store.countFunctions(projectId),
          totalCodeSize: (projectId) => store.totalCodeSize(projectId),
        },
      },
      wire: { region: config.region, domainId: identity.domainId },
      endpoint: () => endpoint,
      health: () => ({
        roles: ["api", "gateway", "worker", "scheduler"],
        isolation,
        region: config.region,
        invoker: invoker.stats(),
        async: dispatcher.stats(),
      }),
    });
    closers.push(() => api.close());
    const gateway = createGatewayServer(logger, {
      routes: triggerRegistry.routes,
      authenticate,
      functions,
      invoker,
      accept: (projectId, urn, input) => asyncService.accept(projectId, urn, input),
      clock,
      logger: logger.child({ part: "gateway" }),
    });
    closers.push(() => gateway.close());
    // Restored after the invoker and the async dispatcher started; closed before everything.
    await triggerService.start();
    closers.push(() => triggerService.close());

    await api.listen({ host: config.host, port: config.port });
    await gateway.listen({ host: config.host, port: config.gatewayPort });
    endpoint = urlOf(config.host, (api.server.address() as AddressInfo).port);
    gatewayEndpoint = urlOf(config.host, (gateway.server.address() as AddressInfo).port);
    const credentials: Credentials = {
      endpoint,
      gateway_endpoint: gatewayEndpoint,
      region: config.region,
      project_id: identity.projectId,
      domain_id: identity.domainId,
      domain_name: identity.domainName,
      access_key: identity.accessKey,
      secret_key: identity.secretKey,
      user: identity.userName,
      password: identity.password,
    };
    writeCredentials(path.join(config.dataDir, "credentials.json"), credentials);
    logger.info({ endpoint, tier: sandbox.tier }, "fngraph ready");
    return { config, credentials, isolation, close };
  } catch (err) {
    await close();
    throw err;
  }
}
