import {
  createFunctionApi,
  requestToken,
  type FunctionApi,
  type TokenGrant,
} from "./api-client.js";
import { cliHome, type CommandContext } from "./context.js";
import { CliError, isCliError } from "./errors.js";
import { createHttp, type Http } from "./http.js";
import { loadProfiles, pickProfile, saveProfiles, type Profile } from "./profile.js";

/** A token is renewed this long before it expires, so it does not lapse mid-command. */
const EXPIRY_MARGIN_MS = 60_000;

export interface LoginInput {
  endpoint: string;
  user: string;
  password: string;
  domain: string;
  projectId?: string;
  region?: string;
}

/** Obtains a token and stores it as the named profile, which becomes the current one. */
export async function login(
  ctx: CommandContext,
  input: LoginInput,
): Promise<{ name: string; profile: Profile; grant: TokenGrant }> {
  const http = createHttp(input.endpoint);
  try {
    const grant = await requestToken(http, input);
    const profile: Profile = {
      endpoint: http.endpoint,
      project_id: grant.projectId,
      region: grant.projectName || input.region || "",
      domain_name: input.domain,
      user: input.user,
      password: input.password,
      token: grant.token,
      expires_at: grant.expiresAt,
    };
    const home = cliHome(ctx.io);
    const file = await loadProfiles(home);
    const name = ctx.profile ?? file.current;
    file.profiles[name] = profile;
    file.current = name;
    await saveProfiles(home, file);
    return { name, profile, grant };
  } finally {
    await http.close();
  }
}

/** An authenticated FunctionGraph client for one command. */
export interface Session {
  api: FunctionApi;
  profile: Profile;
}

/**
 * Runs `use` with a client for the selected profile. An expired token (or a 401) is renewed with
 * the stored password, and the renewed token is saved.
 */
export async function withSession<T>(
  ctx: CommandContext,
  use: (session: Session) => Promise<T>,
): Promise<T> {
  const home = cliHome(ctx.io);
  const [name, stored] = pickProfile(await loadProfiles(home), ctx.profile);
  let profile = stored;
  const http: Http = createHttp(profile.endpoint);

  const renew = async (): Promise<string | undefined> => {
    if (!profile.password) return undefined;
    const grant = await requestToken(http, {
      user: profile.user,
      password: profile.password,
      domain: profile.domain_name,
      projectId: profile.project_id,
      region: profile.region,
    }).catch((err: unknown) => {
      if (isCliError(err) && err.message.startsWith("credentials rejected")) {
        throw new CliError("the stored credentials were rejected: run `fngraph login`");
      }
      throw err;
    });
    profile = { ...profile, token: grant.token, expires_at: grant.expiresAt };
    const file = await loadProfiles(home);
    file.profiles[name] = profile;
    await saveProfiles(home, file);
    return grant.token;
  };

  const tokens = {
    async current(): Promise<string> {
      const expires = Date.parse(profile.expires_at);
      const expired =
        !profile.token || !Number.isFinite(expires) || expires - EXPIRY_MARGIN_MS <= ctx.io.now();
      if (!expired) return profile.token;
      const fresh = await renew();
      if (!fresh) throw new CliError("the login has expired: run `fngraph login`");
      return fresh;
    },
    renew,
  };

  try {
    return await use({ api: createFunctionApi(http, profile.project_id, tokens), profile });
  } finally {
    await http.close();
  }
}
