//! The HTTP gateway: accounts, dispatch, files and REST history (§8 of the protocol).

use bytes::Bytes;
use koi_proto::Message;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{ClientError, Result};
use crate::trust::Trust;

/// A logged-in session, from `POST /v1/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The bearer token for HTTP calls and `auth`.
    pub token: String,
    /// The username.
    pub user: String,
    /// When the token expires, ms since the Unix epoch.
    #[serde(default)]
    pub expires_at: u64,
}

/// One login session of the user, from `GET /v1/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginSession {
    pub id: String,
    /// ms since the Unix epoch.
    pub created_at: u64,
    /// ms since the Unix epoch (updated about once a minute).
    pub last_used_at: u64,
    pub user_agent: String,
    /// Whether it is the session of the token making the call.
    pub current: bool,
}

#[derive(Deserialize)]
struct SessionsBody {
    sessions: Vec<LoginSession>,
}

/// A node to connect to, from `GET /v1/dispatch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// The node's id.
    #[serde(default)]
    pub id: String,
    /// Its WebSocket URL, e.g. `ws://127.0.0.1:7780/ws`.
    #[serde(default)]
    pub ws: String,
    /// Its TCP address, e.g. `127.0.0.1:7781`.
    #[serde(default)]
    pub tcp: String,
    /// Whether its TCP listener speaks TLS (§15).
    #[serde(default)]
    pub tls: bool,
}

/// A stored file, from `POST /v1/files`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// The id to put in a message's `file.file_id` and to download with.
    pub file_id: String,
    /// The name given at upload.
    #[serde(default)]
    pub name: String,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
    /// The content type given at upload.
    #[serde(default)]
    pub mime: String,
    /// Hex SHA-256 of the bytes.
    #[serde(default)]
    pub sha256: String,
}

impl FileInfo {
    /// The reference to attach to a `send` (`file` field).
    pub fn to_file(&self) -> koi_proto::File {
        koi_proto::File {
            file_id: self.file_id.clone(),
            name: self.name.clone(),
            size: self.size,
            mime: self.mime.clone(),
        }
    }
}

/// A downloaded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// The body.
    pub bytes: Bytes,
    /// Its `Content-Type`, when the server sent one.
    pub mime: Option<String>,
}

/// A client of one Koi HTTP listener, e.g. `http://127.0.0.1:7780`.
///
/// Cheap to clone. Calls that need a user carry the token set with
/// [`Http::with_token`] / [`Http::set_token`]; without one they go out
/// unauthenticated (and the server answers 401).
#[derive(Debug, Clone)]
pub struct Http {
    base: Url,
    client: reqwest::Client,
    token: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct UserBody {
    user: String,
}

#[derive(Deserialize)]
struct NodesBody {
    #[serde(default)]
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
struct MsgsBody {
    #[serde(default)]
    msgs: Vec<Message>,
}

impl Http {
    /// A client of the listener at `base` (scheme, host and port; a path is kept
    /// as a prefix). Proxies from the environment are not used. An `https://`
    /// base is checked against the system's roots.
    pub fn new(base: &str) -> Result<Self> {
        Self::with_trust(base, &Trust::system())
    }

    /// [`Http::new`], checking an `https://` node's certificate against `trust`.
    pub fn with_trust(base: &str, trust: &Trust) -> Result<Self> {
        let mut base =
            Url::parse(base).map_err(|e| ClientError::Address(format!("{base}: {e}")))?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let client = trust.http_client()?;
        Ok(Http {
            base,
            client,
            token: None,
        })
    }

    /// This client, sending `token` as its bearer token.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Sets the bearer token.
    pub fn set_token(&mut self, token: impl Into<String>) {
        self.token = Some(token.into());
    }

    /// The bearer token, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The URL of `path` (e.g. `v1/login`) under the base.
    pub fn url(&self, path: &str) -> Result<Url> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| ClientError::Address(format!("{path}: {e}")))
    }

    /// A request to `url` carrying the token, for calls this type has no method for.
    pub fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let req = self.client.request(method, url);
        match &self.token {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    /// `POST /v1/register`: creates the account, returns the username.
    pub async fn register(&self, username: &str, password: &str) -> Result<String> {
        let body = serde_json::json!({"username": username, "password": password});
        let reply: UserBody = self
            .call(
                self.request(Method::POST, self.url("v1/register")?)
                    .json(&body),
            )
            .await?;
        Ok(reply.user)
    }

    /// `POST /v1/login`.
    pub async fn login(&self, username: &str, password: &str) -> Result<Session> {
        let body = serde_json::json!({"username": username, "password": password});
        self.call(self.client.post(self.url("v1/login")?).json(&body))
            .await
    }

    /// `POST /v1/logout`: revokes this token, or with `all` every token of the user.
    pub async fn logout(&self, all: bool) -> Result<()> {
        let req = self
            .request(Method::POST, self.url("v1/logout")?)
            .json(&serde_json::json!({ "all": all }));
        checked(req.send().await?).await?;
        Ok(())
    }

    /// `GET /v1/sessions`: the user's live login sessions.
    pub async fn sessions(&self) -> Result<Vec<LoginSession>> {
        let reply: SessionsBody = self
            .call(self.request(Method::GET, self.url("v1/sessions")?))
            .await?;
        Ok(reply.sessions)
    }

    /// `DELETE /v1/sessions/{id}`: ends one of the user's sessions.
    pub async fn end_session(&self, id: &str) -> Result<()> {
        let mut url = self.url("v1/sessions")?;
        push_segment(&mut url, id)?;
        checked(self.request(Method::DELETE, url).send().await?).await?;
        Ok(())
    }

    /// `GET /v1/dispatch`: the nodes to connect to, best first.
    pub async fn dispatch(&self) -> Result<Vec<Node>> {
        let reply: NodesBody = self
            .call(self.request(Method::GET, self.url("v1/dispatch")?))
            .await?;
        Ok(reply.nodes)
    }

    /// `POST /v1/files?name=N` with `bytes` as the body and `mime` as its type.
    pub async fn upload_file(
        &self,
        name: &str,
        mime: &str,
        bytes: impl Into<Bytes>,
    ) -> Result<FileInfo> {
        let mut url = self.url("v1/files")?;
        url.query_pairs_mut().append_pair("name", name);
        let req = self
            .request(Method::POST, url)
            .header(reqwest::header::CONTENT_TYPE, mime)
            .body(bytes.into());
        self.call(req).await
    }

    /// `GET /v1/files/{id}`.
    pub async fn download_file(&self, file_id: &str) -> Result<Download> {
        let mut url = self.url("v1/files")?;
        push_segment(&mut url, file_id)?;
        let resp = checked(self.request(Method::GET, url).send().await?).await?;
        let mime = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Download {
            bytes: resp.bytes().await?,
            mime,
        })
    }

    /// `GET /v1/conversations/{conv}/messages?after=&before=&limit=`: the same
    /// range rules as the `history` request.
    pub async fn history_rest(
        &self,
        conv: &str,
        after: Option<u64>,
        before: Option<u64>,
        limit: Option<u32>,
    ) -> Result<Vec<Message>> {
        let mut url = self.url("v1/conversations")?;
        push_segment(&mut url, conv)?;
        push_segment(&mut url, "messages")?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(after) = after {
                q.append_pair("after", &after.to_string());
            }
            if let Some(before) = before {
                q.append_pair("before", &before.to_string());
            }
            if let Some(limit) = limit {
                q.append_pair("limit", &limit.to_string());
            }
        }
        let reply: MsgsBody = self.call(self.request(Method::GET, url)).await?;
        Ok(reply.msgs)
    }

    /// Sends `req` and reads a JSON success body, or turns the error body into
    /// [`ClientError::Http`].
    pub async fn call<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T> {
        let resp = checked(req.send().await?).await?;
        let bytes = resp.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }
}

fn push_segment(url: &mut Url, segment: &str) -> Result<()> {
    let text = url.to_string();
    url.path_segments_mut()
        .map_err(|()| ClientError::Address(text))?
        .pop_if_empty()
        .push(segment);
    Ok(())
}

/// Passes a success response through; reads a failure's body into the error.
async fn checked(resp: Response) -> Result<Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = resp.bytes().await.unwrap_or_default();
    Err(http_error(status, &body))
}

fn http_error(status: StatusCode, body: &[u8]) -> ClientError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => ClientError::Http {
            status: status.as_u16(),
            code: Some(e.error.code),
            message: e.error.message,
        },
        Err(_) => ClientError::Http {
            status: status.as_u16(),
            code: None,
            message: String::from_utf8_lossy(body).into_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_the_base_path_and_escape_segments() {
        let http = Http::new("http://127.0.0.1:7780").unwrap();
        assert_eq!(
            http.url("/v1/login").unwrap().as_str(),
            "http://127.0.0.1:7780/v1/login"
        );
        let prefixed = Http::new("http://h:1/koi").unwrap();
        assert_eq!(
            prefixed.url("v1/dispatch").unwrap().as_str(),
            "http://h:1/koi/v1/dispatch"
        );
        let mut url = http.url("v1/conversations").unwrap();
        push_segment(&mut url, "d:a/b:c").unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:7780/v1/conversations/d:a%2Fb:c"
        );
    }

    #[test]
    fn error_bodies_become_codes() {
        let e = http_error(
            StatusCode::CONFLICT,
            br#"{"error":{"code":"conflict","message":"taken"}}"#,
        );
        assert_eq!((e.status(), e.code()), (Some(409), Some("conflict")));
        let e = http_error(StatusCode::BAD_GATEWAY, b"oops");
        assert_eq!((e.status(), e.code()), (Some(502), None));
        assert!(e.to_string().contains("oops"));
    }

    #[test]
    fn dispatch_body_parses() {
        let body: NodesBody = serde_json::from_str(
            r#"{"nodes":[{"id":"n1","ws":"ws://127.0.0.1:7780/ws","tcp":"127.0.0.1:7781"}]}"#,
        )
        .unwrap();
        assert_eq!(body.nodes[0].tcp, "127.0.0.1:7781");
    }
}
