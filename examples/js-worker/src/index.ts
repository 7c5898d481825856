// A JavaScript worker with sessions: a visit counter, login (regenerate), logout (destroy),
// and a handler that uses explicit locking. SESSION_SECRET comes from a secret (.dev.vars
// locally); everything else has safe defaults.
import { Sessions, SessionLock, type Session, type SessionEnv, type SessionEvent } from "edge-sessions";

export { SessionLock };

interface Env extends SessionEnv {
  SESSION_SECRET: string;
}

/** Audit log: one line per session lifecycle event (ids are hashes, never the session id). */
const audit = (event: SessionEvent) => console.log(`audit ${JSON.stringify(event)}`);

/** What this worker keeps in a session; `Sessions<AppData>` types get and set. */
type AppData = {
  count: number;
  user?: string;
  profile?: { id: number; role?: string };
  empty?: Record<string, never>;
  lost?: boolean;
};

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/health") {
      // health checks and static assets need no session: don't load one
      return json({ ok: true });
    }

    if (url.pathname === "/explicit") {
      // CherryPy's explicit locking: the handler decides when to hold the lock.
      const sessions = new Sessions<AppData>(env, { SESSION_LOCKING: "explicit" });
      return sessions.withSession(request, ctx, async (session) => {
        await session.acquire();
        const count = (session.get("count") ?? 0) + 1;
        session.set("count", count);
        await session.release();
        return json({ count });
      });
    }

    const sessions = new Sessions<AppData>(env)
      .on("created", audit)
      .on("regenerated", audit)
      .on("destroyed", audit);
    return sessions.withSession(request, ctx, handle).catch((err) => {
      console.error(String(err)); // a bug in a handler: logged, then the runtime's 500
      throw err;
    });

    async function handle(session: Session<AppData>): Promise<Response> {
      switch (url.pathname) {
        case "/count": {
          const count = (session.get("count") ?? 0) + 1;
          session.set("count", count);
          return json({ count, isNew: session.isNew });
        }
        case "/whoami":
          return json({ id: session.id, user: session.get("user") ?? null, data: session.toJSON(), isNew: session.isNew });
        case "/login":
          session.regenerate();
          session.set("user", url.searchParams.get("user") ?? "guest");
          return json({ ok: true });
        case "/login-redirect":
          // the usual login: new id, user stored, then a redirect (whose headers are immutable)
          session.regenerate();
          session.set("user", url.searchParams.get("user") ?? "guest");
          return Response.redirect(new URL("/whoami", url).toString(), 302);
        case "/nested": {
          // set replaces an object whole; a nested null is kept as a value
          session.set("profile", url.searchParams.get("step") === "1" ? { id: 1, role: "admin" } : { id: 2 });
          session.set("empty", {});
          return json({ data: session.toJSON() });
        }
        case "/not-a-response":
          session.set("lost", true);
          return { not: "a response" } as unknown as Response;
        case "/used-body": {
          session.set("lost", true);
          const r = new Response("read already");
          await r.text();
          return r;
        }
        case "/bad-key":
          session.set(5 as unknown as "count", 1);
          return json({ ok: true });
        case "/remember":
          // login with "remember me": the session lives 30 days, its cookie too
          session.regenerate();
          session.set("user", "ann");
          session.setTimeout("30d");
          return json({ ok: true });
        case "/flash":
          // set a flash, then read it once on the next request
          if (url.searchParams.has("set")) {
            session.flash("notice", url.searchParams.get("set") ?? "");
            return json({ ok: true });
          }
          return json({ notice: session.getFlash<string>("notice") ?? null });
        case "/logout":
          session.destroy();
          return json({ ok: true });
        default:
          return json({ error: "not found" }, 404);
      }
    }
  },

  async scheduled(_event: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    ctx.waitUntil(new Sessions(env).on("expired", audit).sweep().then((line) => console.log(line)));
  },
} satisfies ExportedHandler<Env>;
