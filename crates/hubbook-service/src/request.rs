//! The request being served: its id and its log span, so that every log line of a request names
//! the request and, once known, its caller (a user's or client's id, never patient data), and
//! so that an error's `instance` names the request. A front end opens the context around the
//! request ([`scope`]); the use cases name the caller in it when they learn who it is.

use std::future::Future;
use std::sync::Arc;

use hubbook_core::access::Caller;

/// The longest request id taken from a caller; longer ones are replaced.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

/// What is known of the request being served.
#[derive(Debug, Clone)]
pub struct RequestContext {
    id: Arc<str>,
    span: tracing::Span,
}

tokio::task_local! {
    static CURRENT: RequestContext;
}

impl RequestContext {
    /// The context of a request: its id as sent, if [`sane`], else a new UUID; and a span
    /// named `request` with the id and an empty `caller`, filled in once the caller is known.
    pub fn new(sent: Option<&str>) -> Self {
        let id: Arc<str> = match sent.filter(|s| sane(s)) {
            Some(id) => id.into(),
            None => uuid::Uuid::now_v7().to_string().into(),
        };
        let span = tracing::info_span!(
            "request",
            request_id = %id,
            caller = tracing::field::Empty
        );
        Self { id, span }
    }

    /// The request's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The span every log line of the request is written in.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }
}

/// Whether a caller's request id may be used as it is: 1 to [`MAX_REQUEST_ID_CHARS`] letters,
/// digits, `.`, `_`, `:` or `-` (nothing that could break a header or a log line).
pub fn sane(id: &str) -> bool {
    (1..=MAX_REQUEST_ID_CHARS).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Runs a request's work with its context current.
pub async fn scope<F: Future>(context: RequestContext, work: F) -> F::Output {
    CURRENT.scope(context, work).await
}

/// The id of the request being served, if any.
pub fn current_id() -> Option<String> {
    CURRENT.try_with(|c| c.id.to_string()).ok()
}

/// The span of the request being served, or none: work handed to another thread enters it so
/// that its log lines name the request too.
pub fn current_span() -> tracing::Span {
    CURRENT
        .try_with(|c| c.span.clone())
        .unwrap_or_else(|_| tracing::Span::none())
}

/// Names the caller (`user:<id>` or `client:<id>`) on the log lines of the request being
/// served, from now on.
pub fn name_caller(caller: &Caller) {
    let _ = CURRENT.try_with(|c| {
        c.span
            .record("caller", tracing::field::display(caller.actor()));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_taken() {
        assert!(sane("demo-1"));
        assert!(sane("a.b_c:d-9"));
        assert!(sane(&"x".repeat(128)));
        assert!(!sane(""));
        assert!(!sane(&"x".repeat(129)));
        assert!(!sane("two words"));
        assert!(!sane("line\nbreak"));
        assert!(!sane("é"));
        assert!(!sane("a/b"));
    }

    #[tokio::test]
    async fn the_context_is_current_within_its_scope_only() {
        assert_eq!(current_id(), None);
        let sent = RequestContext::new(Some("demo-1"));
        assert_eq!(
            scope(sent, async { current_id() }).await.as_deref(),
            Some("demo-1")
        );
        let made = RequestContext::new(Some("not sane"));
        let id = made.id().to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        assert_eq!(scope(made, async { current_id() }).await, Some(id));
    }
}
