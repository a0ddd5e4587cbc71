//! Subscribe rules applied to a published track: a viewer receives a track when at least one
//! `include` rule matches it and no `exclude` rule does. A rule matches when every filter it
//! names matches: `all: true` (everything), `kind` (`audio`/`video`), `publisher` (identity or
//! PA sid), `track` (track name or MT sid). Rules are the normalised JSON the REST API stored
//! (unused filters are `null`).

use serde_json::Value;

/// The track a rule is tested against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TrackRef<'a> {
    pub(crate) publisher_identity: &'a str,
    pub(crate) publisher_sid: &'a str,
    pub(crate) kind: &'a str,
    pub(crate) name: &'a str,
    pub(crate) sid: &'a str,
}

/// Whether `rules` subscribe to `track`.
pub(crate) fn subscribes(rules: &[Value], track: TrackRef<'_>) -> bool {
    let mut included = false;
    for rule in rules {
        if !matches(rule, track) {
            continue;
        }
        match rule.get("type").and_then(Value::as_str) {
            Some("exclude") => return false,
            Some("include") => included = true,
            _ => {}
        }
    }
    included
}

fn matches(rule: &Value, track: TrackRef<'_>) -> bool {
    let text = |name: &str| rule.get(name).and_then(Value::as_str);
    let mut any_filter = false;
    match rule.get("all") {
        Some(Value::Bool(true)) => any_filter = true,
        Some(Value::Bool(false)) => return false,
        _ => {}
    }
    if let Some(kind) = text("kind") {
        any_filter = true;
        if kind != track.kind {
            return false;
        }
    }
    if let Some(publisher) = text("publisher") {
        any_filter = true;
        if publisher != track.publisher_identity && publisher != track.publisher_sid {
            return false;
        }
    }
    if let Some(name) = text("track") {
        any_filter = true;
        if name != track.name && name != track.sid {
            return false;
        }
    }
    any_filter
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> Value {
        let mut full = json!({"type": null, "all": null, "kind": null, "publisher": null,
                              "track": null, "priority": null});
        for (k, val) in v.as_object().unwrap() {
            full[k] = val.clone();
        }
        full
    }

    const SCREEN: TrackRef<'static> = TrackRef {
        publisher_identity: "host",
        publisher_sid: "PA1",
        kind: "video",
        name: "screen",
        sid: "MT1",
    };
    const MIC: TrackRef<'static> = TrackRef {
        kind: "audio",
        name: "microphone",
        sid: "MT2",
        ..SCREEN
    };

    #[test]
    fn include_publisher_subscribes_to_all_its_tracks_only() {
        let rules = [rule(json!({"type": "include", "publisher": "host"}))];
        assert!(subscribes(&rules, SCREEN));
        assert!(subscribes(&rules, MIC));
        let other = TrackRef {
            publisher_identity: "guest",
            publisher_sid: "PA2",
            ..SCREEN
        };
        assert!(!subscribes(&rules, other));
        let by_sid = [rule(json!({"type": "include", "publisher": "PA1"}))];
        assert!(subscribes(&by_sid, SCREEN));
    }

    #[test]
    fn exclude_wins_and_filters_combine() {
        let rules = [
            rule(json!({"type": "include", "all": true})),
            rule(json!({"type": "exclude", "publisher": "host", "kind": "audio"})),
        ];
        assert!(subscribes(&rules, SCREEN));
        assert!(!subscribes(&rules, MIC));
        assert!(!subscribes(
            &[rule(json!({"type": "exclude", "all": true}))],
            SCREEN
        ));
        assert!(subscribes(
            &[rule(json!({"type": "include", "track": "MT1"}))],
            SCREEN
        ));
        assert!(!subscribes(&[], SCREEN));
    }
}
