//! `pos-kiosk`: the merchant's cashier app on the terminal's own screen. A
//! local web app (axum on loopback) over posd's public D-Bus API — it holds
//! no payment logic: every button is one D-Bus call, every answer and error
//! is posd's, shown in the merchant's words.
//!
//! - [`config`]: `kiosk.toml` (listen address, operator PIN, language);
//! - [`guard`]: the operator PIN in front of void, refund, settle, unbind;
//! - [`access`]: loopback only, no cross-site calls;
//! - [`api`]: the HTTP routes, one D-Bus call each, errors as named errors;
//! - [`events`]: `Progress` and `PropertiesChanged` as server-sent events;
//! - [`assets`]: the page (HTML/CSS/JS, Chinese and English) built in.

#![forbid(unsafe_code)]

pub mod access;
pub mod api;
pub mod assets;
pub mod config;
pub mod events;
pub mod guard;

use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;

/// What every route shares.
#[derive(Debug)]
pub struct App {
    pub client: smartpos_client::Client,
    pub guard: guard::Guard,
    pub language: String,
    pub updates: tokio::sync::broadcast::Sender<events::Update>,
}

impl App {
    pub fn new(client: smartpos_client::Client, cfg: config::Config) -> Arc<Self> {
        let (updates, _) = tokio::sync::broadcast::channel(64);
        Arc::new(Self { client, guard: guard::Guard::new(cfg.operator_pin), language: cfg.language, updates })
    }
}

/// The page and its API.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/app.js", get(assets::script))
        .route("/texts.js", get(assets::texts))
        .route("/app.css", get(assets::style))
        .route("/api/state", get(api::state))
        .route("/api/events", get(events::sse))
        .route("/api/journal", get(api::journal))
        .route("/api/queue", get(api::queue))
        .route("/api/diagnose", get(api::diagnose))
        .route("/api/receipt/{stan}", get(api::receipt))
        .route("/api/sign-in", post(api::sign_in))
        .route("/api/bind", post(api::bind))
        .route("/api/sale", post(api::sale))
        .route("/api/cancel", post(api::cancel))
        .route("/api/flush", post(api::flush))
        .route("/api/print", post(api::print))
        .route("/api/void", post(api::void))
        .route("/api/refund", post(api::refund))
        .route("/api/settle", post(api::settle))
        .route("/api/unbind", post(api::unbind))
        .layer(axum::middleware::from_fn(access::local_only))
        .with_state(app)
}

/// Serves until the listener fails; follows posd's signals meanwhile.
pub async fn serve(listener: tokio::net::TcpListener, app: Arc<App>) -> std::io::Result<()> {
    tokio::spawn(events::follow(app.clone()));
    axum::serve(listener, router(app)).await
}
