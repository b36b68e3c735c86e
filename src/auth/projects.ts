import type { Identity } from "../core/types.js";

export interface ProjectEntry {
  id: string;
  name: string;
  domain_id: string;
  description: string;
  enabled: boolean;
  is_domain: boolean;
  parent_id: string;
  links: { self: string };
}

export interface ProjectsBody {
  projects: ProjectEntry[];
  links: { self: string; next: null; previous: null };
}

/**
 * Body of IAM `GET /v3/projects[?name=…]`. The SDK calls it with `name=<region>` when
 * BasicCredentials has no project id and takes `projects[0].id` if exactly one matches.
 * `nameFilter` is an exact match; undefined lists every project.
 */
export function projectsResponse(identity: Identity, nameFilter?: string): ProjectsBody {
  const project: ProjectEntry = {
    id: identity.projectId,
    name: identity.projectName,
    domain_id: identity.domainId,
    description: "",
    enabled: true,
    is_domain: false,
    parent_id: identity.domainId,
    links: { self: "" },
  };
  const projects = nameFilter === undefined || nameFilter === project.name ? [project] : [];
  return { projects, links: { self: "", next: null, previous: null } };
}
