// Measures what a viewer waits for and downloads, in Chromium against the local stack:
//   1. time from the host's click on "Go live" to the first video frame decoded on a viewer
//      that was already waiting (includes the viewer's 5-7 s polling interval, as a person
//      would experience it) and, separately, to a viewer opening the page while live;
//   2. bytes the audience page loaded before its first decoded frame.
// Run: node browser_tests/measure.mjs [runs]   (prints a Markdown table)
import { HOST_PASSWORD, startStack } from './stack.mjs';
import { TRACK_PEER_CONNECTIONS, inboundStats, launch, newPage } from './browser.mjs';

const runs = Number(process.argv[2] ?? 5);
const stack = await startStack({ name: 'measure' });
const browser = await launch();

async function firstFrame(page, since) {
  for (;;) {
    if ((await inboundStats(page)).framesDecoded > 0) return Date.now() - since;
    await new Promise((r) => setTimeout(r, 20));
    if (Date.now() - since > 60000) throw new Error('no frame within 60 s');
  }
}

async function viewerPage() {
  const page = await newPage(browser);
  let bytes = 0;
  page.on('response', async (response) => {
    const body = await response.body().catch(() => null);
    if (body) bytes += body.length;
  });
  await page.addInitScript(TRACK_PEER_CONNECTIONS);
  return { page, bytes: () => bytes };
}

const waiting = [];
const joining = [];
const loaded = [];
try {
  for (let i = 0; i < runs; i++) {
    const viewer = await viewerPage();
    await viewer.page.goto(`${stack.base}/`);
    const host = await newPage(browser);
    await host.goto(`${stack.base}/host.html`);
    await host.fill('#password', HOST_PASSWORD);
    const clicked = Date.now();
    await host.click('#go-live');
    waiting.push(await firstFrame(viewer.page, clicked));

    const late = await viewerPage();
    const opened = Date.now();
    await late.page.goto(`${stack.base}/`);
    joining.push(await firstFrame(late.page, opened));
    loaded.push(late.bytes());

    await host.click('#go-live');
    await host.waitForFunction(() => document.getElementById('status').textContent === 'Stream ended');
    await Promise.all([host.close(), viewer.page.close(), late.page.close()]);
  }
} finally {
  await browser.close();
  await stack.stop();
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs) => `${Math.min(...xs)}–${Math.max(...xs)}`;
console.log(`| measure (${runs} runs, ${new Date().toISOString().slice(0, 10)}) | median | range |`);
console.log('|---|---|---|');
console.log(`| host click → first frame on a waiting viewer (ms) | ${median(waiting)} | ${range(waiting)} |`);
console.log(`| page opened while live → first frame (ms) | ${median(joining)} | ${range(joining)} |`);
console.log(`| bytes the audience page loaded before its first frame | ${median(loaded)} | ${range(loaded)} |`);
