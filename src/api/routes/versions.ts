import type { FastifyInstance, FastifyRequest } from "fastify";
import { FsError } from "../../core/errors.js";
import { jsonBody } from "../app.js";
import type { FunctionService } from "../function-service.js";
import { parseBody } from "../validate.js";
import { publishBody } from "../version-validate.js";
import { toFunctionModel, type WireContext } from "../wire.js";

export interface VersionRouteDeps {
  functions: FunctionService;
  wire: WireContext;
}

type P = { project_id: string; urn: string };
const params = (req: FastifyRequest): P => req.params as P;

/** `marker` (offset, default 0) and `maxitems` (1..400, default 400); bad values → FSS.1001. */
export function parsePage(query: unknown): { marker: number; maxitems: number } {
  const q = query as Record<string, string | undefined>;
  const marker = q["marker"] === undefined || q["marker"] === "" ? 0 : Number(q["marker"]);
  const maxitems =
    q["maxitems"] === undefined || q["maxitems"] === "" ? 400 : Number(q["maxitems"]);
  if (!Number.isInteger(marker) || marker < 0)
    throw new FsError("INVALID_QUERY", "marker must be a non-negative integer");
  if (!Number.isInteger(maxitems) || maxitems <= 0 || maxitems > 400)
    throw new FsError("INVALID_QUERY", "maxitems must be an integer from 1 to 400");
  return { marker, maxitems };
}

/** CreateFunctionVersion (publish) and ListFunctionVersions (contract §1.6). */
export function registerVersionRoutes(app: FastifyInstance, deps: VersionRouteDeps): void {
  const { functions, wire } = deps;

  app.post("/fgs/functions/:urn/versions", async (req) => {
    const body = parseBody(publishBody, jsonBody(req));
    const { fn, version } = await functions.publish(params(req).project_id, params(req).urn, body);
    const model = toFunctionModel(fn, version, wire);
    const asyncConfig = await functions.hooks.asyncConfig?.(fn, version.version);
    if (asyncConfig) model["function_async_config"] = asyncConfig;
    return model;
  });

  app.get("/fgs/functions/:urn/versions", async (req) => {
    const page = parsePage(req.query);
    const r = await functions.listVersions(params(req).project_id, params(req).urn, page);
    return {
      versions: r.items.map((v) => toFunctionModel(r.fn, v, wire)),
      next_marker: r.nextMarker,
      count: r.total,
    };
  });
}
