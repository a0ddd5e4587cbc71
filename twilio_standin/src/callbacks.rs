//! Room status callbacks, sent the way Twilio sends them: when a room created with a
//! `StatusCallback` is created, gains or loses a participant, or ends, the state queues a
//! [`RoomEvent`]; a background task takes the queued events in order, sends each with Twilio's
//! parameters, signed with the account's auth token in `X-Twilio-Signature` ([`signature`]), and
//! logs what it sent ([`CallbackInfo`], `StandIn::callbacks`, `GET /__standin/callbacks`).
//!
//! The stand-in never reaches the internet: callbacks go only to loopback hosts (`127.0.0.1`,
//! `[::1]`, `localhost`); one to any other host is logged as not delivered.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use crate::calls::CallbackInfo;
use crate::clock::{iso, whole_secs};
use crate::shared::Shared;
use crate::state::{RoomEvent, RoomEventKind};

/// How often queued callbacks are looked for when nothing signalled them (timeouts that fell
/// due while nobody called the stand-in).
const TICK: Duration = Duration::from_secs(1);
/// How long one delivery may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Twilio's webhook signature: base64 of HMAC-SHA1, keyed with the auth token, over the URL
/// followed by every parameter's name and value, sorted by name.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Twilio's parameters for `event`, without `AccountSid` (added when it is sent).
/// `SequenceNumber` counts the room's events from 0.
fn params(event: &RoomEvent) -> Vec<(String, String)> {
    let room = &event.room;
    let mut params: Vec<(String, String)> = vec![
        ("RoomName".into(), room.unique_name.clone()),
        ("RoomSid".into(), room.sid.clone()),
        ("RoomStatus".into(), room.status.as_str().into()),
        ("RoomType".into(), room.room_type.clone()),
        ("StatusCallbackEvent".into(), event.kind.as_str().into()),
        ("Timestamp".into(), iso(event.at)),
        ("SequenceNumber".into(), event.sequence.to_string()),
    ];
    if let Some(p) = &event.participant {
        params.push(("ParticipantSid".into(), p.sid.clone()));
        params.push(("ParticipantIdentity".into(), p.identity.clone()));
        params.push(("ParticipantStatus".into(), p.status.as_str().into()));
        if let Some(end) = p.end_time {
            params.push((
                "ParticipantDuration".into(),
                whole_secs(p.created, end).to_string(),
            ));
        }
    }
    if let Some(end) = room
        .end_time
        .filter(|_| event.kind == RoomEventKind::RoomEnded)
    {
        params.push((
            "RoomDuration".into(),
            whole_secs(room.created, end).to_string(),
        ));
    }
    params
}

/// Delivers queued callbacks until the task is aborted: whenever the state queues one, and on
/// every tick.
pub(crate) async fn deliver(shared: Arc<Shared>) {
    let http = match reqwest::Client::builder()
        .timeout(DELIVERY_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(http) => http,
        Err(err) => {
            tracing::error!("room status callbacks disabled: {err}");
            return;
        }
    };
    loop {
        tokio::select! {
            () = shared.events_queued() => {}
            () = tokio::time::sleep(TICK) => {}
        }
        for event in shared.take_room_events() {
            let sent = send(
                &http,
                &shared.account.account_sid,
                &shared.account.auth_token,
                event,
            )
            .await;
            shared.record_callback(sent);
        }
    }
}

async fn send(
    http: &reqwest::Client,
    account_sid: &str,
    auth_token: &str,
    event: RoomEvent,
) -> CallbackInfo {
    let mut params = vec![("AccountSid".to_owned(), account_sid.to_owned())];
    params.extend(self::params(&event));
    let get = event.method.eq_ignore_ascii_case("GET");
    // For GET the parameters are the query and the signature covers the whole URL.
    let (target, signature) = if get {
        let query = serde_urlencoded::to_string(&params).unwrap_or_default();
        let separator = if event.url.contains('?') { '&' } else { '?' };
        let full = format!("{}{separator}{query}", event.url);
        let signature = signature(auth_token, &full, &[]);
        (full, signature)
    } else {
        let signature = signature(auth_token, &event.url, &params);
        (event.url.clone(), signature)
    };
    let mut info = CallbackInfo {
        url: event.url,
        method: if get { "GET" } else { "POST" }.to_owned(),
        event: event.kind.as_str().to_owned(),
        params,
        signature,
        status: None,
        error: None,
    };
    if !is_loopback(&info.url) {
        info.error = Some("not delivered: the stand-in only calls loopback addresses".into());
        return info;
    }
    let request = if get {
        http.get(&target)
    } else {
        http.post(&target).form(&info.params)
    };
    match request
        .header("X-Twilio-Signature", &info.signature)
        .header("User-Agent", "TwilioProxy/1.1")
        .send()
        .await
    {
        Ok(response) => info.status = Some(response.status().as_u16()),
        Err(err) => {
            info.error = Some(if err.is_timeout() {
                "timed out".into()
            } else {
                "could not be reached".into()
            });
        }
    }
    tracing::info!(
        event = %info.event,
        url = %info.url,
        status = ?info.status,
        "room status callback"
    );
    info
}

/// Whether `url` is `http(s)://` to a loopback host.
fn is_loopback(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return false;
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_twilios_documented_example() {
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            signature(
                "12345",
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                &params
            ),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
    }

    #[test]
    fn only_loopback_hosts_are_called() {
        for url in [
            "http://127.0.0.1:9000/room_events",
            "http://localhost/x",
            "https://[::1]:8443/room_events?a=b",
        ] {
            assert!(is_loopback(url), "{url}");
        }
        for url in [
            "https://example.com/room_events",
            "http://127.0.0.1.evil.example/x",
            "http://user@127.0.0.1/x",
            "ftp://127.0.0.1/x",
            "127.0.0.1/x",
        ] {
            assert!(!is_loopback(url), "{url}");
        }
    }
}
