//! Rendering: the embedded MiniJinja templates and the page every handler answers with.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use minijinja::Environment;
use serde::Serialize;

/// The console's templates, embedded at build time (`build.rs`), HTML auto-escaped.
pub struct Templates {
    env: Environment<'static>,
    asset_version: String,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    /// Loads the embedded templates. They were parsed when the binary was built (and the unit
    /// tests load them), so the generated loader's `expect` cannot fire at run time.
    #[allow(clippy::expect_used)]
    pub fn new() -> Self {
        let mut env = Environment::new();
        minijinja_embed::load_templates!(&mut env);
        Self {
            env,
            asset_version: crate::assets::version(),
        }
    }

    /// Renders `name` with `ctx` (and the assets' version for their URLs) as an HTML page of
    /// `status`; a template failure is logged and answered with a plain 500 page.
    pub fn page<S: Serialize>(&self, status: StatusCode, name: &str, ctx: S) -> HttpResponse {
        let rendered = self.env.get_template(name).and_then(|t| {
            t.render(minijinja::context! { asset_version => &self.asset_version, ..minijinja::Value::from_serialize(&ctx) })
        });
        match rendered {
            Ok(html) => HttpResponse::build(status)
                .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .insert_header(("X-Frame-Options", "DENY"))
                .insert_header((
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
                ))
                .insert_header(("Referrer-Policy", "same-origin"))
                .body(html),
            Err(e) => {
                tracing::error!(template = name, error = %e, "a console template failed");
                HttpResponse::InternalServerError()
                    .content_type("text/plain; charset=utf-8")
                    .body("Something went wrong on our side. Try again; if it happens again, tell your system administrator.")
            }
        }
    }

    /// The names of every embedded template.
    pub fn names(&self) -> Vec<String> {
        self.env
            .templates()
            .map(|(name, _)| name.to_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_load_and_name_no_other_host() {
        let t = Templates::new();
        assert!(t.names().iter().any(|n| n == "base.html"));
        for name in t.names() {
            let source = t.env.get_template(&name).unwrap().source().to_owned();
            assert!(
                !source.contains("http://") && !source.contains("https://"),
                "{name} names another host"
            );
        }
    }
}
