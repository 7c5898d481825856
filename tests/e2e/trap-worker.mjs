// Test-only worker for tests/e2e/trap.test.mjs: the real JavaScript package, a route parked
// at the test origin's gate, and a route that arms the engine's test hook so the next session call of the current engine instance panics.
import { Sessions, SessionLock } from "../../js/index.js";
import { engine } from "../../js/engine.js";

export { SessionLock };

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/arm") {
      engine().__armPanicForTest(Number(url.searchParams.get("kind")));
      return new Response("armed");
    }
    const sessions = new Sessions(env);
    return sessions.withSession(request, ctx, async (session) => {
      if (url.pathname === "/hold") {
        // loaded (and locked) on the instance of this moment; parked at the test origin's
        // gate until the test opens it (a promise shared across requests would be cancelled)
        await (await fetch(`${env.ORIGIN}/echo?gate=${url.searchParams.get("gate")}`)).arrayBuffer();
      }
      const count = (session.get("count") ?? 0) + 1;
      session.set("count", count);
      return Response.json({ count });
    });
  },
};
