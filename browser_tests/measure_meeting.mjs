// Measures joining a meeting on the local media path, in Chromium against the local stack
// (scripts/dev.sh: the functions, the stand-in's relay), through the meeting adapter
// (static/js/meeting/) on the adapter tests' bare page:
//   - join → first remote frame: from the newcomer's `meeting_token` request (then its camera
//     and microphone, joinMeeting, one WHEP session per participant) to the first camera frame
//     decoded from any other participant, and to a frame from every one of them;
//   - seen by the others: from the same start to the first frame of the newcomer's camera
//     decoded by each participant already in the call (their 500 ms status poll included).
// Each run a newcomer joins a call of N-1 people already there, then leaves.
// Run: node browser_tests/measure_meeting.mjs [people=4] [runs=5]   (prints a Markdown table)
import { startStack } from './stack.mjs';
import { launch } from './browser.mjs';
import { createMeeting, join, meetingToken, openAdapterPage } from './meeting_adapter_page.mjs';

const people = Number(process.argv[2] ?? 4);
const runs = Number(process.argv[3] ?? 5);
const POLL_MS = 20;
const LIMIT_MS = 60000;

const stack = await startStack({ name: 'measure-meeting' });
const browser = await launch();

// Milliseconds from `since` until `page` has decoded a camera frame of each of `identities`;
// resolves to the time of the first and of the last.
async function framesFrom(page, identities, since) {
  const seen = new Map();
  while (seen.size < identities.length) {
    for (const identity of identities) {
      if (seen.has(identity)) continue;
      if ((await page.evaluate((i) => window.__received(i, 'camera'), identity)) > 0) seen.set(identity, Date.now() - since);
    }
    if (Date.now() - since > LIMIT_MS) throw new Error(`no frames from everyone within ${LIMIT_MS} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const times = [...seen.values()];
  return { first: Math.min(...times), last: Math.max(...times) };
}

const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `${sorted[Math.floor((sorted.length - 1) / 2)]} (${sorted[0]} to ${sorted.at(-1)})`;
};

const first = [];
const all = [];
const seenBy = [];
try {
  const { invite } = await createMeeting(stack);
  const inCall = [];
  for (let i = 1; i < people; i++) {
    const page = await openAdapterPage(browser, stack);
    const answer = await meetingToken(stack, invite, `Person ${i}`);
    const joined = await join(page, answer);
    if (!joined.joined) throw new Error(joined.message);
    inCall.push({ page, identity: answer.identity });
  }
  for (const { page } of inCall) await framesFrom(page, inCall.filter((p) => p.page !== page).map((p) => p.identity), Date.now());

  for (let run = 0; run < runs; run++) {
    const page = await openAdapterPage(browser, stack);
    const start = Date.now();
    const answer = await meetingToken(stack, invite, `Newcomer ${run}`);
    const joined = await join(page, answer);
    if (!joined.joined) throw new Error(joined.message);
    const [mine, ...theirs] = await Promise.all([
      framesFrom(page, inCall.map((p) => p.identity), start),
      ...inCall.map((p) => framesFrom(p.page, [answer.identity], start)),
    ]);
    first.push(mine.first);
    all.push(mine.last);
    seenBy.push(...theirs.map((t) => t.first));
    await page.evaluate(() => window.__call.leave());
    await page.close();
  }
  for (const { page } of inCall) await page.evaluate(() => window.__call.leave());
} finally {
  await browser.close();
  await stack.stop();
}

console.log(`Meeting of ${people} (a newcomer joins ${people - 1}), ${runs} runs, ms: median (min to max)`);
console.log('');
console.log('| join → first remote frame | join → a frame from everyone | join → the others decode the newcomer |');
console.log('|---:|---:|---:|');
console.log(`| ${stats(first)} | ${stats(all)} | ${stats(seenBy)} |`);
