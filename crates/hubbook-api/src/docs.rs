//! The API's guide at `/docs/`: Swagger UI from the binary, set up so that a browser showing it
//! calls no other host, and the OpenAPI document it renders at `/openapi.json`.
//!
//! Swagger UI's default would embed a badge from `validator.swagger.io` (sending the document's
//! address there) on any page not served from `localhost`: the validator is switched off in the
//! configuration, and its address is also taken out of the bundle, so no setting can bring it
//! back. Only the files the page loads are served; the source maps, whose sources name many
//! hosts in comments, are not.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use actix_web::http::header::{CacheControl, CacheDirective, ContentType};
use actix_web::{web, HttpResponse};
use utoipa_swagger_ui::Config;

use crate::ApiError;

/// Where the OpenAPI document is served, as the guide's page fetches it.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The files of Swagger UI that the guide's page loads: its page, styles, icons and scripts.
pub const FILES: [&str; 8] = [
    "index.html",
    "index.css",
    "swagger-ui.css",
    "favicon-16x16.png",
    "favicon-32x32.png",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "swagger-initializer.js",
];

/// The address of the public validator Swagger UI would call, as it stands in its bundle.
const VALIDATOR: &str = "\"https://validator.swagger.io/validator\"";

/// One file of the guide: its content type and bytes.
struct DocFile {
    content_type: String,
    bytes: web::Bytes,
}

/// The guide's files, prepared once: the configuration written into the initializer, the
/// validator's address replaced by `none` and the source-map comments dropped.
fn files() -> &'static HashMap<&'static str, DocFile> {
    static FILES_SERVED: OnceLock<HashMap<&'static str, DocFile>> = OnceLock::new();
    FILES_SERVED.get_or_init(|| {
        let config = Arc::new(Config::new([OPENAPI_PATH]).validator_url("none"));
        FILES
            .iter()
            .filter_map(|&name| {
                // A file missing from the embedded distribution is simply not served (404).
                let file = utoipa_swagger_ui::serve(name, config.clone()).ok()??;
                let bytes = if name.ends_with(".js") || name.ends_with(".css") {
                    web::Bytes::from(offline_text(&String::from_utf8_lossy(&file.bytes)))
                } else {
                    web::Bytes::from(file.bytes.into_owned())
                };
                Some((
                    name,
                    DocFile {
                        content_type: file.content_type,
                        bytes,
                    },
                ))
            })
            .collect()
    })
}

/// A Swagger UI script or stylesheet as served: the public validator's address replaced by
/// `none` (Swagger UI's value for "no validator") and any `sourceMappingURL` comment, naming a
/// map that is not served, dropped.
pub fn offline_text(text: &str) -> String {
    text.replace(VALIDATOR, "\"none\"")
        .lines()
        .filter(|line| {
            !line.starts_with("//# sourceMappingURL=") && !line.starts_with("/*# sourceMappingURL=")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Adds `/docs` (a redirect), `/docs/` with its files and `/openapi.json` to an app.
pub fn configure(cfg: &mut web::ServiceConfig, json: web::Data<web::Bytes>) {
    cfg.service(web::redirect("/docs", "/docs/"))
        .service(
            web::resource(OPENAPI_PATH)
                .app_data(json)
                .route(web::get().to(openapi_json)),
        )
        .service(web::resource("/docs/{file:.*}").route(web::get().to(file)));
}

async fn openapi_json(json: web::Data<web::Bytes>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(json.get_ref().clone())
}

async fn file(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let name = match path.as_str() {
        "" => "index.html",
        name => name,
    };
    match files().get(name) {
        Some(file) => Ok(HttpResponse::Ok()
            .content_type(file.content_type.as_str())
            .insert_header(CacheControl(vec![CacheDirective::NoCache]))
            .body(file.bytes.clone())),
        None => Err(ApiError::NotFound(
            "no such file of the API guide; see /docs/".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_page_loads_is_embedded() {
        for name in FILES {
            assert!(files().contains_key(name), "{name}");
        }
    }

    #[test]
    fn the_validator_is_off_and_its_address_gone() {
        let initializer = String::from_utf8_lossy(&files()["swagger-initializer.js"].bytes);
        assert!(
            initializer.contains("\"validatorUrl\": \"none\""),
            "{initializer}"
        );
        assert!(initializer.contains(OPENAPI_PATH), "{initializer}");
        for (name, file) in files() {
            let text = String::from_utf8_lossy(&file.bytes);
            assert!(!text.contains("validator.swagger.io"), "{name}");
            assert!(!text.contains("sourceMappingURL"), "{name}");
        }
    }

    #[test]
    fn the_bundle_named_the_validator_before_it_was_replaced() {
        // If a new Swagger UI spelt its default differently, the replacement would silently do
        // nothing: this fails first.
        let config = Arc::new(Config::new([OPENAPI_PATH]));
        let bundle = utoipa_swagger_ui::serve("swagger-ui-bundle.js", config)
            .expect("readable")
            .expect("embedded");
        let text = String::from_utf8_lossy(&bundle.bytes);
        assert!(text.contains(VALIDATOR));
        assert!(!offline_text(&text).contains("validator.swagger.io"));
    }
}
