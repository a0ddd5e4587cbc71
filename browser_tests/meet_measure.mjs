// Measures how long joining a meeting takes on the local stack (scripts/dev.sh: functions, dev
// server, the stand-in's relay), in Chromium with fake camera and microphone:
//   1. from the click on "Join now" (the preview already showing, as a person has it) to the first
//      frame of the other person's camera in the newcomer's page;
//   2. from the same click to the first frame of the newcomer's camera in the page of the person
//      already in the call.
// One person stays in the meeting; a newcomer joins, is measured, and leaves, `runs` times.
// Run: node browser_tests/meet_measure.mjs [runs]   (prints a Markdown table)
import { HOST_PASSWORD, startStack } from './stack.mjs';
import { launch } from './browser.mjs';
import { openMeet } from './meet_pages.mjs';

const runs = Number(process.argv[2] ?? 10);

// In a page: the Date.now() at which the first tile of someone else shows a frame.
const WATCH_FIRST_REMOTE_FRAME = () => {
  window.__firstRemoteFrameAt = null;
  window.__joinClickedAt = null;
  document.addEventListener('click', (e) => {
    if (e.target.closest?.('#join')) window.__joinClickedAt = Date.now();
  }, { capture: true });
  document.addEventListener('loadeddata', (e) => {
    const tile = e.target.closest?.('.tile.camera');
    if (tile && !e.target.classList.contains('mirrored') && window.__firstRemoteFrameAt === null) {
      window.__firstRemoteFrameAt = Date.now();
    }
  }, { capture: true });
};

async function waitFor(page, fn, arg, what) {
  try {
    return await (await page.waitForFunction(fn, arg, { timeout: 60000, polling: 10 })).jsonValue();
  } catch {
    throw new Error(`${what} did not happen within 60 s`);
  }
}

const stack = await startStack({ name: 'meet-measure' });
const browser = await launch();
const newcomerSees = [];
const othersSee = [];
try {
  const created = await (
    await fetch(`${stack.base}/meeting_create`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ password: HOST_PASSWORD }),
    })
  ).json();
  const host = await openMeet(browser, stack.base, { invite: created.invite, real: true });
  await host.page.fill('#name', 'Ana');
  await host.page.click('#join');
  await host.page.waitForSelector('#call:not([hidden])', { timeout: 60000 });

  for (let i = 0; i < runs; i++) {
    const guest = await openMeet(browser, stack.base, { invite: created.invite, real: true });
    await guest.page.evaluate(WATCH_FIRST_REMOTE_FRAME);
    await guest.page.waitForFunction(() => document.getElementById('preview-video').videoWidth > 0);
    await guest.page.fill('#name', `Guest ${i + 1}`);
    const tiles = await host.page.locator('.tile.camera').count();
    await guest.page.click('#join');
    const clicked = await waitFor(guest.page, () => window.__joinClickedAt, null, 'the click');
    const seen = await waitFor(guest.page, () => window.__firstRemoteFrameAt, null, "the newcomer's first remote frame");
    newcomerSees.push(seen - clicked);
    // In the host's page: the newcomer's tile is the one added after `tiles`, with a frame.
    const arrived = await waitFor(
      host.page,
      (before) => {
        const added = [...document.querySelectorAll('.tile.camera')].slice(before);
        return added.some((t) => t.classList.contains('has-frames')) && Date.now();
      },
      tiles,
      "the host's first frame of the newcomer",
    );
    othersSee.push(arrived - clicked);
    // Each run as it is measured, so the runs before a failure are not lost.
    console.error(`run ${i + 1}: newcomer sees ${seen - clicked} ms, the other sees the newcomer ${arrived - clicked} ms`);
    await guest.page.click('#leave');
    await host.page.waitForFunction((before) => document.querySelectorAll('.tile.camera').length === before, tiles, { timeout: 10000 });
    await guest.context.close();
  }
  await host.page.click('#leave');
  await host.context.close();
} finally {
  await browser.close();
  await stack.stop();
}

// Nearest-rank percentile.
const percentile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(q * xs.length) - 1)];
const row = (what, xs) =>
  `| ${what} | ${percentile(xs, 0.5)} | ${percentile(xs, 0.9)} | ${Math.min(...xs)}–${Math.max(...xs)} |`;
console.log(`| meeting join, local stack (${runs} runs, ${new Date().toISOString().slice(0, 10)}) | p50 ms | p90 ms | range ms |`);
console.log('|---|---|---|---|');
console.log(row('click "Join now" → first frame of the other person, in the newcomer\'s page', newcomerSees));
console.log(row('click "Join now" → first frame of the newcomer, in the page already in the call', othersSee));
