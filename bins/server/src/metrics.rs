//! `/metrics` in the Prometheus text format: requests by route, method and status with their durations,
//! and the publishing figures the dispatcher and the token refresher report through [`Metrics`]'s hooks
//! (publish outcomes by platform and class, token refreshes: [`Metrics`] is the service's
//! [`Observer`]), and the publishing queue's depth by state, read from the database at each scrape so
//! that every process reports the one shared queue.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use natronfx_service::Observer;
use natronfx_service::store::QueueDepth;
use natronfx_service::workflow::Platform;

use crate::state::AppState;

/// Counters and gauges, shared by every request. Cheap to update; rendered on demand.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    durations: Mutex<BTreeMap<(String, String), (f64, u64)>>,
    publishes: Mutex<BTreeMap<(String, String), u64>>,
    token_refreshes: Mutex<BTreeMap<(String, String), u64>>,
    queue_depth: Mutex<Option<QueueDepth>>,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    let mut map = map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *map.entry(key).or_default() += 1;
}

/// A label value with `\`, `"` and newlines escaped as the text format requires.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Counts one finished request.
    pub fn record_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        bump(
            &self.requests,
            (route.to_owned(), method.to_owned(), status),
        );
        let mut d = self
            .durations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = d.entry((route.to_owned(), method.to_owned())).or_default();
        entry.0 += seconds;
        entry.1 += 1;
    }

    /// One worker pass over a target ended, with its outcome (`published`, `failed`, `retrying`,
    /// `waiting`, `needs_attention`, `refused`).
    pub fn record_publish(&self, platform: &str, outcome: &str) {
        bump(&self.publishes, (platform.to_owned(), outcome.to_owned()));
    }

    /// The queue as last read: targets by state.
    pub fn set_queue_depth(&self, depth: QueueDepth) {
        *self
            .queue_depth
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(depth);
    }

    /// One token refresh ended (`ok` or `failed`).
    pub fn record_token_refresh(&self, platform: &str, outcome: &str) {
        bump(
            &self.token_refreshes,
            (platform.to_owned(), outcome.to_owned()),
        );
    }

    /// Everything, in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let lock = |m: &Mutex<BTreeMap<(String, String), u64>>| {
            m.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
        };
        let mut out = String::new();
        out.push_str(
            "# HELP natronfx_http_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE natronfx_http_requests_total counter\n");
        for ((route, method, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "natronfx_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                label(route),
                label(method)
            );
        }
        out.push_str(
            "# HELP natronfx_http_request_duration_seconds Time spent answering, by route and method.\n",
        );
        out.push_str("# TYPE natronfx_http_request_duration_seconds summary\n");
        for ((route, method), (sum, count)) in self
            .durations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let labels = format!("route=\"{}\",method=\"{}\"", label(route), label(method));
            let _ = writeln!(
                out,
                "natronfx_http_request_duration_seconds_sum{{{labels}}} {sum}"
            );
            let _ = writeln!(
                out,
                "natronfx_http_request_duration_seconds_count{{{labels}}} {count}"
            );
        }
        out.push_str("# HELP natronfx_publish_outcomes_total Publish attempts by platform and outcome class.\n");
        out.push_str("# TYPE natronfx_publish_outcomes_total counter\n");
        for ((platform, outcome), n) in lock(&self.publishes) {
            let _ = writeln!(
                out,
                "natronfx_publish_outcomes_total{{platform=\"{}\",outcome=\"{}\"}} {n}",
                label(&platform),
                label(&outcome)
            );
        }
        out.push_str(
            "# HELP natronfx_publish_queue_depth Publishing targets by state: due and not yet claimed, \
             scheduled later, in flight, missed, waiting for a person.\n",
        );
        out.push_str("# TYPE natronfx_publish_queue_depth gauge\n");
        let depth = *self
            .queue_depth
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(d) = depth {
            for (state, n) in [
                ("due", d.due),
                ("waiting", d.waiting),
                ("in_flight", d.in_flight),
                ("missed", d.missed),
                ("needs_attention", d.needs_attention),
            ] {
                let _ = writeln!(out, "natronfx_publish_queue_depth{{state=\"{state}\"}} {n}");
            }
        }
        out.push_str("# HELP natronfx_token_refreshes_total Access token refreshes by platform and outcome.\n");
        out.push_str("# TYPE natronfx_token_refreshes_total counter\n");
        for ((platform, outcome), n) in lock(&self.token_refreshes) {
            let _ = writeln!(
                out,
                "natronfx_token_refreshes_total{{platform=\"{}\",outcome=\"{}\"}} {n}",
                label(&platform),
                label(&outcome)
            );
        }
        out
    }
}

/// Counts every request by its route template (never the raw path, which would let a scanner create
/// unbounded label values).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    state.metrics.record_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

impl Observer for Metrics {
    fn publish_attempt_ended(&self, platform: Platform, outcome: &'static str) {
        self.record_publish(&platform.to_string(), outcome);
    }

    fn token_refresh_ended(&self, platform: Platform, outcome: &'static str) {
        self.record_token_refresh(&platform.to_string(), outcome);
    }
}

/// `GET /metrics`. The queue is read first; when the database cannot answer, the other families are
/// still served and the queue gauge is left out rather than shown stale.
pub async fn serve(State(state): State<AppState>) -> Response {
    match state.service.queue_depth().await {
        Ok(depth) => state.metrics.set_queue_depth(depth),
        Err(e) => {
            tracing::warn!(code = e.code(), error = %e, "metrics: could not read the queue depth");
            *state
                .metrics
                .queue_depth
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_has_every_family_and_escapes_labels() {
        let m = Metrics::default();
        m.record_request("GET", "/api/v1/posts/{id}", 200, 0.5);
        m.record_request("GET", "/api/v1/posts/{id}", 200, 0.25);
        m.record_publish("tiktok", "published");
        m.record_token_refresh("instagram", "ok");
        m.set_queue_depth(QueueDepth {
            due: 3,
            ..QueueDepth::default()
        });
        m.record_request("GET", "we\"ird", 404, 0.0);
        let text = m.render();
        assert!(text.contains(
            "natronfx_http_requests_total{route=\"/api/v1/posts/{id}\",method=\"GET\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "natronfx_http_request_duration_seconds_sum{route=\"/api/v1/posts/{id}\",method=\"GET\"} 0.75"
        ));
        assert!(text.contains(
            "natronfx_publish_outcomes_total{platform=\"tiktok\",outcome=\"published\"} 1"
        ));
        assert!(text.contains("natronfx_publish_queue_depth{state=\"due\"} 3"));
        assert!(text.contains("natronfx_publish_queue_depth{state=\"missed\"} 0"));
        assert!(
            text.contains(
                "natronfx_token_refreshes_total{platform=\"instagram\",outcome=\"ok\"} 1"
            )
        );
        assert!(text.contains("route=\"we\\\"ird\""));
    }
}
