// One media layer, two paths: the token response's `media.kind` picks the adapter; the pages
// call publish()/watch() and never look further.
import * as twilio from './twilio.js';
import * as whip from './whip.js';

export function adapterFor(media) {
  return media?.kind === 'whip' ? whip : twilio;
}
