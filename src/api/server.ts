import type { FastifyInstance } from "fastify";
import type { Identity } from "../core/types.js";
import type { Logger } from "../core/logger.js";
import {
  assertProjectAccess,
  type AuthRequest,
  type Authenticate,
  type Principal,
  type TokenService,
} from "../auth/index.js";
import type { BlobStore } from "../blobs/types.js";
import type { Invoker } from "../invoker/invoker.js";
import { createApp, headerMap } from "./app.js";
import { createFastInvoke } from "./fast-invoke.js";
import type { FunctionService } from "./function-service.js";
import { registerAliasRoutes } from "./routes/aliases.js";
import { registerFunctionRoutes } from "./routes/functions.js";
import { registerIamRoutes } from "./routes/iam.js";
import { registerInvokeRoutes } from "./routes/invoke.js";
import { registerAsyncRoutes } from "./routes/async.js";
import type { AsyncService } from "../async/index.js";
import { registerVersionRoutes } from "./routes/versions.js";
import { registerTriggerRoutes } from "./routes/triggers.js";
import type { TriggerService } from "../triggers/index.js";
import { registerGatewayRoutes, type GatewayDeps } from "./gateway.js";
import { registerDependencyDownload, registerDependencyRoutes } from "./routes/dependencies.js";
import type { DependencyService } from "./dependency-service.js";
import type { DownloadLinks } from "./dependency-links.js";
import type { WireContext } from "./wire.js";
import { registerQuotaRoutes, type QuotaRouteDeps } from "./routes/quotas.js";
import { registerReservedRoutes, type ReservedRouteDeps } from "./routes/reserved.js";

export interface ApiDeps {
  logger: Logger;
  identity: Identity;
  tokens: TokenService;
  authenticate: Authenticate;
  functions: FunctionService;
  blobs: BlobStore;
  invoker: Invoker;
  wire: WireContext;
  endpoint: () => string;
  health: () => Record<string, unknown>;
  /** Triggers (issue 7); the routes are absent without them. */
  triggers?: TriggerService;
  /** Async invocation (issue 6); the routes are absent without it. */
  async?: { service: AsyncService; now: () => number };
  /** Dependency packages (issue 8); the routes are absent without it. */
  dependencies?: { service: DependencyService; links: DownloadLinks };
  /** Reserved instances and quotas (issue 4); the routes are absent without them. */
  scaling?: Omit<ReservedRouteDeps, "functions"> & { quotas: QuotaRouteDeps };
}

/** The `api` role: FunctionGraph v2, IAM-lite, health. */
export function createApiServer(deps: ApiDeps): FastifyInstance {
  const fastRoute = createFastInvoke({
    logger: deps.logger,
    authorize: (r) => authorize(deps.authenticate, r),
    invoke: { functions: deps.functions, invoker: deps.invoker },
  });
  const app = createApp({ logger: deps.logger, fastRoute });

  app.get("/healthz", async () => ({ status: "ok", ...deps.health() }));
  registerIamRoutes(app, deps);
  if (deps.dependencies) {
    registerDependencyDownload(app, {
      dependencies: deps.dependencies.service,
      links: deps.dependencies.links,
      blobs: deps.blobs,
    });
  }

  void app.register(
    async (v2) => {
      v2.addHook("preHandler", (req, _reply, done) => {
        try {
          const projectId = (req.params as { project_id: string }).project_id;
          req.principal = authorize(deps.authenticate, {
            method: req.method,
            rawUrl: req.url,
            headers: headerMap(req),
            body: req.rawBody,
            projectId,
          });
        } catch (err) {
          done(err as Error);
          return;
        }
        done();
      });
      registerFunctionRoutes(v2, { functions: deps.functions, blobs: deps.blobs, wire: deps.wire });
      registerInvokeRoutes(v2, { functions: deps.functions, invoker: deps.invoker });
      if (deps.async) registerAsyncRoutes(v2, { async: deps.async.service, now: deps.async.now });
      registerVersionRoutes(v2, { functions: deps.functions, wire: deps.wire });
      registerAliasRoutes(v2, { functions: deps.functions, wire: deps.wire });
      if (deps.triggers) registerTriggerRoutes(v2, { triggers: deps.triggers });
      if (deps.scaling) {
        registerReservedRoutes(v2, { ...deps.scaling, functions: deps.functions });
        registerQuotaRoutes(v2, deps.scaling.quotas);
      }
      if (deps.dependencies) {
        registerDependencyRoutes(v2, {
          dependencies: deps.dependencies.service,
          links: deps.dependencies.links,
          wire: deps.wire,
        });
      }
    },
    { prefix: "/v2/:project_id" },
  );
  return app;
}

/**
 * Who may call a v2 route: the request's credentials (token or AK/SK signature over the raw
 * bytes), and the path's project must be the principal's. Throws FsError 401/403.
 */
export function authorize(
  authenticate: Authenticate,
  r: AuthRequest & { projectId: string },
): Principal {
  const principal = authenticate({
    method: r.method,
    rawUrl: r.rawUrl,
    headers: r.headers,
    body: r.body,
  });
  assertProjectAccess(principal, r.projectId);
  return principal;
}

/** The `gateway` role's listener: every APIG trigger's route (src/api/gateway.ts). */
export function createGatewayServer(logger: Logger, gateway?: GatewayDeps): FastifyInstance {
  const app = createApp({ logger });
  if (gateway) registerGatewayRoutes(app, gateway);
  else app.get("/healthz", async () => ({ status: "ok", role: "gateway" }));
  return app;
}
