// Loading the vendored SDKs (/vendor) on first use, once per page, so a page on the local media
// path never downloads them. Twilio's is shared by the stream adapter (media/twilio.js) and the
// meeting adapter (meeting/twilio.js); the IVS Web Broadcast SDK is the ivs viewer's (media/ivs.js).
const scripts = new Map();

export function load(src) {
  if (!scripts.has(src)) {
    scripts.set(
      src,
      new Promise((resolve, reject) => {
        const script = document.createElement('script');
        script.src = src;
        script.onload = resolve;
        script.onerror = () => reject(new Error('The video library could not be loaded.'));
        document.head.append(script);
      }),
    );
  }
  return scripts.get(src);
}

// Twilio Programmable Video (`Twilio.Video`).
export async function video() {
  await load('/vendor/twilio-video.min.js');
  return window.Twilio.Video;
}

// Amazon IVS Web Broadcast (`IVSBroadcastClient`: Stage, StageEvents, SubscribeType, ...).
export async function ivs() {
  await load('/vendor/amazon-ivs-web-broadcast.js');
  return window.IVSBroadcastClient;
}
