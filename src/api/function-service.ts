import { randomUUID } from "node:crypto";
import { FsError } from "../core/errors.js";
import type { FunctionRecord, FunctionVersion } from "../core/types.js";
import { parseFunctionUrn, type FunctionRef } from "../core/urn.js";
import type { RuntimeDef } from "../runtimes/types.js";
import type { FunctionServiceDeps, InvokeRouting, Resolved } from "./function-service-types.js";
import { routeAlias } from "./alias-router.js";
import { intakeCode } from "./code-intake.js";
import { createVersionService } from "./versions-service.js";
import {
  checkDescription,
  checkEphemeralStorage,
  checkMountConfig,
  checkNetworkController,
  checkFunctionName,
  checkHandler,
  checkInitializer,
  checkMemory,
  checkPackage,
  checkPreStop,
  checkTimeout,
  MAX_FUNCTIONS,
  parseUserData,
  pickEcho,
  toStrategy,
  type CreateFunctionBody,
  type UpdateCodeBody,
  type UpdateConfigBody,
} from "./validate.js";

/** Parsed URNs kept by the function service. */
const REF_CACHE_SIZE = 1024;

export type { FunctionServiceDeps, InvokeRouting, Resolved } from "./function-service-types.js";

/** Function lifecycle on top of the store, the blob store and the invoker (contract §1.4). */
export function createFunctionService(deps: FunctionServiceDeps) {
  const { store, blobs, clock } = deps;
  const nowIso = (): string => new Date(clock.now()).toISOString();
  const random = deps.random ?? Math.random;

  const runtimeOf = (name: string): RuntimeDef => {
    const rt = deps.runtimes.get(name);
    if (!rt) {
      throw new FsError(
        "INVALID_RUNTIME",
        `runtime "${name}" is not offered by this installation; available: ${deps.runtimes.names().join(", ")}`,
      );
    }
    return rt;
  };

  // Every invoke parses its URN: the parses of the URNs in use are kept (at most REF_CACHE_SIZE,
  // forgotten all at once when full). A ref is only read, never changed, by its users.
  const refs = new Map<string, Readonly<FunctionRef>>();
  const parseRef = (projectId: string, urn: string): FunctionRef => {
    const key = `${projectId}\0${urn}`;
    let ref = refs.get(key);
    if (!ref) {
      ref = Object.freeze(parseFunctionUrn(urn, { region: deps.region, projectId }));
      if (refs.size >= REF_CACHE_SIZE) refs.clear();
      refs.set(key, ref);
    }
    if (ref.projectId !== projectId)
      throw new FsError("FORBIDDEN", "the function URN names another project");
    return ref;
  };

  const findFunction = async (
    projectId: string,
    urn: string,
  ): Promise<{ fn: FunctionRecord; ref: FunctionRef }> => {
    const ref = parseRef(projectId, urn);
    const fn = await store.getFunction(projectId, ref.package, ref.name);
    if (!fn)
      throw new FsError("FUNCTION_NOT_FOUND", `Not found the function: ${ref.package}:${ref.name}`);
    return { fn, ref };
  };

  // Resolutions that name no alias (an alias may route each call elsewhere), per project and
  // URN, while the store's revision holds: a warm invoke then finds its function and version
  // without a promise or a key string (~1.8 KB of garbage per call before).
  const direct = new Map<string, Map<string, Readonly<Resolved>>>();
  let directSize = 0;
  let directRevision: number | undefined;
  const remember = (projectId: string, urn: string, r: Resolved): Resolved => {
    const revision = store.revision?.();
    if (revision === undefined) return r;
    if (revision !== directRevision || directSize >= REF_CACHE_SIZE) {
      direct.clear();
      directSize = 0;
      directRevision = revision;
    }
    let urns = direct.get(projectId);
    if (!urns) {
      urns = new Map<string, Readonly<Resolved>>();
      direct.set(projectId, urns);
    }
    if (!urns.has(urn)) directSize++;
    urns.set(urn, Object.freeze(r));
    return r;
  };
  const resolveDirect = (projectId: string, urn: string): Readonly<Resolved> | undefined => {
    const revision = store.revision?.();
    if (revision === undefined || revision !== directRevision) return undefined;
    return direct.get(projectId)?.get(urn);
  };

  /**
   * Resolve a URN to one concrete version: unqualified → latest; `:v1` → that version; `:!a` →
   * alias `a`; a bare `:a` that names no version → alias `a` (contract §1.1: version first).
   * Through an alias, `invoke` applies its header rules and weights (contract §1.6); without
   * it (config/code reads, deletes) the alias's main version is returned.
   */
  const resolve = async (
    projectId: string,
    urn: string,
    invoke?: InvokeRouting,
  ): Promise<Resolved> => {
    const known = resolveDirect(projectId, urn);
    if (known) return known;
    const { fn, ref } = await findFunction(projectId, urn);
    const q = ref.qualifier;
    if (!q) {
      const version = await mustVersion(fn, "latest");
      return remember(projectId, urn, { fn, ref, alias: "", version });
    }
    if (q.kind !== "alias") {
      const v = await store.getVersion(fn.id, q.name);
      if (v) return remember(projectId, urn, { fn, ref, alias: "", version: v });
      if (q.kind === "version" || !(await store.getAlias(fn.id, q.name)))
        throw new FsError("VERSION_NOT_FOUND", `Not found the function version: ${q.name}`);
    }
    const alias = await versions.mustAlias(fn, q.name);
    const pick = invoke
      ? routeAlias(alias, invoke.headers, random)
      : { version: alias.version, reason: "main" as const };
    return {
      fn,
      ref,
      alias: alias.name,
      version: await mustVersion(fn, pick.version),
      ...(invoke ? { route: pick.reason } : {}),
    };
  };

  const mustVersion = async (fn: FunctionRecord, name: string): Promise<FunctionVersion> => {
    const v = await store.getVersion(fn.id, name);
    if (!v) throw new FsError("VERSION_NOT_FOUND", `Not found the function version: ${name}`);
    return v;
  };

  /** Only latest is mutable, and only through a URN naming it (not through an alias). */
  const mustBeLatest = (r: Resolved): void => {
    if (r.version.version !== "latest" || r.alias !== "") {
      throw new FsError(
        "INVALID_VERSION",
        "only the latest version can be modified; published versions are immutable",
      );
    }
  };

  const create = async (
    projectId: string,
    body: CreateFunctionBody,
  ): Promise<{ fn: FunctionRecord; version: FunctionVersion }> => {
    checkFunctionName(body.func_name);
    const pkg = body.package ?? "default";
    checkPackage(pkg);
    const runtime = runtimeOf(body.runtime);
    const handler = body.handler ?? (runtime.freeHandler ? "bootstrap" : "index.handler");
    checkRuntimeHandler(runtime, handler);
    const memory = body.memory_size ?? 128;
    checkMemory(memory);
    const timeout = body.timeout ?? 3;
    checkTimeout(timeout);
    const description = body.description ?? "";
    checkDescription(description);
    const userData = parseUserData(body.user_data);
    const encryptedUserData = parseUserData(body.encrypted_user_data, "encrypted_user_data");
    checkInitializer(body.initializer_handler, body.initializer_timeout);
    checkPreStop(body.pre_stop_handler, body.pre_stop_timeout);
    const ephemeral = body.ephemeral_storage ?? 512;
    checkEphemeralStorage(ephemeral);
    checkMountConfig(body["mount_config"], deps.mountRoots ?? []);
    checkNetworkController(body["network_controller"]);
    const strategy = toStrategy(body.strategy_config, {
      concurrency: deps.defaultMaxInstances,
      concurrentNum: 1,
    });
    if (await store.getFunction(projectId, pkg, body.func_name)) {
      throw new FsError("FUNCTION_EXISTS", `The function already exists: ${pkg}:${body.func_name}`);
    }
    if ((await store.countFunctions(projectId)) >= MAX_FUNCTIONS) {
      throw new FsError("FUNCTION_QUOTA", `at most ${MAX_FUNCTIONS} functions per project`);
    }
    const attached = await deps.dependencies?.attach(
      projectId,
      body.runtime,
      body.depend_version_list ?? [],
    );
    const codeType = body.code_type ?? "inline";
    const zip = await intakeCode(
      { codeType, file: body.func_code?.file, codeUrl: body.code_url },
      runtime,
      handler,
      true,
    );
    const { digest, size } = await blobs.put(zip);
    const now = nowIso();
    const fn: FunctionRecord = {
      id: randomUUID(),
      projectId,
      package: pkg,
      name: body.func_name,
      runtime: body.runtime,
      createdAt: now,
    };
    const version: FunctionVersion = {
      functionId: fn.id,
      version: "latest",
      handler,
      memorySize: memory,
      timeout,
      codeType,
      codeFilename: body.code_filename ?? (codeType === "inline" ? "" : "index.zip"),
      codeUrl: body.code_url ?? "",
      codeDigest: digest,
      codeSize: size,
      userData,
      encryptedUserData,
      description,
      versionDescription: "",
      initializerHandler: body.initializer_handler ?? "",
      initializerTimeout: body.initializer_timeout ?? (body.initializer_handler ? 3 : 0),
      preStopHandler: body.pre_stop_handler ?? "",
      preStopTimeout: body.pre_stop_timeout ?? 0,
      strategy,
      ephemeralStorage: ephemeral,
      dependVersionList: body.depend_version_list ?? [],
      ...(attached ? { dependencies: attached } : {}),
      extra: pickEcho(body),
      revision: 1,
      lastModified: now,
    };
    if (!(await store.createFunction(fn, version))) {
      throw new FsError("FUNCTION_EXISTS", `The function already exists: ${pkg}:${body.func_name}`);
    }
    return { fn, version };
  };

  const updateConfig = async (
    projectId: string,
    urn: string,
    body: UpdateConfigBody,
  ): Promise<Resolved> => {
    const r = await resolve(projectId, urn);
    mustBeLatest(r);
    if (body.func_name !== undefined && body.func_name !== r.fn.name) {
      throw new FsError("INVALID_FUNCTION_NAME", "func_name cannot be changed after creation");
    }
    if (body.runtime !== undefined && body.runtime !== r.fn.runtime) {
      throw new FsError("INVALID_RUNTIME", "runtime cannot be changed after creation");
    }
    const v = { ...r.version };
    if (body.handler !== undefined) {
      checkRuntimeHandler(runtimeOf(r.fn.runtime), body.handler);
      v.handler = body.handler;
    }
    if (body.memory_size !== undefined) {
      checkMemory(body.memory_size);
      v.memorySize = body.memory_size;
    }
    if (body.timeout !== undefined) {
      checkTimeout(body.timeout);
      v.timeout = body.timeout;
    }
    if (body.description !== undefined) {
      checkDescription(body.description);
      v.description = body.description;
    }
    if (body.user_data !== undefined) v.userData = parseUserData(body.user_data);
    if (body.encrypted_user_data !== undefined) {
      v.encryptedUserData = parseUserData(body.encrypted_user_data, "encrypted_user_data");
    }
    checkInitializer(body.initializer_handler, body.initializer_timeout);
    if (body.initializer_handler !== undefined) v.initializerHandler = body.initializer_handler;
    if (body.initializer_timeout !== undefined) v.initializerTimeout = body.initializer_timeout;
    if (v.initializerHandler && !v.initializerTimeout) v.initializerTimeout = 3;
    checkPreStop(body.pre_stop_handler, body.pre_stop_timeout);
    if (body.pre_stop_handler !== undefined) v.preStopHandler = body.pre_stop_handler;
    if (body.pre_stop_timeout !== undefined) v.preStopTimeout = body.pre_stop_timeout;
    if (body.ephemeral_storage !== undefined) {
      checkEphemeralStorage(body.ephemeral_storage);
      v.ephemeralStorage = body.ephemeral_storage;
    }
    checkMountConfig(body["mount_config"], deps.mountRoots ?? []);
    checkNetworkController(body["network_controller"]);
    v.strategy = toStrategy(body.strategy_config, v.strategy);
    v.extra = pickEcho(body, v.extra);
    return save(r, v);
  };

  const updateCode = async (
    projectId: string,
    urn: string,
    body: UpdateCodeBody,
  ): Promise<Resolved> => {
    const r = await resolve(projectId, urn);
    mustBeLatest(r);
    const runtime = runtimeOf(r.fn.runtime);
    const attached =
      body.depend_version_list === undefined
        ? undefined
        : await deps.dependencies?.attach(projectId, r.fn.runtime, body.depend_version_list);
    const codeType = body.code_type ?? r.version.codeType;
    const zip = await intakeCode(
      { codeType, file: body.func_code?.file, codeUrl: body.code_url },
      runtime,
      r.version.handler,
      false,
    );
    const { digest, size } = await blobs.put(zip);
    const v: FunctionVersion = {
      ...r.version,
      codeType,
      codeDigest: digest,
      codeSize: size,
      codeFilename: body.code_filename ?? r.version.codeFilename,
      codeUrl: body.code_url ?? r.version.codeUrl,
      dependVersionList: body.depend_version_list ?? r.version.dependVersionList,
      ...(attached ? { dependencies: attached } : {}),
    };
    return save(r, v);
  };

  const save = async (r: Resolved, v: FunctionVersion): Promise<Resolved> => {
    v.revision = r.version.revision + 1;
    v.lastModified = nowIso();
    await store.putVersion(v);
    deps.invoker.retire(r.fn.id, v.version);
    return { ...r, version: v };
  };

  /**
   * DELETE with an unqualified URN removes the function with all versions and aliases; with a
   * version removes that version; with an alias removes the version the alias points to
   * (contract §1.4.5).
   */
  const remove = async (projectId: string, urn: string): Promise<void> => {
    const { fn, ref } = await findFunction(projectId, urn);
    if (ref.qualifier) {
      const r = await resolve(projectId, urn);
      await versions.deleteVersion(fn, r.version.version);
      return;
    }
    await deps.hooks?.deleting?.(fn);
    const allVersions = await store.listVersions(fn.id);
    await store.deleteFunction(fn.id);
    deps.invoker.retire(fn.id);
    for (const digest of new Set(allVersions.map((v) => v.codeDigest))) {
      if (!(await store.isDigestReferenced(digest))) await blobs.delete(digest);
    }
  };

  const list = async (
    projectId: string,
    q: { marker: number; maxitems: number; package?: string; name?: string },
  ) => {
    const { items, total } = await store.listFunctions({
      projectId,
      offset: q.marker,
      limit: q.maxitems,
      ...(q.package ? { package: q.package } : {}),
      ...(q.name ? { name: q.name } : {}),
    });
    const rows: { fn: FunctionRecord; version: FunctionVersion }[] = [];
    for (const fn of items) {
      const version = await store.getVersion(fn.id, "latest");
      if (version) rows.push({ fn, version });
    }
    return { rows, total, nextMarker: q.marker + items.length };
  };

  const versions = createVersionService({
    store,
    blobs,
    invoker: deps.invoker,
    hooks: deps.hooks ?? {},
    nowMs: () => clock.now(),
    findFunction,
    mustVersion: (fn, name) => mustVersion(fn, name),
  });

  return {
    create,
    resolve,
    /** `resolve` without a promise, when a call already resolved this URN and nothing changed. */
    resolveDirect,
    updateConfig,
    updateCode,
    remove,
    list,
    findFunction,
    runtimeOf,
    publish: versions.publish,
    listVersions: versions.listVersions,
    createAlias: versions.createAlias,
    updateAlias: versions.updateAlias,
    getAlias: versions.getAlias,
    listAliases: versions.listAliases,
    deleteAlias: versions.deleteAlias,
    /** Per-version state hooks, for the routes that show it (function_async_config). */
    hooks: deps.hooks ?? {},
  };
}

export type FunctionService = ReturnType<typeof createFunctionService>;

/** `file.function`, except for runtimes whose handler is free-form (Custom, http: `bootstrap`). */
function checkRuntimeHandler(runtime: RuntimeDef, handler: string): void {
  if (!runtime.freeHandler) checkHandler(handler);
  else if (handler.length < 1 || handler.length > 128) {
    throw new FsError("INVALID_HANDLER", "handler must be 1-128 characters");
  }
}
