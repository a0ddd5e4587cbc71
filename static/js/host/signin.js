// Signing in: the password form, checked by `POST /host_session` before anything else happens;
// the session it gives is kept in this tab (sessionStorage) until it expires, so a reload does
// not ask again. Too many wrong passwords: the form says how long to wait (`Retry-After`) and
// counts down, the button disabled until then.
import * as api from '../api.js';
import { clock } from '../format.js';

const KEY = 'onair.host.session';
// A session this close to its end is not used to open a studio.
const MARGIN_MS = 5 * 60 * 1000;

export function storedSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
    if (saved?.session && saved.expires_at * 1000 > Date.now() + MARGIN_MS) return saved;
  } catch {
    // Unreadable or unavailable: sign in again.
  }
  forgetSession();
  return null;
}

export function forgetSession() {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // Nothing stored.
  }
}

function keep(session) {
  try {
    sessionStorage.setItem(KEY, JSON.stringify({ session: session.session, expires_at: session.expires_at }));
  } catch {
    // Private mode: signed in for this page only.
  }
}

export function wireSignIn({ form, password, button, lockout, explain, onSignedIn }) {
  let countdown = null;

  const lockFor = (seconds) => {
    clearInterval(countdown);
    const until = Date.now() + seconds * 1000;
    button.disabled = true;
    lockout.hidden = false;
    const tick = () => {
      const left = until - Date.now();
      if (left <= 0) {
        clearInterval(countdown);
        button.disabled = false;
        lockout.textContent = 'You can try again now.';
        explain('');
        return;
      }
      lockout.textContent = `Try again in ${clock(left + 999)}.`;
    };
    tick();
    countdown = setInterval(tick, 250);
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (button.disabled || button.getAttribute('aria-busy') === 'true') return;
    if (!password.value) {
      explain('Type the host password.');
      password.focus();
      return;
    }
    button.setAttribute('aria-busy', 'true');
    explain('');
    try {
      const session = await api.hostSession(password.value);
      keep(session);
      password.value = '';
      lockout.hidden = true;
      onSignedIn(session);
    } catch (error) {
      if (error.status === 401) {
        explain('That password is not right.');
        password.select();
      } else if (error.status === 429) {
        const seconds = error.retryAfter ?? 60;
        explain(`Too many wrong passwords. Wait ${clock(seconds * 1000)} before the next try.`);
        lockFor(seconds);
      } else {
        explain(`Could not sign in: ${error.message}`);
      }
    } finally {
      button.removeAttribute('aria-busy');
    }
  });
}
