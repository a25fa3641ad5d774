//! The console's session: one encrypted, signed cookie (`HttpOnly`, `SameSite=Strict`, `Secure`
//! when the request came over TLS) holding the same caller the JSON API's tokens carry and the
//! session's CSRF token; and the checks every form post passes (same origin, the token).

use actix_web::cookie::{time, Cookie, CookieJar, Key, SameSite};
use actix_web::http::header;
use actix_web::HttpRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use hubbook_core::access::{Caller, Scope, SubjectKind};
use hubbook_core::{ClusterTimeZone, Role};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::times::Local;

/// The session cookie's name.
pub const COOKIE: &str = "hubbook_console";

/// How long a signed-in session lasts: a working shift.
pub const SESSION_HOURS: i64 = 10;

/// The name of the hidden field carrying the CSRF token in every form.
pub const CSRF_FIELD: &str = "csrf_token";

/// The staff member signed in to a session: the caller the use cases take, and their login name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    /// The user's id.
    pub sub: String,
    /// Always a user (integrations do not sign in to the console).
    pub kind: SubjectKind,
    /// The user's role.
    pub role: Role,
    /// Where the role applies.
    pub scope: Scope,
    /// The login name, shown in the header.
    pub username: String,
    /// The zone of the user's cluster, in which every page shows its times.
    #[serde(default)]
    pub zone: ClusterTimeZone,
    /// The code of the user's cluster, which its use cases are addressed by.
    #[serde(default)]
    pub cluster_code: Option<String>,
}

impl SignedIn {
    /// Times as this user's pages show them.
    pub fn local(&self) -> Local {
        Local(self.zone)
    }

    /// The use cases' caller.
    pub fn caller(&self) -> Caller {
        Caller {
            id: self.sub.clone(),
            kind: self.kind,
            role: self.role,
            scope: self.scope.clone(),
            credential: None,
        }
    }
}

/// What the session cookie holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// The token every form of this session carries.
    pub csrf: String,
    /// Who is signed in, if anyone.
    pub user: Option<SignedIn>,
    /// When the session ends (seconds since the epoch).
    pub exp: i64,
}

impl Session {
    /// A session with nobody signed in yet (the sign-in form's token lives in it).
    pub fn anonymous(now: DateTime<Utc>) -> Self {
        Self {
            csrf: random_token(),
            user: None,
            exp: (now + chrono::Duration::hours(1)).timestamp(),
        }
    }

    /// A fresh session for a staff member who has just signed in (a new CSRF token too).
    pub fn signed_in(user: SignedIn, now: DateTime<Utc>) -> Self {
        Self {
            csrf: random_token(),
            user: Some(user),
            exp: (now + chrono::Duration::hours(SESSION_HOURS)).timestamp(),
        }
    }

    /// The same session, to end [`SESSION_HOURS`] from `now` ("stay signed in").
    pub fn extended(&self, now: DateTime<Utc>) -> Self {
        Self {
            exp: (now + chrono::Duration::hours(SESSION_HOURS)).timestamp(),
            ..self.clone()
        }
    }

    /// When the session ends.
    pub fn ends_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.exp, 0).unwrap_or_default()
    }

    /// The CSRF token as a form carries it: masked with a fresh random pad on every page, so a
    /// compressed page never repeats the same secret bytes (no BREACH-style guessing).
    pub fn masked_csrf(&self) -> String {
        let token = self.csrf.as_bytes();
        let mut pad = vec![0u8; token.len()];
        rand::thread_rng().fill_bytes(&mut pad);
        let mut out = pad.clone();
        out.extend(token.iter().zip(&pad).map(|(t, p)| t ^ p));
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Whether a form's masked `token` unmasks to this session's CSRF token (compared in
    /// constant time).
    pub fn csrf_matches(&self, token: &str) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        let expected = self.csrf.as_bytes();
        if bytes.len() != 2 * expected.len() {
            return false;
        }
        let (pad, masked) = bytes.split_at(expected.len());
        expected
            .iter()
            .zip(pad.iter().zip(masked))
            .fold(0u8, |acc, (e, (p, m))| acc | (e ^ p ^ m))
            == 0
    }
}

/// 32 random bytes, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The cookie key, derived from the server's secret for this purpose only (so it differs from
/// the token signing key and the idempotency hash key made from the same secret).
pub fn cookie_key(secret: &[u8]) -> Key {
    let derived = Hmac::<Sha256>::new_from_slice(secret)
        .map(|mac| {
            mac.chain_update(b"hubbook console session cookie")
                .finalize()
                .into_bytes()
        })
        .map(|b| b.to_vec())
        .unwrap_or_else(|_| secret.to_vec());
    Key::derive_from(&derived)
}

/// The request's session, if its cookie decrypts, parses and has not expired.
pub fn read(req: &HttpRequest, key: &Key, now: DateTime<Utc>) -> Option<Session> {
    let cookie = req.cookie(COOKIE)?;
    let mut jar = CookieJar::new();
    jar.add_original(cookie);
    let plain = jar.private(key).get(COOKIE)?;
    let session: Session = serde_json::from_str(plain.value()).ok()?;
    (session.exp > now.timestamp()).then_some(session)
}

/// Whether the request came over TLS (directly, or as a proxy says with `X-Forwarded-Proto` or
/// `Forwarded`).
pub fn over_tls(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

/// The encrypted cookie carrying `session`.
pub fn cookie(req: &HttpRequest, key: &Key, session: &Session) -> Cookie<'static> {
    let value = serde_json::to_string(session).unwrap_or_default();
    let mut jar = CookieJar::new();
    jar.private_mut(key).add(base_cookie(req, value));
    jar.get(COOKIE)
        .cloned()
        .unwrap_or_else(|| base_cookie(req, String::new()))
}

/// A cookie that removes the session.
pub fn removal(req: &HttpRequest) -> Cookie<'static> {
    let mut c = base_cookie(req, String::new());
    c.make_removal();
    c
}

fn base_cookie(req: &HttpRequest, value: String) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(over_tls(req))
        .max_age(time::Duration::hours(SESSION_HOURS))
        .finish()
}

/// Whether a form post comes from the console's own pages: a browser's `Sec-Fetch-Site` is
/// `same-origin` (or `none`, typed by the user), and an `Origin` header names this host.
pub fn same_origin(req: &HttpRequest) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        if !matches!(site.to_str(), Ok("same-origin" | "none")) {
            return false;
        }
    }
    match headers.get(header::ORIGIN).map(|v| v.to_str()) {
        None => true,
        Some(Ok(origin)) => {
            let info = req.connection_info();
            let host = origin
                .split_once("://")
                .map(|(_, host)| host)
                .unwrap_or_default();
            origin != "null" && host.eq_ignore_ascii_case(info.host())
        }
        Some(Err(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn user() -> SignedIn {
        SignedIn {
            sub: "u1".into(),
            kind: SubjectKind::User,
            role: Role::Receptionist,
            scope: Scope {
                cluster: Some("c1".into()),
                practice: Some("p1".into()),
                clusters: Vec::new(),
            },
            username: "reception".into(),
            zone: ClusterTimeZone::DEFAULT,
            cluster_code: Some("C1".into()),
        }
    }

    #[test]
    fn a_session_round_trips_only_under_its_key_and_until_it_ends() {
        let key = cookie_key(b"a-server-secret-of-enough-length-0123");
        let now = Utc::now();
        let session = Session::signed_in(user(), now);
        let req = TestRequest::default().to_http_request();
        let c = cookie(&req, &key, &session);
        assert!(c.http_only().unwrap_or(false));
        assert_eq!(c.same_site(), Some(SameSite::Strict));
        assert!(!c.value().contains("reception"), "the cookie is encrypted");
        let back = TestRequest::default().cookie(c.clone()).to_http_request();
        let read_back = read(&back, &key, now).unwrap();
        assert_eq!(read_back.user, Some(user()));
        let (one, two) = (session.masked_csrf(), session.masked_csrf());
        assert_ne!(one, two, "masked afresh on every page");
        assert!(read_back.csrf_matches(&one) && read_back.csrf_matches(&two));
        assert!(!read_back.csrf_matches(&session.csrf), "only masked tokens");
        assert!(!read_back.csrf_matches("forged"));
        assert!(!read_back.csrf_matches(&Session::anonymous(now).masked_csrf()));
        let other = cookie_key(b"another-server-secret-of-enough-len");
        assert!(read(&back, &other, now).is_none());
        let later = now + chrono::Duration::hours(SESSION_HOURS + 1);
        assert!(read(&back, &key, later).is_none());
    }

    #[test]
    fn cookies_are_secure_behind_tls() {
        let key = cookie_key(b"a-server-secret-of-enough-length-0123");
        let req = TestRequest::default()
            .insert_header(("x-forwarded-proto", "https"))
            .to_http_request();
        let c = cookie(&req, &key, &Session::anonymous(Utc::now()));
        assert_eq!(c.secure(), Some(true));
    }

    #[test]
    fn cross_site_posts_are_told_apart() {
        let req = |headers: &[(&str, &str)]| {
            let mut r = TestRequest::post().insert_header(("host", "desk.example"));
            for h in headers {
                r = r.insert_header(*h);
            }
            r.to_http_request()
        };
        assert!(same_origin(&req(&[])));
        assert!(same_origin(&req(&[("origin", "http://desk.example")])));
        assert!(same_origin(&req(&[("sec-fetch-site", "same-origin")])));
        assert!(!same_origin(&req(&[("origin", "http://evil.example")])));
        assert!(!same_origin(&req(&[("origin", "null")])));
        assert!(!same_origin(&req(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&req(&[("sec-fetch-site", "same-site")])));
    }
}
