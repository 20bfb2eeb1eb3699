//! The OpenAPI document: generated from the handlers' annotations, compared with the committed
//! `bins/server/openapi.json` so it never drifts unnoticed. After a deliberate API change, update it with
//! `NATRONFX_UPDATE_OPENAPI=1 cargo test -p natronfx-server --test api openapi` and review the diff.

use natronfx_service::testing::TestApp;
use serde_json::Value;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");

fn document() -> Value {
    serde_json::to_value(natronfx_server::openapi()).unwrap()
}

#[test]
fn the_openapi_document_matches_the_committed_snapshot() {
    let text = serde_json::to_string_pretty(&document()).unwrap() + "\n";
    if std::env::var_os("NATRONFX_UPDATE_OPENAPI").is_some() {
        std::fs::write(SNAPSHOT, &text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    if committed != text {
        let first = committed
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(text.lines().count()));
        panic!(
            "the API changed but bins/server/openapi.json did not (first difference at line {}): \
             run `NATRONFX_UPDATE_OPENAPI=1 cargo test -p natronfx-server --test api openapi` and \
             review the diff",
            first + 1
        );
    }
}

#[test]
fn the_document_is_openapi_3_1_and_every_operation_documents_its_errors() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 25, "{} paths", paths.len());
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("4XX"),
                "{method} {path} documents no error"
            );
            assert!(
                op["summary"].is_string() || op["description"].is_string(),
                "{method} {path} says nothing"
            );
        }
    }
    let error = &doc["components"]["schemas"]["ErrorBody"]["properties"];
    for field in ["code", "message", "details"] {
        assert!(error.get(field).is_some(), "ErrorBody.{field}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["securitySchemes"]["session"].is_object());
}

#[tokio::test]
async fn the_server_serves_the_same_document() {
    let s = crate::spawn_on(TestApp::sqlite().await).await;
    let served: Value = s
        .client
        .get(format!("{}/api/v1/openapi.json", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, document());
}
