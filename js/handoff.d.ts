// Types for edge-sessions/handoff: verifying the proxy's signed hand-off on the origin.

/** Why a hand-off was refused. */
export declare class HandoffError extends Error {
  readonly reason: "malformed" | "stale" | "forged";
}

/** The proxy's secrets, as the origin holds them. One of the two is needed. */
export interface HandoffSecrets {
  /** SESSION_ORIGIN_SECRET (recommended). */
  originSecret?: string;
  /** SESSION_SECRET, when no SESSION_ORIGIN_SECRET is set (the key is derived from its first entry). */
  sessionSecret?: string;
}

export interface HandoffOptions extends HandoffSecrets {
  /** Oldest signature accepted, in seconds. Default 60. */
  maxAgeSeconds?: number;
  /** The current time in Unix seconds (tests). */
  now?: number;
  /** The proxy's SESSION_HEADER_PREFIX. Default "x-session-". */
  prefix?: string;
}

/** What a request received from the proxy says. */
export interface HandoffRequest {
  method: string;
  /** Path and query as received: Node's `req.url`, or `url.pathname + url.search`. */
  target: string;
  /** A Headers object or Node's `req.headers`. */
  headers: Headers | Record<string, string | string[] | undefined>;
}

/** The session the proxy handed over. */
export interface HandedOver {
  id: string;
  data: { [key: string]: unknown };
  isNew: boolean;
}

/** Verifies X-Session-Signature; rejects with a HandoffError when it is missing, malformed, stale or does not match. */
export declare function verifyHandoff(request: HandoffRequest, options: HandoffOptions): Promise<HandedOver>;

/** Signs as the proxy does (tests, or another proxy speaking the protocol). */
export declare function signHandoff(
  fields: { method: string; target: string; id?: string; data?: string; isNew?: boolean },
  secrets: HandoffSecrets,
  t?: number
): Promise<string>;

/** The exact message the signature covers. */
export declare function handoffMessage(
  t: number,
  fields: { method: string; target: string; id?: string; data?: string; isNew?: boolean }
): string;
