//! The web chat (`/`) and the monitor (`/admin`), embedded in the binary.

use axum::response::Html;

pub(super) async fn chat() -> Html<&'static str> {
    Html(include_str!("../../../../web/index.html"))
}

pub(super) async fn monitor() -> Html<&'static str> {
    Html(include_str!("../../../../web/admin.html"))
}
