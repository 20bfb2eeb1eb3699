//! The simulator's own strictness and tolerance at the wire: paths exactly as documented, and the Graph
//! API's alternative ways of sending a token and a body.

use natronfx_sim::GraphHost;
use serde_json::{Value, json};

use crate::default_world;

#[tokio::test]
async fn tiktok_paths_without_their_trailing_slash_are_not_found() {
    let w = default_world().await;
    let account = w
        .sim
        .add_tiktok_account(natronfx_sim::TiktokCreator::default());
    let client = reqwest::Client::new();
    let base = w.sim.tiktok_base_url();
    let with_slash = client
        .post(format!("{base}/v2/post/publish/creator_info/query/"))
        .bearer_auth(&account.token)
        .send()
        .await
        .expect("answer");
    assert_eq!(with_slash.status().as_u16(), 200);
    let without = client
        .post(format!("{base}/v2/post/publish/creator_info/query"))
        .bearer_auth(&account.token)
        .send()
        .await
        .expect("answer");
    assert_eq!(without.status().as_u16(), 404);
}

#[tokio::test]
async fn graph_accepts_json_bodies_and_a_token_in_the_query() {
    let w = default_world().await;
    let account = w
        .sim
        .add_instagram_account("natron.ig", GraphHost::Instagram);
    let client = reqwest::Client::new();
    let base = format!("{}/v25.0", w.sim.instagram_base_url());
    let created: Value = client
        .post(format!("{base}/{}/media", account.id))
        .query(&[("access_token", account.token.as_str())])
        .json(&json!({"image_url": w.jpeg(400, 500), "caption": "json body"}))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    let container = created["id"].as_str().expect("container id").to_owned();
    for _ in 0..2 {
        let status: Value = client
            .get(format!("{base}/{container}"))
            .query(&[
                ("fields", "status_code,status"),
                ("access_token", account.token.as_str()),
            ])
            .send()
            .await
            .expect("answer")
            .json()
            .await
            .expect("json");
        assert!(status["status_code"].is_string(), "{status}");
    }
    let published: Value = client
        .post(format!("{base}/{}/media_publish", account.id))
        .bearer_auth(&account.token)
        .json(&json!({"creation_id": container}))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert!(published["id"].is_string(), "{published}");
    let posts = w.sim.published(&account.id);
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].caption, "json body");
}

#[tokio::test]
async fn graph_without_a_token_asks_for_one() {
    let w = default_world().await;
    let account = w
        .sim
        .add_instagram_account("natron.ig", GraphHost::Instagram);
    let body: Value = reqwest::Client::new()
        .get(format!(
            "{}/v25.0/{}/content_publishing_limit",
            w.sim.instagram_base_url(),
            account.id
        ))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(body["error"]["code"], 104);
    assert!(body["error"]["fbtrace_id"].is_string());
}
