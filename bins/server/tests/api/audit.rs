//! The audit log over HTTP: the API's and the dashboard's filters (action, person, record, time) read by
//! the one service function, with paging that keeps the filters, and refusals that name the filter.

use natronfx_service::PostInput;
use reqwest::StatusCode;
use serde_json::Value;

use crate::Running;
use crate::web::Page;

both!(running: the_audit_log_filters_by_action_person_record_and_time);

async fn the_audit_log_filters_by_action_person_record_and_time(s: Running) {
    let app = &s.app;
    let post = app
        .service
        .create_post(
            &app.editor,
            PostInput {
                title: "Audited".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.service
        .archive_post(&app.editor, post.id, None)
        .await
        .unwrap();
    let admin = s.token(&app.admin).await;
    let get = |query: String| {
        let admin = admin.clone();
        let s = &s;
        async move {
            s.call("GET", &format!("/api/v1/audit?{query}"), Some(&admin), None)
                .await
        }
    };
    let actions = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    };

    let (status, body) = get("action=post-archived".into()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(actions(&body), ["post-archived"]);
    let (_, body) = get(format!("kind=post&subject={}", post.id)).await;
    assert_eq!(actions(&body), ["post-archived", "post-created"]);
    let (_, body) = get("actor=editor@example.com&limit=1".into()).await;
    assert_eq!(actions(&body), ["post-archived"]);
    let next = body["next_cursor"].as_str().unwrap().to_owned();
    let (_, body) = get(format!("actor=editor@example.com&limit=1&cursor={next}")).await;
    assert_eq!(
        actions(&body),
        ["post-created"],
        "the next page keeps the filter"
    );
    let (_, body) = get("since=2999-01-01".into()).await;
    assert!(actions(&body).is_empty());
    let (status, body) = get("action=post-eaten".into()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid-input")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("post-eaten"));
    let (status, body) = get("since=yesterday".into()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // The dashboard's page: the same filters from a form, kept by the pager.
    let page = Page::login(&s, "admin@example.com").await;
    let (status, html) = page
        .get(&format!(
            "/admin/audit?action=post-archived&actor={}",
            app.editor.id
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<option value=\"post-archived\" selected>"),
        "{html}"
    );
    assert_eq!(html.matches("<td class=\"num mono\">").count(), 1, "{html}");
    let (_, html) = page.get("/admin/audit?action=post-eaten").await;
    assert!(html.contains("Filter not applied"), "{html}");
    let editor = Page::login(&s, "editor@example.com").await;
    let (status, _) = editor.get("/admin/audit?action=post-archived").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
