//! What the stand-in's test modules share: start a stand-in, a small REST client that speaks to
//! it the way the product's Twilio client does (form bodies, HTTP Basic), and Twilio's OpenAPI
//! specs as oracles (`openapi`).

pub mod openapi;

use serde_json::Value;
use twilio_standin::{Account, StandIn};

pub async fn start() -> StandIn {
    StandIn::start(Account::for_tests())
        .await
        .expect("the stand-in starts on 127.0.0.1:0")
}

/// A REST client bound to one stand-in and one credential pair.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    user: String,
    password: String,
}

/// A response as tests look at it.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    /// The Twilio error code, if the body is an error.
    pub fn code(&self) -> Option<u64> {
        self.body.get("code").and_then(Value::as_u64)
    }

    pub fn str(&self, field: &str) -> &str {
        self.body.get(field).and_then(Value::as_str).unwrap_or("")
    }
}

impl Api {
    /// Authenticates with the account SID and auth token.
    pub fn new(standin: &StandIn) -> Api {
        let account = standin.account();
        Self::with(standin, &account.account_sid, &account.auth_token)
    }

    pub fn with(standin: &StandIn, user: &str, password: &str) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: standin.base_url(),
            user: user.to_owned(),
            password: password.to_owned(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request
            .basic_auth(&self.user, Some(&self.password))
            .send()
            .await
            .expect("the stand-in answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a readable body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply { status, body }
    }

    /// `GET` a path (relative to the base URL) or an absolute URL.
    pub async fn get(&self, path_or_url: &str) -> Reply {
        let url = self.url(path_or_url);
        self.send(self.http.get(url)).await
    }

    /// `GET` with query parameters.
    pub async fn get_with(&self, path: &str, query: &[(&str, &str)]) -> Reply {
        let url = self.url(path);
        self.send(self.http.get(url).query(query)).await
    }

    /// `POST` a form.
    pub async fn post(&self, path_or_url: &str, form: &[(&str, &str)]) -> Reply {
        let url = self.url(path_or_url);
        self.send(self.http.post(url).form(form)).await
    }

    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{}", self.base, path_or_url)
        }
    }

    pub async fn create_room(&self, unique_name: &str) -> Value {
        let reply = self
            .post(
                "/v1/Rooms",
                &[("UniqueName", unique_name), ("Type", "group")],
            )
            .await;
        assert_eq!(reply.status, 201, "room creation: {:?}", reply.body);
        reply.body
    }

    pub async fn create_streamer(&self) -> Value {
        let reply = self.post("/v1/PlayerStreamers", &[]).await;
        assert_eq!(reply.status, 201, "streamer creation: {:?}", reply.body);
        reply.body
    }

    /// A media processor that composes `room` into `streamer`.
    pub async fn create_processor(&self, room: &str, streamer: &str) -> Reply {
        let context =
            serde_json::json!({"room": {"name": room}, "outputs": [streamer]}).to_string();
        self.post(
            "/v1/MediaProcessors",
            &[
                ("Extension", "video-composer-v2"),
                ("ExtensionContext", &context),
                ("MaxDuration", "3600"),
            ],
        )
        .await
    }
}

/// `body[field]` as a string (empty if absent), for terse assertions.
pub fn s<'a>(body: &'a Value, field: &str) -> &'a str {
    body.get(field).and_then(Value::as_str).unwrap_or("")
}
