// The display name inside a meeting identity. The back end makes every participant's identity
// `<8 lowercase hex digits>.<display name>` (functions/common/src/ids.rs, MeetingIdentity): the
// random part tells two people of the same name apart, the rest is the name as typed (trimmed),
// unencoded. Any other identity is shown as it is.
const TAGGED = /^[0-9a-f]{8}\./;

export function nameOf(identity) {
  return TAGGED.test(identity) && identity.length > 9 ? identity.slice(9) : identity;
}
