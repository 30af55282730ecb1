//! Password hashing with argon2id. Deliberately slow, so it runs on threads of
//! its own, never on the async workers — one per core, so at most one hash per
//! core at a time: each takes 19 MiB, and `register` needs no login, so
//! unbounded concurrency would let anyone grow the node's memory by gigabytes.
//!
//! A fixed set of threads, not tokio's blocking pool: the allocator keeps a
//! thread's freed 19 MiB, and every blocking thread that ever hashed kept its
//! own (400 registrations and logins left a node at 1.09 GiB of RSS). Each
//! hashing thread now allocates its 19 MiB once and reuses it for every hash.
//!
//! The queue is bounded and logins wait apart from (and before) new hashes;
//! see [`on_hasher`].

use std::collections::VecDeque;
use std::sync::{Condvar, LazyLock, Mutex};

use std::cell::RefCell;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use koi_core::{ErrorCode, KoiError};
use tokio::sync::oneshot;

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Hashes that may wait per hashing thread, for each kind of work. Beyond it a
/// request is refused at once (503 `unavailable`): a flood then costs the
/// node no memory and no waiting time for everyone else (issue #19, defect 7).
const WAITING_PER_HASHER: usize = 8;

/// Work for the hashing threads.
type Job = Box<dyn FnOnce() + Send>;

/// Which queue a hash waits in. Logins go first: a flood of registrations (or
/// new-password hashes) cannot delay a user logging in by more than the hash
/// already running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Login,
    NewHash,
}

impl Kind {
    /// The `kind` label of `koi_password_hashes_total`.
    fn label(self) -> &'static str {
        match self {
            Kind::Login => "login",
            Kind::NewHash => "new",
        }
    }
}

/// The waiting hashes, by kind, bounded.
struct Queue {
    jobs: Mutex<(VecDeque<Job>, VecDeque<Job>)>,
    ready: Condvar,
    bound: usize,
}

/// The hashing threads' queue; one thread per core takes from it.
static HASHERS: LazyLock<&'static Queue> = LazyLock::new(|| {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let queue: &'static Queue = Box::leak(Box::new(Queue {
        jobs: Mutex::new((VecDeque::new(), VecDeque::new())),
        ready: Condvar::new(),
        bound: threads * WAITING_PER_HASHER,
    }));
    for i in 0..threads {
        std::thread::Builder::new()
            .name(format!("koi-argon2-{i}"))
            .spawn(move || serve_hashes(queue))
            .expect("starting a hashing thread");
    }
    queue
});

fn serve_hashes(queue: &Queue) {
    loop {
        let job = {
            let Ok(mut jobs) = queue.jobs.lock() else {
                return;
            };
            loop {
                if let Some(job) = jobs.0.pop_front().or_else(|| jobs.1.pop_front()) {
                    break job;
                }
                jobs = match queue.ready.wait(jobs) {
                    Ok(jobs) => jobs,
                    Err(_) => return,
                };
            }
        };
        job();
    }
}

fn busy() -> KoiError {
    KoiError::new(
        ErrorCode::Unavailable,
        "too many password checks in progress; try again in a moment",
    )
}

/// Runs `work` on a hashing thread, or refuses at once when its queue is full.
async fn on_hasher<T: Send + 'static>(
    kind: Kind,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, KoiError> {
    let queue = *HASHERS;
    let (reply, result) = oneshot::channel();
    let job: Job = Box::new(move || {
        let result = work();
        // Counted before the answer leaves, so that a client holding the
        // answer sees its hash in `/metrics`.
        metrics::counter!("koi_password_hashes_total", "kind" => kind.label()).increment(1);
        let _ = reply.send(result);
    });
    {
        let mut jobs = queue
            .jobs
            .lock()
            .map_err(|_| KoiError::new(ErrorCode::Internal, "the hashing queue is poisoned"))?;
        let waiting = match kind {
            Kind::Login => &mut jobs.0,
            Kind::NewHash => &mut jobs.1,
        };
        if waiting.len() >= queue.bound {
            metrics::counter!("koi_password_hashes_refused_total", "kind" => kind.label())
                .increment(1);
            return Err(busy());
        }
        waiting.push_back(job);
    }
    queue.ready.notify_one();
    result
        .await
        .map_err(|_| KoiError::new(ErrorCode::Internal, "the hashing threads stopped"))
}

/// A valid hash of a password nobody has, verified for unknown users so that a
/// login takes as long whether or not the name exists.
static DECOY: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::encode_b64(&[7u8; 16]).expect("16 bytes encode");
    phc(b"no user has this password", &salt).expect("hashing a constant")
});

thread_local! {
    /// The hashing thread's argon2 memory, allocated on its first hash.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `argon2` over `password` and `salt` into `out`, in this thread's blocks.
fn hash_into(argon2: &Argon2, password: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    BLOCKS.with_borrow_mut(|blocks| {
        blocks.resize(argon2.params().block_count(), Block::default());
        argon2.hash_password_into_with_memory(password, salt, out, blocks.as_mut_slice())
    })
}

/// The PHC string (`$argon2id$v=19$m=…`) of `password` with `salt` and the
/// default parameters.
fn phc(password: &[u8], salt: &SaltString) -> Result<String, String> {
    let argon2 = Argon2::default();
    let salt = salt.as_salt();
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| e.to_string())?;
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        hash_into(&argon2, password, salt_bytes, out)
            .map_err(|_| argon2::password_hash::Error::Crypto)
    })
    .map_err(|e| e.to_string())?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(|e| e.to_string())?,
        salt: Some(salt),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

/// Whether `password` hashes to `expected` with its parameters and salt.
fn matches(password: &[u8], expected: &PasswordHash) -> bool {
    let (Some(salt), Some(hash)) = (expected.salt, expected.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(expected.algorithm),
        Params::try_from(expected),
    ) else {
        return false;
    };
    let version = match expected.version.map(Version::try_from) {
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
        None => Version::default(),
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params);
    Output::init_with(hash.len(), |out| {
        hash_into(&argon2, password, salt_bytes, out)
            .map_err(|_| argon2::password_hash::Error::Crypto)
    })
    // Output compares in constant time.
    .is_ok_and(|computed| computed == hash)
}

/// Hashes a password into a PHC string; `unavailable` when too many hashes wait.
pub async fn hash(password: String) -> Result<String, KoiError> {
    let internal = |e: String| KoiError::new(ErrorCode::Internal, e);
    on_hasher(Kind::NewHash, move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|e| internal(format!("salt: {e}")))?;
        phc(password.as_bytes(), &salt).map_err(|e| internal(format!("hashing failed: {e}")))
    })
    .await?
}

/// Whether `password` matches the PHC string `hash`; with no hash (no such
/// user) a decoy is verified, so the answer takes the same time, and is false.
/// `unavailable` when too many checks wait.
pub async fn check(password: String, hash: Option<String>) -> Result<bool, KoiError> {
    on_hasher(Kind::Login, move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DECOY.clone());
        let matched = PasswordHash::new(&hash)
            .map(|parsed| matches(password.as_bytes(), &parsed))
            .unwrap_or(false);
        known && matched
    })
    .await
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[tokio::test]
    async fn verifies_its_own_hashes_and_refuses_other_passwords() {
        let hash = super::hash("correct horse".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(
            check("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!check("wrong horse".into(), Some(hash)).await.unwrap());
        assert!(
            !check("anything".into(), None).await.unwrap(),
            "no user: false"
        );
    }

    #[tokio::test]
    async fn hashes_stay_compatible_with_the_argon2_crate() {
        // Stored before the reusable blocks: made by the crate's own hasher.
        let salt = SaltString::encode_b64(&[3u8; 16]).expect("salt");
        let stored = Argon2::default()
            .hash_password(b"password1", &salt)
            .expect("hash")
            .to_string();
        assert!(
            check("password1".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(!check("password2".into(), Some(stored)).await.unwrap());
        // And the crate accepts ours.
        let ours = super::hash("password1".into()).await.expect("hash");
        let parsed = PasswordHash::new(&ours).expect("PHC");
        assert!(
            Argon2::default()
                .verify_password(b"password1", &parsed)
                .is_ok()
        );
    }
}
