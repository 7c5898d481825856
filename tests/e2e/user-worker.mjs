// Test-only worker for tests/e2e/users.test.mjs: the real JavaScript package with routes for
// logging in as a user (regenerate + setUser), reading the session, listing the user's
// sessions and logging out other devices or everywhere.
import { Sessions, SessionLock } from "../../js/index.js";

export { SessionLock };

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const q = url.searchParams;
    const sessions = new Sessions(env);
    if (url.pathname === "/destroy-user") {
      // an admin action without a session of its own
      return Response.json({ destroyed: await sessions.destroyUser(q.get("user")) });
    }
    return sessions.withSession(request, ctx, async (session) => {
      switch (url.pathname) {
        case "/login":
          session.regenerate();
          session.setUser(q.get("user"), { client: q.get("client") ?? undefined });
          session.set("n", 0);
          return Response.json({ user: session.user });
        case "/incr": {
          const n = (session.get("n") ?? 0) + 1;
          session.set("n", n);
          return Response.json({ n, user: session.user ?? null });
        }
        case "/hold-incr": {
          // holds the session's lock while parked at the test origin's gate, then writes
          await (await fetch(`${env.ORIGIN}/echo?gate=${q.get("gate")}`)).arrayBuffer();
          session.set("n", (session.get("n") ?? 0) + 1);
          return Response.json({ saved: true });
        }
        case "/me":
          return Response.json({ isNew: session.isNew, user: session.user ?? null, n: session.get("n") ?? null });
        case "/list":
          return Response.json(await sessions.listUser(session.user, { current: session }));
        case "/logout-others":
          return Response.json({ destroyed: await sessions.destroyUser(session.user, { except: session }) });
        default:
          return new Response("not found", { status: 404 });
      }
    });
  },
};
