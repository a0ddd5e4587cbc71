// Debian's Chromium through playwright-core, with fake screen, camera and microphone and
// loopback ICE allowed (Chromium gathers no loopback candidates without it).
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './stack.mjs';

// `args`: more Chromium switches (a later one wins over the same switch above).
export async function launch({ args = [] } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      '--allow-loopback-in-peer-connection',
      '--autoplay-policy=no-user-gesture-required',
      ...args,
    ],
  });
}

// Every page's context, until closePages(): a test that fails half way leaves no page behind
// to encode or decode video while the next test runs.
const contexts = new Set();

export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.add(context);
  context.on('close', () => contexts.delete(context));
  await context.grantPermissions(['camera', 'microphone']);
  const page = await context.newPage();
  page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
  return page;
}

// Closes every page newPage() opened that is still open (the tests' afterEach).
export async function closePages() {
  await Promise.all([...contexts].map((context) => context.close().catch(() => {})));
}

export async function screenshot(page, name) {
  const dir = join(root, 'target', 'browser-screenshots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`) });
}

// A live MediaStreamTrack made in the page, for the SDK doubles' remote participants: a tone
// from an oscillator for 'audio', a canvas changing colour at 20 fps for anything else.
// Serialized into a page script, so it uses nothing from this module.
export const FAKE_TRACK = (kind) => {
  if (kind === 'audio') {
    const context = new AudioContext();
    const tone = context.createOscillator();
    const sink = context.createMediaStreamDestination();
    tone.connect(sink);
    tone.start();
    return sink.stream.getAudioTracks()[0];
  }
  const canvas = Object.assign(document.createElement('canvas'), { width: 320, height: 180 });
  const context = canvas.getContext('2d');
  setInterval(() => {
    context.fillStyle = `hsl(${Date.now() % 360}, 60%, 50%)`;
    context.fillRect(0, 0, 320, 180);
  }, 50);
  return canvas.captureStream(20).getVideoTracks()[0];
};

// Inbound RTP totals of the page's peer connections (the pages expose none: we read them from
// every RTCPeerConnection the page created, captured by an init script).
export const TRACK_PEER_CONNECTIONS = () => {
  const Original = window.RTCPeerConnection;
  window.__peerConnections = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Original(...args);
    window.__peerConnections.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Original.prototype;
};

export async function inboundStats(page) {
  return page.evaluate(async () => {
    const totals = { framesDecoded: 0, audioSamples: 0 };
    for (const pc of window.__peerConnections ?? []) {
      if (pc.connectionState === 'closed') continue;
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'video') totals.framesDecoded += s.framesDecoded ?? 0;
        if (s.kind === 'audio') totals.audioSamples += s.totalSamplesReceived ?? 0;
      });
    }
    return totals;
  });
}

// How many of the page's peer connections are not closed.
export async function openPeerConnections(page) {
  return page.evaluate(() => (window.__peerConnections ?? []).filter((pc) => pc.connectionState !== 'closed').length);
}
