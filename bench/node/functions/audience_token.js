// The original `audience_token` Twilio Function, reproduced: finds the started PlayerStreamer,
// asks Twilio for a PlaybackGrant for it (every viewer, every time), and mints the viewer's
// access token with that PlaybackGrant.
const crypto = require('crypto');

exports.handler = async function (context, event, callback) {
  try {
    const client = context.getTwilioClient();
    const streamers = await client.media.playerStreamer.list({ status: 'started' });
    if (streamers.length === 0) {
      return callback(null, { live: false, token: null });
    }
    const playbackGrant = await client.media
      .playerStreamer(streamers[0].sid)
      .playbackGrant()
      .create({ ttl: 60 });
    const { AccessToken } = Twilio.jwt;
    const token = new AccessToken(
      context.ACCOUNT_SID,
      context.TWILIO_API_KEY_SID,
      context.TWILIO_API_KEY_SECRET,
      { identity: `viewer-${crypto.randomUUID()}` },
    );
    token.addGrant(new AccessToken.PlaybackGrant({ grant: playbackGrant.grant }));
    return callback(null, { live: true, token: token.toJwt() });
  } catch (err) {
    return callback(err);
  }
};
