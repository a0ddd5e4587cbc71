// Starts OnAir the way the README does (scripts/dev.sh) on free loopback ports, in its own
// process group, and stops the whole group afterwards, also when a test failed.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const HOST_PASSWORD = 'browser-test-password';

// A port nothing listens on now, on loopback.
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// The functions behind the pages, each answering an empty POST with a 4xx once it runs; and
// the status path (GET). `cargo lambda watch` starts a function on its first request.
const FUNCTION_PATHS = [
  '/audience_token', '/host_session', '/host_token', '/stream_start', '/stream_stop', '/subscribe',
  '/meeting_create', '/meeting_token',
];

async function waitForHttp(url, child, limitMs, method = 'GET') {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`scripts/dev.sh exited with ${child.exitCode}`);
    try {
      const response = await fetch(url, { method });
      if (response.status < 500) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${limitMs} ms`);
}

export async function startStack({ name = 'stack', env = {} } = {}) {
  const [port, apiPort, standinPort] = [await freePort(), await freePort(), await freePort()];
  const logDir = join(root, 'target', 'test-logs');
  mkdirSync(logDir, { recursive: true });
  const log = openSync(join(logDir, `browser-${name}.log`), 'w');
  const child = spawn(join(root, 'scripts', 'dev.sh'), [], {
    cwd: root,
    detached: true, // its own process group: stop() kills everything it started
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      PORT: String(port),
      API_PORT: String(apiPort),
      STANDIN_PORT: String(standinPort),
      HOST_PASSWORD,
      ...env,
    },
  });
  const base = `http://127.0.0.1:${port}`;
  const standin = `http://127.0.0.1:${standinPort}`;
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 10000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitForHttp(`${base}/index.html`, child, 600000);
    await waitForHttp(`${standin}/__standin/state`, child, 60000);
    // The functions start on their first request: warm every one until it answers, so no
    // test's first call meets a function still starting (the dev server's 503).
    for (const path of FUNCTION_PATHS) await waitForHttp(`${base}${path}`, child, 120000, 'POST');
    await waitForHttp(`${base}/status/main`, child, 120000);
    await waitForHttp(`http://127.0.0.1:${apiPort}/room_events`, child, 120000, 'POST');
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    base,
    standin,
    stop,
    async state() {
      return (await fetch(`${standin}/__standin/state`)).json();
    },
    async media() {
      return (await fetch(`${standin}/__standin/media`)).json();
    },
  };
}
