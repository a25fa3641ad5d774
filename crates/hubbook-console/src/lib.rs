//! The hubbook web console: server-rendered pages in the NHS design system for the reception
//! desk (sign in, find a patient's appointments and the slots to offer, hold, book).
//!
//! A page handler is as thin as an API handler: it reads the form, builds the same typed command,
//! calls the same use case of `hubbook-service`, and renders the result with a MiniJinja
//! template embedded at build time. Every form works as a plain full-page post; htmx (boosted
//! forms) only spares the reload. Use-case refusals become NHS error summaries in one place
//! ([`errors`]); every static file comes from the binary ([`assets`]).

pub mod assets;
pub mod errors;
mod hub;
mod manage;
mod pages;
mod rebooking;
pub mod render;
pub mod session;
pub mod times;

use actix_web::cookie::Key;
use actix_web::web;
use hubbook_service::Hubbook;

/// What every console page shares: the use cases, the session cookie's key and the templates.
#[derive(Clone)]
pub struct Console {
    /// The use cases (the same handle the JSON API calls).
    pub hubbook: Hubbook,
    key: Key,
    templates: std::sync::Arc<render::Templates>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").finish_non_exhaustive()
    }
}

impl Console {
    /// The console over `hubbook`, its session cookies keyed from the server's `secret`.
    pub fn new(hubbook: Hubbook, secret: &[u8]) -> Self {
        Self {
            hubbook,
            key: session::cookie_key(secret),
            templates: std::sync::Arc::new(render::Templates::new()),
        }
    }
}

/// Adds the console's pages and its static files to an app (the JSON API keeps `/api/v1`, the
/// docs and the health routes).
pub fn configure(console: web::Data<Console>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.service(
            web::resource("/assets/{path:.+}")
                .route(web::get().to(assets::serve))
                .route(web::head().to(assets::serve)),
        );
        pages::routes(cfg, console);
    }
}
