//! Retention and export over HTTP: the API's dry run by default and real run, the dashboard's Data page
//! (a dry-run preview, "Delete these now"), exports as downloads behind the CSRF token, admins only.

use chrono::Duration;
use natronfx_service::{LoginRequest, PostInput};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::Running;
use crate::web::Page;

both!(running: retention_and_export_over_the_api_and_the_dashboard);

fn count(report: &Value, kind: &str) -> u64 {
    report["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == kind)
        .unwrap()["count"]
        .as_u64()
        .unwrap()
}

async fn retention_and_export_over_the_api_and_the_dashboard(s: Running) {
    let app = &s.app;
    let post = app
        .service
        .create_post(
            &app.editor,
            PostInput {
                title: "Kept".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let admin = s.token(&app.admin).await;
    let editor = s.token(&app.editor).await;
    // A refused sign-in leaves a login attempt, which the policy keeps for a day.
    let wrong = SecretString::from("not the password at all");
    let refused = app
        .service
        .login(LoginRequest {
            email: "viewer@example.com",
            password: &wrong,
            address: "192.0.2.9",
            user_agent: "test",
            replaces: None,
        })
        .await;
    assert!(refused.is_err());
    app.clock.advance(Duration::days(3));

    let (status, body) = s
        .call("POST", "/api/v1/retention/run", Some(&editor), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("permission-denied"))
    );
    let (status, dry) = s
        .call("POST", "/api/v1/retention/run", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["dry_run"], true, "a dry run unless asked otherwise");
    assert_eq!(count(&dry, "login-attempts"), 1, "{dry}");
    let (_, again) = s
        .call("POST", "/api/v1/retention/run", Some(&admin), None)
        .await;
    assert_eq!(
        count(&again, "login-attempts"),
        1,
        "the dry run deleted nothing"
    );

    // The dashboard shows the same preview and deletes on request.
    let page = Page::login(&s, "admin@example.com").await;
    let (status, html) = page.get("/admin/data").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-kind=\"login-attempts\""), "{html}");
    assert!(html.contains("Delete these now"), "{html}");
    let (status, to) = page
        .post("/admin/data/retention", &[], Some(page.csrf()))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(to.contains("notice=Deleted"), "{to}");
    let (_, after) = s
        .call("POST", "/api/v1/retention/run", Some(&admin), None)
        .await;
    assert_eq!(count(&after, "login-attempts"), 0, "{after}");
    let last = app.service.store().recent_audit(1).await.unwrap();
    assert_eq!(last[0].event.action.as_str(), "retention-purged");
    assert_eq!(last[0].event.actor, Some(app.admin.id));

    // Exports: one post through the API, and as a download from the post's page.
    let (status, bundle) = s
        .call(
            "POST",
            "/api/v1/export",
            Some(&admin),
            Some(json!({"post": post.id.to_string()})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    assert_eq!(bundle["posts"].as_array().unwrap().len(), 1);
    assert_eq!(bundle["posts"][0]["id"], post.id.to_string());
    assert!(
        !bundle.to_string().contains(&admin),
        "no token in an export"
    );
    let (status, _) = s.call("POST", "/api/v1/export", Some(&editor), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, html) = page.get(&format!("/posts/{}", post.id)).await;
    assert!(html.contains(&format!("action=\"/posts/{}/export\"", post.id)));
    let download = |token: Option<&str>| {
        let mut form: Vec<(&str, &str)> = Vec::new();
        if let Some(t) = token {
            form.push(("csrf_token", t));
        }
        let form: Vec<(String, String)> = form
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        s.client
            .post(format!("{}/posts/{}/export", s.base, post.id))
            .header("cookie", page.cookie())
            .form(&form)
            .send()
    };
    let forged = download(None).await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let file = download(Some(page.csrf())).await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    assert!(
        file.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"natronfx-post-")
    );
    let json: Value = file.json().await.unwrap();
    assert_eq!(json["posts"][0]["title"], "Kept");
    let editor_page = Page::login(&s, "editor@example.com").await;
    let (status, html) = editor_page.get("/admin/data").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    let (_, html) = editor_page.get(&format!("/posts/{}", post.id)).await;
    assert!(
        !html.contains("/export\""),
        "editors are not offered exports"
    );
}
