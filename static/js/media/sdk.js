// Loading the vendored Twilio SDKs (/vendor) on first use, once per page, so a page on the local
// media path never downloads them. Shared by the stream adapter (media/twilio.js) and the meeting
// adapter (meeting/twilio.js).
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
