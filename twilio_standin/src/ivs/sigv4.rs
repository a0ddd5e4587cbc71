//! AWS Signature Version 4, checked as the service does: the canonical request is rebuilt from
//! the method, path, query, the headers the client named in `SignedHeaders` and the payload's
//! SHA-256; the signature is recomputed with the stand-in's secret key and compared in constant
//! time. Anything missing, malformed, for another key, service or clock is refused.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::account::same;
use crate::sid::hex;

type HmacSha256 = Hmac<Sha256>;

/// The signing name the model gives the service (`signingName`).
pub(crate) const SERVICE: &str = "ivs";
/// How far the request's `x-amz-date` may be from the real clock, as AWS allows.
const MAX_SKEW_SECS: i64 = 15 * 60;

/// The key pair signed requests must be made with.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// What is checked of one request.
pub(crate) struct Signed<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    /// Every header as received (name, value); names compared without case.
    pub(crate) headers: Vec<(&'a str, &'a str)>,
    pub(crate) body: &'a [u8],
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length.
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// RFC 3986 unreserved characters stay, everything else is `%XX` (upper case), as SigV4's
/// canonical query wants.
fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn canonical_query(query: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let decode = |s: &str| {
                serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("x={s}"))
                    .ok()
                    .and_then(|mut v| v.pop())
                    .map(|(_, v)| v)
                    .unwrap_or_default()
            };
            (uri_encode(&decode(k)), uri_encode(&decode(v)))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Each path segment URI-encoded twice over what was received once, as SigV4 does for every
/// service but S3 (the received path is already encoded once).
fn canonical_path(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    path.split('/')
        .map(uri_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// Header values trimmed, inner runs of spaces collapsed to one.
fn canonical_value(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, String> {
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("Authorization must be AWS4-HMAC-SHA256 (SigV4)")?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim) {
        match part.split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {
                return Err(format!(
                    "Unexpected part of the Authorization header: {part}"
                ));
            }
        }
    }
    let credential = credential.ok_or("Authorization has no Credential")?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, "aws4_request"] = scope[..] else {
        return Err(
            "Credential must be <key id>/<yyyymmdd>/<region>/<service>/aws4_request".into(),
        );
    };
    let signed_headers: Vec<&str> = signed
        .ok_or("Authorization has no SignedHeaders")?
        .split(';')
        .collect();
    if !signed_headers.contains(&"host") {
        return Err("SignedHeaders must include host".into());
    }
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers,
        signature: signature.ok_or("Authorization has no Signature")?,
    })
}

/// Checks the signature of `request` against `credentials`; the region of a valid request.
pub(crate) fn verify(
    request: &Signed<'_>,
    credentials: &Credentials,
    now: OffsetDateTime,
) -> Result<String, String> {
    let header = |name: &str| {
        request
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
            .collect::<Vec<_>>()
    };
    let authorization = header("authorization");
    let [authorization] = authorization[..] else {
        return Err("Missing Authentication Token: sign the request with SigV4".into());
    };
    let auth = parse_authorization(authorization)?;
    if !same(
        auth.access_key_id.as_bytes(),
        credentials.access_key_id.as_bytes(),
    ) {
        return Err(
            "The security token included in the request is invalid (unknown access key id)".into(),
        );
    }
    if auth.service != SERVICE {
        return Err(format!(
            "Credential should be scoped to correct service: '{SERVICE}'"
        ));
    }
    let amz_date = header("x-amz-date");
    let [amz_date] = amz_date[..] else {
        return Err("Missing x-amz-date".into());
    };
    let when = time::PrimitiveDateTime::parse(
        amz_date,
        format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .map_err(|_| format!("x-amz-date is not yyyymmddThhmmssZ: {amz_date}"))?
    .assume_utc();
    if (now - when).whole_seconds().abs() > MAX_SKEW_SECS {
        return Err("Signature expired: x-amz-date is more than 15 minutes from now".into());
    }
    if !amz_date.starts_with(auth.date) || auth.date.len() != 8 {
        return Err("The Credential's date is not the date of x-amz-date".into());
    }

    let mut canonical_headers = String::new();
    for name in &auth.signed_headers {
        let values = header(name);
        if values.is_empty() {
            return Err(format!("Signed header {name} is missing"));
        }
        let joined = values
            .iter()
            .map(|v| canonical_value(v))
            .collect::<Vec<_>>()
            .join(",");
        canonical_headers.push_str(&format!("{name}:{joined}\n"));
    }
    let body_hash = hex(&Sha256::digest(request.body));
    let payload_hash = match header("x-amz-content-sha256")[..] {
        [] => body_hash,
        ["UNSIGNED-PAYLOAD"] => "UNSIGNED-PAYLOAD".to_owned(),
        [claimed] if claimed == body_hash => body_hash,
        _ => return Err("x-amz-content-sha256 does not match the body".into()),
    };
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method,
        canonical_path(request.path),
        canonical_query(request.query),
        canonical_headers,
        auth.signed_headers.join(";"),
        payload_hash
    );
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let key = [auth.date, auth.region, auth.service, "aws4_request"]
        .iter()
        .fold(
            format!("AWS4{}", credentials.secret_access_key).into_bytes(),
            |key, part| hmac(&key, part.as_bytes()),
        );
    let expected = hex(&hmac(&key, string_to_sign.as_bytes()));
    if same(expected.as_bytes(), auth.signature.as_bytes()) {
        Ok(auth.region.to_owned())
    } else {
        Err("The request signature we calculated does not match the signature you provided".into())
    }
}
