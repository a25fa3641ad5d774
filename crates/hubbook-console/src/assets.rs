//! The console's static files, embedded in the binary: the NHS design system's stylesheet,
//! script and icons, htmx, and the console's own script and styles. Nothing is fetched from
//! another host; every file is served under `/assets/` with a long cache lifetime.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};
use sha2::{Digest, Sha256};

/// One embedded file: its path under `/assets/`, its content type and its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// The path under `/assets/`, e.g. `nhsuk-frontend.min.css`.
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its contents.
    pub bytes: &'static [u8],
}

macro_rules! image {
    ($name:literal) => {
        Asset {
            path: concat!("images/", $name),
            content_type: if $name.as_bytes()[$name.len() - 1] == b'g' {
                "image/svg+xml"
            } else {
                "image/x-icon"
            },
            bytes: include_bytes!(concat!("../assets/vendor/nhsuk-frontend/images/", $name)),
        }
    };
}

/// Every file the console serves. The NHS stylesheet names its icons as `/assets/images/...`.
pub const ASSETS: &[Asset] = &[
    Asset {
        path: "nhsuk-frontend.min.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/nhsuk-frontend/nhsuk-frontend.min.css"),
    },
    Asset {
        path: "nhsuk-frontend.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/nhsuk-frontend/nhsuk-frontend.min.js"),
    },
    Asset {
        path: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/htmx/htmx.min.js"),
    },
    Asset {
        path: "console.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/console.js"),
    },
    Asset {
        path: "console.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/console.css"),
    },
    image!("favicon.ico"),
    image!("favicon.svg"),
    image!("nhsuk-icon-arrow-down-circle.svg"),
    image!("nhsuk-icon-arrow-down.svg"),
    image!("nhsuk-icon-arrow-left-circle.svg"),
    image!("nhsuk-icon-arrow-left.svg"),
    image!("nhsuk-icon-arrow-right-circle.svg"),
    image!("nhsuk-icon-arrow-right.svg"),
    image!("nhsuk-icon-arrow-up-circle.svg"),
    image!("nhsuk-icon-arrow-up-down.svg"),
    image!("nhsuk-icon-arrow-up.svg"),
    image!("nhsuk-icon-chevron-down-circle.svg"),
    image!("nhsuk-icon-chevron-left-circle.svg"),
    image!("nhsuk-icon-chevron-right-circle.svg"),
    image!("nhsuk-icon-chevron-up-circle.svg"),
    image!("nhsuk-icon-cross.svg"),
    image!("nhsuk-icon-mask.svg"),
    image!("nhsuk-icon-minus.svg"),
    image!("nhsuk-icon-plus.svg"),
    image!("nhsuk-icon-search.svg"),
    image!("nhsuk-icon-tick.svg"),
    image!("nhsuk-icon-user.svg"),
];

/// The embedded file at `path`, if there is one.
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// A short hash of every embedded file, appended to asset URLs (`?v=...`) so that a new release
/// is fetched afresh despite the year-long cache lifetime.
pub fn version() -> String {
    let mut hash = Sha256::new();
    for asset in ASSETS {
        hash.update(asset.path.as_bytes());
        hash.update(asset.bytes);
    }
    hash.finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Serves an embedded file with its content type and a year-long, immutable cache lifetime.
pub async fn serve(path: web::Path<String>) -> HttpResponse {
    match find(&path) {
        Some(asset) => HttpResponse::Ok()
            .insert_header((
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ))
            .insert_header((
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ))
            .insert_header((
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .body(asset.bytes),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no such file"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// XML namespace names in the NHS icons: identifiers, never fetched.
    const NAMESPACES: [&str; 2] = ["http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"];

    #[test]
    fn no_asset_names_another_host() {
        for asset in ASSETS {
            let mut text = String::from_utf8_lossy(asset.bytes).into_owned();
            if asset.content_type == "image/svg+xml" {
                for ns in NAMESPACES {
                    text = text.replace(&format!("\"{ns}\""), "");
                }
            }
            assert!(
                !text.contains("http://") && !text.contains("https://"),
                "{} names another host",
                asset.path
            );
        }
    }

    #[test]
    fn the_stylesheet_loads_no_web_font_and_its_icons_are_served() {
        let css = String::from_utf8_lossy(find("nhsuk-frontend.min.css").unwrap().bytes);
        assert!(!css.contains("@font-face"));
        let mut rest = css.as_ref();
        while let Some(i) = rest.find("url(/assets/") {
            let tail = &rest[i + "url(/assets/".len()..];
            let end = tail.find(')').unwrap();
            assert!(
                find(&tail[..end]).is_some(),
                "{} is not served",
                &tail[..end]
            );
            rest = &tail[end..];
        }
    }
}
