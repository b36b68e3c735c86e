import { randomBytes as nodeRandomBytes } from "node:crypto";
import type { Clock } from "../core/clock.js";
import type { Identity } from "../core/types.js";

const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export interface GenerateIdentityOptions {
  /** Region name; it is also the project's name (IAM names a region's default project so). */
  region: string;
  /** Entropy source, injectable for deterministic tests. */
  randomBytes?: (size: number) => Buffer;
  clock?: Pick<Clock, "now">;
}

/** Uniform picks from `alphabet`: bytes that would bias the modulo are rejected. */
function randomString(alphabet: string, length: number, rand: (n: number) => Buffer): string {
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < length) {
    for (const byte of rand(length * 2)) {
      if (byte < limit) out += alphabet[byte % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

function randomPassword(rand: (n: number) => Buffer): string {
  for (;;) {
    const candidate = randomString(ALNUM, 20, rand);
    if (/[A-Za-z]/.test(candidate) && /\d/.test(candidate)) return candidate;
  }
}

/** A fresh tenant: ids shaped like Huawei Cloud's (32 hex), a 20-char AK and a 40-char SK. */
export function generateIdentity(options: GenerateIdentityOptions): Identity {
  const rand = options.randomBytes ?? nodeRandomBytes;
  const hex32 = (): string => rand(16).toString("hex");
  const now = options.clock?.now() ?? Date.now();
  return {
    projectId: hex32(),
    projectName: options.region,
    domainId: hex32(),
    domainName: "fngraph",
    userId: hex32(),
    userName: "fngraph",
    password: randomPassword(rand),
    accessKey: randomString(UPPER_ALNUM, 20, rand),
    secretKey: randomString(ALNUM, 40, rand),
    tokenKey: rand(32).toString("hex"),
    createdAt: new Date(now).toISOString(),
  };
}
