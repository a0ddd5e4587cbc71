//! The stand-in's clock (real time plus an offset that tests advance) and Twilio's date format.

use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Real time shifted by an offset that only grows.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset: Mutex<Duration>,
}

impl Clock {
    pub(crate) fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc().saturating_add(to_time(self.offset()))
    }

    pub(crate) fn advance(&self, by: Duration) {
        let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *offset = offset.saturating_add(by);
    }

    fn offset(&self) -> Duration {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `std` to `time` duration, saturating instead of failing.
pub(crate) fn to_time(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

/// A whole number of seconds as a `time` duration.
pub(crate) fn secs(n: u32) -> time::Duration {
    time::Duration::seconds(i64::from(n))
}

/// A whole number of minutes as a `time` duration.
pub(crate) fn minutes(n: u32) -> time::Duration {
    time::Duration::minutes(i64::from(n))
}

/// Twilio's timestamp format: UTC, whole seconds, `Z` suffix (`2015-07-30T20:00:00Z`).
pub(crate) fn iso(t: OffsetDateTime) -> String {
    let utc = t.to_offset(time::UtcOffset::UTC);
    utc.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .unwrap_or_else(|_| "9999-12-31T23:59:59Z".to_owned())
}

/// Parses an ISO-8601 / RFC 3339 timestamp such as a `DateCreatedAfter` filter.
pub(crate) fn parse_iso(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// Whole seconds from `from` to `to`, never negative.
pub(crate) fn whole_secs(from: OffsetDateTime, to: OffsetDateTime) -> i64 {
    (to - from).whole_seconds().max(0)
}
