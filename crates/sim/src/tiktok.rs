//! TikTok Content Posting API endpoints (photo mode), the video list read-back and user info.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::faults::{Endpoint, Fault, Loss};
use crate::images::tiktok_verdict;
use crate::respond::{self, tiktok_error, tiktok_ok};
use crate::shared::Shared;
use crate::state::{Network, Progression, TiktokPublish, TokenKind};

type Ctx = AxumState<Arc<Shared>>;

const PRIVACY_LEVELS: [&str; 4] = [
    "PUBLIC_TO_EVERYONE",
    "MUTUAL_FOLLOW_FRIENDS",
    "FOLLOWER_OF_CREATOR",
    "SELF_ONLY",
];

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/tiktok/v2/post/publish/creator_info/query/",
            post(creator_info),
        )
        .route("/tiktok/v2/post/publish/content/init/", post(init))
        .route("/tiktok/v2/post/publish/status/fetch/", post(status))
        .route("/tiktok/v2/video/list/", post(video_list))
        .route("/tiktok/v2/user/info/", get(user_info))
}

struct Caller {
    open_id: String,
    fault: Option<Fault>,
}

fn invalid_token(shared: &Shared) -> Response {
    let log = shared.lock().log_id();
    tiktok_error(
        401,
        "access_token_invalid",
        "Access token is invalid, please refresh token and retry",
        &log,
    )
}

/// Faults that answer instead of the endpoint, then the token, then the per-token limit.
async fn prelude(
    shared: &Shared,
    endpoint: Endpoint,
    headers: &HeaderMap,
    per_minute: Option<usize>,
) -> Result<Caller, Response> {
    let fault = {
        let mut state = shared.lock();
        state.count(endpoint);
        state.faults.next(endpoint)
    };
    match fault {
        Some(Fault::Hang) => return Err(shared.hang().await),
        Some(Fault::ServerError { status }) => {
            let log = shared.lock().log_id();
            return Err(tiktok_error(
                status,
                "internal_error",
                "Something went wrong. Please try again later.",
                &log,
            ));
        }
        Some(Fault::Throttled { retry_after }) => {
            let log = shared.lock().log_id();
            let mut response = tiktok_error(
                429,
                "rate_limit_exceeded",
                "Rate limit exceeded. Please try again later.",
                &log,
            );
            if let Some(after) =
                retry_after.and_then(|a| HeaderValue::from_str(&a.as_secs().to_string()).ok())
            {
                response.headers_mut().insert(header::RETRY_AFTER, after);
            }
            return Err(response);
        }
        Some(Fault::TooManyRequests { retry_after }) => return Err(respond::bare_429(retry_after)),
        Some(Fault::ExpiredToken) => return Err(invalid_token(shared)),
        _ => {}
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let mut state = shared.lock();
    let now = state.now();
    let Some(token) = token else {
        drop(state);
        return Err(invalid_token(shared));
    };
    state.admit_sandbox_token(&token);
    let record = state.tokens.get(&token).cloned();
    let Some(record) = record.filter(|r| {
        r.network == Network::Tiktok
            && r.kind == TokenKind::Access
            && r.expires_at.is_none_or(|t| t > now)
    }) else {
        drop(state);
        return Err(invalid_token(shared));
    };
    if let Some(limit) = per_minute
        && !state.within_limit(&token, endpoint, limit)
    {
        let log = state.log_id();
        return Err(tiktok_error(
            429,
            "rate_limit_exceeded",
            "Rate limit exceeded. Please try again later.",
            &log,
        ));
    }
    Ok(Caller {
        open_id: record.account_id,
        fault,
    })
}

/// Apply a "created, then the answer was lost" fault to a finished response.
async fn finish(shared: &Shared, fault: Option<&Fault>, response: Response) -> Response {
    match fault {
        Some(Fault::CreatedThenLost(Loss::Drop)) => respond::dropped(),
        Some(Fault::CreatedThenLost(Loss::ServerError)) => {
            let log = shared.lock().log_id();
            tiktok_error(
                500,
                "internal_error",
                "Something went wrong. Please try again later.",
                &log,
            )
        }
        Some(Fault::CreatedThenLost(Loss::Hang)) => shared.hang().await,
        _ => response,
    }
}

/// Let pulls in flight finish (bounded by the fetch timeout): reads answer from a settled world.
async fn wait_for_pulls(shared: &Shared, matches: impl Fn(&str, &TiktokPublish) -> bool) {
    let (pending, limit) = {
        let state = shared.lock();
        let pending: Vec<_> = state
            .publishes
            .iter()
            .filter(|(id, p)| matches(id, p) && p.verdict.is_none())
            .map(|(_, p)| p.pulled.clone())
            .collect();
        (
            pending,
            state.config.fetch_timeout + std::time::Duration::from_secs(1),
        )
    };
    for mut pulled in pending {
        let _ = tokio::time::timeout(limit, pulled.wait_for(|done| *done)).await;
    }
}

async fn creator_info(AxumState(shared): Ctx, headers: HeaderMap) -> Response {
    let caller = match prelude(&shared, Endpoint::TiktokCreatorInfo, &headers, Some(20)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut state = shared.lock();
    let creator = state
        .tiktok_accounts
        .get(&caller.open_id)
        .map(|a| a.creator.clone())
        .unwrap_or_default();
    let options: Vec<&str> = if creator.private_account {
        vec!["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
    } else {
        vec!["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
    };
    let log = state.log_id();
    tiktok_ok(
        &json!({
            "creator_avatar_url": format!("https://p16-sign.tiktokcdn-us.com/sim/{}.jpeg", creator.username),
            "creator_username": creator.username,
            "creator_nickname": creator.username,
            "privacy_level_options": options,
            "comment_disabled": creator.comment_disabled,
            "duet_disabled": false,
            "stitch_disabled": true,
            "max_video_post_duration_sec": 600,
        }),
        &log,
    )
}

fn utf16(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The request as TikTok validates it; `Err` is `(http, code, message)`.
type InitFields = (Option<String>, String, Vec<String>, String);

fn parse_init(body: &Value) -> Result<InitFields, (u16, &'static str, String)> {
    let bad = |m: &str| (400, "invalid_params", m.to_owned());
    let post_info = body
        .get("post_info")
        .filter(|v| v.is_object())
        .ok_or_else(|| bad("The request post info is empty or incorrect"))?;
    let source = body
        .get("source_info")
        .filter(|v| v.is_object())
        .ok_or_else(|| bad("The request source info is empty or incorrect"))?;
    if body.get("media_type").and_then(Value::as_str) != Some("PHOTO") {
        return Err(bad("media_type must be PHOTO for this endpoint"));
    }
    if !matches!(
        body.get("post_mode").and_then(Value::as_str),
        Some("DIRECT_POST" | "MEDIA_UPLOAD")
    ) {
        return Err(bad("post_mode must be DIRECT_POST or MEDIA_UPLOAD"));
    }
    if source.get("source").and_then(Value::as_str) != Some("PULL_FROM_URL") {
        return Err(bad("source must be PULL_FROM_URL for photos"));
    }
    let images: Vec<String> = source
        .get("photo_images")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if images.is_empty() || images.len() > 35 {
        return Err(bad("photo_images must hold 1 to 35 URLs"));
    }
    let cover = source.get("photo_cover_index").and_then(Value::as_u64);
    if cover.is_none_or(|c| usize::try_from(c).unwrap_or(usize::MAX) >= images.len()) {
        return Err(bad("photo_cover_index is missing or out of range"));
    }
    let title = post_info
        .get("title")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if title.as_deref().is_some_and(|t| utf16(t) > 90) {
        return Err(bad("title is too long"));
    }
    let description = post_info
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if utf16(&description) > 4000 {
        return Err(bad("description is too long"));
    }
    for flag in [
        "disable_comment",
        "auto_add_music",
        "brand_content_toggle",
        "brand_organic_toggle",
    ] {
        if post_info.get(flag).is_some_and(|v| !v.is_boolean()) {
            return Err(bad("post info toggles must be booleans"));
        }
    }
    let privacy = post_info
        .get("privacy_level")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !PRIVACY_LEVELS.contains(&privacy.as_str()) {
        return Err((
            403,
            "privacy_level_option_mismatch",
            "privacy_level is missing or not one of the creator's options".into(),
        ));
    }
    let branded = post_info
        .get("brand_content_toggle")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if branded && privacy == "SELF_ONLY" {
        return Err(bad(
            "branded content cannot be posted with SELF_ONLY visibility",
        ));
    }
    if body.get("is_aigc").is_some_and(|v| !v.is_boolean()) {
        return Err(bad("is_aigc must be a boolean"));
    }
    Ok((title, description, images, privacy))
}

async fn init(AxumState(shared): Ctx, headers: HeaderMap, body: Bytes) -> Response {
    let caller = match prelude(&shared, Endpoint::TiktokInit, &headers, Some(6)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let parsed = parse_init(&body);
    let (title, description, images, privacy) = match parsed {
        Ok(p) => p,
        Err((status, code, message)) => {
            let log = shared.lock().log_id();
            return tiktok_error(status, code, &message, &log);
        }
    };
    // Account-level checks.
    {
        let mut state = shared.lock();
        let creator = state
            .tiktok_accounts
            .get(&caller.open_id)
            .map(|a| a.creator.clone())
            .unwrap_or_default();
        let allowed = if creator.private_account {
            privacy != "PUBLIC_TO_EVERYONE"
        } else {
            privacy != "FOLLOWER_OF_CREATOR"
        };
        let refusal = if !allowed {
            Some((
                403,
                "privacy_level_option_mismatch",
                "privacy_level is not one of the creator's options",
            ))
        } else if state.config.tiktok_unaudited && !creator.private_account {
            Some((
                403,
                "unaudited_client_can_only_post_to_private_accounts",
                "Unaudited clients can only post to private accounts",
            ))
        } else if !state.config.tiktok_verified_prefixes.is_empty()
            && !images.iter().all(|u| {
                state
                    .config
                    .tiktok_verified_prefixes
                    .iter()
                    .any(|p| u.starts_with(p))
            })
        {
            Some((
                403,
                "url_ownership_unverified",
                "Please review our URL ownership verification rules",
            ))
        } else if state.posts_last_day(Network::Tiktok, &caller.open_id)
            >= state.config.tiktok_daily_post_cap as usize
        {
            Some((
                403,
                "spam_risk_too_many_posts",
                "The user has reached the daily post limit",
            ))
        } else {
            None
        };
        if let Some((status, code, message)) = refusal {
            let log = state.log_id();
            return tiktok_error(status, code, message, &log);
        }
    }
    let (pulled_tx, pulled) = tokio::sync::watch::channel(false);
    let (response, publish_id) = {
        let mut state = shared.lock();
        let now = state.now();
        let extra = match caller.fault {
            Some(Fault::SlowProcessing { extra_polls }) => extra_polls,
            _ => 0,
        };
        let verdict =
            matches!(caller.fault, Some(Fault::ProcessingFails)).then_some(Err("internal"));
        let n = state.next();
        let publish_id = format!("p_pub_url~v2.{}", 123_456_789 + n);
        let progression = Progression::new(now, &state.config, extra);
        state.publishes.insert(
            publish_id.clone(),
            TiktokPublish {
                open_id: caller.open_id.clone(),
                title,
                description,
                image_urls: images.clone(),
                privacy_level: privacy,
                verdict,
                pulled,
                progression,
                post_id: None,
                bytes: 0,
            },
        );
        let log = state.log_id();
        (
            tiktok_ok(&json!({ "publish_id": publish_id }), &log),
            publish_id,
        )
    };
    // TikTok pulls the photos after answering; the verdict shows up on status fetch.
    let puller = shared.clone();
    tokio::spawn(async move {
        let fetched =
            futures_util::future::join_all(images.iter().map(|u| puller.fetcher.fetch(u))).await;
        let verdict = fetched
            .iter()
            .map(tiktok_verdict)
            .find(Result::is_err)
            .unwrap_or(Ok(()));
        let bytes: u64 = fetched
            .iter()
            .map(|f| match f {
                crate::images::Fetched::Image(facts) => facts.bytes as u64,
                _ => 0,
            })
            .sum();
        if let Some(publish) = puller.lock().publishes.get_mut(&publish_id) {
            publish.verdict.get_or_insert(verdict);
            publish.bytes = bytes;
        }
        pulled_tx.send_replace(true);
    });
    finish(&shared, caller.fault.as_ref(), response).await
}

async fn status(AxumState(shared): Ctx, headers: HeaderMap, body: Bytes) -> Response {
    let caller = match prelude(&shared, Endpoint::TiktokStatus, &headers, Some(30)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let publish_id = body
        .get("publish_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    wait_for_pulls(&shared, |id, _| id == publish_id).await;
    let mut state = shared.lock();
    let now = state.now();
    let log = state.log_id();
    let Some(publish) = state.publishes.get_mut(&publish_id) else {
        return tiktok_error(
            400,
            "invalid_publish_id",
            "The publish_id does not exist",
            &log,
        );
    };
    if publish.open_id != caller.open_id {
        return tiktok_error(
            400,
            "token_not_authorized_for_specified_publish_id",
            "The token cannot read this publish_id",
            &log,
        );
    }
    let done = publish.progression.poll(now);
    if !done {
        let partial = publish.bytes / 2;
        return tiktok_ok(
            &json!({ "status": "PROCESSING_DOWNLOAD", "downloaded_bytes": partial }),
            &log,
        );
    }
    let Some(verdict) = publish.verdict else {
        return tiktok_ok(
            &json!({ "status": "PROCESSING_DOWNLOAD", "downloaded_bytes": 0 }),
            &log,
        );
    };
    if let Err(reason) = verdict {
        return tiktok_ok(
            &json!({ "status": "FAILED", "fail_reason": reason, "downloaded_bytes": publish.bytes }),
            &log,
        );
    }
    let bytes = publish.bytes;
    state.complete_tiktok(&publish_id);
    let Some(publish) = state.publishes.get(&publish_id) else {
        return tiktok_error(500, "internal_error", "publish vanished", &log);
    };
    // Public ids are raw 19-digit JSON numbers, only for public posts.
    let ids: Vec<Value> = match (&publish.post_id, publish.privacy_level.as_str()) {
        (Some(id), "PUBLIC_TO_EVERYONE") => id
            .parse::<u64>()
            .map(|n| vec![json!(n)])
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    tiktok_ok(
        &json!({ "status": "PUBLISH_COMPLETE", "publicaly_available_post_id": ids, "downloaded_bytes": bytes }),
        &log,
    )
}

async fn video_list(AxumState(shared): Ctx, headers: HeaderMap) -> Response {
    let caller = match prelude(&shared, Endpoint::TiktokVideoList, &headers, None).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let open_id = caller.open_id.clone();
    wait_for_pulls(&shared, |_, p| p.open_id == open_id).await;
    let mut state = shared.lock();
    state.settle_tiktok();
    let videos: Vec<Value> = state
        .posts
        .iter()
        .rev()
        .filter(|p| p.network == Network::Tiktok && p.account_id == caller.open_id)
        .take(20)
        .map(|p| {
            json!({
                "id": p.id.parse::<u64>().map(Value::from).unwrap_or_else(|_| Value::from(p.id.clone())),
                "create_time": p.created_at.timestamp(),
                "title": p.title.clone().unwrap_or_default(),
                "video_description": p.caption,
                "share_url": p.permalink,
            })
        })
        .collect();
    let log = state.log_id();
    tiktok_ok(
        &json!({ "videos": videos, "cursor": 0, "has_more": false }),
        &log,
    )
}

async fn user_info(AxumState(shared): Ctx, headers: HeaderMap) -> Response {
    let caller = match prelude(&shared, Endpoint::TiktokUserInfo, &headers, None).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut state = shared.lock();
    let creator = state
        .tiktok_accounts
        .get(&caller.open_id)
        .map(|a| a.creator.clone())
        .unwrap_or_default();
    let log = state.log_id();
    tiktok_ok(
        &json!({ "user": {
            "open_id": caller.open_id,
            "union_id": format!("union-{}", caller.open_id),
            "avatar_url": format!("https://p16-sign.tiktokcdn-us.com/sim/{}.jpeg", creator.username),
            "display_name": creator.username,
        }}),
        &log,
    )
}
