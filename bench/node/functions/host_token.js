// The original `host_token` Twilio Function, reproduced: checks the host password, creates a
// group room, and mints the host's access token with a VideoGrant for that room.
exports.handler = async function (context, event, callback) {
  if (!event.password || event.password !== context.HOST_PASSWORD) {
    const response = new Twilio.Response();
    response.setStatusCode(401);
    response.setBody({ error: 'wrong password' });
    return callback(null, response);
  }
  try {
    const client = context.getTwilioClient();
    const room = await client.video.rooms.create({
      uniqueName: `livestream-${Date.now()}`,
      type: 'group',
    });
    const { AccessToken } = Twilio.jwt;
    const token = new AccessToken(
      context.ACCOUNT_SID,
      context.TWILIO_API_KEY_SID,
      context.TWILIO_API_KEY_SECRET,
      { identity: context.HOST_IDENTITY },
    );
    token.addGrant(new AccessToken.VideoGrant({ room: room.uniqueName }));
    return callback(null, { token: token.toJwt(), room: room.uniqueName });
  } catch (err) {
    return callback(err);
  }
};
