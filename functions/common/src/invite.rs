//! Meeting invites (docs/ARCHITECTURE.md, Meetings): signed, expiring, verified with no lookup.
//!
//! An invite is `<meeting id>.<expiry, unix seconds>.<tag>`, about 46 URL-safe characters, for
//! example `k3x9q2m7a1b4.1767225600.q0Ff3Y2p0nZ1c8VhJm4T5w`. The tag is the first 16 bytes
//! (base64url, no padding) of HMAC-SHA256 over `<meeting id>.<expiry>` with the **invite key**:
//! HMAC-SHA256 of the label [`KEY_LABEL`] keyed with the API key secret. Deriving it with its
//! own label keeps the two uses of the secret apart: an invite is not an access token (those
//! are JWTs signed with the secret itself, three base64 parts starting `eyJ`), and nothing
//! signed with the secret for Twilio is a valid invite tag. Rotating the API key secret ends
//! every invite.
//!
//! The expiry is read only after the tag matched, and must be canonical (no leading zeros), so
//! an invite has exactly one spelling.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use crate::config::Secrets;
use crate::ids::MeetingId;
use crate::secret::ExposeSecret;

/// What the invite key is derived for; a new label (a new format) ends every earlier invite.
pub const KEY_LABEL: &str = "onair meeting invite v1";
/// Bytes of the HMAC kept in the tag (128 bits).
const TAG_BYTES: usize = 16;
/// The longest invite read at all (a real one is about 46 characters).
pub const MAX_INVITE_LEN: usize = 128;

/// An invite made by [`mint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// What goes into the invite link.
    pub text: String,
    pub meeting: MeetingId,
    /// Unix seconds.
    pub expires_at: u64,
}

/// Why an invite was refused. All are a 401 for the caller; only the message differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    #[error("the invite is not in the invite format")]
    Malformed,
    #[error("the invite's signature does not match")]
    Forged,
    #[error("the invite has expired")]
    Expired,
}

/// The invite for `meeting`, valid until `expires_at` (unix seconds).
pub fn mint(secrets: &Secrets, meeting: &MeetingId, expires_at: u64) -> Invite {
    let signed = format!("{meeting}.{expires_at}");
    let text = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag(secrets, &signed)));
    Invite {
        text,
        meeting: meeting.clone(),
        expires_at,
    }
}

/// The meeting `text` invites to, if it is an invite this service signed and it has not
/// expired at `now`.
pub fn verify(secrets: &Secrets, text: &str, now: u64) -> Result<Invite, InviteError> {
    if text.len() > MAX_INVITE_LEN {
        return Err(InviteError::Malformed);
    }
    let mut parts = text.split('.');
    let (Some(meeting), Some(expiry), Some(given), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(InviteError::Malformed);
    };
    let meeting = MeetingId::parse(meeting).ok_or(InviteError::Malformed)?;
    let canonical = !expiry.is_empty()
        && expiry.len() <= 20
        && expiry.bytes().all(|b| b.is_ascii_digit())
        && (expiry == "0" || !expiry.starts_with('0'));
    if !canonical {
        return Err(InviteError::Malformed);
    }
    let given = URL_SAFE_NO_PAD
        .decode(given)
        .ok()
        .filter(|bytes| bytes.len() == TAG_BYTES)
        .ok_or(InviteError::Malformed)?;
    let expected = tag(secrets, &text[..meeting.as_str().len() + 1 + expiry.len()]);
    if !bool::from(expected.as_slice().ct_eq(&given)) {
        return Err(InviteError::Forged);
    }
    let expires_at: u64 = expiry.parse().map_err(|_| InviteError::Malformed)?;
    if expires_at <= now {
        return Err(InviteError::Expired);
    }
    Ok(Invite {
        text: text.to_owned(),
        meeting,
        expires_at,
    })
}

/// The first [`TAG_BYTES`] of HMAC-SHA256(invite key, `signed`).
fn tag(secrets: &Secrets, signed: &str) -> [u8; TAG_BYTES] {
    let secret = hmac::Key::new(
        hmac::HMAC_SHA256,
        secrets.api_key_secret.expose_secret().as_bytes(),
    );
    let invite_key = hmac::Key::new(
        hmac::HMAC_SHA256,
        hmac::sign(&secret, KEY_LABEL.as_bytes()).as_ref(),
    );
    let mut tag = [0u8; TAG_BYTES];
    tag.copy_from_slice(&hmac::sign(&invite_key, signed.as_bytes()).as_ref()[..TAG_BYTES]);
    tag
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Identity, RoomName};
    use crate::token::tests::test_secrets as secrets;
    use crate::token::{self, Grant};

    const NOW: u64 = 1_767_225_600;

    #[test]
    fn an_invite_verifies_until_it_expires() {
        let ours = secrets("the-api-key-secret");
        let meeting = MeetingId::parse("k3x9q2m7a1b4").unwrap();
        let invite = mint(&ours, &meeting, NOW + 3600);
        assert!(invite.text.starts_with("k3x9q2m7a1b4.1767229200."));
        assert_eq!(invite.text.len(), 12 + 1 + 10 + 1 + 22);
        assert!(
            invite
                .text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "URL-safe: {}",
            invite.text
        );
        assert_eq!(verify(&ours, &invite.text, NOW), Ok(invite.clone()));
        assert_eq!(verify(&ours, &invite.text, NOW + 3599), Ok(invite.clone()));
        assert_eq!(
            verify(&ours, &invite.text, NOW + 3600),
            Err(InviteError::Expired)
        );
        // The same inputs give the same invite: nothing random, nothing stored.
        assert_eq!(mint(&ours, &meeting, NOW + 3600), invite);
    }

    #[test]
    fn forged_and_edited_invites_are_refused() {
        let ours = secrets("the-api-key-secret");
        let meeting = MeetingId::parse("k3x9q2m7a1b4").unwrap();
        let other = MeetingId::parse("zzzzzzzzzzzz").unwrap();
        let invite = mint(&ours, &meeting, NOW + 3600).text;
        let tag = invite.rsplit('.').next().unwrap();
        let forged = [
            // Signed with another key.
            mint(&secrets("another-key"), &meeting, NOW + 3600).text,
            // Another meeting, or a later expiry, with this invite's tag.
            format!("{other}.{}.{tag}", NOW + 3600),
            format!("{meeting}.{}.{tag}", NOW + 7200),
            // One bit of the tag changed.
            format!(
                "{meeting}.{}.{}{}",
                NOW + 3600,
                &tag[..21],
                if tag.ends_with('A') { "Q" } else { "A" }
            ),
        ];
        for text in forged {
            assert_eq!(
                verify(&ours, &text, NOW),
                Err(InviteError::Forged),
                "{text}"
            );
        }
    }

    #[test]
    fn malformed_invites_are_refused_before_any_signature_check() {
        let ours = secrets("the-api-key-secret");
        let meeting = MeetingId::parse("k3x9q2m7a1b4").unwrap();
        let invite = mint(&ours, &meeting, NOW + 3600).text;
        let tag = invite.rsplit('.').next().unwrap().to_owned();
        let host_token = token::mint(
            &ours,
            &Identity::parse("host").unwrap(),
            &Grant::VideoRoom(RoomName::parse("livestream-abc").unwrap()),
            NOW,
            60,
        )
        .jwt;
        for text in [
            String::new(),
            "k3x9q2m7a1b4".into(),
            format!("{invite}.extra"),
            format!("K3X9Q2M7A1B4.{}.{tag}", NOW + 3600),
            format!("{meeting}.0{}.{tag}", NOW + 3600),
            format!("{meeting}.+{}.{tag}", NOW + 3600),
            format!("{meeting}..{tag}"),
            format!("{meeting}.{}.{tag}AA", NOW + 3600),
            format!("{meeting}.{}.{}", NOW + 3600, &tag[..20]),
            format!("{meeting}.{}.{tag}=", NOW + 3600),
            format!("{meeting}.99999999999999999999999.{tag}"),
            "a".repeat(MAX_INVITE_LEN + 1),
            // An access token is not an invite.
            host_token,
        ] {
            assert_eq!(
                verify(&ours, &text, NOW),
                Err(InviteError::Malformed),
                "{text}"
            );
        }
    }

    #[test]
    fn the_invite_key_is_not_the_token_key() {
        // The tag is not an HMAC with the API key secret itself, which is what signs tokens.
        let ours = secrets("the-api-key-secret");
        let meeting = MeetingId::parse("k3x9q2m7a1b4").unwrap();
        let signed = format!("{meeting}.{}", NOW + 3600);
        let direct = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, b"the-api-key-secret"),
            signed.as_bytes(),
        );
        assert_ne!(&direct.as_ref()[..TAG_BYTES], &tag(&ours, &signed));
    }
}
