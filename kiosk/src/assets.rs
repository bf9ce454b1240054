//! The page itself: plain HTML, CSS and JavaScript compiled into the
//! binary (no build step, nothing to install beside it, and the screen
//! cannot load a file that is not the one the kiosk was built with).

use axum::http::header;
use axum::response::IntoResponse;

pub async fn index() -> impl IntoResponse {
    page("text/html; charset=utf-8", include_str!("../assets/index.html"))
}

pub async fn script() -> impl IntoResponse {
    page("text/javascript; charset=utf-8", include_str!("../assets/app.js"))
}

pub async fn texts() -> impl IntoResponse {
    page("text/javascript; charset=utf-8", include_str!("../assets/texts.js"))
}

pub async fn style() -> impl IntoResponse {
    page("text/css; charset=utf-8", include_str!("../assets/app.css"))
}

fn page(kind: &'static str, body: &'static str) -> impl IntoResponse {
    // A kiosk's page must never run stale code after an update; it is local, so no cache costs nothing.
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-store"), (header::X_CONTENT_TYPE_OPTIONS, "nosniff")], body)
}
