import { Sessions } from "edge-sessions";
export { SessionLock } from "edge-sessions";

export default {
  async fetch(request, env) {
    const options = await request.json();
    try {
      new Sessions(env, options);
      return new Response("ok");
    } catch (err) {
      return new Response(`${err.constructor.name}: ${err.message}`, { status: 400 });
    }
  },
};
