//! The web chat (`/`) and the monitor (`/admin`), with their scripts and style
//! (`/static/...`), embedded in the binary.
//!
//! Every response here carries the browser protections of issue #19 (item 15):
//! a Content-Security-Policy (scripts and styles from this origin only; the
//! chat connects to this origin and to the WebSocket URLs dispatch hands out,
//! and shows images and media from `blob:`/`data:` URLs it makes itself), no
//! framing by other sites (`X-Frame-Options: DENY`, `frame-ancestors 'none'`),
//! no type sniffing and no referrer.

use axum::extract::Path;
use axum::http::header::{self, HeaderName};
use axum::response::{Html, IntoResponse, Response};

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JSON: &str = "application/json";

/// The policy of the chat page: it talks to this node's API and to any
/// node's WebSocket (`ws:`/`wss:`, from dispatch).
const CHAT_CSP: &str = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; \
    connect-src 'self' ws: wss:; script-src 'self'; style-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The monitor only polls this node's API.
const MONITOR_CSP: &str = "default-src 'self'; img-src 'self' data:; connect-src 'self'; \
    script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// Scripts and styles are not documents; nothing loads from them.
const ASSET_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

fn protections(csp: &'static str) -> [(HeaderName, &'static str); 4] {
    [
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ]
}

pub(super) async fn chat() -> Response {
    (
        protections(CHAT_CSP),
        Html(include_str!("../../../../web/index.html")),
    )
        .into_response()
}

pub(super) async fn monitor() -> Response {
    (
        protections(MONITOR_CSP),
        Html(include_str!("../../../../web/admin.html")),
    )
        .into_response()
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
        "js/files.js" => (JS, include_str!("../../../../web/js/files.js")),
        "js/admin.js" => (JS, include_str!("../../../../web/js/admin.js")),
        "js/account.js" => (JS, include_str!("../../../../web/js/account.js")),
        // The web chat, round two (issue #23): names, links, the image viewer, uploads
        // with progress, the day/unread markers, and the emoji data of the picker.
        "js/names.js" => (JS, include_str!("../../../../web/js/names.js")),
        "js/links.js" => (JS, include_str!("../../../../web/js/links.js")),
        "js/viewer.js" => (JS, include_str!("../../../../web/js/viewer.js")),
        "js/upload.js" => (JS, include_str!("../../../../web/js/upload.js")),
        "js/timeline.js" => (JS, include_str!("../../../../web/js/timeline.js")),
        // The web chat, round three (issues #22, #23): elements, §11 events, @mentions,
        // message search, §13 avatars and the profile panel.
        "js/dom.js" => (JS, include_str!("../../../../web/js/dom.js")),
        "js/events.js" => (JS, include_str!("../../../../web/js/events.js")),
        "js/bubble.js" => (JS, include_str!("../../../../web/js/bubble.js")),
        "js/mentions.js" => (JS, include_str!("../../../../web/js/mentions.js")),
        "js/search.js" => (JS, include_str!("../../../../web/js/search.js")),
        "js/avatar.js" => (JS, include_str!("../../../../web/js/avatar.js")),
        "js/profile.js" => (JS, include_str!("../../../../web/js/profile.js")),
        "vendor/emojibase/compact.json" => (
            JSON,
            include_str!("../../../../web/vendor/emojibase/compact.json"),
        ),
        "vendor/emojibase/messages.json" => (
            JSON,
            include_str!("../../../../web/vendor/emojibase/messages.json"),
        ),
        _ => return super::health::not_found().await,
    };
    (
        protections(ASSET_CSP),
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
