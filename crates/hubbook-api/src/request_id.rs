//! Middleware giving every request of the server (API, console, GP Connect, docs) an id: the
//! caller's `X-Request-Id` when it is sane (1 to 128 letters, digits, `.`, `_`, `:` or `-`),
//! else a new UUID. The id is echoed in the response's `X-Request-Id`, names the request in every
//! problem's `instance`, and is on every log line of the request with its caller's id
//! ([`hubbook_service::request`]).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use hubbook_service::request::{self, RequestContext};
use tracing::Instrument;

/// The header a request id is read from and echoed in.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Middleware: opens the request's context around everything else, turns an error of an inner
/// middleware into its response within it (so that its `instance` and log line name the
/// request), and echoes the id.
pub async fn assign<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let sent = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok());
    let context = RequestContext::new(sent);
    let id = HeaderValue::from_str(context.id()).ok();
    let span = context.span().clone();
    let served = async move {
        next.call(req).await.map_err(|error| {
            // Rendered now, while the request's context is current; the server sends it as is.
            let response = error.error_response();
            (error.to_string(), response)
        })
    };
    match request::scope(context, served.instrument(span)).await {
        Ok(mut response) => {
            if let Some(id) = id {
                response.headers_mut().insert(REQUEST_ID, id);
            }
            Ok(response)
        }
        Err((cause, mut response)) => {
            if let Some(id) = id {
                response.headers_mut().insert(REQUEST_ID, id);
            }
            Err(InternalError::from_response(cause, response).into())
        }
    }
}

/// A problem's `instance` for the request being served: `urn:uuid:<id>` when its id is a UUID
/// (as the server makes them), else the id as the caller sent it; a new `urn:uuid:` outside a
/// request.
pub fn instance() -> String {
    match request::current_id() {
        Some(id) if uuid::Uuid::try_parse(&id).is_ok() => format!("urn:uuid:{id}"),
        Some(id) => id,
        None => format!("urn:uuid:{}", uuid::Uuid::now_v7()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use actix_web::{middleware::from_fn, test, web, App, HttpResponse};
    use hubbook_core::access::{Caller, Scope, SubjectKind};

    use super::*;

    /// Log output kept in memory.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    async fn handler() -> HttpResponse {
        tracing::info!("before the caller is known");
        hubbook_service::request::name_caller(&Caller {
            id: "u-1".into(),
            kind: SubjectKind::User,
            role: hubbook_core::Role::HubStaff,
            scope: Scope::default(),
            credential: None,
        });
        tracing::info!("after the caller is known");
        HttpResponse::Ok().finish()
    }

    #[actix_web::test]
    async fn every_log_line_of_a_request_names_it_and_then_its_caller() {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(move || writer.clone())
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);
        let app = test::init_service(
            App::new()
                .route("/", web::get().to(handler))
                .wrap(from_fn(assign)),
        )
        .await;
        let request = test::TestRequest::get()
            .uri("/")
            .insert_header(("X-Request-Id", "demo-1"))
            .to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(response.headers().get("x-request-id").unwrap(), "demo-1");
        tracing::info!("after the request");
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let logged: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let span_of = |message: &str| {
            logged
                .iter()
                .find(|l| l["message"] == message)
                .map(|l| l["span"].clone())
                .unwrap_or_else(|| panic!("{message} not in {text}"))
        };
        let before = span_of("before the caller is known");
        assert_eq!(before["request_id"], "demo-1", "{text}");
        assert!(before.get("caller").is_none(), "{text}");
        let after = span_of("after the caller is known");
        assert_eq!(
            (&after["request_id"], &after["caller"]),
            (&"demo-1".into(), &"user:u-1".into())
        );
        assert!(
            span_of("after the request").is_null(),
            "no request outside one"
        );
    }
}
