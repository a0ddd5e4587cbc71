// Copies the pinned SDK builds from node_modules into static/vendor/, so the pages load them
// from our own origin. Run by `npm run vendor` (scripts/dev.sh, scripts/test.sh and the deploy
// script call it); static/vendor/ is generated and not committed.
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vendor = join(root, 'static', 'vendor');
rmSync(vendor, { recursive: true, force: true });
mkdirSync(join(vendor, 'live-player'), { recursive: true });

const copy = (from, to) => {
  copyFileSync(join(root, 'node_modules', from), join(vendor, to));
  console.log(`vendored ${from} -> static/vendor/${to}`);
};
copy('twilio-video/dist/twilio-video.min.js', 'twilio-video.min.js');
// Amazon IVS Web Broadcast: one self-contained UMD build (its package.json dependencies are
// bundled into it), loaded by media/sdk.js as `IVSBroadcastClient`.
copy('amazon-ivs-web-broadcast/dist/amazon-ivs-web-broadcast.js', 'amazon-ivs-web-broadcast.js');
const player = '@twilio/live-player-sdk/dist/build';
for (const file of readdirSync(join(root, 'node_modules', player))) {
  if (file.endsWith('.min.js') || file.endsWith('.wasm')) copy(`${player}/${file}`, `live-player/${file}`);
}
