import type { FastifyInstance, FastifyRequest } from "fastify";
import { createHash } from "node:crypto";
import { FsError } from "../../core/errors.js";
import type { BlobStore } from "../../blobs/types.js";
import { jsonBody } from "../app.js";
import type { FunctionService } from "../function-service.js";
import { createFunctionBody, parseBody, updateCodeBody, updateConfigBody } from "../validate.js";
import { toCodeModel, toFunctionModel, toListItem, type WireContext } from "../wire.js";
import { buildExportZip } from "../export.js";

export interface FunctionRouteDeps {
  functions: FunctionService;
  blobs: BlobStore;
  wire: WireContext;
}

type P = { project_id: string; urn: string };
const params = (req: FastifyRequest): P => req.params as P;

/** Function lifecycle routes (contract §1.4), mounted under /v2/{project_id}. */
export function registerFunctionRoutes(app: FastifyInstance, deps: FunctionRouteDeps): void {
  const { functions, wire } = deps;

  app.post("/fgs/functions", async (req) => {
    const body = parseBody(createFunctionBody, jsonBody(req));
    const { fn, version } = await functions.create(params(req).project_id, body);
    return toFunctionModel(fn, version, wire);
  });

  app.get("/fgs/functions", async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const marker = q["marker"] === undefined || q["marker"] === "" ? 0 : Number(q["marker"]);
    const maxitems =
      q["maxitems"] === undefined || q["maxitems"] === "" ? 400 : Number(q["maxitems"]);
    if (!Number.isInteger(marker) || marker < 0)
      throw new FsError("INVALID_QUERY", "marker must be a non-negative integer");
    if (!Number.isInteger(maxitems) || maxitems <= 0 || maxitems > 400) {
      throw new FsError("INVALID_QUERY", "maxitems must be an integer from 1 to 400");
    }
    const r = await functions.list(params(req).project_id, {
      marker,
      maxitems,
      ...(q["package_name"] ? { package: q["package_name"] } : {}),
      ...(q["func_name"] ? { name: q["func_name"] } : {}),
    });
    return {
      functions: r.rows.map((x) => toListItem(x.fn, x.version, wire)),
      next_marker: r.nextMarker,
      count: r.total,
    };
  });

  app.get("/fgs/functions/:urn/config", async (req) => {
    const r = await functions.resolve(params(req).project_id, params(req).urn);
    return toFunctionModel(r.fn, r.version, wire);
  });

  app.put("/fgs/functions/:urn/config", async (req) => {
    const body = parseBody(updateConfigBody, jsonBody(req));
    const r = await functions.updateConfig(params(req).project_id, params(req).urn, body);
    return toFunctionModel(r.fn, r.version, wire);
  });

  app.get("/fgs/functions/:urn/code", async (req) => {
    const r = await functions.resolve(params(req).project_id, params(req).urn);
    return toCodeModel(r.fn, r.version, wire);
  });

  app.put("/fgs/functions/:urn/code", async (req) => {
    const body = parseBody(updateCodeBody, jsonBody(req));
    const r = await functions.updateCode(params(req).project_id, params(req).urn, body);
    return toCodeModel(r.fn, r.version, wire);
  });

  app.put("/fgs/functions/:urn/config-max-instance", async (req) => {
    const body = jsonBody(req) as { max_instance_num?: unknown };
    const n = body.max_instance_num;
    if (typeof n !== "number")
      throw new FsError("INVALID_PARAMETER", "max_instance_num is required");
    const r = await functions.updateConfig(params(req).project_id, params(req).urn, {
      strategy_config: { concurrency: n },
    });
    return toFunctionModel(r.fn, r.version, wire);
  });

  app.delete("/fgs/functions/:urn", async (req, reply) => {
    await functions.remove(params(req).project_id, params(req).urn);
    return reply.code(204).send();
  });

  app.get("/fgs/functions/:urn/export", async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const wantCode = q["type"] === "code" || q["code"] === "true";
    const wantConfig = q["type"] === "config" || q["config"] === "true";
    if (!wantCode && !wantConfig) {
      throw new FsError("INVALID_QUERY", "ask for code=true, config=true, or type=code|config");
    }
    const r = await functions.resolve(params(req).project_id, params(req).urn);
    const code = await deps.blobs.get(r.version.codeDigest);
    const zip = await buildExportZip({
      code: wantCode ? code : undefined,
      config: wantConfig ? toFunctionModel(r.fn, r.version, wire) : undefined,
      name: r.fn.name,
    });
    const md5 = createHash("md5").update(code).digest("hex");
    return reply
      .header("Content-Type", "application/zip")
      .header("Content-Disposition", `attachment; filename="${r.fn.name}+${md5}.zip"`)
      .send(zip);
  });
}
