import type { FastifyInstance, FastifyRequest } from "fastify";
import { jsonBody } from "../app.js";
import type { FunctionService } from "../function-service.js";
import { parseBody } from "../validate.js";
import { createAliasBody, updateAliasBody } from "../version-validate.js";
import { toAliasModel } from "../version-wire.js";
import type { WireContext } from "../wire.js";

export interface AliasRouteDeps {
  functions: FunctionService;
  wire: WireContext;
}

type P = { project_id: string; urn: string; alias: string };
const params = (req: FastifyRequest): P => req.params as P;

/** CreateVersionAlias, ListVersionAliases (a bare array), Show/Update/DeleteVersionAlias. */
export function registerAliasRoutes(app: FastifyInstance, deps: AliasRouteDeps): void {
  const { functions, wire } = deps;

  app.post("/fgs/functions/:urn/aliases", async (req) => {
    const body = parseBody(createAliasBody, jsonBody(req));
    const { fn, alias } = await functions.createAlias(
      params(req).project_id,
      params(req).urn,
      body,
    );
    return toAliasModel(fn, alias, wire);
  });

  app.get("/fgs/functions/:urn/aliases", async (req) => {
    const { fn, aliases } = await functions.listAliases(params(req).project_id, params(req).urn);
    return aliases.map((a) => toAliasModel(fn, a, wire, { list: true }));
  });

  app.get("/fgs/functions/:urn/aliases/:alias", async (req) => {
    const p = params(req);
    const { fn, alias } = await functions.getAlias(p.project_id, p.urn, p.alias);
    return toAliasModel(fn, alias, wire);
  });

  app.put("/fgs/functions/:urn/aliases/:alias", async (req) => {
    const p = params(req);
    const body = parseBody(updateAliasBody, jsonBody(req));
    const { fn, alias } = await functions.updateAlias(p.project_id, p.urn, p.alias, body);
    return toAliasModel(fn, alias, wire);
  });

  app.delete("/fgs/functions/:urn/aliases/:alias", async (req, reply) => {
    const p = params(req);
    await functions.deleteAlias(p.project_id, p.urn, p.alias);
    return reply.code(204).send();
  });
}
