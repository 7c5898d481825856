// Type tests: what users write against js/index.d.ts must type-check (tsc in scripts/test.sh).
import { Sessions, SessionLock, type Session } from "edge-sessions";
export { SessionLock };

// What `wrangler types` generates for a worker with these bindings and a secret.
interface Env {
  SESSIONS: KVNamespace;
  SESSION_LOCKS: DurableObjectNamespace<import("edge-sessions").SessionLock>;
  SESSION_SECRET: string;
  ASSETS: Fetcher;
}

type Data = { count: number; user?: string; prefs?: { theme: string } };

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const sessions = new Sessions<Data>(env, { SESSION_TIMEOUT: "30m" });
    return sessions.withSession(request, ctx, async (session: Session<Data>) => {
      const n: number = (session.get("count") ?? 0) + 1;
      session.set("count", n);
      session.set("user", null); // null deletes
      // @ts-expect-error: count is a number
      session.set("count", "many");
      // @ts-expect-error: not a key of Data
      session.get("nope");
      const theme: string | undefined = session.get("prefs")?.theme;
      return Response.json({ n, theme });
    });
  },
} satisfies ExportedHandler<Env>;

// an untyped Sessions takes any JSON under any key
export async function untyped(request: Request, env: Env) {
  const s = await new Sessions(env).load(request);
  s.set("anything", { nested: [1, "two", null] });
}
