// A meeting as people have it, in real Chromium against the local stack (scripts/dev.sh: the
// functions, the dev server, the stand-in and its relay), through the real meeting adapter:
// three people join from an invite and each receives both others' camera and microphone, one
// shares a screen, pins and unpins, a muted microphone, someone leaves, and a fourth comes with
// an expired or a forged invite. One stack for the whole file and one browser per person (as
// people have it: a browser that stalls for a moment, say while the test takes a screenshot,
// holds back only its own person's media); the three people stay in the call from one test to
// the next, as in a real meeting.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { HOST_PASSWORD, startStack } from './stack.mjs';
import { launch, screenshot } from './browser.mjs';
import { until } from './pages.mjs';
import { checkAccessibility, liveLocalTracks, openMeet, tilesOf } from './meet_pages.mjs';

let stack;
const browsers = [];
let meeting; // { link, invite, meeting }: the invite link the host's page showed
const people = new Map(); // name -> { page, context, problems, identity }
const heardSpeaking = new Set(); // tile keys seen with the speaking highlight in Ana's page

before(async () => {
  stack = await startStack({ name: 'meet' });
});

after(async () => {
  for (const browser of browsers) await browser.close().catch(() => {});
  await stack?.stop();
});

// Opens the invite link, or the page without one when `invite` is null, as the host starts a
// meeting there, in a browser of its own. Three people's cameras on two cores: the fake cameras
// at 15 fps, so encoding three and decoding six streams leaves the machine room for the rest.
async function open(invite) {
  const browser = await launch({ args: ['--use-fake-device-for-media-stream=fps=15'] });
  browsers.push(browser);
  return openMeet(browser, stack.base, { invite, real: true });
}

// Joins as `name` from the preview of `person`; resolves once the page shows the call.
async function joinFrom(person, name) {
  const answer = person.page.waitForResponse((r) => r.url().endsWith('/meeting_token'));
  await person.page.fill('#name', name);
  await person.page.click('#join');
  const token = await (await answer).json();
  await person.page.waitForSelector('#call:not([hidden])', { timeout: 30000 });
  const joined = { ...person, name, identity: token.identity, room: token.room };
  people.set(name, joined);
  return joined;
}

// The host starts the meeting on the page (host password, then the invite link) and joins it.
async function startAndJoin(name) {
  const host = await open(null);
  await host.page.fill('#host-password', HOST_PASSWORD);
  await host.page.click('#create');
  await host.page.waitForSelector('#created:not([hidden])', { timeout: 60000 });
  const link = await host.page.inputValue('#invite-link');
  const invite = decodeURIComponent(new URL(link).hash.slice('#invite='.length));
  meeting = { link, invite, meeting: invite.split('.')[0] };
  await host.page.click('#join-created');
  return joinFrom(host, name);
}

const join = async (name) => joinFrom(await open(meeting.invite), name);

const peopleText = (page) => page.locator('#people').textContent();

// In a page: records in window.__goneAt when the tile `selector` is gone and the count says
// 2 people (checked on every change of the call's DOM).
const WATCH_GONE = (selector) => {
  window.__goneAt = null;
  const check = () => {
    if (window.__goneAt) return;
    if (!document.querySelector(selector) && document.getElementById('people').textContent === '2 people') {
      window.__goneAt = Date.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  check();
};
const tileSelector = (kind, identity) => `.tile[data-key=${JSON.stringify(`${kind}:${identity}`)}]`;

// What the page receives from each remote person, by identity: frames decoded for the camera and
// the screen shown in their tiles, and audio samples for their <audio>, read from the
// RTCRtpReceiver that carries each track (whatever path the adapter takes).
function received(page) {
  return page.evaluate(async () => {
    const receivers = (window.__peerConnections ?? [])
      .filter((pc) => pc.connectionState !== 'closed')
      .flatMap((pc) => pc.getReceivers());
    const inbound = async (track) => {
      const receiver = track && receivers.find((r) => r.track === track);
      if (!receiver) return null;
      let found = null;
      (await receiver.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp') found = s;
      });
      return found;
    };
    const out = {};
    for (const tile of document.querySelectorAll('.tile')) {
      const key = tile.dataset.key;
      const [kind, identity] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
      const stats = await inbound(tile.querySelector('video').srcObject?.getVideoTracks()[0]);
      (out[identity] ??= {})[kind] = stats?.framesDecoded ?? 0;
    }
    for (const audio of document.querySelectorAll('#audio audio')) {
      const stats = await inbound(audio.srcObject?.getAudioTracks()[0]);
      (out[audio.dataset.identity] ??= {}).mic = stats?.totalSamplesReceived ?? 0;
    }
    return out;
  });
}

// Frames the tile's <video> presents within `ms` (requestVideoFrameCallback).
function framesShown(page, selector, ms = 1000) {
  return page.evaluate(
    ([sel, wait]) =>
      new Promise((resolve) => {
        const video = document.querySelector(`${sel} video`);
        if (!video) return resolve(0);
        let frames = 0;
        const tick = () => {
          frames += 1;
          video.requestVideoFrameCallback(tick);
        };
        video.requestVideoFrameCallback(tick);
        setTimeout(() => resolve(frames), wait);
      }),
    [selector, ms],
  );
}

// What a page shows, for a failure message: the view, the status line, the count.
const shows = (page) =>
  page.evaluate(() => ({
    view: [...document.querySelectorAll('main > section')].find((s) => !s.hidden)?.id,
    status: document.getElementById('status').textContent,
    people: document.getElementById('people').textContent,
  }));

// Waits until `page` decodes growing camera video and audio from every one of `others`.
async function receivesFrom(page, others) {
  const enough = (seen) => others.every((o) => seen[o.identity]?.camera > 0 && seen[o.identity]?.mic > 0);
  let seen = {};
  const look = async (what, test) => {
    try {
      return await until(what, async () => {
        seen = await received(page);
        return test(seen) && seen;
      }, 60000);
    } catch (error) {
      throw new Error(`${error.message}; received ${JSON.stringify(seen)}; page ${JSON.stringify(await shows(page))}`);
    }
  };
  const first = await look('camera and microphone of every other person', enough);
  return look('their media still flowing', (now) =>
    others.every((o) => now[o.identity].camera > first[o.identity].camera && now[o.identity].mic > first[o.identity].mic),
  );
}

const connectedIn = async (room) => {
  const state = await stack.state();
  const found = state.rooms.find((r) => r.unique_name === room && r.status === 'in-progress');
  return (found?.participants ?? []).filter((p) => p.status === 'connected').map((p) => p.identity).sort();
};

test('three people join from the invite; each decodes both others; every count agrees', async () => {
  const ana = await startAndJoin('Ana');
  assert.match(meeting.link, new RegExp(`^${stack.base}/meet\\.html#invite=`));
  const bo = await join('Bo');
  const cy = await join('Cy');
  const everyone = [ana, bo, cy];
  for (const person of everyone) {
    await until(`${person.identity} shows 3 people`, async () => (await peopleText(person.page)) === '3 people');
    const stats = await receivesFrom(person.page, everyone.filter((o) => o !== person));
    assert.ok(stats, `${person.identity} receives from both others`);
    const [first, ...rest] = (await tilesOf(person.page)).map((t) => t.name);
    assert.equal(first, `${person.name} (you)`, 'you first');
    assert.deepEqual(rest.sort(), everyone.filter((o) => o !== person).map((o) => o.name).sort());
  }
  assert.deepEqual(await connectedIn(ana.room), everyone.map((p) => p.identity).sort(), 'the stand-in has the same three');
  // The fake microphones beep: each of the others is highlighted as speaking in Ana's page.
  await until('Bo and Cy highlighted while they speak', async () => {
    const speaking = await ana.page.$$eval('.tile.camera.speaking', (tiles) => tiles.map((t) => t.dataset.key));
    for (const key of speaking) heardSpeaking.add(key);
    return [bo, cy].every((o) => heardSpeaking.has(`camera:${o.identity}`));
  });
  await screenshot(ana.page, 'meet-real-three');
  await checkAccessibility(ana.page, 'a real call of three');
});

test('a shared screen is pinned and decoding for the others; each unpins it by click or by keyboard', async () => {
  const [ana, bo, cy] = ['Ana', 'Bo', 'Cy'].map((n) => people.get(n));
  const screen = tileSelector('screen', ana.identity);
  await ana.page.click('#share');
  await ana.page.waitForFunction(() => document.getElementById('share').getAttribute('aria-pressed') === 'true');
  for (const other of [bo, cy]) {
    await other.page.waitForSelector(`#stage ${screen}[aria-pressed="true"]`, { timeout: 20000 });
    await until('the screen decoding', async () => (await received(other.page))[ana.identity]?.screen > 0);
    assert.ok((await framesShown(other.page, screen)) > 0, 'frames presented in the pinned tile');
  }
  await screenshot(bo.page, 'meet-real-screen-pinned');

  // Bo unpins with a click, Cy with the keyboard; each only for themselves.
  await bo.page.click(screen);
  assert.equal(await bo.page.getAttribute(screen, 'aria-pressed'), 'false');
  await cy.page.focus(screen);
  await cy.page.keyboard.press('Enter');
  assert.equal(await cy.page.getAttribute(screen, 'aria-pressed'), 'false');
  assert.equal(await cy.page.evaluate(() => document.getElementById('stage').childElementCount), 0);
  // Pin someone's camera by keyboard and restore it.
  const boCamera = tileSelector('camera', bo.identity);
  await cy.page.focus(boCamera);
  await cy.page.keyboard.press('Enter');
  assert.equal(await cy.page.getAttribute(boCamera, 'aria-pressed'), 'true');
  assert.ok((await framesShown(cy.page, boCamera)) > 0);
  await cy.page.keyboard.press('Enter');
  assert.equal(await cy.page.getAttribute(boCamera, 'aria-pressed'), 'false');

  await ana.page.click('#share');
  for (const other of [bo, cy]) await other.page.waitForSelector(screen, { state: 'detached', timeout: 5000 });
});

test('a muted microphone shows on that tile for the others', async () => {
  const [ana, bo, cy] = ['Ana', 'Bo', 'Cy'].map((n) => people.get(n));
  const cyTile = tileSelector('camera', cy.identity);
  await cy.page.click('#mic');
  assert.equal(await cy.page.getAttribute('#mic', 'aria-pressed'), 'true');
  for (const other of [ana, bo]) await other.page.waitForSelector(`${cyTile} .mic-off:not([hidden])`, { timeout: 5000 });
  await cy.page.click('#mic');
  for (const other of [ana, bo]) await other.page.waitForSelector(`${cyTile} .mic-off[hidden]`, { state: 'attached', timeout: 5000 });
});

test('Leave removes the tile and updates the count for the others within 2 s', async (t) => {
  const [ana, bo, cy] = ['Ana', 'Bo', 'Cy'].map((n) => people.get(n));
  const boTile = tileSelector('camera', bo.identity);
  // Timed in the pages themselves (one clock: the same machine), not by the test's polling: the
  // click as Bo's page receives it, and the moment each other page shows Bo gone.
  for (const other of [ana, cy]) await other.page.evaluate(WATCH_GONE, boTile);
  await bo.page.evaluate(() => {
    window.__leaveClickedAt = null;
    document.getElementById('leave').addEventListener('click', () => {
      window.__leaveClickedAt = Date.now();
    }, { capture: true, once: true });
  });
  await bo.page.click('#leave');
  const gone = [];
  for (const other of [ana, cy]) {
    gone.push(await (await other.page.waitForFunction(() => window.__goneAt, null, { timeout: 10000 })).jsonValue());
  }
  const clicked = await bo.page.evaluate(() => window.__leaveClickedAt);
  const took = Math.max(...gone) - clicked;
  const said = `Bo gone for the others ${gone.map((g) => g - clicked).join(' and ')} ms after his click`;
  t.diagnostic(said);
  assert.ok(took <= 2000, said);
  await bo.page.waitForSelector('#ended:not([hidden])');
  assert.deepEqual(await liveLocalTracks(bo.page), [], "Bo's camera and microphone are off");
  await until('Bo disconnected in the stand-in', async () => (await connectedIn(ana.room)).length === 2, 5000);
});

test('a fourth person with an expired or a forged invite is refused with a clear message', async () => {
  const before = await connectedIn(people.get('Ana').room);
  const hour = 3600;
  const expired = signInvite(meeting.meeting, Math.floor(Date.now() / 1000) - hour);
  for (const [invite, words] of [
    [expired, /expired/i],
    [`${meeting.invite.slice(0, -2)}${meeting.invite.endsWith('AA') ? 'BB' : 'AA'}`, /not valid|invalid|forged|ask the host/i],
  ]) {
    const dee = await open(invite);
    const answer = dee.page.waitForResponse((r) => r.url().endsWith('/meeting_token'));
    await dee.page.fill('#name', 'Dee');
    await dee.page.click('#join');
    assert.equal((await answer).status(), 401);
    await dee.page.waitForSelector('#ended:not([hidden])');
    assert.equal(await dee.page.locator('#ended-title').textContent(), "You can't join this meeting");
    assert.match(await dee.page.locator('#ended-detail').textContent(), words);
    assert.deepEqual(await liveLocalTracks(dee.page), []);
    await dee.context.close();
  }
  assert.deepEqual(await connectedIn(people.get('Ana').room), before, 'nobody joined');
});

test('a normal call left no console error on any page', async () => {
  for (const name of ['Ana', 'Cy']) await people.get(name).page.click('#leave');
  await until('the room empty', async () => (await connectedIn(people.get('Ana').room)).length === 0, 5000);
  for (const [name, person] of people) assert.deepEqual(person.problems, [], `${name}'s page`);
});

// An invite as common::invite signs it, with the stand-in's API key secret (scripts/dev.sh):
// `<meeting>.<expiry>.<tag>`, tag = the first 16 bytes of HMAC-SHA256(invite key, "<meeting>.<expiry>"),
// invite key = HMAC-SHA256(API key secret, "onair meeting invite v1"). Used only to make an
// invite that has already expired, which the API never mints.
function signInvite(meetingId, expiresAt) {
  const key = createHmac('sha256', 'standin-api-key-secret-000000000').update('onair meeting invite v1').digest();
  const signed = `${meetingId}.${expiresAt}`;
  return `${signed}.${createHmac('sha256', key).update(signed).digest().subarray(0, 16).toString('base64url')}`;
}
