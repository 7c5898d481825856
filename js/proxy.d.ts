// The proxy worker as a module: `export { default, SessionLock } from "edge-sessions/proxy";`
// deploys it from your own project (see the README's proxy section for its vars).
export { SessionLock } from "./index.js";

/** The proxy worker: forwards every request to ORIGIN with the session handed over in signed
 * headers, and runs the expiry sweep on its cron trigger. */
declare const proxy: {
  fetch(request: Request, env: object, ctx: ExecutionContext): Promise<Response>;
  scheduled(controller: ScheduledController, env: object): Promise<void>;
};
export default proxy;
