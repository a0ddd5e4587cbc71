//! The dev server's copy of what CloudFront does for `/status/*` (template.yaml: the status
//! behaviour, `StatusCachePolicy` and the error caching of `CustomErrorResponses`), so that the
//! local stack asks the function as production does:
//!
//! - an answer is kept for the `max-age` (or `s-maxage`) of its `Cache-Control`, at most
//!   [`MAX_TTL`]; a success without one for [`DEFAULT_TTL`]; a success marked `no-store`,
//!   `no-cache` or `private` not at all (MinTTL 0);
//! - an error CloudFront caches (400, 403, 404, 405, 414, 500-504; not 416) is kept for the
//!   longer of its `max-age` and [`ERROR_MIN_TTL`] (404, 410, 414 and 501 marked `no-store`,
//!   `no-cache` or `private` are not kept, as CloudFront does);
//! - requests for a path that is not stored, or no longer fresh, wait for one upstream request
//!   and are all answered with it (CloudFront's request collapsing);
//! - the key is the path alone (no query string, header or cookie), and an answer from the store
//!   carries `Age`, as CloudFront's do.
//!
//! Not copied: CloudFront serves an expired copy when the origin answers 5xx (here the error is
//! served and kept its 1 s), and a CloudFront edge serves many viewers' connections at once
//! where this is one edge.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};

/// CloudFront's DefaultTTL in `StatusCachePolicy`: an answer without `Cache-Control`.
pub const DEFAULT_TTL: Duration = Duration::from_secs(1);
/// `StatusCachePolicy`'s MaxTTL.
pub const MAX_TTL: Duration = Duration::from_secs(60);
/// The distribution's `ErrorCachingMinTTL`.
pub const ERROR_MIN_TTL: Duration = Duration::from_secs(1);
/// The most paths remembered; beyond it, stale ones are forgotten first.
const MAX_PATHS: usize = 1000;

/// The status codes CloudFront caches besides successes (416 is listed by CloudFront's guide
/// but "CloudFront doesn't cache status code 416 responses").
const CACHED_ERRORS: [u16; 10] = [400, 403, 404, 405, 414, 500, 501, 502, 503, 504];
/// Errors for which the origin's `no-store`, `no-cache` or `private` is honoured.
const ERRORS_HONOURING_NO_STORE: [u16; 4] = [404, 410, 414, 501];

/// An upstream answer as it is stored and served.
#[derive(Debug, Clone)]
pub struct Stored {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The store, fetched this long ago.
    Hit { age: Duration },
    /// Upstream, just now.
    Miss,
}

struct Entry {
    stored: Stored,
    fetched: Instant,
    until: Instant,
}

/// One path: its stored answer (read without waiting while it is fresh) and the lock that lets
/// one request at a time fetch it.
#[derive(Default)]
struct PathSlot {
    entry: Mutex<Option<Entry>>,
    fetching: tokio::sync::Mutex<()>,
}

type Slot = Arc<PathSlot>;

/// The time the store goes by (tests move a clock of their own).
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

pub struct EdgeCache {
    clock: Clock,
    paths: Mutex<HashMap<String, Slot>>,
}

impl Default for EdgeCache {
    fn default() -> EdgeCache {
        EdgeCache::with_clock(Arc::new(Instant::now))
    }
}

impl EdgeCache {
    pub fn with_clock(clock: Clock) -> EdgeCache {
        EdgeCache {
            clock,
            paths: Mutex::new(HashMap::new()),
        }
    }

    /// The answer for `path`: the stored one while it is fresh, else `fetch`'s, stored for as
    /// long as its status and headers allow. Callers that find nothing fresh at the same time
    /// wait for the first one's fetch and share its answer. A failed fetch is not stored.
    pub async fn get<E, Fut>(
        &self,
        path: &str,
        fetch: impl FnOnce() -> Fut,
    ) -> Result<(Stored, Source), E>
    where
        Fut: Future<Output = Result<Stored, E>>,
    {
        let slot = self.slot(path);
        if let Some(hit) = self.fresh(&slot) {
            return Ok(hit);
        }
        let _fetching = slot.fetching.lock().await;
        // Whoever held the lock before may have just stored a fresh answer.
        if let Some(hit) = self.fresh(&slot) {
            return Ok(hit);
        }
        let stored = fetch().await?;
        let fetched = (self.clock)();
        *lock(&slot.entry) = ttl(stored.status, &stored.headers).map(|ttl| Entry {
            stored: stored.clone(),
            fetched,
            until: fetched + ttl,
        });
        Ok((stored, Source::Miss))
    }

    /// The stored answer of `slot` if it is still fresh.
    fn fresh(&self, slot: &PathSlot) -> Option<(Stored, Source)> {
        let now = (self.clock)();
        let entry = lock(&slot.entry);
        let fresh = entry.as_ref().filter(|e| now < e.until)?;
        let age = now.saturating_duration_since(fresh.fetched);
        Some((fresh.stored.clone(), Source::Hit { age }))
    }

    /// How many paths have a slot (for tests).
    #[cfg(test)]
    pub fn paths(&self) -> usize {
        self.table().len()
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        lock(&self.paths)
    }

    /// The slot of `path`, made if new; a full table first forgets slots nobody waits on whose
    /// answer is stale.
    fn slot(&self, path: &str) -> Slot {
        let mut paths = self.table();
        if let Some(slot) = paths.get(path) {
            return slot.clone();
        }
        if paths.len() >= MAX_PATHS {
            let now = (self.clock)();
            paths.retain(|_, slot| {
                Arc::strong_count(slot) > 1
                    || lock(&slot.entry).as_ref().is_some_and(|e| now < e.until)
            });
        }
        paths.entry(path.to_owned()).or_default().clone()
    }
}

/// Nothing panics while holding these locks; a poisoned one still holds a valid value.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// How long CloudFront would keep an answer with `status` and `headers`; `None`: not at all.
pub fn ttl(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    let directives: Vec<String> = headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|d| d.trim().to_ascii_lowercase())
        .collect();
    let seconds = |name: &str| {
        directives
            .iter()
            .find_map(|d| {
                d.strip_prefix(name)?
                    .strip_prefix('=')?
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(Duration::from_secs)
    };
    let max_age = seconds("s-maxage").or_else(|| seconds("max-age"));
    let forbidden = directives
        .iter()
        .any(|d| d == "no-store" || d == "no-cache" || d == "private");
    let code = status.as_u16();
    let ttl = if status.is_success() {
        if forbidden {
            return None;
        }
        max_age.unwrap_or(DEFAULT_TTL)
    } else if CACHED_ERRORS.contains(&code) {
        if forbidden && ERRORS_HONOURING_NO_STORE.contains(&code) {
            return None;
        }
        max_age.unwrap_or(Duration::ZERO).max(ERROR_MIN_TTL)
    } else {
        return None;
    };
    Some(ttl.min(MAX_TTL)).filter(|ttl| !ttl.is_zero())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    use axum::http::HeaderValue;

    use super::*;

    fn answer(status: u16, cache_control: Option<&str>) -> Stored {
        let mut headers = HeaderMap::new();
        if let Some(value) = cache_control {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
        }
        Stored {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: Bytes::from_static(b"{}"),
        }
    }

    /// A clock that moves only when told.
    fn manual_clock() -> (Clock, Arc<AtomicU64>) {
        let start = Instant::now();
        let millis = Arc::new(AtomicU64::new(0));
        let read = millis.clone();
        let clock: Clock =
            Arc::new(move || start + Duration::from_millis(read.load(Ordering::SeqCst)));
        (clock, millis)
    }

    #[test]
    fn the_ttl_is_cloudfronts_for_the_status_behaviour() {
        let ttl = |status, cc| {
            ttl(
                StatusCode::from_u16(status).unwrap(),
                &answer(status, cc).headers,
            )
        };
        let secs = |n| Some(Duration::from_secs(n));
        assert_eq!(ttl(200, Some("public, max-age=1")), secs(1));
        assert_eq!(ttl(200, Some("public, s-maxage=5, max-age=1")), secs(5));
        assert_eq!(ttl(200, None), secs(1), "DefaultTTL");
        assert_eq!(ttl(200, Some("max-age=3600")), secs(60), "MaxTTL");
        assert_eq!(ttl(200, Some("max-age=0")), None, "MinTTL 0");
        assert_eq!(ttl(200, Some("no-store")), None);
        assert_eq!(ttl(200, Some("private, max-age=5")), None);
        assert_eq!(ttl(400, Some("public, max-age=60")), secs(60));
        assert_eq!(ttl(502, Some("public, max-age=2")), secs(2));
        assert_eq!(ttl(502, Some("no-store")), secs(1), "the error minimum");
        assert_eq!(ttl(503, None), secs(1));
        assert_eq!(ttl(404, Some("no-store")), None, "honoured for 404");
        assert_eq!(
            ttl(409, Some("public, max-age=5")),
            None,
            "not an error CloudFront caches"
        );
        assert_eq!(ttl(429, None), None);
        assert_eq!(
            ttl(416, Some("public, max-age=5")),
            None,
            "CloudFront never keeps a 416"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_crowd_of_misses_waits_for_one_fetch_each_max_age() {
        let (clock, millis) = manual_clock();
        let cache = Arc::new(EdgeCache::with_clock(clock));
        let fetches = Arc::new(AtomicUsize::new(0));
        for second in 0..3u64 {
            let mut crowd = Vec::new();
            for _ in 0..100 {
                let (cache, fetches) = (cache.clone(), fetches.clone());
                crowd.push(tokio::spawn(async move {
                    cache
                        .get("/status/main", || async move {
                            fetches.fetch_add(1, Ordering::SeqCst);
                            // Slow enough that the crowd arrives while it is under way.
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Ok::<_, ()>(answer(200, Some("public, max-age=1")))
                        })
                        .await
                        .unwrap()
                }));
            }
            let mut misses = 0;
            for request in crowd {
                let (stored, source) = request.await.unwrap();
                assert_eq!(stored.status, 200);
                misses += usize::from(source == Source::Miss);
            }
            assert_eq!(misses, 1, "second {second}");
            assert_eq!(fetches.load(Ordering::SeqCst) as u64, second + 1);
            millis.fetch_add(999, Ordering::SeqCst);
            let (_, source) = cache
                .get("/status/main", || async { Err::<Stored, _>(()) })
                .await
                .unwrap();
            assert_eq!(
                source,
                Source::Hit {
                    age: Duration::from_millis(999)
                }
            );
            millis.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn paths_are_kept_apart_and_failures_and_uncacheable_answers_are_not_kept() {
        let (clock, _) = manual_clock();
        let cache = EdgeCache::with_clock(clock);
        let fetched = AtomicUsize::new(0);
        let fetch = |status, cc| {
            let fetched = &fetched;
            move || async move {
                fetched.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ()>(answer(status, cc))
            }
        };
        cache
            .get("/status/a", fetch(200, Some("max-age=1")))
            .await
            .unwrap();
        cache
            .get("/status/b", fetch(200, Some("max-age=1")))
            .await
            .unwrap();
        assert_eq!(fetched.load(Ordering::SeqCst), 2);
        for _ in 0..3 {
            cache
                .get("/status/c", fetch(200, Some("no-store")))
                .await
                .unwrap();
            assert!(
                cache
                    .get("/status/d", || async { Err::<Stored, _>(()) })
                    .await
                    .is_err()
            );
        }
        assert_eq!(fetched.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn the_table_stays_bounded() {
        let (clock, millis) = manual_clock();
        let cache = EdgeCache::with_clock(clock);
        for n in 0..(MAX_PATHS + 50) {
            cache
                .get(&format!("/status/s{n}"), || async {
                    Ok::<_, ()>(answer(200, Some("max-age=1")))
                })
                .await
                .unwrap();
            millis.fetch_add(10, Ordering::SeqCst);
        }
        assert!(cache.paths() <= MAX_PATHS, "{}", cache.paths());
    }
}
