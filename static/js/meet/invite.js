// The meeting invite, taken from the address's fragment (`meet.html#invite=…`, which never
// reaches a server or a CDN log) and removed from the address bar at once, so a screenshot or a
// copied address does not hand the meeting to someone else by accident. It is kept for this tab
// only (sessionStorage), so a reload of the page still joins.

const KEY = 'onair.meet.invite';

// The invite of this tab, or null when the page was opened without one.
export function takeInvite() {
  const fromAddress = inviteIn(location.hash);
  if (location.hash) history.replaceState(history.state, '', location.pathname + location.search);
  if (fromAddress) {
    remember(fromAddress);
    return fromAddress;
  }
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null; // storage blocked: only the address carries it
  }
}

// `#invite=<value>` (other fragment parameters ignored); the value percent-decoded, but a `+` kept
// as it is (URLSearchParams would turn it into a space).
function inviteIn(hash) {
  for (const part of hash.replace(/^#/, '').split('&')) {
    const at = part.indexOf('=');
    const [key, value] = at < 0 ? [part, ''] : [part.slice(0, at), part.slice(at + 1)];
    if (key !== 'invite' || !value) continue;
    try {
      return decodeURIComponent(value).trim() || null;
    } catch {
      return null; // a broken escape: no invite, the page says so
    }
  }
  return null;
}

function remember(invite) {
  try {
    sessionStorage.setItem(KEY, invite);
  } catch {
    // Storage blocked: the invite still works until the tab is reloaded.
  }
}

// Keeps `invite` for this tab, as if it had come in the address (the host's own new meeting).
export const keepInvite = remember;

// Forgets the invite of this tab (the server said it is expired or not valid).
export function forgetInvite() {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing stored
  }
}

// The link to send to someone else: the same page with the invite in the fragment.
export const inviteUrl = (invite) => `${location.origin}${location.pathname}#invite=${encodeURIComponent(invite)}`;
