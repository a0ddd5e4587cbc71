// One media layer, two paths: the token response's `media.kind` picks the adapter; the pages
// call publish()/watch() and never look further. Both adapters have this interface:
//
//   publish({ token, room, media, tracks, onState, onViewers, onEnded })       the host
//   watch({ token, mode, room, presenter, media, onTrack, onElement, onState,
//           onViewers, onEnded, subscribe })                                    a viewer
//
// Each resolves to { stop() } once the session is up, or rejects with an Error a person can read
// after closing everything it opened (media/session.js). Once up: onState('reconnecting' |
// 'live') while the connection recovers, and onEnded('ended' | 'lost') at most once when the
// session ends by itself (the stream is over, or the connection failed), already closed.
import * as twilio from './twilio.js';
import * as whip from './whip.js';

export function adapterFor(media) {
  return media?.kind === 'whip' ? whip : twilio;
}
