//! The security headers on every answer, as CloudFront adds them in production: the same values
//! as `template.yaml`'s `SecurityHeadersPolicy` (a ResponseHeadersPolicy), for the audience mode
//! the stack is deployed with. The template is the source; this is its copy, because the policy
//! is a CloudFormation expression (a `!Sub` over an `!If` on `AudienceMode`) that only
//! CloudFormation evaluates. `deploy_tests/test_dev_server_headers.py` starts this server in
//! each mode and fails when an answer's headers differ from the template's.

use axum::http::{HeaderName, HeaderValue, header};

/// The template's `AudienceMode` parameter: `live` adds the Live Player's hosts to the policy,
/// `ivs` the same Amazon IVS hosts (the Web Broadcast SDK's stage signalling and the stage's
/// WHIP endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudienceMode {
    Room,
    Live,
    Ivs,
}

impl std::str::FromStr for AudienceMode {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value {
            "room" => Ok(AudienceMode::Room),
            "live" => Ok(AudienceMode::Live),
            "ivs" => Ok(AudienceMode::Ivs),
            other => Err(format!("audience mode {other:?}: want room, live or ivs")),
        }
    }
}

/// The Content-Security-Policy with `$live_hosts` after Twilio's hosts in `connect-src`.
macro_rules! content_security_policy {
    ($live_hosts:literal) => {
        concat!(
            "default-src 'self'; ",
            "connect-src 'self' wss://global.vss.twilio.com https://*.twilio.com wss://*.twilio.com",
            $live_hosts,
            "; media-src 'self' blob:; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; ",
            "img-src 'self' data:; style-src 'self'; object-src 'none'; frame-ancestors 'none'; ",
            "base-uri 'none'; form-action 'self'"
        )
    };
}

impl AudienceMode {
    /// Our origin plus Twilio's signalling and REST hosts (meetings use Twilio in every mode); in
    /// `live` mode also the hosts the Live Player streams from (Twilio Live runs on Amazon IVS),
    /// in `ivs` mode the same hosts for the stage's WHIP endpoint, the Web Broadcast SDK's
    /// signalling (`wss://`) and its stats (`https://broadcast.stats.live-video.net`). The SDK's
    /// scheduler worker is a `blob:` worker: `worker-src blob:` is in every mode already.
    fn content_security_policy(self) -> &'static str {
        match self {
            AudienceMode::Room => content_security_policy!(""),
            AudienceMode::Live | AudienceMode::Ivs => {
                content_security_policy!(" https://*.live-video.net wss://*.live-video.net")
            }
        }
    }
}

/// Every header of the policy, to be set on every answer, replacing one the upstream sent (the
/// policy's `Override: true`).
pub fn security_headers(mode: AudienceMode) -> [(HeaderName, HeaderValue); 7] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(mode.content_security_policy()),
        ),
        (
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static(
                "camera=(self), microphone=(self), display-capture=(self), geolocation=(), payment=(), usb=()",
            ),
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_parses_as_the_template_spells_it() {
        assert_eq!("live".parse(), Ok(AudienceMode::Live));
        assert_eq!("room".parse(), Ok(AudienceMode::Room));
        assert_eq!("ivs".parse(), Ok(AudienceMode::Ivs));
        assert!("Live".parse::<AudienceMode>().is_err());
        assert!("IVS".parse::<AudienceMode>().is_err());
    }

    #[test]
    fn only_the_modes_on_amazon_ivs_allow_its_hosts() {
        let ivs = " https://*.live-video.net wss://*.live-video.net;";
        assert!(
            !AudienceMode::Room
                .content_security_policy()
                .contains("live-video.net")
        );
        assert!(AudienceMode::Live.content_security_policy().contains(ivs));
        assert!(AudienceMode::Ivs.content_security_policy().contains(ivs));
        for mode in [AudienceMode::Room, AudienceMode::Live, AudienceMode::Ivs] {
            assert!(
                mode.content_security_policy()
                    .contains("worker-src 'self' blob:;")
            );
        }
    }
}
