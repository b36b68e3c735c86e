import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { FsError } from "../../core/errors.js";
import type { BlobStore } from "../../blobs/types.js";
import { jsonBody } from "../app.js";
import { createDependencyBody } from "../dependency-intake.js";
import { DOWNLOAD_PATH, type DownloadLinks } from "../dependency-links.js";
import type { DependencyService } from "../dependency-service.js";
import { toDependencyListItem, toDependencyVersionModel } from "../dependency-wire.js";
import type { DependencyScope } from "../../store/dependencies.js";
import { parseBody } from "../validate.js";
import type { WireContext } from "../wire.js";

export interface DependencyRouteDeps {
  dependencies: DependencyService;
  links: DownloadLinks;
  wire: WireContext;
}

type P = { project_id: string; depend_id: string; version: string };
const params = (req: FastifyRequest): P => req.params as P;

/** `marker` (offset) and `maxitems` or `limit` (1..400, default 400); bad values → FSS.1001. */
function parsePage(q: Record<string, string | undefined>): { marker: number; maxitems: number } {
  const num = (v: string | undefined, dflt: number): number =>
    v === undefined || v === "" ? dflt : Number(v);
  const marker = num(q["marker"], 0);
  const maxitems = num(q["maxitems"] ?? q["limit"], 400);
  if (!Number.isInteger(marker) || marker < 0)
    throw new FsError("INVALID_QUERY", "marker must be a non-negative integer");
  if (!Number.isInteger(maxitems) || maxitems <= 0 || maxitems > 400)
    throw new FsError("INVALID_QUERY", "maxitems (or limit) must be an integer from 1 to 400");
  return { marker, maxitems };
}

/** `dependency_type=public|private|all`, or the older `ispublic=true|false`; default all. */
function parseScope(q: Record<string, string | undefined>): DependencyScope {
  const type = q["dependency_type"];
  if (type !== undefined && type !== "") {
    if (type === "public" || type === "private" || type === "all") return type;
    throw new FsError("INVALID_QUERY", "dependency_type must be public, private or all");
  }
  const pub = q["ispublic"];
  if (pub === undefined || pub === "") return "all";
  if (pub === "true") return "public";
  if (pub === "false") return "private";
  throw new FsError("INVALID_QUERY", "ispublic must be true or false");
}

/** Where the client reached us, for absolute download links. */
function baseUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}`;
}

/** Dependency endpoints D1–D7 of contract §1.3 (register inside the authenticated `/v2` scope). */
export function registerDependencyRoutes(app: FastifyInstance, deps: DependencyRouteDeps): void {
  const { dependencies, links, wire } = deps;

  app.post("/fgs/dependencies/version", async (req) => {
    const body = parseBody(createDependencyBody, jsonBody(req));
    const ref = await dependencies.createVersion(params(req).project_id, wire.domainId, body);
    return toDependencyVersionModel(ref);
  });

  app.get("/fgs/dependencies", async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const r = await dependencies.list(params(req).project_id, {
      scope: parseScope(q),
      ...parsePage(q),
      ...(q["runtime"] ? { runtime: q["runtime"] } : {}),
      ...(q["name"] ? { name: q["name"] } : {}),
    });
    return {
      dependencies: r.items.map(toDependencyListItem),
      next_marker: r.nextMarker,
      count: r.total,
    };
  });

  app.get("/fgs/dependencies/:depend_id/version", async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const r = await dependencies.listVersions(
      params(req).project_id,
      params(req).depend_id,
      parsePage(q),
    );
    return {
      dependencies: r.items.map(toDependencyVersionModel),
      next_marker: r.nextMarker,
      count: r.total,
    };
  });

  app.get("/fgs/dependencies/:depend_id/version/:version", async (req) => {
    const { project_id, depend_id, version } = params(req);
    const ref = await dependencies.showVersion(project_id, depend_id, version);
    return { ...toDependencyVersionModel(ref), download_link: links.link(baseUrl(req), ref.id) };
  });

  app.delete("/fgs/dependencies/:depend_id/version/:version", async (req, reply) => {
    const { project_id, depend_id, version } = params(req);
    await dependencies.deleteVersion(project_id, depend_id, version);
    return reply.code(204).send();
  });

  // The older single-version API (D6, D7), still used by the Go SDK.
  app.post("/fgs/dependencies", async (req) => {
    const body = parseBody(createDependencyBody, jsonBody(req));
    const ref = await dependencies.createVersion(params(req).project_id, wire.domainId, body, {
      mustBeNew: true,
    });
    return toDependencyVersionModel(ref);
  });

  app.get("/fgs/dependencies/:depend_id", async (req) => {
    const ref = await dependencies.showDependency(params(req).project_id, params(req).depend_id);
    return toDependencyListItem(ref);
  });

  app.delete("/fgs/dependencies/:depend_id", async (req, reply) => {
    await dependencies.deleteDependency(params(req).project_id, params(req).depend_id);
    return reply.code(204).send();
  });
}

/**
 * The target of `download_link`: a signed, expiring URL needing no other credentials (like an
 * OBS temporary URL). Register at the root, outside the authenticated scope.
 */
export function registerDependencyDownload(
  app: FastifyInstance,
  deps: { dependencies: DependencyService; links: DownloadLinks; blobs: BlobStore },
): void {
  app.get(`${DOWNLOAD_PATH}/:version_id`, async (req, reply: FastifyReply) => {
    const id = (req.params as { version_id: string }).version_id;
    const q = req.query as Record<string, string | undefined>;
    if (!deps.links.verify(id, q["expires"], q["signature"])) {
      throw new FsError("FORBIDDEN", "the download link is invalid or has expired");
    }
    const ref = await deps.dependencies.versionById(id);
    if (!ref) throw new FsError("DEPENDENCY_NOT_FOUND", "the dependency version no longer exists");
    const zip = await deps.blobs.get(ref.digest);
    return reply
      .header("content-type", "application/zip")
      .header("content-disposition", `attachment; filename="${ref.fileName.replace(/"/g, "")}"`)
      .header("etag", `"${ref.etag}"`)
      .send(zip);
  });
}
