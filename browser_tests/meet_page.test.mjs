// The meeting page in real Chromium over a fake meeting adapter (meet_fake_adapter.js, put in
// place of static/js/meeting/ by page.route) and answered meeting_token requests: everything the
// page itself decides (invite handling, the preview, tiles, pin, screen share, toggles, the
// number of people, messages, keyboard, layouts, accessibility) without a media server. The same
// page with the real adapters and three browsers on the local relay: meet_call.test.mjs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot } from './browser.mjs';
import { until } from './pages.mjs';
import {
  DESKTOP,
  PHONE,
  adapterCalls,
  checkAccessibility,
  fake,
  joinAs,
  liveLocalTracks,
  openMeet,
  startPagesServer,
  statusText,
  tilesOf,
  tokenAnswer,
  waitForStatusText,
} from './meet_pages.mjs';

let server;
let browser;
const opened = [];

before(async () => {
  server = await startPagesServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function open(options = {}) {
  const meet = await openMeet(browser, server.base, options);
  opened.push(meet.context);
  return meet;
}

const close = (meet) => meet.context.close();
const activeKey = (page) => page.evaluate(() => document.activeElement?.dataset?.key ?? document.activeElement?.id);

test('the invite leaves the address bar; the name is remembered; the preview shows camera and devices', async () => {
  const meet = await open({ invite: 'inv+ite.with-symbols_~' });
  const { page } = meet;
  assert.equal(new URL(page.url()).hash, '', 'the invite is gone from the address');
  await page.waitForFunction(() => document.getElementById('preview-video').videoWidth > 0);
  await page.waitForFunction(() => document.getElementById('camera-select').options.length > 0 && document.getElementById('mic-select').options.length > 0);
  assert.deepEqual((await liveLocalTracks(page)).sort(), ['audio', 'video']);
  await joinAs(page, '  Ana María  ');
  assert.deepEqual(meet.requests, [{ invite: 'inv+ite.with-symbols_~', name: 'Ana María' }]);
  assert.equal(await page.locator('#people').textContent(), '1 person');
  // The adapter got the preview's tracks and the page's choice of mic and camera.
  const calls = await adapterCalls(page);
  assert.deepEqual(calls.slice(1), [['setMicEnabled', true], ['setCameraEnabled', true]]);
  const given = await page.evaluate(() => Object.entries(window.fakeMeeting.options.tracks).map(([k, t]) => [k, t?.kind, t?.readyState]));
  assert.deepEqual(given, [['camera', 'video', 'live'], ['mic', 'audio', 'live']]);
  // A reload of this tab still has the invite (this tab only) and the name.
  await page.reload();
  await page.waitForSelector('#prejoin:not([hidden])');
  assert.equal(await page.inputValue('#name'), 'Ana María');
  await page.click('#join');
  await page.waitForSelector('#call:not([hidden])');
  assert.equal(meet.requests.at(-1).invite, 'inv+ite.with-symbols_~');
  assert.deepEqual(meet.problems, []);
  await close(meet);
});

test('names are checked before any request; a name the API refuses is explained at the field', async () => {
  const meet = await open({
    answer: (body) =>
      body.name === 'Refused'
        ? { status: 400, json: { error: { code: 'bad_request', message: 'That name cannot be used.' } } }
        : { json: tokenAnswer(body.name) },
  });
  const { page } = meet;
  for (const [name, problem] of [
    ['   ', /Type your name/],
    ['x'.repeat(41), /at most 40/],
  ]) {
    await page.fill('#name', name);
    await page.click('#join');
    await page.waitForSelector('#name-problem:not([hidden])');
    assert.match(await page.locator('#name-problem').textContent(), problem);
    assert.equal(await page.getAttribute('#name', 'aria-invalid'), 'true');
    assert.equal(await activeKey(page), 'name');
  }
  assert.deepEqual(meet.requests, [], 'no request for a name the page can refuse itself');
  await page.fill('#name', 'Refused');
  await page.click('#join');
  await until('the API refusal shown', async () => /cannot be used/.test(await page.locator('#name-problem').textContent()));
  assert.equal(await page.isHidden('#call'), true);
  // 40 characters of any script are fine.
  await joinAs(page, 'é'.repeat(40));
  await close(meet);
});

test('an expired invite and a full meeting say so clearly', async () => {
  const expired = await open({
    answer: () => ({ status: 401, json: { error: { code: 'unauthorized', message: 'This invite link has expired; ask the host for a new one' } } }),
  });
  await expired.page.fill('#name', 'Dee');
  await expired.page.click('#join');
  await expired.page.waitForSelector('#ended:not([hidden])');
  assert.equal(await expired.page.locator('#ended-title').textContent(), "You can't join this meeting");
  assert.match(await expired.page.locator('#ended-detail').textContent(), /invite link has expired; ask the host/);
  assert.equal(await expired.page.isHidden('#rejoin'), true);
  assert.equal(await activeKey(expired.page), 'ended-title');
  await until('the preview closed', async () => (await liveLocalTracks(expired.page)).length === 0);
  // The refused invite is forgotten: a reload does not try it again (it offers to start one).
  await expired.page.reload();
  await expired.page.waitForSelector('#start:not([hidden])');
  assert.equal(expired.requests.length, 1);
  await close(expired);

  let full = true;
  const busy = await open({
    answer: (body) =>
      full ? { status: 409, json: { error: { code: 'conflict', message: 'This meeting is full' } } } : { json: tokenAnswer(body.name) },
  });
  await busy.page.fill('#name', 'Eve');
  await busy.page.click('#join');
  await busy.page.waitForSelector('#join-problem:not([hidden])');
  assert.match(await busy.page.locator('#join-problem').textContent(), /meeting is full/);
  assert.equal(await busy.page.isVisible('#prejoin'), true, 'stays ready to try again');
  full = false;
  await busy.page.click('#join');
  await busy.page.waitForSelector('#call:not([hidden])');
  await close(busy);
});

// meeting_create as the API answers it, for the host password `right`.
async function answerCreate(page, bodies) {
  await page.route('**/meeting_create', async (route) => {
    const body = route.request().postDataJSON();
    bodies.push(body);
    const refuse = (status, message) => route.fulfill({ status, json: { error: { code: 'refused', message } } });
    if (body.password === 'locked') return refuse(429, 'too many wrong passwords from this address; try again in 60 s');
    if (body.password !== 'right') return refuse(401, 'the password is not right');
    await route.fulfill({
      json: { meeting: 'abcdefabcdef', invite: 'abcdefabcdef.1893456000.tag', invite_url: 'ignored', expires_at: 1893456000 },
    });
  });
}

test('without an invite the host starts a meeting: password, then the invite link with Copy, then Join', async () => {
  const meet = await open({ invite: null });
  const { page } = meet;
  const created = [];
  await answerCreate(page, created);
  await page.waitForSelector('#start:not([hidden])');
  assert.equal(await activeKey(page), 'host-password');
  assert.deepEqual(await liveLocalTracks(page), [], 'no camera before anyone joins');
  await page.click('#create');
  await page.waitForSelector('#host-password-problem:not([hidden])');
  assert.match(await page.locator('#host-password-problem').textContent(), /Type the host password/);
  assert.deepEqual(created, [], 'no request without a password');
  for (const [password, words] of [
    ['wrong', /not the host password/],
    ['locked', /Too many wrong passwords.*in 60 seconds/],
  ]) {
    await page.fill('#host-password', password);
    await page.keyboard.press('Enter');
    await until(`the refusal for ${password}`, async () => words.test(await page.locator('#host-password-problem').textContent()));
    assert.equal(await page.getAttribute('#host-password', 'aria-invalid'), 'true');
    assert.equal(await activeKey(page), 'host-password');
  }
  await page.fill('#host-password', 'right');
  await page.click('#create');
  await page.waitForSelector('#created:not([hidden])');
  assert.deepEqual(created.map((b) => b.password), ['wrong', 'locked', 'right']);
  assert.equal(await activeKey(page), 'created-title');
  const link = `${server.base}/meet.html#invite=abcdefabcdef.1893456000.tag`;
  assert.equal(await page.inputValue('#invite-link'), link);
  assert.equal(await page.getAttribute('#invite-expiry', 'datetime'), '2030-01-01T00:00:00.000Z');
  await page.click('#copy-link');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
  await waitForStatusText(page, /Invite link copied/);
  await page.click('#join-created');
  await page.waitForSelector('#prejoin:not([hidden])');
  await page.waitForFunction(() => document.getElementById('preview-video').videoWidth > 0);
  await joinAs(page, 'Host');
  assert.deepEqual(meet.requests, [{ invite: 'abcdefabcdef.1893456000.tag', name: 'Host' }]);
  await page.click('#copy-invite');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link, 'the call copies the same link');
  // Only the browser's own lines for the two refused requests.
  assert.deepEqual(meet.problems.filter((p) => !/status of (401|429)/.test(p)), []);
  await close(meet);
});

test('the grid shows everyone with their name and marks; the count follows joins and leaves', async () => {
  const meet = await open();
  const { page } = meet;
  await joinAs(page, 'Ana');
  await fake(page, 'add', '11111111.Bo', 'Bo');
  await fake(page, 'add', '22222222.Cy', 'Cy', { camera: false });
  await page.waitForFunction(() => document.getElementById('people').textContent === '3 people');
  await until('video in the tiles with a camera', async () => {
    const tiles = await tilesOf(page);
    return tiles.filter((t) => t.frames).length === 2 && tiles;
  });
  let tiles = await tilesOf(page);
  assert.deepEqual(tiles.map((t) => t.label), ['Pin Ana (you)', 'Pin Bo', 'Pin Cy']);
  assert.equal(tiles[2].frames, false, "Cy's tile shows the initial until video arrives");
  assert.equal(await page.getAttribute('.tile[data-key="camera:22222222.Cy"] .initial', 'data-initial'), 'C');
  // The gallery fills the width: two columns of equal tiles for three people on a laptop.
  assert.ok(tiles.every((t) => t.width === tiles[0].width && t.width > 400), JSON.stringify(tiles.map((t) => t.width)));

  await fake(page, 'mute', '11111111.Bo', 'mic', true);
  await fake(page, 'mute', '22222222.Cy', 'camera', true);
  tiles = await tilesOf(page);
  assert.deepEqual(tiles.map((t) => [t.micOff, t.camOff]), [[false, false], [true, false], [false, true]]);
  assert.equal(tiles[1].description, 'microphone off, Bo');
  assert.equal(tiles[2].description, 'camera off, Cy');
  await fake(page, 'mute', '11111111.Bo', 'mic', false);
  assert.equal((await tilesOf(page))[1].micOff, false);

  await fake(page, 'remove', '11111111.Bo');
  await page.waitForFunction(() => document.getElementById('people').textContent === '2 people');
  await waitForStatusText(page, /^Bo left$/);
  assert.deepEqual((await tilesOf(page)).map((t) => t.name), ['Ana (you)', 'Cy']);

  // Two more people called Ana: each told apart, in the tiles and in what the page says.
  await fake(page, 'add', '33333333.Ana', 'Ana');
  await waitForStatusText(page, /^Ana \(2\) joined$/);
  await fake(page, 'add', '44444444.Ana', 'Ana');
  await waitForStatusText(page, /^Ana \(3\) joined$/);
  assert.deepEqual((await tilesOf(page)).map((t) => t.name), ['Ana (you)', 'Cy', 'Ana (2)', 'Ana (3)']);
  await fake(page, 'remove', '33333333.Ana');
  await waitForStatusText(page, /^Ana \(2\) left$/);
  await fake(page, 'add', '55555555.Ana', 'Ana'); // the number freed is used again
  assert.deepEqual((await tilesOf(page)).map((t) => t.name), ['Ana (you)', 'Cy', 'Ana (3)', 'Ana (2)']);
  assert.deepEqual(meet.problems, []);
  await close(meet);
});

test('whoever speaks is highlighted', async () => {
  const meet = await open();
  const { page } = meet;
  await joinAs(page, 'Ana');
  await fake(page, 'add', '11111111.Bo', 'Bo');
  const boSpeaking = async () => (await tilesOf(page)).find((t) => t.name === 'Bo').speaking;
  assert.equal(await boSpeaking(), false);
  await fake(page, 'speak', '11111111.Bo', true);
  await until('Bo highlighted', boSpeaking, 5000);
  await fake(page, 'speak', '11111111.Bo', false);
  await until('Bo no longer highlighted', async () => !(await boSpeaking()), 5000);
  await close(meet);
});

test('a tile pins by click, Enter and Space, and again restores the gallery; focus stays on it', async () => {
  const meet = await open();
  const { page } = meet;
  await joinAs(page, 'Ana');
  await fake(page, 'add', '11111111.Bo', 'Bo');
  await fake(page, 'add', '22222222.Cy', 'Cy');
  const bo = '.tile[data-key="camera:11111111.Bo"]';
  await page.click(bo);
  let tiles = await tilesOf(page);
  assert.deepEqual(tiles.filter((t) => t.pinned).map((t) => [t.name, t.onStage]), [['Bo', true]]);
  const stage = await page.locator(bo).boundingBox();
  assert.ok(stage.width > 700, `pinned tile is large (${stage.width})`);
  await page.click(bo);
  tiles = await tilesOf(page);
  assert.equal(tiles.some((t) => t.pinned || t.onStage), false);

  // Keyboard: Tab reaches the tiles in order, Enter pins, Enter restores, Space too.
  await page.focus('.tile[data-key="camera:0a1b2c3d.Ana"]');
  await page.keyboard.press('Tab');
  assert.equal(await activeKey(page), 'camera:11111111.Bo');
  await page.keyboard.press('Enter');
  assert.equal(await activeKey(page), 'camera:11111111.Bo', 'focus stays on the pinned tile');
  assert.equal(await page.getAttribute(bo, 'aria-pressed'), 'true');
  await page.keyboard.press('Tab');
  assert.equal(await activeKey(page), 'camera:0a1b2c3d.Ana', 'then the strip, in order');
  await page.keyboard.press('Space');
  assert.deepEqual((await tilesOf(page)).filter((t) => t.pinned).map((t) => t.name), ['Ana (you)']);
  await page.keyboard.press('Enter');
  assert.deepEqual((await tilesOf(page)).filter((t) => t.pinned), []);
  await close(meet);
});

test("someone's screen is pinned for me while it lasts, I may unpin it, and it leaves with the share", async () => {
  const meet = await open();
  const { page } = meet;
  await joinAs(page, 'Ana');
  await fake(page, 'add', '11111111.Bo', 'Bo');
  await fake(page, 'share', '11111111.Bo');
  await waitForStatusText(page, /^Bo is presenting$/);
  let tiles = await tilesOf(page);
  assert.deepEqual(tiles.map((t) => [t.label, t.pinned]), [['Pin Bo\'s screen', true], ['Pin Ana (you)', false], ['Pin Bo', false]]);
  await until('the screen decoding', async () => (await tilesOf(page))[0].frames);
  await screenshot(page, 'meet-fake-screen-pinned');
  // Unpinned by this person: stays in the gallery while Bo shares.
  await page.click('.tile[data-key="screen:11111111.Bo"]');
  tiles = await tilesOf(page);
  assert.equal(tiles.some((t) => t.pinned), false);
  assert.deepEqual(tiles.map((t) => t.name), ['Ana (you)', 'Bo', "Bo's screen"]);
  // Pinned again, and the share ends: back to the gallery, focus kept in the tiles.
  await page.focus('.tile[data-key="screen:11111111.Bo"]');
  await page.keyboard.press('Enter');
  await fake(page, 'unshare', '11111111.Bo');
  tiles = await tilesOf(page);
  assert.deepEqual(tiles.map((t) => [t.name, t.pinned]), [['Ana (you)', false], ['Bo', false]]);
  assert.match(await activeKey(page), /^camera:/);
  assert.deepEqual(meet.problems, []);
  await close(meet);
});

test('my microphone, camera and screen toggles keep their labels and say their state with aria-pressed', async () => {
  const meet = await open();
  const { page } = meet;
  await joinAs(page, 'Ana');
  const state = async (id) => [await page.locator(`#${id} .label`).textContent(), await page.getAttribute(`#${id}`, 'aria-pressed')];
  assert.deepEqual(await state('mic'), ['Mute', 'false']);
  await page.click('#mic');
  assert.deepEqual(await state('mic'), ['Mute', 'true']);
  await page.click('#cam');
  assert.deepEqual(await state('cam'), ['Stop video', 'true']);
  const me = (await tilesOf(page))[0];
  assert.deepEqual([me.micOff, me.camOff], [true, true]);
  await page.click('#share');
  await page.waitForFunction(() => document.getElementById('share').getAttribute('aria-pressed') === 'true');
  assert.deepEqual(await state('share'), ['Share screen', 'true']);
  let tiles = await tilesOf(page);
  assert.deepEqual(tiles.map((t) => [t.name, t.pinned]), [['Ana (you)', false], ['Your screen', false]], 'my own screen is not pinned for me');
  // The browser's own "Stop sharing" ends the share as the button does.
  await page.evaluate(() => {
    const track = document.querySelector('.tile.screen video').srcObject.getVideoTracks()[0];
    track.stop();
    track.dispatchEvent(new Event('ended'));
  });
  await page.waitForFunction(() => document.getElementById('share').getAttribute('aria-pressed') === 'false');
  tiles = await tilesOf(page);
  assert.deepEqual(tiles.map((t) => t.name), ['Ana (you)']);
  await page.click('#mic');
  const calls = (await adapterCalls(page)).slice(3).map((c) => c.join(' '));
  assert.deepEqual(calls, ['setMicEnabled false', 'setCameraEnabled false', 'shareScreen track:video', 'stopScreen', 'setMicEnabled true']);
  assert.deepEqual(meet.problems, []);
  await close(meet);
});

test('joining muted and without video from the preview; Leave stops every track; Rejoin comes back', async () => {
  const meet = await open();
  const { page } = meet;
  await page.waitForFunction(() => document.getElementById('preview-video').videoWidth > 0);
  await page.click('#preview-mic');
  await page.click('#preview-cam');
  assert.equal(await page.isVisible('#preview-note'), true);
  await joinAs(page, 'Ana');
  assert.deepEqual((await adapterCalls(page)).slice(1), [['setMicEnabled', false], ['setCameraEnabled', false]]);
  assert.equal(await page.getAttribute('#mic', 'aria-pressed'), 'true');
  assert.equal(await page.getAttribute('#cam', 'aria-pressed'), 'true');
  await page.click('#share');
  await page.waitForFunction(() => document.getElementById('share').getAttribute('aria-pressed') === 'true');

  await page.click('#leave');
  await page.waitForSelector('#ended:not([hidden])');
  assert.equal(await page.locator('#ended-title').textContent(), 'You left the meeting');
  assert.equal(await activeKey(page), 'ended-title');
  assert.equal(await page.evaluate(() => window.fakeMeeting.left), 1);
  assert.deepEqual(await liveLocalTracks(page), [], 'camera, microphone and screen stopped');
  assert.equal(await page.locator('.tile').count(), 0);

  await page.click('#rejoin');
  await page.waitForSelector('#call:not([hidden])');
  assert.equal(meet.requests.length, 2);
  assert.equal(await page.getAttribute('#mic', 'aria-pressed'), 'true', 'still muted as when leaving');
  assert.deepEqual(meet.problems, []);
  await close(meet);
});

test('"Reconnecting…" while the connection recovers; a lost call rejoins by itself, an ended one offers Rejoin', async () => {
  const meet = await open();
  const { page } = meet;
  await joinAs(page, 'Ana');
  await fake(page, 'state', 'reconnecting');
  assert.equal(await statusText(page), 'Reconnecting…');
  await fake(page, 'add', '11111111.Bo', 'Bo');
  await page.waitForFunction(() => document.getElementById('status').textContent === 'Bo joined');
  await waitForStatusText(page, /^Reconnecting…$/, 8000); // the state comes back after a notice
  await fake(page, 'state', 'connected');
  assert.equal(await statusText(page), 'Reconnected');
  // Lost: said so, everything closed, and back in by itself after a 2 s count, muted as the
  // person was when the call was lost.
  await page.click('#mic');
  assert.equal(await page.getAttribute('#mic', 'aria-pressed'), 'true');
  await fake(page, 'state', 'ended', 'lost');
  await page.waitForSelector('#ended:not([hidden])');
  assert.equal(await page.locator('#ended-title').textContent(), 'You were disconnected');
  assert.match(await page.locator('#ended-detail').textContent(), /lost\. Rejoining in 2 s…$/);
  assert.equal(await page.locator('#rejoin').textContent(), 'Rejoin now');
  assert.equal(await page.isVisible('#stay-out'), true);
  assert.deepEqual(await liveLocalTracks(page), []);
  await page.waitForSelector('#call:not([hidden])', { timeout: 6000 });
  assert.equal((await adapterCalls(page)).filter(([name]) => name === 'joinMeeting').length, 2);
  assert.equal(await page.getAttribute('#mic', 'aria-pressed'), 'true', 'still muted after the rejoin');
  await page.click('#mic');

  // Lost again while the network is still down: the rejoin fails, closes what it opened, says
  // why and counts longer (4 s, then 8 s); it gets in once joining works again.
  await page.evaluate(() => {
    window.fakeMeeting.failWith = 'the video service cannot be reached';
  });
  await fake(page, 'state', 'ended', 'lost');
  await until('the second count', async () => /Rejoining in 4 s…$/.test(await page.locator('#ended-detail').textContent()));
  await until('the failed rejoin said', async () =>
    /^You could not join: .*cannot be reached\. Rejoining in 8 s…$/.test(await page.locator('#ended-detail').textContent()),
    9000);
  assert.equal(await page.isVisible('#ended'), true);
  assert.deepEqual(await liveLocalTracks(page), [], 'the failed attempt closed its preview');
  await page.evaluate(() => {
    window.fakeMeeting.failWith = null;
  });
  await page.click('#rejoin'); // Rejoin now
  await page.waitForSelector('#call:not([hidden])');

  // Don't rejoin: the count stops, Rejoin is there when the person wants it.
  await fake(page, 'state', 'ended', 'lost');
  await page.waitForSelector('#stay-out:not([hidden])');
  await page.click('#stay-out');
  assert.equal(await page.locator('#ended-detail').textContent(), 'The connection to the meeting was lost.');
  assert.equal(await page.isVisible('#stay-out'), false);
  assert.equal(await page.locator('#rejoin').textContent(), 'Rejoin');
  const joins = (await adapterCalls(page)).filter(([name]) => name === 'joinMeeting').length;
  await page.waitForTimeout(4500); // longer than the count was: nothing happens by itself now
  assert.equal(await page.isVisible('#ended'), true);
  assert.equal((await adapterCalls(page)).filter(([name]) => name === 'joinMeeting').length, joins);
  await page.click('#rejoin');
  await page.waitForSelector('#call:not([hidden])');
  // The meeting's room completed (its time limit): said so, and Rejoin opens it again.
  await fake(page, 'state', 'ended', 'ended');
  await page.waitForSelector('#ended:not([hidden])');
  assert.equal(await page.locator('#ended-title').textContent(), 'The meeting has ended');
  assert.equal(await page.isVisible('#rejoin'), true);
  assert.deepEqual(await liveLocalTracks(page), []);
  await close(meet);
});

test('a failed join closes the tracks it was given and lets the person try again', async () => {
  const meet = await open();
  const { page } = meet;
  await page.waitForFunction(() => document.getElementById('preview-video').videoWidth > 0);
  await page.evaluate(() => {
    window.fakeMeeting.failWith = 'the video service cannot be reached';
  });
  await page.fill('#name', 'Ana');
  await page.click('#join');
  await until('the failure shown', async () => /cannot be reached/.test(await page.locator('#join-problem').textContent()));
  assert.equal(await page.isVisible('#prejoin'), true);
  await page.waitForFunction(() => document.getElementById('preview-video').videoWidth > 0);
  assert.deepEqual((await liveLocalTracks(page)).sort(), ['audio', 'video'], 'only the new preview is open');
  assert.equal(await page.locator('.tile').count(), 0);
  await page.evaluate(() => {
    window.fakeMeeting.failWith = null;
  });
  await page.click('#join');
  await page.waitForSelector('#call:not([hidden])');
  await close(meet);
});

test('Copy invite puts the invite link on the clipboard', async () => {
  const meet = await open({ invite: 'the-invite' });
  const { page } = meet;
  await joinAs(page, 'Ana');
  await page.click('#copy-invite');
  await waitForStatusText(page, /Invite link copied/);
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, `${server.base}/meet.html#invite=the-invite`);
  await close(meet);
});

test('a whole meeting by keyboard alone', async () => {
  const meet = await open();
  const { page } = meet;
  assert.equal(await activeKey(page), 'name', 'the name field has focus on arrival');
  await page.keyboard.type('Kay');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#call:not([hidden])');
  assert.equal(await activeKey(page), 'mic', 'focus moves to the controls');
  await page.keyboard.press('Space');
  assert.equal(await page.getAttribute('#mic', 'aria-pressed'), 'true');
  await fake(page, 'add', '11111111.Bo', 'Bo');
  // Shift+Tab goes back into the tiles; Enter pins.
  await page.keyboard.press('Shift+Tab');
  assert.equal(await activeKey(page), 'camera:11111111.Bo');
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('.tile[data-key="camera:11111111.Bo"]', 'aria-pressed'), 'true');
  // Tab on to Leave and press it.
  for (let i = 0; i < 12 && (await activeKey(page)) !== 'leave'; i++) await page.keyboard.press('Tab');
  assert.equal(await activeKey(page), 'leave');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#ended:not([hidden])');
  await page.keyboard.press('Tab');
  assert.equal(await activeKey(page), 'rejoin');
  await close(meet);
});

// Every state of the page, desktop and phone, light and dark: axe-core clean and a screenshot.
for (const [variant, context, dark] of [
  ['desktop-light', DESKTOP, false],
  ['desktop-dark', DESKTOP, true],
  ['phone-light', PHONE, false],
  ['phone-dark', PHONE, true],
]) {
  test(`every state passes axe-core: ${variant}`, async () => {
    const meet = await open({ context, dark });
    const { page } = meet;
    const check = async (state) => {
      await checkAccessibility(page, `${state} (${variant})`);
      await screenshot(page, `meet-${state}-${variant}`);
    };
    await page.waitForFunction(() => document.getElementById('preview-video').videoWidth > 0);
    await check('prejoin');
    await page.click('#join'); // no name
    await page.waitForSelector('#name-problem:not([hidden])');
    await check('prejoin-problem');
    await joinAs(page, 'Ana');
    await fake(page, 'add', '11111111.Bo', 'Bo');
    await fake(page, 'add', '22222222.Cy', 'Cy', { camera: false });
    await fake(page, 'mute', '11111111.Bo', 'mic', true);
    await page.waitForFunction(() => document.querySelectorAll('.tile.has-frames').length === 2);
    await page.waitForFunction(() => document.getElementById('status').textContent === '');
    await check('call');
    if (variant.startsWith('phone')) {
      const box = await page.locator('.tile').first().boundingBox();
      assert.ok(box.width <= 390, 'tiles fit a phone');
    }
    await fake(page, 'share', '11111111.Bo');
    await page.waitForFunction(() => document.querySelector('.tile.screen.has-frames'));
    await check('call-screen');
    await fake(page, 'state', 'reconnecting');
    await check('call-reconnecting');
    await fake(page, 'state', 'connected');
    await fake(page, 'state', 'ended', 'lost');
    await page.waitForSelector('#stay-out:not([hidden])');
    await page.click('#stay-out'); // the count stopped, so the view holds still for the check
    await check('disconnected');
    await page.click('#rejoin');
    await page.waitForSelector('#call:not([hidden])');
    await page.click('#leave');
    await page.waitForSelector('#ended:not([hidden])');
    await check('left');
    assert.deepEqual(meet.problems, []);
    await close(meet);

    const host = await open({ invite: null, context, dark });
    await answerCreate(host.page, []);
    await host.page.waitForSelector('#start:not([hidden])');
    await checkAccessibility(host.page, `start (${variant})`);
    await screenshot(host.page, `meet-start-${variant}`);
    await host.page.fill('#host-password', 'wrong');
    await host.page.click('#create');
    await host.page.waitForSelector('#host-password-problem:not([hidden])');
    await checkAccessibility(host.page, `start-problem (${variant})`);
    await host.page.fill('#host-password', 'right');
    await host.page.click('#create');
    await host.page.waitForSelector('#created:not([hidden])');
    await checkAccessibility(host.page, `created (${variant})`);
    await screenshot(host.page, `meet-created-${variant}`);
    assert.deepEqual(host.problems.filter((p) => !/status of 401/.test(p)), []);
    await close(host);

    const refused = await open({
      context,
      dark,
      answer: () => ({ status: 401, json: { error: { code: 'unauthorized', message: 'This invite link has expired; ask the host for a new one' } } }),
    });
    await refused.page.fill('#name', 'Ana');
    await refused.page.click('#join');
    await refused.page.waitForSelector('#ended:not([hidden])');
    await checkAccessibility(refused.page, `refused (${variant})`);
    await screenshot(refused.page, `meet-refused-${variant}`);
    await close(refused);
  });
}

test('the gallery shape fills the space (layout.js)', async () => {
  const meet = await open();
  const shapes = await meet.page.evaluate(async () => {
    const { galleryShape } = await import('/js/meet/layout.js');
    return [
      galleryShape(1, 1280, 640),
      galleryShape(2, 1280, 640),
      galleryShape(4, 1280, 640),
      galleryShape(9, 1280, 640),
      galleryShape(2, 374, 640),
      galleryShape(4, 374, 640),
    ].map((s) => [s.cols, s.rows]);
  });
  // One tile fills; two side by side on a laptop, stacked on a phone; four 2 x 2; nine 3 x 3.
  assert.deepEqual(shapes, [[1, 1], [2, 1], [2, 2], [3, 3], [1, 2], [2, 2]]);
  await close(meet);
});
