//! Request parameters (query string and form body) and their validation against the parameter
//! list each operation declares in Twilio's OpenAPI spec.

use serde_json::Value;

use crate::clock;
use crate::error::TwilioError;

/// What a parameter's value must look like.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// Any string.
    Text,
    /// A decimal integer within the bounds.
    Int { min: i64, max: i64 },
    /// `true` or `false`.
    Bool,
    /// One of the listed values, exactly.
    Enum(&'static [&'static str]),
    /// An ISO-8601 timestamp.
    DateTime,
    /// An absolute `http`/`https` URL.
    Url,
    /// A JSON document.
    Json,
}

/// One parameter an operation accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) required: bool,
}

/// An optional parameter.
pub(crate) const fn opt(name: &'static str, kind: Kind) -> Spec {
    Spec {
        name,
        kind,
        required: false,
    }
}

/// A required parameter.
pub(crate) const fn req(name: &'static str, kind: Kind) -> Spec {
    Spec {
        name,
        kind,
        required: true,
    }
}

/// The parameters of a paged list operation (`PageSize`, `Page`, `PageToken`).
pub(crate) const PAGING: [Spec; 3] = [
    opt("PageSize", Kind::Int { min: 1, max: 1000 }),
    opt(
        "Page",
        Kind::Int {
            min: 0,
            max: i32::MAX as i64,
        },
    ),
    opt("PageToken", Kind::Text),
];

/// The HTTP methods Twilio's `StatusCallbackMethod` accepts on Media v1 resources.
pub(crate) const MEDIA_CALLBACK_METHODS: &[&str] =
    &["HEAD", "GET", "POST", "PATCH", "PUT", "DELETE"];

/// Query and form parameters of one request, in arrival order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// The query's parameters, then the form body's, in arrival order. A body must be
    /// `application/x-www-form-urlencoded`, as Twilio takes it.
    pub(crate) fn parse(query: &str, content_type: &str, body: &[u8]) -> Result<Self, TwilioError> {
        let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|_| TwilioError::invalid("Malformed query string"))?;
        if !body.is_empty() {
            if !content_type
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
            {
                return Err(TwilioError::invalid(
                    "Request bodies must be application/x-www-form-urlencoded",
                ));
            }
            let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
                .map_err(|_| TwilioError::invalid("Malformed form body"))?;
            pairs.extend(form);
        }
        Ok(Params { pairs })
    }

    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Rejects names the operation does not list, values of the wrong shape, and missing
    /// required parameters. Checks every operation's list (some operations have two lists).
    pub(crate) fn check(&self, specs: &[&[Spec]]) -> Result<(), TwilioError> {
        let find = |name: &str| specs.iter().flat_map(|s| s.iter()).find(|s| s.name == name);
        for (name, value) in &self.pairs {
            let spec = find(name).ok_or_else(|| {
                TwilioError::invalid(format!(
                    "{name} is not a valid parameter for this operation"
                ))
            })?;
            check_value(spec, value)?;
        }
        for spec in specs.iter().flat_map(|s| s.iter()) {
            if spec.required && self.get(spec.name).is_none() {
                return Err(TwilioError::invalid(format!(
                    "Missing required parameter {}",
                    spec.name
                )));
            }
        }
        Ok(())
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, treating an empty value as absent.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// Every value of a repeated parameter.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// An integer parameter already accepted by [`Params::check`].
    pub(crate) fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(|v| v.trim().parse().ok())
    }

    /// An integer parameter that fits in `u32` (the bounds checked by [`Params::check`]).
    pub(crate) fn u32(&self, name: &str) -> Option<u32> {
        self.int(name).and_then(|v| u32::try_from(v).ok())
    }

    pub(crate) fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(parse_bool)
    }

    /// The values other than the paging ones, for building page URLs.
    pub(crate) fn filters(&self) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .filter(|(n, _)| !PAGING.iter().any(|p| p.name == n))
            .cloned()
            .collect()
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    if v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn check_value(spec: &Spec, value: &str) -> Result<(), TwilioError> {
    let name = spec.name;
    let bad = |what: &str| Err(TwilioError::invalid(format!("Invalid {name}: {what}")));
    match spec.kind {
        Kind::Text => Ok(()),
        Kind::Int { min, max } => match value.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(()),
            Ok(_) => bad(&format!("must be between {min} and {max}")),
            Err(_) => bad("must be an integer"),
        },
        Kind::Bool => match parse_bool(value) {
            Some(_) => Ok(()),
            None => bad("must be true or false"),
        },
        Kind::Enum(allowed) => {
            if allowed.contains(&value) {
                Ok(())
            } else {
                bad(&format!("must be one of {}", allowed.join(", ")))
            }
        }
        Kind::DateTime => match clock::parse_iso(value) {
            Some(_) => Ok(()),
            None => bad("must be an ISO-8601 date-time"),
        },
        Kind::Url => {
            let lower = value.to_ascii_lowercase();
            let rest = lower
                .strip_prefix("https://")
                .or_else(|| lower.strip_prefix("http://"));
            match rest {
                Some(host)
                    if !host.is_empty()
                        && value.len() <= 2048
                        && !value.contains(char::is_whitespace) =>
                {
                    Ok(())
                }
                _ => bad("must be an absolute http or https URL"),
            }
        }
        Kind::Json => match serde_json::from_str::<Value>(value) {
            Ok(_) => Ok(()),
            Err(_) => bad("must be valid JSON"),
        },
    }
}
