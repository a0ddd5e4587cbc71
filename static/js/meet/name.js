// The display name, parsed as meeting_token parses it (trimmed, 1 to 40 characters, no control
// characters), so a person hears what is wrong before any request; and remembered on this device.

const KEY = 'onair.meet.name';
export const MAX_NAME = 40;

// { name } when it is acceptable, else { problem } in words.
export function parseName(raw) {
  const name = raw.trim();
  if (!name) return { problem: 'Type your name: the others see it on your tile.' };
  if ([...name].length > MAX_NAME) return { problem: `Use at most ${MAX_NAME} characters.` };
  if (/\p{Cc}/u.test(name)) return { problem: 'The name cannot contain control characters.' };
  return { name };
}

export function rememberedName() {
  try {
    return localStorage.getItem(KEY) ?? '';
  } catch {
    return '';
  }
}

export function rememberName(name) {
  try {
    localStorage.setItem(KEY, name);
  } catch {
    // Storage blocked: the name is asked again next time.
  }
}
