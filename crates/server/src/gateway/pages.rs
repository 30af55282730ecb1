//! The web chat (`/`) and the monitor (`/admin`), with their scripts and style
//! (`/static/...`), embedded in the binary.

use axum::extract::Path;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

pub(super) async fn chat() -> Html<&'static str> {
    Html(include_str!("../../../../web/index.html"))
}

pub(super) async fn monitor() -> Html<&'static str> {
    Html(include_str!("../../../../web/admin.html"))
}

/// `GET /static/{*file}`: one of the known assets, else 404.
pub(super) async fn asset(Path(file): Path<String>) -> Response {
    let (mime, body) = match file.as_str() {
        "style.css" => (CSS, include_str!("../../../../web/style.css")),
        "js/app.js" => (JS, include_str!("../../../../web/js/app.js")),
        "js/api.js" => (JS, include_str!("../../../../web/js/api.js")),
        "js/socket.js" => (JS, include_str!("../../../../web/js/socket.js")),
        "js/chat.js" => (JS, include_str!("../../../../web/js/chat.js")),
        "js/emoji.js" => (JS, include_str!("../../../../web/js/emoji.js")),
        "js/admin.js" => (JS, include_str!("../../../../web/js/admin.js")),
        "js/account.js" => (JS, include_str!("../../../../web/js/account.js")),
        _ => return super::health::not_found().await,
    };
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}
