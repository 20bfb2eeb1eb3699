//! State shared by all handlers: the world behind a lock, the image fetcher and the stop signal.

use std::sync::{Mutex, MutexGuard};

use axum::response::Response;
use tokio::sync::watch;

use crate::config::SimConfig;
use crate::images::Fetcher;
use crate::respond;
use crate::state::State;

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    pub fetcher: Fetcher,
    pub stop: watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn new(config: SimConfig) -> Self {
        let fetcher = Fetcher::new(config.fetch_timeout, config.allow_http_loopback);
        let (stop, _) = watch::channel(false);
        Self {
            state: Mutex::new(State::new(config)),
            fetcher,
            stop,
        }
    }

    /// The world; a poisoned lock is still usable because every update is applied whole.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hold the request until the client gives up, the hang ends, or the simulator stops.
    pub(crate) async fn hang(&self) -> Response {
        let hang_for = self.lock().config.hang_for;
        let mut stop = self.stop.subscribe();
        tokio::select! {
            () = tokio::time::sleep(hang_for) => {}
            _ = stop.wait_for(|stopped| *stopped) => {}
        }
        respond::gateway_timeout()
    }
}
