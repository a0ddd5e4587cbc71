//! Lists longer than a page: the client follows `next_page_url` when it is on the API's base URL
//! (as Twilio's, and the stand-in's, always are), so the check that refuses other hosts does not
//! stop real paging.

use onair_integration_tests::*;

#[tokio::test]
async fn a_second_page_of_rooms_on_the_same_base_url_is_followed() {
    let stack = Stack::room().await;
    // 55 in-progress rooms: the list comes in two pages of at most 50.
    for _ in 0..54 {
        stack.host_login().await;
    }
    let login = stack.host_connected().await;
    assert_eq!(stack.active_rooms(), 55);
    stack.standin.clear_calls();

    let (status, body) = stack.call(Endpoint::AudienceToken, post_empty()).await;
    assert_eq!(
        (status, body["room"].as_str()),
        (200, login["room"].as_str()),
        "{body}"
    );
    let pages: Vec<String> = stack
        .standin
        .calls()
        .into_iter()
        .filter(|c| c.method == "GET" && c.path == "/v1/Rooms")
        .map(|c| format!("{:?}", c.params))
        .collect();
    assert_eq!(pages.len(), 2, "both pages were read: {pages:?}");
    stack.standin.shutdown().await;
}
