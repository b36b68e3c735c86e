import { chmodSync, renameSync, writeFileSync } from "node:fs";
import { generateIdentity } from "./auth/index.js";
import type { Identity } from "./core/types.js";

/** What `<data>/credentials.json` holds (ARCHITECTURE §1). */
export interface Credentials {
  endpoint: string;
  gateway_endpoint: string;
  region: string;
  project_id: string;
  domain_id: string;
  domain_name: string;
  access_key: string;
  secret_key: string;
  user: string;
  password: string;
}

/** The identity kept in the store; a new one (saved) on the first start. */
export async function loadOrCreateIdentity(
  store: {
    loadIdentity(): Promise<Identity | undefined>;
    saveIdentity(i: Identity): Promise<void>;
  },
  region: string,
): Promise<Identity> {
  const existing = await store.loadIdentity();
  if (existing) return existing;
  const identity = generateIdentity({ region });
  await store.saveIdentity(identity);
  return identity;
}

/** The URL clients use for a listening address (a wildcard host means this machine). */
export function urlOf(host: string, port: number): string {
  const h =
    host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

/** Write the credentials file atomically, readable by its owner only. */
export function writeCredentials(file: string, c: Credentials): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(c, null, 2) + "\n", { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
