//! Getting an authenticated connection: log in if needed, dispatch, try each
//! node best first.

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::connection::{ConnectOptions, Connection};
use crate::error::{ClientError, Result};
use crate::http::{Http, Node};
use crate::transport::Transport;

/// How a [`Client`](crate::Client) proves who it is.
#[derive(Clone)]
pub enum Credentials {
    /// Username and password: the client logs in, and logs in again when its
    /// token is refused (expired or revoked).
    Password {
        /// The username.
        username: String,
        /// The password.
        password: String,
    },
    /// A token from `POST /v1/login`; when it is refused the client gives up.
    Token(String),
}

impl Credentials {
    /// [`Credentials::Password`].
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials::Password {
            username: username.into(),
            password: password.into(),
        }
    }

    /// [`Credentials::Token`].
    pub fn token(token: impl Into<String>) -> Self {
        Credentials::Token(token.into())
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Password { username, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .finish_non_exhaustive(),
            Credentials::Token(_) => f.write_str("Token(..)"),
        }
    }
}

/// True for failures that retrying with the same credentials cannot fix.
pub(crate) fn is_fatal(e: &ClientError) -> bool {
    e.status() == Some(401) || e.code() == Some("unauthorized")
}

/// Opens connections for a client, keeping its current token.
#[derive(Debug)]
pub(crate) struct Dialer {
    http: Mutex<Http>,
    credentials: Credentials,
    transport: Transport,
    options: ConnectOptions,
}

impl Dialer {
    pub(crate) fn new(
        mut http: Http,
        credentials: Credentials,
        transport: Transport,
        options: ConnectOptions,
    ) -> Self {
        if let Credentials::Token(token) = &credentials {
            http.set_token(token.clone());
        }
        Dialer {
            http: Mutex::new(http),
            credentials,
            transport,
            options,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Http> {
        self.http.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The HTTP client with the current token.
    pub(crate) fn http(&self) -> Http {
        self.lock().clone()
    }

    /// Logs in with the password, if there is one; false with a token only.
    async fn login(&self) -> Result<bool> {
        let Credentials::Password { username, password } = &self.credentials else {
            return Ok(false);
        };
        let http = self.http();
        let session = http.login(username, password).await?;
        self.lock().set_token(session.token);
        Ok(true)
    }

    /// Dispatches and connects to the first node that accepts, logging in
    /// (again) once when the token is missing or refused.
    pub(crate) async fn dial(&self) -> Result<(Connection, Node)> {
        if self.http().token().is_none() {
            self.login().await?;
        }
        let mut relogged = false;
        loop {
            match self.try_nodes().await {
                Err(e) if is_fatal(&e) && !relogged => {
                    if !self.login().await? {
                        return Err(e);
                    }
                    relogged = true;
                }
                other => return other,
            }
        }
    }

    async fn try_nodes(&self) -> Result<(Connection, Node)> {
        let http = self.http();
        let token = http.token().unwrap_or_default().to_owned();
        let nodes = http.dispatch().await?;
        let mut last = ClientError::NoNode;
        for node in nodes {
            let addr = self.transport.dial_addr(&node);
            match Connection::open_with(&addr, self.transport, &token, &self.options).await {
                Ok(conn) => return Ok((conn, node)),
                Err(e) if is_fatal(&e) => return Err(e),
                Err(e) => {
                    tracing::debug!(node = %node.id, %addr, error = %e, "node refused");
                    last = e;
                }
            }
        }
        Err(last)
    }
}
