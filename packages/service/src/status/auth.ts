/**
 * The bearer token check of the status app. The header is the way: `Authorization: Bearer <token>`,
 * the scheme in any case (RFC 9110). `?token=` is accepted only where a browser cannot send the
 * header: the `/events` stream (`EventSource`) and the page that opens it. Anywhere else a token in
 * the URL would only end up in access logs, proxies and history, so it is refused there.
 */
import { timingSafeEqual } from "node:crypto";
import type { Context, Hono, Next } from "hono";

const DENIED = "unauthorized: send Authorization: Bearer <token>";

export function guardWithToken(app: Hono, token: string): void {
  const expected = Buffer.from(token);
  const matches = (given: string): boolean => {
    const buffer = Buffer.from(given);
    return buffer.length === expected.length && timingSafeEqual(buffer, expected);
  };
  // The routes that take ?token= mark their requests before the guard of every route runs (Hono
  // runs middleware in the order it was added). Marked by path pattern, so mounted under a prefix
  // (`app.route("/specter", statusApp)`) the same routes take it.
  const queryAllowed = new WeakSet<Request>();
  const allowQuery = async (c: Context, next: Next) => {
    queryAllowed.add(c.req.raw);
    await next();
  };
  app.use("/", allowQuery);
  app.use("/events", allowQuery);
  app.use("*", async (c, next) => {
    const bearer = /^bearer +(.*)$/i.exec(c.req.header("authorization") ?? "");
    let given: string | undefined = bearer?.[1];
    let hint = DENIED;
    if (queryAllowed.has(c.req.raw)) {
      given ??= c.req.query("token");
      hint = `${DENIED} or ?token=<token>`;
    } else if (given === undefined && c.req.query("token") !== undefined) {
      hint = `${DENIED}; ?token= is accepted only on /events and the page`;
    }
    if (given === undefined || !matches(given)) {
      return c.json({ error: hint }, 401, { "WWW-Authenticate": "Bearer" });
    }
    await next();
  });
}
