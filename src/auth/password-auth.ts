import { z } from "zod";
import { FsError } from "../core/errors.js";
import type { Identity } from "../core/types.js";
import { safeEqual } from "./safe-equal.js";

const nameOrId = z
  .object({ name: z.string().min(1).optional(), id: z.string().min(1).optional() })
  .refine((d) => d.name !== undefined || d.id !== undefined, "name or id is required");

/** Body of `POST /v3/auth/tokens`, password method (contract §2.1). Unknown keys are ignored. */
export const passwordAuthSchema = z.object({
  auth: z.object({
    identity: z.object({
      methods: z
        .array(z.string())
        .refine((m) => m.includes("password"), "methods must include password"),
      password: z.object({
        user: z.object({
          name: z.string().min(1),
          password: z.string().min(1),
          domain: nameOrId,
        }),
      }),
    }),
    scope: z.union([z.object({ project: nameOrId }), z.object({ domain: nameOrId })]),
  }),
});

export type PasswordAuthRequest = z.infer<typeof passwordAuthSchema>;

export interface PasswordAuthOptions {
  /**
   * Public FunctionGraph endpoint (`http://host:port`) to advertise in the catalog; omit for an
   * empty catalog (as `?nocatalog=true` asks).
   */
  endpoint?: string;
}

/** IAM's response body; the token itself goes in the `X-Subject-Token` header. */
export interface PasswordAuthBody {
  token: {
    expires_at: string;
    issued_at: string;
    methods: string[];
    catalog: CatalogEntry[];
    project?: { id: string; name: string; domain: { id: string; name: string } };
    domain?: { id: string; name: string };
    user: {
      id: string;
      name: string;
      domain: { id: string; name: string };
      password_expires_at: string;
    };
    roles: { id: string; name: string }[];
  };
}

export interface CatalogEntry {
  id: string;
  name: string;
  type: string;
  endpoints: { id: string; interface: string; region: string; region_id: string; url: string }[];
}

export interface PasswordAuthResult {
  token: string;
  issuedAt: Date;
  expiresAt: Date;
  body: PasswordAuthBody;
}

type Issue = (scope: { scopeProjectId?: string }) => {
  token: string;
  issuedAt: Date;
  expiresAt: Date;
};

/** IAM prints microseconds: `2020-01-04T09:05:22.701000Z`. */
export function toIamTime(d: Date): string {
  return d.toISOString().replace(/Z$/, "000Z");
}

const matches = (
  want: { name?: string | undefined; id?: string | undefined },
  name: string,
  id: string,
) => (want.name === undefined || want.name === name) && (want.id === undefined || want.id === id);

/**
 * Validates the body (400 INVALID_PARAMETER), checks user, domain, password and scope against
 * the identity (401 UNAUTHORIZED for any mismatch, unknown project included, as IAM does) and
 * issues a token.
 */
export function authenticatePassword(
  identity: Identity,
  tokens: { issue: Issue },
  body: unknown,
  options: PasswordAuthOptions = {},
): PasswordAuthResult {
  const parsed = passwordAuthSchema.safeParse(body);
  if (!parsed.success) {
    throw new FsError(
      "INVALID_PARAMETER",
      `Invalid auth request: ${parsed.error.issues[0]?.message ?? "bad body"}`,
    );
  }
  const { identity: who, scope } = parsed.data.auth;
  const user = who.password.user;

  // Evaluate every check before deciding so the timing does not say which one failed.
  const userOk = safeEqual(user.name, identity.userName);
  const domainOk = matches(user.domain, identity.domainName, identity.domainId);
  const passwordOk = safeEqual(user.password, identity.password);
  if (!(userOk && domainOk && passwordOk)) {
    throw new FsError("UNAUTHORIZED", "The username or password is wrong");
  }

  const domain = { id: identity.domainId, name: identity.domainName };
  let issued;
  let scoped: Pick<PasswordAuthBody["token"], "project" | "domain">;
  if ("project" in scope) {
    if (!matches(scope.project, identity.projectName, identity.projectId)) {
      throw new FsError("UNAUTHORIZED", "The project in scope does not exist");
    }
    issued = tokens.issue({ scopeProjectId: identity.projectId });
    scoped = { project: { id: identity.projectId, name: identity.projectName, domain } };
  } else {
    if (!matches(scope.domain, identity.domainName, identity.domainId)) {
      throw new FsError("UNAUTHORIZED", "The domain in scope does not exist");
    }
    issued = tokens.issue({});
    scoped = { domain };
  }

  const catalog: CatalogEntry[] =
    options.endpoint === undefined
      ? []
      : [
          {
            id: "fngraph-functiongraph",
            name: "functiongraph",
            type: "FunctionGraph",
            endpoints: [
              {
                id: "fngraph-functiongraph-public",
                interface: "public",
                region: identity.projectName,
                region_id: identity.projectName,
                url: options.endpoint.replace(/\/+$/, ""),
              },
            ],
          },
        ];

  return {
    ...issued,
    body: {
      token: {
        expires_at: toIamTime(issued.expiresAt),
        issued_at: toIamTime(issued.issuedAt),
        methods: ["password"],
        catalog,
        ...scoped,
        user: { id: identity.userId, name: identity.userName, domain, password_expires_at: "" },
        roles: [{ id: "0", name: "te_admin" }],
      },
    },
  };
}
