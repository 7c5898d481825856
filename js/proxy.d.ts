// The proxy worker as a module: `export { default, SessionLock } from "edge-sessions/proxy";`
// deploys it from your own project (see the README's proxy section for its vars).
import { WorkerEntrypoint } from "cloudflare:workers";
export { SessionLock } from "./index.js";

/** The proxy worker: forwards every request to ORIGIN with the session handed over in signed
 * headers, and runs the expiry sweep on its cron trigger. */
export default class SessionProxy extends WorkerEntrypoint {
  fetch(request: Request): Promise<Response>;
  scheduled(): Promise<void>;
}
