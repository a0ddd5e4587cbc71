// One media layer, three paths: the token response's `media.kind` picks the adapter ('whip': the
// relay; 'ivs': Amazon IVS real-time, the host over WHIP and viewers with the IVS SDK; anything
// else: Twilio); the pages call publish()/watch() and never look further. Every adapter has this
// interface:
//
//   publish({ token, room, media, tracks, onState, onViewers, onEnded })       the host
//     → { stop(), replaceScreen(track) }
//   watch({ token, mode, room, presenter, media, onTrack, onElement, onState,
//           onViewers, onEnded, subscribe })                                    a viewer
//     → { stop() }
//
// Each resolves once the session is up, or rejects with an Error a person can read after
// closing everything it opened (media/session.js). A viewer's session may come up before the
// host publishes (the stream `ready`): its tracks then carry nothing until the host's media
// arrives. Once up: onState('reconnecting' | 'live') while the connection recovers,
// onViewers(n) where the path knows the audience itself (the pages also read it from the
// stream's status), and onEnded('ended' | 'lost') at most once when the session ends by itself
// (the stream is over, or the connection failed), already closed. stop() resolves once the
// session is closed (a relay session DELETEd, a room left).
import * as ivs from './ivs.js';
import * as twilio from './twilio.js';
import * as whip from './whip.js';

export function adapterFor(media) {
  if (media?.kind === 'whip') return whip;
  if (media?.kind === 'ivs') return ivs;
  return twilio;
}
