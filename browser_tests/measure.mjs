// Measures how closely the audience page follows the host, in Chromium against the local stack
// (scripts/dev.sh: the stand-in's relay, the functions, the dev server with its edge cache):
//   1. first frame: a viewer already waiting on the stream's page (connected to the studio's
//      room on the relay) → from the host's media reaching the relay (the publishing session's
//      `first_packet_at_ms`) to the viewer's first presented frame (requestVideoFrameCallback)
//      and to its status line saying "Live"; also from the host's click on Go live;
//   2. the end noticed: from the host ending the stream (the Stop button's click in the page; the
//      browser's "Stop sharing", i.e. the screen track ended; the tab closed) to the viewer's "The
//      stream has ended";
//   3. a page opened while live → its first frame, and the bytes it loaded until then.
// Every time is the machine's wall clock (the relay's timestamps are too), so the page's and
// the relay's marks compare directly.
// Run: node browser_tests/measure.mjs [trials]   (default 30: every trial measures the first frame
// and ends one of the three ways in turn; prints a Markdown table for docs/PERFORMANCE.md)
import { startStack } from './stack.mjs';
import { TRACK_PEER_CONNECTIONS, inboundStats, launch, newPage } from './browser.mjs';
import { openHost, openStudio, signIn, until, viewersWaitIn, waitForStatus } from './pages.mjs';

const trials = Number(process.argv[2] ?? 30);
const ENDINGS = ['Stop button', 'Stop sharing (track ended)', 'tab closed'];

// In the audience page from its start: when the first frame is presented and when the status
// line first says "Live" and "The stream has ended", in unix milliseconds.
const RECORD_MARKS = () => {
  window.__marks = {};
  document.addEventListener('DOMContentLoaded', () => {
    document.getElementById('screen').requestVideoFrameCallback(() => {
      window.__marks.frame ??= Date.now();
    });
    const status = document.getElementById('status');
    new MutationObserver(() => {
      const text = status.textContent;
      if (text === 'Live') window.__marks.live ??= Date.now();
      if (text.startsWith('The stream has ended')) window.__marks.ended ??= Date.now();
    }).observe(status, { childList: true, characterData: true, subtree: true });
  });
};

// In the host page: when the Stop button's click reaches the page (so the time to the viewer's
// "ended" leaves out the test driver's own click checks).
const MARK_STOP = () => {
  document.addEventListener(
    'click',
    (event) => {
      if (event.target.closest?.('#stop')) window.__stopClickedAt = Date.now();
    },
    true,
  );
};

const stack = await startStack({ name: 'measure' });
const browser = await launch();

const marks = (page) => page.evaluate(() => window.__marks);
const mark = (page, name, timeout = 30000) => until(`the viewer's ${name}`, async () => (await marks(page))[name], timeout);

async function openViewer(stream) {
  const page = await newPage(browser);
  let bytes = 0;
  page.on('response', async (response) => {
    const body = await response.body().catch(() => null);
    if (body) bytes += body.length;
  });
  await page.addInitScript(TRACK_PEER_CONNECTIONS);
  await page.addInitScript(RECORD_MARKS);
  await page.goto(`${stack.base}/?stream=${stream}`);
  return { page, bytes: () => bytes };
}

async function publisherFirstPacket(room) {
  return until(`the host's first packet at the relay in ${room}`, async () => {
    const media = await stack.media();
    return media.sessions.find((s) => s.room_name === room && s.role !== 'viewer' && s.first_packet_at_ms)?.first_packet_at_ms;
  });
}

const END = {
  'Stop button': (host) => host.click('#stop'),
  'Stop sharing (track ended)': (host) =>
    host.evaluate(() => {
      const track = document.getElementById('preview').srcObject.getVideoTracks()[0];
      track.stop();
      track.dispatchEvent(new Event('ended'));
    }),
  'tab closed': async (host) => {
    host.on('dialog', (dialog) => dialog.accept());
    await host.close({ runBeforeUnload: true });
  },
};

const results = {
  packetToFrame: [],
  packetToLive: [],
  clickToFrame: [],
  clickToPacket: [],
  joinWhileLive: [],
  bytes: [],
  ended: Object.fromEntries(ENDINGS.map((e) => [e, []])),
};

try {
  for (let i = 0; i < trials; i++) {
    const ending = ENDINGS[i % ENDINGS.length];
    const stream = `measure-${i}`;
    const host = await openHost(browser, stack, { prepare: (page) => page.addInitScript(MARK_STOP) });
    await signIn(host);
    const studio = await openStudio(host, { title: stream, camera: false });
    const viewer = await openViewer(stream);
    await viewersWaitIn(stack, studio.room, 1);

    const clicked = Date.now();
    await host.click('#go-live');
    const frame = await mark(viewer.page, 'frame');
    const live = await mark(viewer.page, 'live');
    const packet = await publisherFirstPacket(studio.room);
    results.packetToFrame.push(frame - packet);
    results.packetToLive.push(live - packet);
    results.clickToFrame.push(frame - clicked);
    results.clickToPacket.push(packet - clicked);
    await waitForStatus(host, 'You are live');

    if (ending === 'Stop button') {
      const late = await openViewer(stream);
      const opened = Date.now();
      await until('frames on a viewer who came late', async () => (await inboundStats(late.page)).framesDecoded > 0, 60000);
      results.joinWhileLive.push(Date.now() - opened);
      results.bytes.push(late.bytes());
      await late.page.close();
    }

    let ended = Date.now();
    await END[ending](host);
    if (ending === 'Stop button') ended = await host.evaluate(() => window.__stopClickedAt);
    results.ended[ending].push((await mark(viewer.page, 'ended')) - ended);
    await viewer.page.close();
    if (!host.isClosed()) await host.close();
    process.stderr.write(`trial ${i + 1}/${trials} (${ending}): first frame ${frame - packet} ms after the first packet\n`);
  }
} finally {
  await browser.close();
  await stack.stop();
}

// Nearest-rank percentile.
const pct = (xs, q) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(q * xs.length) - 1)];
const row = (what, xs) => `| ${what} | ${xs.length} | ${pct(xs, 0.5)} | ${pct(xs, 0.9)} | ${Math.max(...xs)} |`;
console.log(`| measure (${new Date().toISOString().slice(0, 10)}) | trials | p50 | p90 | max |`);
console.log('|---|---|---|---|---|');
console.log(row("waiting viewer: host's first packet at the relay → first frame (ms)", results.packetToFrame));
console.log(row("waiting viewer: host's first packet at the relay → \"Live\" (ms)", results.packetToLive));
console.log(row('Go live click → host\'s first packet at the relay (ms)', results.clickToPacket));
console.log(row('Go live click → first frame on a waiting viewer (ms)', results.clickToFrame));
for (const ending of ENDINGS) console.log(row(`end noticed by the viewer: ${ending} (ms)`, results.ended[ending]));
console.log(row('page opened while live → first frame (ms)', results.joinWhileLive));
console.log(row('bytes the audience page loaded before its first frame', results.bytes));
