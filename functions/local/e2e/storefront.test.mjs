// make e2e: a storefront page served from one origin signs its customer in
// at the development issuer, lists promotions, grabs a coupon with the
// token and shows the problem of a second grab, all through the
// local stack's API on another origin, in headless Chromium; the same page
// served from an origin the API does not allow is refused by the browser.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const page = readFileSync(join(here, "storefront.html"));
const outDir = process.env.SECKILL_E2E_OUT ?? join(root, "bench-out", "e2e");
const token = "dev-admin-token";

function listen(host) {
  return new Promise((resolve) => {
    const srv = createServer((req, res) => {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      res.end(page);
    });
    srv.listen(0, host, () => resolve(srv));
  });
}

async function freePort() {
  const srv = await listen("127.0.0.1");
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

let stack, api, allowed, refused, browser;

before(async () => {
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  // The local stack's default CORS setting: local origins, any port.
  const env = { ...process.env, PORT: String(port), SECKILL_DATA_DIR: mkdtempSync(join(tmpdir(), "seckill-e2e-")) };
  delete env.SECKILL_CORS_ORIGINS;
  stack = spawn(process.env.SECKILL_LOCAL_BIN ?? join(root, "bin", "local"), [], {
    cwd: root,
    env,
    stdio: ["ignore", "inherit", "inherit"],
  });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${api}/healthz`)).ok) break;
    } catch {}
    if (i > 600) throw new Error("the local stack never answered");
    await new Promise((r) => setTimeout(r, 100));
  }
  const now = Date.now();
  const created = await fetch(`${api}/admin/promotions`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      name: "Browser sale", discount: 0.7, totalCoupons: 3,
      publishAt: new Date(now - 1000).toISOString(), finishAt: new Date(now + 3600_000).toISOString(),
    }),
  });
  assert.equal(created.status, 201);
  allowed = await listen("localhost");  // http://localhost:* is allowed
  refused = await listen("127.0.0.2");  // loopback too, but not an allowed origin
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  allowed?.close();
  refused?.close();
  if (stack && stack.exitCode === null) {
    stack.kill("SIGTERM");
    await new Promise((r) => stack.once("exit", r));
  }
});

test("a storefront on an allowed origin lists, grabs, and shows the second grab's problem", async () => {
  const p = await browser.newPage();
  await p.goto(`http://localhost:${allowed.address().port}/storefront.html?api=${encodeURIComponent(api)}&customer=alice`);
  await p.waitForFunction(() => document.getElementById("status").textContent !== "loading", null, { timeout: 30_000 });
  assert.equal(await p.textContent("#status"), "done");
  assert.equal(await p.textContent("#who"), "signed in as alice");
  assert.match(await p.textContent("#promotions"), /Browser sale: pay 70 %, 3 left \(active\)/);
  assert.match(await p.textContent("#grab"), /^201: coupon [0-9A-Z]{26} \(request [0-9a-f]{16}\)$/);
  assert.match(await p.textContent("#again"), /^409 already-grabbed: /);
  mkdirSync(outDir, { recursive: true });
  const shot = join(outDir, "storefront.png");
  await p.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
});

test("the same storefront on an origin not allowed is refused by the browser", async () => {
  const p = await browser.newPage();
  const errors = [];
  p.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await p.goto(`http://127.0.0.2:${refused.address().port}/storefront.html?api=${encodeURIComponent(api)}&customer=bob`);
  await p.waitForFunction(() => document.getElementById("status").textContent !== "loading", null, { timeout: 30_000 });
  assert.match(await p.textContent("#status"), /^blocked: TypeError/);
  assert.ok(errors.some((e) => /CORS/.test(e)), `the browser names CORS: ${errors.join(" | ")}`);
});
