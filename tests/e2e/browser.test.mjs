// The demo in a real browser: headless Chromium (playwright-core, Debian's /usr/bin/chromium,
// installed by scripts/setup.sh) against the real proxy build on workerd (Miniflare's HTTP
// server) in front of the demo origin. Checks what the page shows, the cookie as the browser
// stored it, regenerate on login, destroy on logout, and the lock race: with the lock no
// increment is lost, without it (SESSION_UNLOCKED_PATHS) overlapping increments are.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { startDemo } from "../../demo/origin.mjs";
import { startWorker, idOf } from "./harness.mjs";

const CHROMIUM = "/usr/bin/chromium";
const ORIGIN_SECRET = "origin-secret-for-tests-0123456789abcdef";
const COOKIE = "__Host-session";

describe("the demo in headless Chromium behind the real proxy", () => {
  let demo, w, browser, context, page, base;

  before(async () => {
    // CI installs it through scripts/setup.sh: a missing browser is a failure, not a skip
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup.sh (it installs Debian's chromium) before this test`);
    demo = await startDemo({ port: 0, originSecret: ORIGIN_SECRET });
    w = await startWorker(demo.url, { SESSION_ORIGIN_SECRET: ORIGIN_SECRET, SESSION_UNLOCKED_PATHS: "/race/unlocked" });
    base = new URL(await w.mf.ready); // Miniflare's own HTTP server, on a loopback port
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    context = await browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
  });

  after(async () => {
    await browser?.close();
    await w?.dispose();
    await demo?.close();
  });

  const text = (sel) => page.locator(sel).textContent();
  const sessionCookies = async () => (await context.cookies(base.href)).filter((c) => c.name === COOKIE);
  /** Clicks a form button and waits for the page its POST redirects to. */
  async function submit(sel) {
    const nav = page.waitForNavigation({ waitUntil: "load" });
    await page.click(sel);
    await nav;
  }

  let firstHash, firstCookie, loginHash, loginCookie;

  test("first visit: new session, an id hash (never the id), the cookie's attributes in the jar", async () => {
    const res = await page.goto(base.href);
    assert.equal(res.status(), 200);
    assert.match(await text("h1"), /^Visit number 1 \(new session\)$/);
    assert.equal(await text("#session-state"), "new");
    firstHash = await text("#id-hash");
    assert.match(firstHash, /^[0-9a-f]{12}$/);

    const jar = await sessionCookies();
    assert.equal(jar.length, 1, "one session cookie in the jar");
    firstCookie = jar[0];
    assert.equal(firstCookie.httpOnly, true, "HttpOnly");
    assert.equal(firstCookie.secure, true, "Secure");
    assert.equal(firstCookie.sameSite, "Lax", "SameSite=Lax");
    assert.equal(firstCookie.path, "/", "Path=/");
    assert.equal(firstCookie.domain, base.hostname, "host-only (no Domain), as __Host- requires");
    const ttl = firstCookie.expires - Date.now() / 1000;
    assert.ok(ttl > 3500 && ttl <= 3601, `Max-Age follows the 60m default timeout (expires in ${ttl.toFixed(0)} s)`);

    const html = await page.content();
    assert.ok(!html.includes(idOf(firstCookie.value)), "the raw session id never appears on the page");
    assert.match(await text("#doc-cookie"), /no __Host-session: it is HttpOnly/, "scripts cannot read the cookie");
  });

  test("reload: visit 2, same id hash, existing session", async () => {
    await page.reload();
    assert.equal(await text("h1"), "Visit number 2");
    assert.equal(await text("#id-hash"), firstHash);
    assert.equal(await text("#session-state"), "existing");
  });

  test("login: user ann, a different id hash, regenerated", async () => {
    await submit("#login");
    assert.equal(await text("#user"), "User: ann");
    loginHash = await text("#id-hash");
    assert.match(loginHash, /^[0-9a-f]{12}$/);
    assert.notEqual(loginHash, firstHash, "the id changed");
    assert.equal(await text("#session-state"), `regenerated (id hash was ${firstHash})`);
    assert.equal(await text("h1"), "Visit number 3", "the data moved to the new id");
    const jar = await sessionCookies();
    assert.equal(jar.length, 1);
    loginCookie = jar[0];
    assert.notEqual(idOf(loginCookie.value), idOf(firstCookie.value), "the browser holds the new id's cookie");
  });

  test("race: 20 locked increments all survive, 20 unlocked ones lose updates", async () => {
    await page.click("#race");
    await page.waitForFunction(() => /^(done|failed)/.test(document.getElementById("race-status").textContent), null, { timeout: 30_000 });
    const status = await text("#race-status");
    assert.match(status, /^done/, status);
    const locked = Number(await text("#locked-count"));
    const unlocked = Number(await text("#unlocked-count"));
    console.log(`race: with the lock ${locked}/20, without the lock ${unlocked}/20`);
    assert.equal(locked, 20, "with the lock no increment is lost");
    assert.ok(Number.isInteger(unlocked) && unlocked >= 1 && unlocked <= 20, `unlocked count ${unlocked}`);
    // Chromium runs at most 6 requests per host at once; each increment holds its read value
    // for 30 ms, so without the lock several always overlap (observed 5 to 7 of 20).
    assert.ok(unlocked < 20, `without the lock some increments are lost (got ${unlocked})`);
    // the session is the same one: the race did not replace the cookie or the user
    await page.reload();
    assert.equal(await text("#user"), "User: ann");
    assert.equal(await text("#id-hash"), loginHash);
    assert.equal(await text("#locked-count"), "20");
  });

  test("logout: the proxy expires the cookie and destroys the session; the next page is a new one", async () => {
    const logout = page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/logout");
    await submit("#logout");
    const res = await logout;
    assert.equal(res.status(), 303);
    const removal = (await res.headersArray()).filter((h) => h.name.toLowerCase() === "set-cookie" && h.value.startsWith(COOKIE + "="));
    assert.equal(removal.length, 1, "logout answers with one session Set-Cookie");
    assert.match(removal[0].value, /^__Host-session=;/, "emptied");
    assert.match(removal[0].value, /Max-Age=0|Expires=Thu, 01 Jan 1970/i, "expired");

    assert.match(await text("h1"), /^Visit number 1 \(new session\)$/);
    assert.equal(await text("#user"), "User: nobody");
    assert.equal(await text("#session-state"), "new (the previous session was destroyed by logout)");
    const hash = await text("#id-hash");
    assert.notEqual(hash, loginHash);
    assert.notEqual(hash, firstHash);
    // the logged-in session's cookie is gone from the jar; what may be there is the cookie of
    // the fresh session this page's visit count started
    const jar = await sessionCookies();
    assert.ok(jar.length <= 1);
    assert.ok(jar.every((c) => idOf(c.value) !== idOf(loginCookie.value)), "the logged-in id is gone from the jar");
  });
});
