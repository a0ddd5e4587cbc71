//! Twilio's list paging: `PageSize`/`Page`/`PageToken` in, `{"<key>": [...], "meta": {...}}` out,
//! with absolute page URLs. Page tokens (`PA<sid>` = after that item, `PB<sid>` = before it)
//! anchor on an item rather than an offset, so following `next_page_url` visits every item
//! exactly once even while new items are created.

use serde_json::{Value, json};

use crate::error::TwilioError;
use crate::params::Params;

/// Default and maximum `PageSize`.
pub(crate) const DEFAULT_PAGE_SIZE: usize = 50;

/// One list item: its creation order, sid, and rendered JSON.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) seq: u64,
    pub(crate) sid: String,
    pub(crate) json: Value,
}

/// Where a list request starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    Offset,
    After(u64),
    Before(u64),
}

/// Builds one page of `items` (already filtered and in list order; `descending` says whether
/// that order is newest first). `seq_of` maps any sid of the collection (filtered out or not) to
/// its creation order, for resolving page tokens.
pub(crate) fn page(
    base: &str,
    path: &str,
    key: &str,
    params: &Params,
    items: Vec<Item>,
    descending: bool,
    seq_of: impl Fn(&str) -> Option<u64>,
) -> Result<Value, TwilioError> {
    let page_size = params
        .int("PageSize")
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(1, 1000);
    let page_no = params
        .int("Page")
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    let token = params.text("PageToken");
    let anchor = match token {
        None => Anchor::Offset,
        Some(t) => {
            let bad = || TwilioError::invalid(format!("Invalid PageToken: {t}"));
            let (dir, sid) = t.split_at_checked(2).ok_or_else(bad)?;
            let seq = seq_of(sid).ok_or_else(bad)?;
            match dir {
                "PA" => Anchor::After(seq),
                "PB" => Anchor::Before(seq),
                _ => return Err(bad()),
            }
        }
    };
    let n = items.len();
    let comes_before = |item_seq: u64, seq: u64| {
        if descending {
            item_seq > seq
        } else {
            item_seq < seq
        }
    };
    let (start, end) = match anchor {
        Anchor::Offset => {
            let start = page_no.saturating_mul(page_size).min(n);
            (start, start.saturating_add(page_size).min(n))
        }
        Anchor::After(seq) => {
            let start = items
                .iter()
                .position(|it| !comes_before(it.seq, seq) && it.seq != seq)
                .unwrap_or(n);
            (start, start.saturating_add(page_size).min(n))
        }
        Anchor::Before(seq) => {
            let end = items
                .iter()
                .position(|it| !comes_before(it.seq, seq))
                .unwrap_or(n);
            (end.saturating_sub(page_size), end)
        }
    };
    let slice = &items[start..end];

    let filters = params.filters();
    let url_for = |page: usize, token: Option<String>| {
        let mut pairs = filters.clone();
        pairs.push(("PageSize".to_owned(), page_size.to_string()));
        pairs.push(("Page".to_owned(), page.to_string()));
        if let Some(t) = token {
            pairs.push(("PageToken".to_owned(), t));
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("{base}{path}?{query}")
    };
    let next = match slice.last() {
        Some(last) if end < n => Some(url_for(
            page_no.saturating_add(1),
            Some(format!("PA{}", last.sid)),
        )),
        _ => None,
    };
    let previous = match slice.first() {
        Some(first) if start > 0 => Some(url_for(
            page_no.saturating_sub(1),
            Some(format!("PB{}", first.sid)),
        )),
        _ => None,
    };
    let list: Vec<Value> = slice.iter().map(|it| it.json.clone()).collect();
    Ok(json!({
        key: list,
        "meta": {
            "page": page_no,
            "page_size": page_size,
            "first_page_url": url_for(0, None),
            "previous_page_url": previous,
            "url": url_for(page_no, token.map(str::to_owned)),
            "next_page_url": next,
            "key": key,
        },
    }))
}
