//! Live updates for the page as server-sent events: `progress` for each of
//! posd's `Progress` signals (stage and details: the PIN as a count, never
//! a digit), `state` (the whole [`crate::api::snapshot`]) after any
//! `PropertiesChanged`. One task follows the bus; every open page gets a
//! copy, and the current state first when it connects.

use crate::App;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use serde_json::{Value as JsonValue, json};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// What goes to the pages: the SSE event name and its JSON.
pub type Update = (&'static str, JsonValue);

/// Follows posd's signals until the bus connection ends (then again after a second).
pub async fn follow(app: Arc<App>) {
    loop {
        match app.client.signals().await {
            Ok(stream) => {
                let mut stream = std::pin::pin!(stream);
                while let Some(sig) = stream.next().await {
                    match sig.member.as_str() {
                        "Progress" => {
                            let stage = sig.args.get(0).cloned().unwrap_or(JsonValue::Null);
                            let details = sig.args.get(1).cloned().unwrap_or(JsonValue::Null);
                            let _ = app.updates.send(("progress", json!({"stage": stage, "details": details})));
                        }
                        // No page open: nobody to read it (a page that opens gets a fresh one first).
                        "PropertiesChanged" if app.updates.receiver_count() > 0 => {
                            let _ = app.updates.send(("state", crate::api::snapshot(&app).await));
                        }
                        _ => {}
                    }
                }
            }
            Err(e) => tracing::warn!("cannot follow posd's signals: {e:?}"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn event((name, data): Update) -> Result<Event, Infallible> {
    Ok(Event::default().event(name).data(data.to_string()))
}

pub async fn sse(State(app): State<Arc<App>>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = app.updates.subscribe();
    let first = ("state", crate::api::snapshot(&app).await);
    let later = futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(u) => return Some((u, rx)),
                // A slow page missed some: the next state event brings it up to date.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(futures_util::stream::once(async move { first }).chain(later).map(event)).keep_alive(KeepAlive::default())
}
