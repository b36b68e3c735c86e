import type { FastifyInstance } from "fastify";
import type { Identity } from "../../core/types.js";
import { projectsResponse, type Authenticate, type TokenService } from "../../auth/index.js";
import { headerMap, jsonBody } from "../app.js";

export interface IamRouteDeps {
  identity: Identity;
  tokens: TokenService;
  authenticate: Authenticate;
  endpoint: () => string;
}

/** IAM-lite (contract §2.1): tokens, token check, projects by name. */
export function registerIamRoutes(app: FastifyInstance, deps: IamRouteDeps): void {
  app.post("/v3/auth/tokens", async (req, reply) => {
    const nocatalog = (req.query as Record<string, string | undefined>)["nocatalog"] === "true";
    const r = deps.tokens.authenticatePassword(
      jsonBody(req),
      nocatalog ? {} : { endpoint: deps.endpoint() },
    );
    return reply.code(201).header("X-Subject-Token", r.token).send(r.body);
  });

  app.get("/v3/auth/tokens", async (req, reply) => {
    const headers = headerMap(req);
    deps.authenticate({ method: req.method, rawUrl: req.url, headers, body: req.rawBody });
    const subject = headers["x-subject-token"] ?? headers["x-auth-token"] ?? "";
    const claims = deps.tokens.verify(subject);
    return reply.header("X-Subject-Token", subject).send({
      token: {
        expires_at: new Date(claims.expiresAt).toISOString(),
        methods: ["password"],
        user: {
          id: deps.identity.userId,
          name: deps.identity.userName,
          domain: { id: deps.identity.domainId, name: deps.identity.domainName },
        },
        ...(claims.projectId
          ? {
              project: {
                id: claims.projectId,
                name: deps.identity.projectName,
                domain: { id: deps.identity.domainId, name: deps.identity.domainName },
              },
            }
          : {}),
      },
    });
  });

  app.get("/v3/projects", async (req) => {
    deps.authenticate({
      method: req.method,
      rawUrl: req.url,
      headers: headerMap(req),
      body: req.rawBody,
    });
    const name = (req.query as Record<string, string | undefined>)["name"];
    return projectsResponse(deps.identity, name);
  });
}
