//! Graph API endpoints for Instagram (containers, status, `media_publish`, `content_publishing_limit`,
//! media list) and Facebook Pages (photos, feed), on both the Instagram Login and Facebook Login hosts.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::faults::{Endpoint, Fault, Loss};
use crate::images::{GraphRejection, facebook_verdict, instagram_verdict};
use crate::respond::{self, graph_error, json_response, rejection};
use crate::shared::Shared;
use crate::state::{
    ContainerKind, FbPhoto, GraphHost, IgContainer, Network, Progression, PublishedPost, TokenKind,
};

type Ctx = AxumState<Arc<Shared>>;
type Params = Query<HashMap<String, String>>;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/{host}/{version}/{id}", get(object))
        .route(
            "/{host}/{version}/{id}/{edge}",
            get(edge_get).post(edge_post).delete(edge_delete),
        )
}

fn graph_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+0000").to_string()
}

/// The caller, once faults and the token are dealt with.
struct Call {
    host: GraphHost,
    account: String,
    token: String,
    kind: TokenKind,
    params: HashMap<String, String>,
    attached: Vec<String>,
    fault: Option<Fault>,
}

impl Call {
    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

fn error(shared: &Shared, status: u16, rejection: &GraphRejection) -> Response {
    let trace = shared.lock().fbtrace();
    graph_error(status, rejection, false, &trace)
}

fn unsupported(shared: &Shared, id: &str, verb: &str) -> Response {
    error(
        shared,
        400,
        &rejection(
            100,
            Some(33),
            format!(
                "Unsupported {verb} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
            ),
        ),
    )
}

fn expired(shared: &Shared) -> Response {
    error(
        shared,
        400,
        &rejection(
            190,
            Some(463),
            "Error validating access token: Session has expired. The current time is later than the expiry time.",
        ),
    )
}

/// Merge form or JSON body parameters into the query parameters.
fn merge_body(
    params: &mut HashMap<String, String>,
    attached: &mut Vec<(usize, String)>,
    headers: &HeaderMap,
    body: &[u8],
) {
    if body.is_empty() {
        return;
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let media_fbid = |v: &Value| {
        v.get("media_fbid").and_then(|m| {
            m.as_str()
                .map(str::to_owned)
                .or_else(|| m.as_u64().map(|n| n.to_string()))
        })
    };
    if is_json {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        for (key, value) in map {
            match (key.as_str(), value) {
                ("attached_media", Value::Array(items)) => {
                    attached.extend(
                        items
                            .iter()
                            .enumerate()
                            .filter_map(|(i, v)| media_fbid(v).map(|id| (i, id))),
                    );
                }
                ("children", Value::Array(items)) => {
                    let ids: Vec<String> = items
                        .iter()
                        .filter_map(|v| {
                            v.as_str()
                                .map(str::to_owned)
                                .or_else(|| v.as_u64().map(|n| n.to_string()))
                        })
                        .collect();
                    params.insert(key, ids.join(","));
                }
                (_, Value::String(s)) => {
                    params.insert(key, s);
                }
                (_, other) => {
                    params.insert(key, other.to_string());
                }
            }
        }
        return;
    }
    for (key, value) in form_urlencoded::parse(body) {
        if let Some(index) = key
            .strip_prefix("attached_media[")
            .and_then(|k| k.strip_suffix(']'))
        {
            let parsed: Option<Value> = serde_json::from_str(&value).ok();
            if let (Ok(i), Some(id)) =
                (index.parse::<usize>(), parsed.as_ref().and_then(media_fbid))
            {
                attached.push((i, id));
            }
            continue;
        }
        params.insert(key.into_owned(), value.into_owned());
    }
}

async fn prelude(
    shared: &Shared,
    host: &str,
    endpoint: Endpoint,
    headers: &HeaderMap,
    query: HashMap<String, String>,
    body: &[u8],
) -> Result<Call, Response> {
    let host = match host {
        "instagram" => GraphHost::Instagram,
        "facebook" => GraphHost::Facebook,
        _ => {
            return Err(json_response(
                404,
                &json!({"error": {"message": "Unknown host", "code": 404}}),
            ));
        }
    };
    let fault = {
        let mut state = shared.lock();
        state.count(endpoint);
        state.faults.next(endpoint)
    };
    match fault {
        Some(Fault::Hang) => return Err(shared.hang().await),
        Some(Fault::ServerError { status }) => {
            let trace = shared.lock().fbtrace();
            let body = rejection(
                2,
                None,
                "An unexpected error has occurred. Please retry your request later.",
            );
            return Err(graph_error(status, &body, true, &trace));
        }
        Some(Fault::Throttled { retry_after }) => {
            let trace = shared.lock().fbtrace();
            let body = if host == GraphHost::Facebook
                && matches!(
                    endpoint,
                    Endpoint::FacebookPhotos | Endpoint::FacebookFeed | Endpoint::FacebookFeedList
                ) {
                rejection(
                    80001,
                    None,
                    "There have been too many calls to this Page account. Wait a bit and try again.",
                )
            } else {
                rejection(4, None, "Application request limit reached")
            };
            let mut response = graph_error(400, &body, true, &trace);
            if let Some(after) = retry_after {
                let minutes = after.as_secs().div_ceil(60);
                let usage = json!({ "sim": [{ "type": "pages", "call_count": 100, "total_cputime": 10, "total_time": 10, "estimated_time_to_regain_access": minutes }] });
                if let Ok(value) = HeaderValue::from_str(&usage.to_string()) {
                    response
                        .headers_mut()
                        .insert("x-business-use-case-usage", value);
                }
            }
            return Err(response);
        }
        Some(Fault::TooManyRequests { retry_after }) => return Err(respond::bare_429(retry_after)),
        Some(Fault::ExpiredToken) => return Err(expired(shared)),
        _ => {}
    }
    let mut params = query;
    let mut attached = Vec::new();
    merge_body(&mut params, &mut attached, headers, body);
    attached.sort_by_key(|(i, _)| *i);
    let header_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("OAuth "))
        })
        .map(str::to_owned);
    let Some(token) = header_token.or_else(|| params.get("access_token").cloned()) else {
        return Err(error(
            shared,
            400,
            &rejection(
                104,
                None,
                "An access token is required to request this resource.",
            ),
        ));
    };
    let record = {
        let mut state = shared.lock();
        state.admit_sandbox_token(&token);
        state
            .tokens
            .get(&token)
            .cloned()
            .map(|r| (r.clone(), r.expires_at.is_some_and(|t| t <= state.now())))
    };
    let Some((record, is_expired)) =
        record.filter(|(r, _)| r.host == Some(host) && r.kind != TokenKind::ShortLived)
    else {
        // An Instagram Login token sent to graph.facebook.com fails exactly like garbage.
        return Err(error(
            shared,
            400,
            &rejection(
                190,
                None,
                "Invalid OAuth access token - Cannot parse access token",
            ),
        ));
    };
    if is_expired {
        return Err(expired(shared));
    }
    Ok(Call {
        host,
        account: record.account_id,
        token,
        kind: record.kind,
        params,
        attached: attached.into_iter().map(|(_, id)| id).collect(),
        fault,
    })
}

/// A Page token also acts for the Instagram account linked to its Page (Instagram API with Facebook
/// Login): a call about that account runs as that account.
fn act_for(shared: &Shared, mut call: Call, id: &str) -> Call {
    if call.host == GraphHost::Facebook && call.account != id {
        let state = shared.lock();
        if state.ig_links.get(&call.account).is_some_and(|ig| ig == id) {
            call.account = id.to_owned();
        }
    }
    call
}

/// Whether the caller may act for `owner`: it is the caller, or the caller's Page links to it.
fn acts_for(state: &crate::state::State, call: &Call, owner: &str) -> bool {
    owner == call.account
        || (call.host == GraphHost::Facebook
            && state
                .ig_links
                .get(&call.account)
                .is_some_and(|ig| ig == owner))
}

async fn finish(shared: &Shared, fault: Option<&Fault>, response: Response) -> Response {
    match fault {
        Some(Fault::CreatedThenLost(Loss::Drop)) => respond::dropped(),
        Some(Fault::CreatedThenLost(Loss::ServerError)) => {
            let trace = shared.lock().fbtrace();
            graph_error(
                500,
                &rejection(1, None, "An unknown error occurred"),
                false,
                &trace,
            )
        }
        Some(Fault::CreatedThenLost(Loss::Hang)) => shared.hang().await,
        _ => response,
    }
}

async fn object(
    AxumState(shared): Ctx,
    Path((host, _version, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    Query(query): Params,
) -> Response {
    let call = match prelude(&shared, &host, Endpoint::GraphObject, &headers, query, &[]).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut state = shared.lock();
    let fields = call.param("fields").unwrap_or("id").to_owned();
    let owner = state.containers.get(&id).map(|c| c.ig_user.clone());
    if let Some(owner) = owner {
        if !acts_for(&state, &call, &owner) {
            drop(state);
            return unsupported(&shared, &id, "get");
        }
        let Some((code, detail)) = state.container_status(&id, fields.contains("status_code"))
        else {
            drop(state);
            return unsupported(&shared, &id, "get");
        };
        let mut body = json!({ "id": id });
        if fields.contains("status_code") {
            body["status_code"] = json!(code);
        }
        if fields.split(',').any(|f| f == "status") {
            body["status"] = json!(detail);
        }
        return json_response(200, &body);
    }
    if let Some(post) = state.posts.iter().find(|p| p.id == id).cloned() {
        if !acts_for(&state, &call, &post.account_id) {
            drop(state);
            return unsupported(&shared, &id, "get");
        }
        return json_response(200, &post_fields(&post));
    }
    let linked = state.ig_links.get(&call.account).cloned();
    if id == call.account
        || id == "me"
        || (call.host == GraphHost::Facebook && linked.as_deref() == Some(id.as_str()))
    {
        let account = if id == "me" {
            call.account.clone()
        } else {
            id.clone()
        };
        if let Some(username) = state.ig_accounts.get(&account) {
            return json_response(
                200,
                &json!({ "id": account, "user_id": account, "username": username, "name": username }),
            );
        }
        if let Some(name) = state.pages.get(&account) {
            let mut body = json!({ "id": account, "name": name });
            if fields.contains("instagram_business_account")
                && let Some(ig) = &linked
            {
                let username = state.ig_accounts.get(ig).cloned().unwrap_or_default();
                body["instagram_business_account"] = json!({ "id": ig, "username": username });
            }
            return json_response(200, &body);
        }
    }
    drop(state);
    unsupported(&shared, &id, "get")
}

fn post_fields(post: &PublishedPost) -> Value {
    match post.network {
        Network::Facebook => json!({
            "id": post.id, "is_published": true, "permalink_url": post.permalink,
            "created_time": graph_time(post.created_at), "message": post.caption,
        }),
        _ => {
            let shortcode = post
                .permalink
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            json!({
                "id": post.id, "permalink": post.permalink, "shortcode": shortcode,
                "media_type": if post.image_urls.len() > 1 { "CAROUSEL_ALBUM" } else { "IMAGE" },
                "timestamp": graph_time(post.created_at), "caption": post.caption,
            })
        }
    }
}

async fn edge_get(
    AxumState(shared): Ctx,
    Path((host, _version, id, edge)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    Query(query): Params,
) -> Response {
    if host == "facebook" && id == "oauth" && edge == "access_token" {
        shared.lock().count(Endpoint::GraphObject);
        return crate::oauth::facebook_token(&shared, &query);
    }
    if id == "me" && edge == "accounts" {
        let call = match prelude(&shared, &host, Endpoint::GraphObject, &headers, query, &[]).await
        {
            Ok(c) => c,
            Err(r) => return r,
        };
        if call.kind != TokenKind::FacebookUser {
            return unsupported(&shared, &id, "get");
        }
        return crate::oauth::facebook_accounts(&shared);
    }
    let endpoint = match edge.as_str() {
        "media" => Endpoint::InstagramMediaList,
        "content_publishing_limit" => Endpoint::InstagramPublishingLimit,
        "feed" | "published_posts" => Endpoint::FacebookFeedList,
        _ => return unsupported(&shared, &id, "get"),
    };
    let call = match prelude(&shared, &host, endpoint, &headers, query, &[]).await {
        Ok(c) => act_for(&shared, c, &id),
        Err(r) => return r,
    };
    if id != call.account {
        return unsupported(&shared, &id, "get");
    }
    let state = shared.lock();
    match endpoint {
        Endpoint::InstagramPublishingLimit => {
            let usage = state.posts_last_day(Network::Instagram, &call.account);
            let mut entry = json!({ "quota_usage": usage });
            if call.param("fields").is_some_and(|f| f.contains("config")) {
                entry["config"] = json!({ "quota_total": state.config.instagram_quota_total, "quota_duration": 86400 });
            }
            json_response(200, &json!({ "data": [entry] }))
        }
        _ => {
            let network = if endpoint == Endpoint::InstagramMediaList {
                Network::Instagram
            } else {
                Network::Facebook
            };
            let since = call.param("since").and_then(|s| s.parse::<i64>().ok());
            let data: Vec<Value> = state
                .posts
                .iter()
                .rev()
                .filter(|p| p.network == network && p.account_id == call.account)
                .filter(|p| since.is_none_or(|s| p.created_at.timestamp() >= s))
                .take(25)
                .map(post_fields)
                .collect();
            json_response(200, &json!({ "data": data }))
        }
    }
}

async fn edge_post(
    AxumState(shared): Ctx,
    Path((host, _version, id, edge)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    Query(query): Params,
    body: Bytes,
) -> Response {
    let endpoint = match edge.as_str() {
        "media" => Endpoint::InstagramCreateContainer,
        "media_publish" => Endpoint::InstagramPublish,
        "photos" => Endpoint::FacebookPhotos,
        "feed" => Endpoint::FacebookFeed,
        _ => return unsupported(&shared, &id, "post"),
    };
    let call = match prelude(&shared, &host, endpoint, &headers, query, &body).await {
        Ok(c) => act_for(&shared, c, &id),
        Err(r) => return r,
    };
    let known = {
        let state = shared.lock();
        match endpoint {
            Endpoint::FacebookPhotos | Endpoint::FacebookFeed => state.pages.contains_key(&id),
            _ => state.ig_accounts.contains_key(&id),
        }
    };
    if id != call.account || !known {
        return unsupported(&shared, &id, "post");
    }
    let response = match endpoint {
        Endpoint::InstagramCreateContainer => create_container(&shared, &call).await,
        Endpoint::InstagramPublish => media_publish(&shared, &call),
        Endpoint::FacebookPhotos => photos(&shared, &call).await,
        _ => feed(&shared, &call),
    };
    if response.status().is_success() {
        finish(&shared, call.fault.as_ref(), response).await
    } else {
        response
    }
}

async fn edge_delete(
    AxumState(shared): Ctx,
    Path((host, _version, id, edge)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    Query(query): Params,
) -> Response {
    if id != "me" || edge != "permissions" {
        return unsupported(&shared, &id, "delete");
    }
    let call = match prelude(&shared, &host, Endpoint::GraphObject, &headers, query, &[]).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut state = shared.lock();
    let now = state.now();
    if let Some(token) = state.tokens.get_mut(&call.token) {
        token.expires_at = Some(now);
    }
    json_response(200, &json!({ "success": true }))
}

fn caption_problem(caption: &str) -> Option<GraphRejection> {
    if caption.chars().count() > 2200 {
        return Some(rejection(
            36004,
            Some(2_207_010),
            "The caption is too long.",
        ));
    }
    let words = || caption.split_whitespace();
    if words()
        .filter(|w| w.starts_with('#') && w.len() > 1)
        .count()
        > 30
    {
        return Some(rejection(
            100,
            None,
            "(#100) The caption contains more than 30 hashtags.",
        ));
    }
    if words()
        .filter(|w| w.starts_with('@') && w.len() > 1)
        .count()
        > 20
    {
        return Some(rejection(
            100,
            Some(2_207_040),
            "(#100) The caption contains more than 20 @ tags.",
        ));
    }
    None
}

async fn create_container(shared: &Shared, call: &Call) -> Response {
    let caption = call.param("caption").unwrap_or_default().to_owned();
    if let Some(problem) = caption_problem(&caption) {
        return error(shared, 400, &problem);
    }
    let media_type = call.param("media_type").unwrap_or("IMAGE").to_owned();
    let (kind, image_url) = match media_type.as_str() {
        "CAROUSEL" => {
            let children: Vec<String> = call
                .param("children")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if !(2..=10).contains(&children.len()) {
                return error(
                    shared,
                    400,
                    &rejection(
                        100,
                        Some(2_207_028),
                        "The carousel must contain between 2 and 10 media items.",
                    ),
                );
            }
            let state = shared.lock();
            for child in &children {
                let valid = state.containers.get(child).is_some_and(|c| {
                    c.ig_user == call.account
                        && c.kind == ContainerKind::Item
                        && c.media_id.is_none()
                });
                if !valid {
                    drop(state);
                    return error(
                        shared,
                        400,
                        &rejection(
                            24,
                            Some(2_207_006),
                            format!("The media with id {child} cannot be found."),
                        ),
                    );
                }
            }
            (ContainerKind::Carousel(children), None)
        }
        "IMAGE" => {
            let Some(url) = call.param("image_url").map(str::to_owned) else {
                return error(
                    shared,
                    400,
                    &rejection(100, None, "(#100) The parameter image_url is required."),
                );
            };
            let item = call.param("is_carousel_item") == Some("true");
            if item && !caption.is_empty() {
                shared.lock().warnings.push(format!(
                    "caption sent on carousel item {url}; instagram ignores it"
                ));
            }
            (
                if item {
                    ContainerKind::Item
                } else {
                    ContainerKind::Single
                },
                Some(url),
            )
        }
        other => {
            return error(
                shared,
                400,
                &rejection(
                    100,
                    Some(2_207_023),
                    format!("The media type {other} is not supported by this simulator."),
                ),
            );
        }
    };
    if let Some(url) = &image_url {
        let fetched = shared.fetcher.fetch(url).await;
        if let Err(problem) = instagram_verdict(url, &fetched) {
            return error(shared, 400, &problem);
        }
    }
    let mut state = shared.lock();
    let now = state.now();
    let extra = match call.fault {
        Some(Fault::SlowProcessing { extra_polls }) => extra_polls,
        _ => 0,
    };
    let failure = matches!(call.fault, Some(Fault::ProcessingFails))
        .then(|| "Error: Media upload has failed with error code 2207001".to_owned());
    let id = (17_889_455_560_000_000_u64 + state.next()).to_string();
    let progression = Progression::new(now, &state.config, extra);
    let caption = if kind == ContainerKind::Item {
        String::new()
    } else {
        caption
    };
    state.containers.insert(
        id.clone(),
        IgContainer {
            ig_user: call.account.clone(),
            kind,
            image_url,
            caption,
            progression,
            media_id: None,
            failure,
        },
    );
    json_response(200, &json!({ "id": id }))
}

fn media_publish(shared: &Shared, call: &Call) -> Response {
    let Some(creation_id) = call.param("creation_id").map(str::to_owned) else {
        return error(
            shared,
            400,
            &rejection(100, None, "(#100) The parameter creation_id is required."),
        );
    };
    let mut state = shared.lock();
    let container = state
        .containers
        .get(&creation_id)
        .cloned()
        .filter(|c| c.ig_user == call.account);
    let Some(container) = container else {
        drop(state);
        return error(
            shared,
            400,
            &rejection(
                24,
                Some(2_207_006),
                format!("The media with id {creation_id} cannot be found."),
            ),
        );
    };
    if let Some(media_id) = &container.media_id {
        // Retrying the same creation_id does not publish twice.
        return json_response(200, &json!({ "id": media_id }));
    }
    if container.kind == ContainerKind::Item {
        drop(state);
        return error(
            shared,
            400,
            &rejection(
                100,
                None,
                "(#100) A carousel item cannot be published on its own.",
            ),
        );
    }
    let not_ready = || GraphRejection {
        code: 9007,
        subcode: Some(2_207_027),
        message: "Media ID is not available".into(),
        user_title: Some("Media not ready for publishing".into()),
        user_message: Some(
            "The media is not ready for publishing, please wait for a moment".into(),
        ),
    };
    match state
        .container_status(&creation_id, false)
        .map(|(code, _)| code)
    {
        Some("FINISHED") => {}
        Some("EXPIRED") => {
            drop(state);
            return error(
                shared,
                400,
                &rejection(
                    -2,
                    Some(2_207_020),
                    "The media has expired. Please create a new container.",
                ),
            );
        }
        Some("ERROR") => {
            drop(state);
            return error(
                shared,
                400,
                &rejection(
                    -1,
                    Some(2_207_032),
                    "Create media failed. Please create a new container.",
                ),
            );
        }
        _ => {
            drop(state);
            return error(shared, 400, &not_ready());
        }
    }
    if state.posts_last_day(Network::Instagram, &call.account)
        >= state.config.instagram_quota_total as usize
    {
        drop(state);
        return error(
            shared,
            400,
            &GraphRejection {
                code: 9,
                subcode: Some(2_207_042),
                message: "Application request limit reached".into(),
                user_title: Some("Maximum number of posts reached".into()),
                user_message: Some("The account has reached its limit of posts published through the API in 24 hours.".into()),
            },
        );
    }
    let image_urls = match &container.kind {
        ContainerKind::Carousel(children) => children
            .iter()
            .filter_map(|c| state.containers.get(c).and_then(|c| c.image_url.clone()))
            .collect(),
        _ => container.image_url.iter().cloned().collect(),
    };
    let now = state.now();
    let n = state.next();
    let media_id = (17_920_238_422_030_000_u64 + n).to_string();
    let shortcode = format!("Sim{n:06}");
    state.posts.push(PublishedPost {
        network: Network::Instagram,
        account_id: call.account.clone(),
        id: media_id.clone(),
        title: None,
        caption: container.caption.clone(),
        image_urls,
        privacy_level: None,
        created_at: now,
        permalink: format!("https://www.instagram.com/p/{shortcode}/"),
    });
    if let Some(c) = state.containers.get_mut(&creation_id) {
        c.media_id = Some(media_id.clone());
    }
    json_response(200, &json!({ "id": media_id }))
}

async fn photos(shared: &Shared, call: &Call) -> Response {
    let Some(url) = call.param("url").map(str::to_owned) else {
        return error(
            shared,
            400,
            &rejection(324, None, "(#324) Requires upload file"),
        );
    };
    let fetched = shared.fetcher.fetch(&url).await;
    if let Err(problem) = facebook_verdict(&fetched) {
        return error(shared, 400, &problem);
    }
    let published = call.param("published").is_none_or(|p| p != "false");
    let caption = call
        .param("caption")
        .or_else(|| call.param("message"))
        .unwrap_or_default()
        .to_owned();
    let mut state = shared.lock();
    let now = state.now();
    let photo_id = (122_100_000_000_000_000_u64 + state.next()).to_string();
    if !published {
        state.photos.insert(
            photo_id.clone(),
            FbPhoto {
                page: call.account.clone(),
                url,
                uploaded_at: now,
                attached_to: None,
            },
        );
        return json_response(200, &json!({ "id": photo_id }));
    }
    let post_id = format!(
        "{}_{}",
        call.account,
        122_200_000_000_000_000_u64 + state.next()
    );
    state.photos.insert(
        photo_id.clone(),
        FbPhoto {
            page: call.account.clone(),
            url: url.clone(),
            uploaded_at: now,
            attached_to: Some(post_id.clone()),
        },
    );
    state.posts.push(PublishedPost {
        network: Network::Facebook,
        account_id: call.account.clone(),
        id: post_id.clone(),
        title: None,
        caption,
        image_urls: vec![url],
        privacy_level: None,
        created_at: now,
        permalink: format!("https://www.facebook.com/{post_id}"),
    });
    json_response(200, &json!({ "id": photo_id, "post_id": post_id }))
}

fn feed(shared: &Shared, call: &Call) -> Response {
    let message = call.param("message").unwrap_or_default().to_owned();
    if message.is_empty() && call.param("link").is_none() {
        return error(
            shared,
            400,
            &rejection(100, None, "(#100) Either message or link must be supplied"),
        );
    }
    if call.host != GraphHost::Facebook {
        return unsupported(shared, &call.account, "post");
    }
    let mut state = shared.lock();
    let now = state.now();
    let mut urls = Vec::new();
    for (index, id) in call.attached.iter().enumerate() {
        let usable = state.photos.get(id).filter(|p| {
            p.page == call.account
                && p.attached_to.is_none()
                && now.signed_duration_since(p.uploaded_at) < chrono::Duration::hours(24)
        });
        let Some(photo) = usable else {
            drop(state);
            return error(
                shared,
                400,
                &rejection(
                    100,
                    None,
                    format!("(#100) param attached_media[{index}] has invalid media_fbid {id}"),
                ),
            );
        };
        urls.push(photo.url.clone());
    }
    let post_id = format!(
        "{}_{}",
        call.account,
        122_200_000_000_000_000_u64 + state.next()
    );
    for id in &call.attached {
        if let Some(photo) = state.photos.get_mut(id) {
            photo.attached_to = Some(post_id.clone());
        }
    }
    state.posts.push(PublishedPost {
        network: Network::Facebook,
        account_id: call.account.clone(),
        id: post_id.clone(),
        title: None,
        caption: message,
        image_urls: urls,
        privacy_level: None,
        created_at: now,
        permalink: format!("https://www.facebook.com/{post_id}"),
    });
    json_response(
        200,
        &json!({ "id": post_id, "post_supports_client_mutation_id": true }),
    )
}
