//! List paging: following `meta.next_page_url` (and `previous_page_url`) visits every item
//! exactly once, filters survive into page URLs, `Order` is honoured, `PageSize` is bounded.

use std::collections::HashSet;

use serde_json::Value;

use crate::common::{self, Api, s};

/// Follows `next_page_url` from `first`, returning every page body.
async fn walk(api: &Api, first: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut next = Some(first.to_owned());
    while let Some(url) = next {
        let reply = api.get(&url).await;
        assert_eq!(reply.status, 200, "{url}: {:?}", reply.body);
        next = reply.body["meta"]["next_page_url"]
            .as_str()
            .map(str::to_owned);
        pages.push(reply.body);
        assert!(pages.len() <= 20, "paging does not end");
    }
    pages
}

fn sids(pages: &[Value], key: &str) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| p[key].as_array().cloned().unwrap_or_default())
        .map(|item| s(&item, "sid").to_owned())
        .collect()
}

#[tokio::test]
async fn following_next_page_url_walks_every_room_exactly_once() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(s(&api.create_room(&format!("room-{i}")).await, "sid").to_owned());
    }
    let pages = walk(&api, "/v1/Rooms?PageSize=3").await;
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p["rooms"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, [3, 3, 1]);
    let walked = sids(&pages, "rooms");
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(walked, newest_first);

    let base = standin.base_url();
    for (i, page) in pages.iter().enumerate() {
        let meta = &page["meta"];
        assert_eq!(meta["page"], i);
        assert_eq!(meta["page_size"], 3);
        assert_eq!(meta["key"], "rooms");
        assert_eq!(
            meta["first_page_url"],
            format!("{base}/v1/Rooms?PageSize=3&Page=0")
        );
        assert!(s(meta, "url").starts_with(&format!("{base}/v1/Rooms?")));
        assert_eq!(meta["previous_page_url"].is_null(), i == 0);
        assert_eq!(meta["next_page_url"].is_null(), i == pages.len() - 1);
    }

    // And back again from the last page.
    let mut back = Vec::new();
    let mut url = pages[2]["meta"]["previous_page_url"]
        .as_str()
        .map(str::to_owned);
    while let Some(u) = url {
        let body = api.get(&u).await.body;
        back.splice(0..0, sids(std::slice::from_ref(&body), "rooms"));
        url = body["meta"]["previous_page_url"]
            .as_str()
            .map(str::to_owned);
    }
    assert_eq!(back, walked[..6]);
    standin.shutdown().await;
}

#[tokio::test]
async fn a_walk_stays_exact_while_rooms_are_created_and_completed() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(s(&api.create_room(&format!("room-{i}")).await, "sid").to_owned());
    }
    let first = api
        .get("/v1/Rooms?PageSize=3&Status=in-progress")
        .await
        .body;
    let mut seen = sids(std::slice::from_ref(&first), "rooms");
    // New rooms arrive and one not yet listed drops out of the filter mid-walk.
    api.create_room("late-1").await;
    api.create_room("late-2").await;
    let done = api
        .post(
            &format!("/v1/Rooms/{}", created[1]),
            &[("Status", "completed")],
        )
        .await;
    assert_eq!(done.status, 202);
    let next = s(&first["meta"], "next_page_url").to_owned();
    assert!(
        next.contains("Status=in-progress"),
        "filters are kept: {next}"
    );
    seen.extend(sids(&walk(&api, &next).await, "rooms"));
    let expected: Vec<String> = [6, 5, 4, 3, 2, 0]
        .iter()
        .map(|&i| created[i].clone())
        .collect();
    assert_eq!(seen, expected);
    standin.shutdown().await;
}

#[tokio::test]
async fn page_numbers_filters_and_page_size_bounds() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(s(&api.create_room(&format!("room-{i}")).await, "sid").to_owned());
    }
    let third = api.get("/v1/Rooms?PageSize=3&Page=2").await.body;
    assert_eq!(
        sids(std::slice::from_ref(&third), "rooms"),
        [created[0].clone()]
    );
    assert!(third["meta"]["next_page_url"].is_null());

    let by_name = api.get("/v1/Rooms?UniqueName=room-4").await.body;
    assert_eq!(
        sids(std::slice::from_ref(&by_name), "rooms"),
        [created[4].clone()]
    );
    let default = api.get("/v1/Rooms").await.body;
    assert_eq!(default["meta"]["page_size"], 50);
    assert_eq!(default["rooms"].as_array().map(Vec::len), Some(7));

    for bad in [
        "PageSize=0",
        "PageSize=1001",
        "PageSize=ten",
        "Page=-1",
        "PageToken=bogus",
    ] {
        let reply = api.get(&format!("/v1/Rooms?{bad}")).await;
        assert_eq!((reply.status, reply.code()), (400, Some(20001)), "{bad}");
    }
    let max = api.get("/v1/Rooms?PageSize=1000").await;
    assert_eq!(max.status, 200);
    standin.shutdown().await;
}

#[tokio::test]
async fn participants_page_too() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let room = s(&api.create_room("crowd").await, "sid").to_owned();
    let mut joined = HashSet::new();
    for i in 0..5 {
        joined.insert(
            standin
                .connect_participant("crowd", &format!("viewer-{i}"))
                .expect("joins"),
        );
    }
    let pages = walk(&api, &format!("/v1/Rooms/{room}/Participants?PageSize=2")).await;
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0]["meta"]["key"], "participants");
    let walked = sids(&pages, "participants");
    assert_eq!(walked.len(), 5);
    assert_eq!(walked.into_iter().collect::<HashSet<_>>(), joined);
    standin.shutdown().await;
}

#[tokio::test]
async fn media_lists_honour_order_and_status() {
    let standin = common::start().await;
    let api = Api::new(&standin);
    let mut created = Vec::new();
    for _ in 0..3 {
        created.push(s(&api.create_streamer().await, "sid").to_owned());
    }
    let ended = api
        .post(
            &format!("/v1/PlayerStreamers/{}", created[1]),
            &[("Status", "ended")],
        )
        .await;
    assert_eq!(ended.status, 200);

    let asc = sids(
        &walk(&api, "/v1/PlayerStreamers?Order=asc&PageSize=2").await,
        "player_streamers",
    );
    assert_eq!(asc, created);
    let desc = sids(
        &walk(&api, "/v1/PlayerStreamers?Order=desc&PageSize=2").await,
        "player_streamers",
    );
    assert_eq!(desc, created.iter().rev().cloned().collect::<Vec<_>>());
    let live = sids(
        &walk(&api, "/v1/PlayerStreamers?Status=created&Order=asc").await,
        "player_streamers",
    );
    assert_eq!(live, [created[0].clone(), created[2].clone()]);

    api.create_room("room").await;
    for streamer in [&created[0], &created[2]] {
        assert_eq!(api.create_processor("room", streamer).await.status, 201);
    }
    let processors = walk(&api, "/v1/MediaProcessors?Order=asc&PageSize=1").await;
    assert_eq!(processors.len(), 2);
    assert_eq!(processors[0]["meta"]["key"], "media_processors");
    let listed = sids(&processors, "media_processors");
    let expected: Vec<String> = standin
        .media_processors()
        .into_iter()
        .map(|m| m.sid)
        .collect();
    assert_eq!(listed, expected);
    standin.shutdown().await;
}
