import { FsError } from "../core/errors.js";
import type { Authenticate } from "../auth/index.js";
import { safeEqual } from "../auth/safe-equal.js";
import { verifySdkSignature } from "../auth/sdk-signature.js";
import type { TriggerRecord } from "../triggers/index.js";

export interface GatewayAuthRequest {
  method: string;
  rawUrl: string;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * The APIG trigger's `auth`: NONE; IAM (a token or an AK/SK signature, as the API, for the
 * trigger's project); APP (the app credentials issued with the trigger: `X-Apig-AppCode:
 * <app_code>`, or an SDK-HMAC-SHA256 signature with `app_key`/`app_secret` as APIG's app
 * authentication signs). Throws FsError 401/403.
 */
export function checkGatewayAuth(
  t: TriggerRecord,
  req: GatewayAuthRequest,
  authenticate: Authenticate,
  now: number,
): void {
  const mode = t.eventData["auth"];
  if (mode === "NONE") return;
  if (mode === "APP") {
    const appCode = req.headers["x-apig-appcode"];
    if (appCode !== undefined) {
      if (!safeEqual(appCode.trim(), String(t.internal["app_code"])))
        throw new FsError("UNAUTHORIZED", "Incorrect app authentication information: AppCode");
      return;
    }
    if (req.headers["authorization"] === undefined)
      throw new FsError("UNAUTHORIZED", "Missing app credentials: X-Apig-AppCode or a signature");
    verifySdkSignature({
      ...req,
      lookupSecret: (key) =>
        safeEqual(key, String(t.internal["app_key"]))
          ? { secretKey: String(t.internal["app_secret"]) }
          : undefined,
      now,
    });
    return;
  }
  const principal = authenticate(req);
  if (principal.projectId !== t.projectId)
    throw new FsError("FORBIDDEN", "The credential does not belong to the API's project");
}
