// What the meeting page tests share: the pages served by the dev server alone (its production
// headers, Content-Security-Policy included; no functions, no relay) for the tests over the fake
// adapter; opening meet.html in a desktop or phone, light or dark context; the fake adapter and a
// meeting_token answer put in place with page.route; the local tracks the page opened; axe-core.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { freePort, root } from './stack.mjs';
import { until } from './pages.mjs';
import { TRACK_PEER_CONNECTIONS } from './browser.mjs';

const require = createRequire(import.meta.url);
const FAKE_ADAPTER = readFileSync(join(root, 'browser_tests', 'meet_fake_adapter.js'), 'utf8');
export const ADAPTER_PATH = '**/js/meeting/index.js';

export const DESKTOP = { viewport: { width: 1280, height: 800 } };
export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true };

// The dev server binary serving static/ on a free port (built first if missing), with the
// security headers of `audienceMode` (the dev server's default when not given); stop() ends it.
export async function startPagesServer({ audienceMode } = {}) {
  const binary = join(root, process.env.CARGO_TARGET_DIR ?? 'target', 'debug', 'onair-dev-server');
  if (!existsSync(binary)) {
    const built = spawnSync('cargo', ['build', '--quiet', '-p', 'onair-dev-server'], { cwd: root, stdio: 'inherit' });
    assert.equal(built.status, 0, 'cargo build -p onair-dev-server');
  }
  const port = await freePort();
  // Nothing listens on the API and media upstreams: the tests answer those requests themselves.
  const args = ['--port', String(port), '--static', join(root, 'static'), '--api', 'http://127.0.0.1:9', '--media', 'http://127.0.0.1:9'];
  if (audienceMode) args.push('--audience-mode', audienceMode);
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    await until(
      'the dev server answering',
      async () => {
        if (child.exitCode !== null) throw new Error(`onair-dev-server exited: ${stderr}`);
        return (await fetch(`${base}/meet.html`).catch(() => null))?.ok;
      },
      20000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { base, stop };
}

// Records every local track the page opens (camera, microphone, screen), to check they stop,
// and every request for them (`window.__mediaRequests`: which call, with which constraints).
export const TRACK_LOCAL_TRACKS = () => {
  window.__localTracks = [];
  window.__mediaRequests = [];
  const md = navigator.mediaDevices;
  for (const name of ['getUserMedia', 'getDisplayMedia']) {
    const original = md[name].bind(md);
    md[name] = async (...args) => {
      window.__mediaRequests.push({ name, constraints: JSON.parse(JSON.stringify(args[0] ?? {})) });
      const stream = await original(...args);
      window.__localTracks.push(...stream.getTracks());
      return stream;
    };
  }
};

export const liveLocalTracks = (page) =>
  page.evaluate(() => window.__localTracks.filter((t) => t.readyState === 'live').map((t) => t.kind));

// A meeting_token answer as the API gives it; the identity is `<8 hex>.<name>` (common::ids).
export function tokenAnswer(name = 'Ana') {
  return {
    token: 'fake-token',
    room: 'meeting-abcdefabcdef',
    identity: `0a1b2c3d.${name.trim()}`,
    name,
    mode: 'group',
    media: { kind: 'fake' },
    expires_at: Math.floor(Date.now() / 1000) + 3600,
    meeting: 'abcdefabcdef',
  };
}

// Opens meet.html#invite=<invite> in a new context. Over the fake adapter (`real: false`), the
// test answers meeting_token: `answer(body)` gives { status, json } (default: a token for the
// name asked); `real: true` uses the stack's API and adapters and records the page's peer
// connections. Returns { page, context, requests, problems } where `requests` are meeting_token
// bodies and `problems` console errors, page errors and failed requests.
export async function openMeet(browser, base, { invite = 'test-invite', context: options = DESKTOP, dark = false, answer, real = false } = {}) {
  const context = await browser.newContext({ ...options, colorScheme: dark ? 'dark' : 'light' });
  await context.grantPermissions(['camera', 'microphone', 'clipboard-read', 'clipboard-write'], { origin: base });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => {
    // A failed load names no address in its text; its location does.
    if (message.type() === 'error') problems.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
  await page.addInitScript(TRACK_LOCAL_TRACKS);
  const requests = [];
  if (real) {
    await page.addInitScript(TRACK_PEER_CONNECTIONS);
    page.on('request', (request) => {
      if (request.url().endsWith('/meeting_token')) requests.push(request.postDataJSON());
    });
  } else {
    await page.route(ADAPTER_PATH, (route) => route.fulfill({ contentType: 'text/javascript', body: FAKE_ADAPTER }));
    await page.route('**/meeting_token', async (route) => {
      const body = route.request().postDataJSON();
      requests.push(body);
      const { status = 200, json } = answer ? await answer(body) : { json: tokenAnswer(body.name) };
      await route.fulfill({ status, contentType: 'application/json', json });
    });
  }
  // The real stack shares the cores with three browsers' encoders: a page may take longer to load.
  await page.goto(`${base}/meet.html${invite ? `#invite=${encodeURIComponent(invite)}` : ''}`, { timeout: real ? 90000 : 30000 });
  return { page, context, requests, problems };
}

// Types a name and joins; waits for the call view.
export async function joinAs(page, name = 'Ana') {
  await page.fill('#name', name);
  await page.click('#join');
  await page.waitForSelector('#call:not([hidden])');
}

// The fake adapter's record of what the page asked.
export const adapterCalls = (page) => page.evaluate(() => window.fakeMeeting.calls);
export const fake = (page, fn, ...args) => page.evaluate(([f, a]) => window.fakeMeeting[f](...a), [fn, args]);

// The tiles as a person sees them: label, pressed, where (stage or grid), marks, frames.
export function tilesOf(page) {
  return page.$$eval('.tile', (tiles) =>
    tiles.map((t) => ({
      key: t.dataset.key,
      label: t.getAttribute('aria-label'),
      pinned: t.getAttribute('aria-pressed') === 'true',
      onStage: t.parentElement.id === 'stage',
      name: t.querySelector('.name').textContent,
      micOff: !t.querySelector('.mic-off').hidden,
      camOff: !t.querySelector('.cam-off').hidden,
      speaking: t.classList.contains('speaking'),
      frames: t.classList.contains('has-frames') && t.querySelector('video').videoWidth > 0,
      width: Math.round(t.getBoundingClientRect().width),
      // What a screen reader reads as the tile's description: the shown marks, then the name.
      description: [...document.getElementById(t.getAttribute('aria-describedby')).querySelectorAll('.mark:not([hidden]) .visually-hidden, .name')]
        .map((e) => e.textContent)
        .join(''),
    })),
  );
}

export const statusText = (page) => page.locator('#status').textContent();

export async function waitForStatusText(page, pattern, timeout = 10000) {
  await until(`status matching ${pattern}`, async () => pattern.test(await statusText(page)), timeout);
}

// axe-core on the page as it is now: no violation of impact serious or critical, and colour
// contrast checked for every text (nothing left "incomplete"). The page's CSP forbids inline
// scripts, so axe is evaluated through the DevTools protocol rather than a <script> tag.
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
// Live video never has captions: axe cannot decide `video-caption` for it.
const UNDECIDABLE = new Set(['video-caption']);

export async function checkAccessibility(page, state) {
  await page.evaluate(`${AXE_SOURCE}\n;0`);
  const result = await page.evaluate(() =>
    window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      resultTypes: ['violations', 'incomplete'],
    }),
  );
  const describe = (r) => `${r.id} (${r.impact}): ${r.nodes.map((n) => `${n.target.join(' ')} ${n.failureSummary ?? ''}`).join('; ')}`;
  const serious = result.violations.filter((r) => r.impact === 'serious' || r.impact === 'critical');
  assert.deepEqual(serious.map(describe), [], `axe violations in ${state}`);
  const undecided = result.incomplete.filter((r) => !UNDECIDABLE.has(r.id));
  assert.deepEqual(undecided.map(describe), [], `axe could not decide in ${state}`);
}
