// Meetings' media layer: one interface, two paths. The meeting_token answer's `media.kind` picks
// the adapter (Twilio Video in production, the stand-in's relay locally); the meeting page calls
// joinMeeting() and never looks further.
//
//   const call = await joinMeeting({
//     token, room, identity, media,           // from POST /meeting_token
//     tracks: { camera, mic },                // the page's MediaStreamTracks, or null
//     onParticipant({ identity, name, local }),
//     onParticipantLeft(identity),
//     onTrack(identity, kind, track),         // kind 'camera' | 'mic' | 'screen'; a MediaStreamTrack
//     onTrackGone(identity, kind),
//     onMuted(identity, kind, muted),         // 'camera' | 'mic': muted, or camera off
//     onDominantSpeaker(identity | null),     // Twilio only: the relay has no such event
//     onState(state, reason),                 // 'connected' | 'reconnecting' | 'ended' (+ reason)
//   });
//   call.setMicEnabled(on); call.setCameraEnabled(on);   // track.enabled; the others see onMuted
//   await call.shareScreen(track); call.stopScreen();    // the screen as its own publication
//   call.leave();
//
// - joinMeeting resolves once the call is up, or rejects with an Error a person can read after
//   closing everything it opened. A refusal keeps Twilio's `code` on both paths (the relay
//   answers with Twilio's error bodies), e.g. 53105 for a room that filled up meanwhile.
// - onParticipant comes once for the local participant (`local: true`) and once per remote one;
//   the track callbacks are for remote participants only (the page shows its own tracks).
// - onState('ended', reason) comes at most once, when the call ends by itself: reason 'ended'
//   when the meeting's room completed (ended by its time limit, or gone), 'lost' when the
//   connection was lost or this participant was dropped (joining again may work). After it the
//   call is closed. leave() is not reported back. (The reason was added after the first
//   version of this interface; a page that ignores it keeps working.) Either way every session, peer connection and poll the adapter opened is
//   closed through one MediaSession (media/session.js); the page's own tracks are never stopped.
import * as relay from './relay.js';
import * as twilio from './twilio.js';

export { nameOf } from './identity.js';

export function joinMeeting(options) {
  return (options.media?.kind === 'whip' ? relay : twilio).joinMeeting(options);
}
