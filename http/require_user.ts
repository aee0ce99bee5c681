import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./deps.ts";
import { problem } from "./problem.ts";
import { InvalidTokenError, KeySetUnavailableError } from "../auth/jwt.ts";

const NOT_BEARER = "The Authorization header must be: Bearer <JWT>";

/** Enforces a valid bearer token and sets `userId`; runs before validation so anonymous is 401. */
export const requireUser = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization");
  if (!header) {
    return problem(c, 401, "Send a bearer token: Authorization: Bearer <JWT>", {
      headers: { "WWW-Authenticate": 'Bearer realm="capwatch"' },
    });
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  // Only capwatch's own texts reach the challenge (RFC 6750 §3): InvalidTokenError's messages
  // come from a fixed list, never from the header, the token or jose.
  const refuse = (reason: string) =>
    problem(c, 401, reason, {
      headers: {
        "WWW-Authenticate":
          `Bearer realm="capwatch", error="invalid_token", error_description="${reason}"`,
      },
    });
  if (!match) return refuse(NOT_BEARER);
  try {
    const { userId } = await c.get("deps").verifyToken(match[1]);
    c.set("userId", userId);
  } catch (error) {
    if (error instanceof InvalidTokenError) return refuse(error.message);
    if (error instanceof KeySetUnavailableError) {
      c.get("deps").logger.warn("token keys unavailable", { requestId: c.get("requestId") });
      return problem(c, 503, `${error.message}; retry shortly`, {
        headers: { "Retry-After": "5" },
      });
    }
    throw error;
  }
  await next();
});
