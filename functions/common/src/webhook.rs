//! Twilio's webhook signatures (`X-Twilio-Signature`), the maths only.
//!
//! Twilio signs a callback with the account's auth token: base64 of HMAC-SHA1 over the URL it
//! called, followed by every form parameter as name and value, sorted by name, without
//! separators. A request is from Twilio only if that signature matches (compared in constant
//! time). Which URL that is and which requests are checked is the edge's business
//! (`request::callback_url`, `auth`).

use aws_lc_rs::hmac;
use base64::Engine as _;
use subtle::ConstantTimeEq;

use crate::secret::{ExposeSecret, SecretString};

/// The header Twilio puts its signature in.
pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// Twilio's signature of a request to `url` with form `params`.
pub fn signature(auth_token: &SecretString, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut signed = url.to_owned();
    for (name, value) in sorted {
        signed.push_str(name);
        signed.push_str(value);
    }
    // SHA-1 is what Twilio signs with; aws-lc-rs is already linked in for the access tokens.
    let key = hmac::Key::new(
        hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        auth_token.expose_secret().as_bytes(),
    );
    let tag = hmac::sign(&key, signed.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

/// Whether `candidate` is Twilio's signature of this request, compared in constant time.
pub fn verify(
    auth_token: &SecretString,
    url: &str,
    params: &[(String, String)],
    candidate: &str,
) -> bool {
    let expected = signature(auth_token, url, params);
    expected
        .as_bytes()
        .ct_eq(candidate.trim().as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Twilio's documented example ("Validating requests"): auth token `12345`.
    fn twilio_example() -> (SecretString, &'static str, Vec<(String, String)>) {
        (
            SecretString::from("12345"),
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            pairs(&[
                ("CallSid", "CA1234567890ABCDE"),
                ("Caller", "+12349013030"),
                ("Digits", "1234"),
                ("From", "+12349013030"),
                ("To", "+18005551212"),
            ]),
        )
    }

    #[test]
    fn matches_twilios_documented_example() {
        let (token, url, params) = twilio_example();
        assert_eq!(
            signature(&token, url, &params),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
        assert!(verify(&token, url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    }

    #[test]
    fn parameter_order_does_not_matter_but_every_byte_does() {
        let (token, url, mut params) = twilio_example();
        params.reverse();
        let good = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
        assert!(verify(&token, url, &params, good));
        assert!(!verify(
            &token,
            "https://mycompany.com/myapp.php",
            &params,
            good
        ));
        assert!(!verify(&SecretString::from("12346"), url, &params, good));
        let mut changed = params.clone();
        changed[0].1.push('9');
        assert!(!verify(&token, url, &changed, good));
        let mut extra = params.clone();
        extra.push(("Extra".into(), String::new()));
        assert!(!verify(&token, url, &extra, good));
        assert!(!verify(&token, url, &params, ""));
        assert!(!verify(&token, url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ"));
    }
}
