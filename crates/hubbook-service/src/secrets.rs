//! Secrets: argon2id hashes of staff passwords and integration client secrets, and fresh client
//! secrets. Hashing is deliberately slow and CPU-bound: the use cases run it on their blocking
//! tasks, never on the async threads.

use std::sync::{Condvar, Mutex, OnceLock, PoisonError};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Argon2, Block, Params};
use base64::Engine;
use rand::RngCore;

use crate::ServiceError;

/// The largest argon2 memory a stored hash may ask for (64 MiB); a bigger one never matches.
const MAX_HASH_BLOCKS: usize = 64 * 1024;

/// The argon2id parameters of new hashes: 7 MiB of memory and five passes, the last of the
/// five settings OWASP's password storage cheat sheet gives as equally strong (argon2's own
/// default, 19 MiB and two passes, is another). About the same work in a third of the memory:
/// each sign-in check runs in a 7 MiB buffer, which a server under load keeps for them. Hashes
/// stored with other parameters still verify with their own.
fn hash_params() -> Result<Params, argon2::Error> {
    Params::new(7 * 1024, 5, 1, None)
}

/// Argon2 working memory, a few buffers reused by every hash and check.
///
/// Each check needs 7 MiB with the parameters of [`hash_params`], 19 MiB for a hash made with
/// argon2's defaults (as hubbook's were until 2026-12). Allocated afresh per check, a morning's
/// burst of sign-ins leaves hundreds of megabytes with the allocator (seen: 32 sign-ins took the
/// server from 55 MB to 480 MB); with a fixed number of buffers ([`hash_buffers`]), the cost is
/// fixed and checks beyond that wait their turn.
struct HashMemory {
    free: Mutex<Vec<Vec<Block>>>,
    returned: Condvar,
}

/// How many argon2 checks run at once: one per two cores (at least one, at most four). A burst
/// of sign-ins then leaves half the machine to searches and bookings, and its memory is one
/// buffer a check: on two cores a second 19 MiB buffer was 19 of a server's 120 MB at its peak.
fn hash_buffers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).clamp(1, 4))
}

impl HashMemory {
    fn shared() -> &'static HashMemory {
        static MEMORY: OnceLock<HashMemory> = OnceLock::new();
        MEMORY.get_or_init(|| HashMemory {
            free: Mutex::new((0..hash_buffers()).map(|_| Vec::new()).collect()),
            returned: Condvar::new(),
        })
    }

    /// Runs `f` with `blocks` blocks of memory, waiting for a buffer if all are in use.
    fn with<T>(&self, blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let mut buffer = {
            let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if let Some(buffer) = free.pop() {
                    break buffer;
                }
                free = self
                    .returned
                    .wait(free)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        if buffer.len() < blocks {
            buffer.resize(blocks, Block::default());
        }
        let result = f(&mut buffer[..blocks]);
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(buffer);
        self.returned.notify_one();
        result
    }
}

/// Hashes a password or client secret with argon2id and a random salt (PHC string format).
///
/// Deliberately slow: call it off the async threads (a use case's blocking task).
pub fn hash_secret(secret: &str) -> Result<String, ServiceError> {
    let failed =
        |e: argon2::password_hash::Error| ServiceError::Internal(format!("hashing failed: {e}"));
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt_string = SaltString::encode_b64(&salt).map_err(failed)?;
    let params = hash_params().map_err(|e| failed(e.into()))?;
    let hasher = Argon2::from(&params);
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    HashMemory::shared()
        .with(params.block_count(), |memory| {
            hasher.hash_password_into_with_memory(secret.as_bytes(), &salt, &mut out, memory)
        })
        .map_err(|e| failed(e.into()))?;
    let hash = PasswordHash {
        algorithm: argon2::Algorithm::Argon2id.ident(),
        version: Some(argon2::Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(failed)?,
        salt: Some(salt_string.as_salt()),
        hash: Some(Output::new(&out).map_err(failed)?),
    };
    Ok(hash.to_string())
}

/// Checks a password or secret against a stored argon2 hash (any variant, version and
/// parameters); a malformed hash never matches.
pub fn verify_secret(secret: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        argon2::Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    if params.block_count() > MAX_HASH_BLOCKS {
        return false;
    }
    let hasher = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let computed = HashMemory::shared().with(params.block_count(), |memory| {
        hasher.hash_password_into_with_memory(secret.as_bytes(), salt, &mut out, memory)
    });
    // `Output` compares in constant time.
    computed.is_ok() && Output::new(&out).is_ok_and(|o| o == expected)
}

/// A fresh random secret for an integration client: 32 bytes, base64url without padding.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hash_and_verify() {
        let hash = hash_secret("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_secret("correct horse", &hash));
        assert!(!verify_secret("wrong horse", &hash));
        assert!(!verify_secret("correct horse", "not a hash"));
        assert_ne!(generate_secret(), generate_secret());
    }

    #[test]
    fn hashes_agree_with_the_argon2_crates_own() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        // Ours verify with the crate's checker, and the crate's (other parameters too) with ours.
        let ours = hash_secret("correct horse").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        for params in [
            Params::default(),
            Params::new(4096, 3, 1, Some(24)).unwrap(),
        ] {
            for algorithm in [argon2::Algorithm::Argon2id, argon2::Algorithm::Argon2i] {
                let theirs = Argon2::new(algorithm, argon2::Version::V0x13, params.clone())
                    .hash_password(b"battery staple", &salt)
                    .unwrap()
                    .to_string();
                assert!(verify_secret("battery staple", &theirs), "{theirs}");
                assert!(!verify_secret("battery stapler", &theirs), "{theirs}");
            }
        }
        // A tampered output or an absurd memory cost never matches.
        let at = ours.len() - 10;
        let flipped = if &ours[at..=at] == "A" { "B" } else { "A" };
        let tampered = format!("{}{flipped}{}", &ours[..at], &ours[at + 1..]);
        assert!(PasswordHash::new(&tampered).is_ok());
        assert!(!verify_secret("correct horse", &tampered));
        assert!(ours.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{ours}");
        let greedy = ours.replace("m=7168", "m=4194304");
        assert!(!verify_secret("correct horse", &greedy));
    }

    #[test]
    fn checks_beyond_the_buffers_wait_their_turn() {
        let hash = hash_secret("correct horse").unwrap();
        let checks: Vec<_> = (0..12)
            .map(|i| {
                let hash = hash.clone();
                std::thread::spawn(move || {
                    verify_secret(if i % 3 == 0 { "wrong" } else { "correct horse" }, &hash)
                })
            })
            .collect();
        let results: Vec<bool> = checks.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(results.iter().filter(|ok| **ok).count(), 8);
    }
}
