// Starting a meeting, for the host, on meet.html opened without an invite: the host password
// goes to POST /meeting_create, which answers with the meeting's signed invite and its expiry;
// the page shows the invite link with Copy and Join. Nothing is created at Twilio until someone
// joins (docs/ARCHITECTURE.md, Meetings), so a meeting made and never used costs nothing.
import * as api from '../api.js';
import { inviteUrl } from './invite.js';

// What a refused meeting_create means to the host: `password` when the password is the problem.
function createProblem(error) {
  if (error.status === 401) return { password: true, text: 'That is not the host password.' };
  if (error.status === 429) {
    const wait = /try again in (\d+) s/.exec(error.message ?? '');
    return {
      password: true,
      text: `Too many wrong passwords from this network. Try again ${wait ? `in ${wait[1]} seconds` : 'later'}.`,
    };
  }
  if (error.status === 0) return { text: error.message };
  return { text: `The meeting could not be created: ${error.message}. Try again in a moment.` };
}

// The expiry in the reader's own words and time zone.
const expiryText = (unixSeconds) =>
  new Date(unixSeconds * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

// `els`: the elements of the start section; `onJoin(invite)` when the host joins the meeting;
// `notice(text)` for the page's status line. The caller sends the form's submit to create().
export function createStart(els, { onJoin, notice }) {
  let invite = null;

  const problem = (text, { password = false } = {}) => {
    els.passwordProblem.textContent = password ? text : '';
    els.passwordProblem.hidden = !(password && text);
    els.password.setAttribute('aria-invalid', String(password && !!text));
    els.problem.textContent = password ? '' : text;
    els.problem.hidden = password || !text;
    if (password && text) els.password.focus();
  };

  async function create() {
    const password = els.password.value;
    if (!password) return problem('Type the host password.', { password: true });
    problem('');
    let created;
    els.create.setAttribute('aria-busy', 'true');
    try {
      created = await api.meetingCreate({ password });
    } catch (error) {
      const { text, password: wrong } = createProblem(error);
      return problem(text, { password: wrong });
    } finally {
      els.create.removeAttribute('aria-busy');
    }
    invite = created.invite;
    els.password.value = '';
    els.link.value = inviteUrl(invite);
    els.expiry.dateTime = new Date(created.expires_at * 1000).toISOString();
    els.expiry.textContent = expiryText(created.expires_at);
    els.form.hidden = true;
    els.created.hidden = false;
    els.createdTitle.focus();
  }

  els.password.addEventListener('input', () => {
    if (els.password.value) problem('');
  });
  els.link.addEventListener('focus', () => els.link.select());
  els.copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(els.link.value);
      notice('Invite link copied. Anyone with it can join until it expires.');
    } catch {
      els.link.select();
      notice('The browser refused the clipboard: the link is selected, copy it with the keyboard.');
    }
  });
  els.join.addEventListener('click', () => invite && onJoin(invite));

  return {
    // The form's submit (meet.js runs it one at a time).
    create,
    show() {
      els.form.hidden = false;
      els.created.hidden = true;
      els.password.focus();
    },
  };
}
