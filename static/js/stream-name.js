// Stream names: 1 to 40 characters of [a-z0-9-], starting and ending with a letter or digit
// (the back end parses them the same way); `main` when none is given. The host types a title
// and sees the name it becomes; the audience page reads `?stream=` from its address.

export const DEFAULT_STREAM = 'main';
const MAX_LENGTH = 40;
const NAME = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

export const isStreamName = (text) => NAME.test(text);

// "My Talk!" → "my-talk"; accents dropped ("Café" → "cafe"); anything else becomes one hyphen;
// empty (nothing usable typed) → the default stream.
export function streamNameFrom(title) {
  const name = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, MAX_LENGTH)
    .replace(/-+$/, '');
  return name || DEFAULT_STREAM;
}

// The audience page's stream: `?stream=<name>`, the default without one; null when the link
// names something that is not a stream name.
export function streamFromSearch(search) {
  const params = new URLSearchParams(search);
  if (!params.has('stream')) return DEFAULT_STREAM;
  const name = params.get('stream');
  return isStreamName(name) ? name : null;
}

// The audience link of a stream on this origin: `/` alone is the default stream.
export function audienceLink(name, origin = location.origin) {
  return name === DEFAULT_STREAM ? `${origin}/` : `${origin}/?stream=${name}`;
}
