// The ivs media path (AUDIENCE_MODE=ivs, docs/ARCHITECTURE.md "Audience modes"): Amazon IVS
// real-time stages. Same interface as whip.js and twilio.js (media/index.js describes it).
//
// The host publishes over WHIP with whip.js's steps, pointed at the stage's WHIP endpoint
// (`media.publish_url`) with the participant token as its Bearer: one video track (the screen,
// at most 720p) and the microphone, H.264 Baseline and Opus first in the offer (IVS takes nothing
// else), no webcam (IVS WHIP takes one video track). Viewers subscribe with the IVS Web Broadcast SDK (vendored, loaded
// on first use by media/sdk.js): a subscribe-only strategy, the publisher's streams to the
// page's onTrack. The stage is registered with the MediaSession as soon as it exists, so a failed
// join, an error or stop() leaves it in one place. IVS gives no audience count to a subscriber:
// onViewers is never called.
import { MediaSession } from './session.js';
import { ivs as sdk } from './sdk.js';
import * as whip from './whip.js';

// What IVS WHIP ingest takes (IVS Real-Time User Guide, "Stream Ingest"): H.264 Baseline
// (profile-level-id 42xxxx; packetization-mode 1 first), at most 720p, 10 to 60 fps; Opus audio.
const baseline = (codec) => (/profile-level-id=42/i.test(codec.sdpFmtpLine ?? '') ? 0 : 2) +
  (/packetization-mode=1/.test(codec.sdpFmtpLine ?? '') ? 0 : 1);
export const CODECS = { video: 'video/H264', audio: 'audio/opus', videoRank: baseline };
const MAX_PICTURE = { width: { max: 1280 }, height: { max: 720 }, frameRate: { max: 30 } };

// A join that neither connects nor fails within this is given up.
const JOIN_LIMIT_MS = 15000;

// The screen scaled down to at most 720p (a larger picture is refused by IVS); a browser that
// cannot rescale a screen capture sends it as it is.
const fit = (track) => track.applyConstraints(MAX_PICTURE).catch(() => {});

export async function publish({ tracks, ...options }) {
  await fit(tracks.screen);
  // The stage's answer may come from another origin without a readable Location (no session to
  // DELETE: stream_stop disconnects the host).
  const publisher = await whip.publish({ ...options, tracks: { ...tracks, camera: null }, codecs: CODECS, locationRequired: false });
  return {
    ...publisher,
    replaceScreen: async (track) => {
      await fit(track);
      return publisher.replaceScreen(track);
    },
  };
}

// Why the stage said it failed, in words (StageError: code, category, message).
function describe(error) {
  const what = error?.message || error?.name || 'unknown error';
  return `the stage could not be joined (${error?.category ? `${error.category}: ` : ''}${what})`;
}

export function watch({ token, onTrack, onState, onEnded }) {
  const session = new MediaSession(onEnded);
  return session.start(async () => {
    const IVS = await sdk();
    const { Stage, StageEvents, SubscribeType, StageConnectionState, StageLeftReason, StreamType } = IVS;
    // Subscribe-only: nothing to publish, everyone who publishes is received.
    const strategy = {
      stageStreamsToPublish: () => [],
      shouldPublishParticipant: () => false,
      shouldSubscribeToParticipant: () => SubscribeType.AUDIO_VIDEO,
    };
    const stage = new Stage(token, strategy);
    session.opened(() => {
      stage.removeAllListeners?.();
      stage.leave();
    });

    // While joining, a failure rejects the join with its reason; once up, it ends the session.
    let joining = true;
    let failJoin;
    const joinFailed = new Promise((_resolve, reject) => {
      failJoin = reject;
    });
    const fail = (error) => {
      if (joining) failJoin(new Error(describe(error)));
      else session.close('lost');
    };

    const publishers = new Set();
    stage.on(StageEvents.STAGE_PARTICIPANT_STREAMS_ADDED, (participant, streams) => {
      if (participant.isLocal) return;
      publishers.add(participant.id);
      for (const stream of streams) {
        if (stream.streamType === StreamType.VIDEO) onTrack('screen', stream.mediaStreamTrack);
        else if (stream.streamType === StreamType.AUDIO) onTrack('audio', stream.mediaStreamTrack);
      }
    });
    // The publisher leaving the stage is the end of the stream (stream_stop disconnects the host).
    stage.on(StageEvents.STAGE_PARTICIPANT_LEFT, (participant) => {
      if (publishers.has(participant.id)) session.close('ended');
    });
    let connected = false;
    let connectedNow;
    const up = new Promise((resolve) => {
      connectedNow = resolve;
    });
    stage.on(StageEvents.STAGE_CONNECTION_STATE_CHANGED, (state) => {
      if (state === StageConnectionState.CONNECTED) {
        connected = true;
        connectedNow();
        onState?.('live');
      } else if (state === StageConnectionState.CONNECTING && connected) {
        onState?.('reconnecting');
      } else if (state === StageConnectionState.ERRORED) {
        fail({ message: 'the connection to the stage failed' });
      }
    });
    // The SDK reports a StageError only once it gave up (a subscribe it could not recover, the
    // join refused): while joining it fails the join, once up it is a lost connection, so the
    // page rejoins with its backoff instead of staying on "Starting".
    stage.on(StageEvents.ERROR, fail);
    // The stage left us: deleted (stream_stop) or this viewer disconnected is the end of the
    // stream; anything else (the token refused, the connection lost) is a lost connection.
    stage.on(StageEvents.STAGE_LEFT, (reason) => {
      if (reason === StageLeftReason.USER_INITIATED) return;
      if (joining) failJoin(new Error(`the stage could not be joined (left: ${reason})`));
      else {
        const over = reason === StageLeftReason.STAGE_DELETED || reason === StageLeftReason.PARTICIPANT_DISCONNECTED;
        session.close(over ? 'ended' : 'lost');
      }
    });

    let timer;
    const tooLong = new Promise((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('the video service did not answer in time')), JOIN_LIMIT_MS);
    });
    try {
      await Promise.race([
        stage.join().catch((error) => {
          throw new Error(describe(error));
        }),
        joinFailed,
        tooLong,
      ]);
      await Promise.race([up, joinFailed, tooLong]);
    } finally {
      clearTimeout(timer);
      joining = false;
    }
  });
}
