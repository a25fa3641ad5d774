//! Nothing the server sends makes a browser call another host: every page and file reachable from
//! the start pages (the API's guide and its files, the OpenAPI document, the console as each
//! demo role, and every stylesheet, script, font and image they name) is fetched by following
//! links and asset references, and any absolute URL to another host in it fails the test, but
//! for the explicit exceptions below, each with its reason.

use std::collections::{BTreeMap, HashSet, VecDeque};

use hubbook::demo::seed_demo;

use crate::both;
use crate::browser::Browser;
use crate::helpers::TestApp;

/// XML namespace names: identifiers in SVG and in scripts that build SVG or MathML, never fetched.
const NAMESPACES: [&str; 5] = [
    "http://www.w3.org/2000/svg",
    "http://www.w3.org/1999/xlink",
    "http://www.w3.org/1999/xhtml",
    "http://www.w3.org/1998/Math/MathML",
    "http://www.w3.org/XML/1998/namespace",
];

/// Addresses allowed in scripts only (they are Swagger UI's, in its bundle), with why none of
/// them is fetched. Anything else in a script fails, as does any of these in a page, a
/// stylesheet or the OpenAPI document.
const SCRIPT_TEXT: [(&str, &str); 13] = [
    (
        "https://github.com/zloirock/core-js",
        "core-js's record of its own licence and source, a string never requested",
    ),
    (
        "https://github.com/highlightjs/highlight.js/",
        "highlight.js's deprecation warnings, text for the console",
    ),
    (
        "http://fb.me/use-check-prop-types",
        "React's prop-types error message, text",
    ),
    (
        "https://reactjs.org/docs/error-decoder.html",
        "React's minified error message, text",
    ),
    (
        "https://redux.js.org/Errors",
        "Redux's minified error message, text",
    ),
    (
        "https://swagger.io",
        "a base Swagger UI resolves relative references against and strips again, never requested",
    ),
    (
        "https://spec.openapis.org/oas/3.1/dialect/base",
        "the OpenAPI 3.1 JSON Schema dialect's identifier, shown, never requested",
    ),
    (
        "https://json-schema.org/draft/2020-12/schema",
        "the JSON Schema 2020-12 identifier, shown, never requested",
    ),
    (
        "https://example.com/",
        "example values Swagger UI writes for `format: uri` fields",
    ),
    (
        "https://\u{c2e4}\u{b840}.com/",
        "the example value Swagger UI writes for `format: iri` fields",
    ),
    (
        "https://spdx.org/licenses/",
        "a link to a licence's text, drawn only for an info.license.identifier (the document has none)",
    ),
    (
        "https://twitter.com/",
        "the Markdown autolinker's targets for @mentions and #hashtags (links, not requests)",
    ),
    (
        "https://www.facebook.com/hashtag/",
        "the Markdown autolinker's target for #hashtags (a link, not a request)",
    ),
];

/// The other targets of the Markdown autolinker, allowed in scripts for the same reason as
/// `https://twitter.com/`.
const AUTOLINKER: [&str; 3] = [
    "https://instagram.com/",
    "https://www.tiktok.com/",
    "https://soundcloud.com/",
];

/// What a fetched file is, by its content type: what may be in it and what it refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Html,
    Css,
    Script,
    Other,
}

impl Kind {
    fn of(content_type: &str) -> Self {
        if content_type.starts_with("text/html") {
            Kind::Html
        } else if content_type.starts_with("text/css") {
            Kind::Css
        } else if content_type.contains("javascript") {
            Kind::Script
        } else {
            Kind::Other
        }
    }
}

/// The host of an address's authority, or `None` when the text after the scheme names none
/// (`"https://"` alone in a script, a `https://...` placeholder in prose).
fn host_of(after_scheme: &str) -> Option<&str> {
    let end = after_scheme
        .find(|c: char| "/?#:\"'`\\)(<>,;${}[]".contains(c) || c.is_whitespace())
        .unwrap_or(after_scheme.len());
    let host = &after_scheme[..end];
    host.chars().any(char::is_alphanumeric).then_some(host)
}

fn is_local(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// Every absolute address to another host in `text` that a file of this kind may not hold.
fn foreign_urls(text: &str, kind: Kind) -> Vec<String> {
    let mut found = Vec::new();
    for scheme in ["http://", "https://"] {
        let mut from = 0;
        while let Some(i) = text[from..].find(scheme) {
            let start = from + i;
            from = start + scheme.len();
            let Some(host) = host_of(&text[from..]) else {
                continue;
            };
            if is_local(host) {
                continue;
            }
            let rest = &text[start..];
            let end = rest
                .find(|c: char| "\"'`\\)<> ".contains(c) || c.is_whitespace())
                .unwrap_or(rest.len());
            let url = &rest[..end];
            let allowed = NAMESPACES.iter().any(|n| url.starts_with(n))
                || (kind == Kind::Script
                    && (SCRIPT_TEXT.iter().any(|(p, _)| url.starts_with(p))
                        || AUTOLINKER.iter().any(|p| url.starts_with(p))));
            if !allowed {
                found.push(url.to_owned());
            }
        }
    }
    found
}

/// The references a page or stylesheet makes (links, scripts, styles, images, htmx requests,
/// CSS `url()` and `@import`), as written, HTML-unescaped.
fn references(text: &str, kind: Kind) -> Vec<String> {
    let mut refs = Vec::new();
    let mut take = |after: &str| {
        let (quote, rest) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => (Some(q), &after[1..]),
            _ => (None, after),
        };
        let end = match quote {
            Some(q) => rest.find(q),
            None => rest.find(|c: char| c == ')' || c == ';' || c.is_whitespace()),
        }
        .unwrap_or(rest.len());
        let value = rest[..end]
            .replace("&#x2f;", "/")
            .replace("&#x3d;", "=")
            .replace("&amp;", "&");
        refs.push(value.trim().to_owned());
    };
    let markers: &[&str] = match kind {
        Kind::Html => &[" href=", " src=", " hx-get=", " poster=", " data="],
        Kind::Css => &["url(", "@import "],
        _ => &[],
    };
    for marker in markers {
        let mut rest = text;
        while let Some(i) = rest.find(marker) {
            rest = &rest[i + marker.len()..];
            take(rest);
        }
    }
    refs
}

/// A reference resolved against the page at `from` to a path on this server, `Err` with the
/// reference when it names another host, `Ok(None)` when it fetches nothing (a fragment, a
/// `data:` or `mailto:` URL).
fn resolve(from: &str, reference: &str) -> Result<Option<String>, String> {
    // A fragment is the browser's own, never sent.
    let r = reference.split('#').next().unwrap_or(reference);
    if r.is_empty()
        || r.starts_with("data:")
        || r.starts_with("mailto:")
        || r.starts_with("tel:")
        || r.starts_with("javascript:")
    {
        return Ok(None);
    }
    let local_path = |after: &str| match host_of(after) {
        Some(host) if is_local(host.split(':').next().unwrap_or(host)) => Ok(Some(
            after[after.find('/').unwrap_or(after.len())..].to_owned(),
        )),
        _ => Err(reference.to_owned()),
    };
    if let Some(after) = r.strip_prefix("http://").or(r.strip_prefix("https://")) {
        return local_path(after);
    }
    if let Some(after) = r.strip_prefix("//") {
        return local_path(after);
    }
    if r.starts_with('/') {
        return Ok(Some(r.to_owned()));
    }
    let dir = &from[..from
        .split('?')
        .next()
        .unwrap_or(from)
        .rfind('/')
        .unwrap_or(0)
        + 1];
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    let (path, query) = match r.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (r, None),
    };
    for part in path.split('/') {
        match part {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let mut resolved = format!("/{}", parts.join("/"));
    if let Some(q) = query {
        resolved = format!("{resolved}?{q}");
    }
    Ok(Some(resolved))
}

/// One fetched address and what came back.
struct Fetched {
    path: String,
    status: u16,
    content_type: String,
    bytes: usize,
}

/// A page is fetched with at most this many different queries (the first met): a calendar's
/// "next week" links would otherwise lead on for ever.
const QUERIES_PER_PATH: usize = 3;

/// The most requests one crawl makes; reaching it fails the test, as the crawl did not finish.
const MOST_REQUESTS: usize = 400;

/// Fetches everything reachable from `starts` as `browser`; fails on an address to another host
/// and on a page or file named by a page that cannot be fetched.
async fn crawl(browser: &mut Browser, starts: &[&str]) -> Vec<Fetched> {
    let mut queue: VecDeque<(String, String)> = starts
        .iter()
        .map(|s| ((*s).to_owned(), "start".to_owned()))
        .collect();
    let mut seen = HashSet::new();
    let mut variants: BTreeMap<String, usize> = BTreeMap::new();
    let mut fetched = Vec::new();
    let mut foreign = BTreeMap::new();
    while let Some((path, referrer)) = queue.pop_front() {
        let bare = path.split('?').next().unwrap_or(&path).to_owned();
        let tried = variants.entry(bare).or_default();
        if *tried >= QUERIES_PER_PATH || !seen.insert(path.clone()) {
            continue;
        }
        *tried += 1;
        assert!(fetched.len() < MOST_REQUESTS, "the crawl did not finish");
        let page = browser.get(&path).await;
        let content_type = page
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        assert!(
            page.status < 400,
            "{path} (named by {referrer}) answered {}: {}",
            page.status,
            page.body.chars().take(300).collect::<String>()
        );
        let kind = Kind::of(&content_type);
        for url in foreign_urls(&page.body, kind) {
            foreign.insert(url, path.clone());
        }
        for header in ["location", "link", "content-location", "refresh"] {
            if let Some(value) = page.headers.get(header).and_then(|v| v.to_str().ok()) {
                for url in foreign_urls(value, Kind::Other) {
                    foreign.insert(url, format!("{path} ({header} header)"));
                }
            }
        }
        let mut refs = references(&page.body, kind);
        if (300..400).contains(&page.status) {
            refs.push(page.location().to_owned());
        }
        for reference in refs {
            match resolve(&path, &reference) {
                Ok(Some(next)) => queue.push_back((next, path.clone())),
                Ok(None) => {}
                Err(url) => {
                    foreign.insert(url, path.clone());
                }
            }
        }
        fetched.push(Fetched {
            path,
            status: page.status,
            content_type,
            bytes: page.body.len(),
        });
    }
    assert!(
        foreign.is_empty(),
        "addresses of other hosts (address -> where): {foreign:#?}"
    );
    fetched
}

fn print(who: &str, fetched: &[Fetched]) {
    println!("fetched {} addresses {who}:", fetched.len());
    for f in fetched {
        println!(
            "  {} {} {} ({} bytes)",
            f.status, f.path, f.content_type, f.bytes
        );
    }
}

#[track_caller]
fn assert_reached(fetched: &[Fetched], prefixes: &[&str]) {
    for prefix in prefixes {
        assert!(
            fetched.iter().any(|f| f.path.starts_with(prefix)),
            "the crawl reached nothing under {prefix}"
        );
    }
}

async fn nothing_served_names_another_host(app: TestApp) {
    let now = chrono::Utc::now().naive_utc();
    seed_demo(&mut app.pool.get().unwrap(), "demo-password", now).unwrap();

    let mut anonymous = Browser::new(&app);
    let fetched = crawl(&mut anonymous, &["/docs", "/openapi.json", "/", "/sign-in"]).await;
    print(
        "without signing in (the API guide and the sign-in page)",
        &fetched,
    );
    assert_reached(
        &fetched,
        &[
            "/docs/swagger-ui-bundle.js",
            "/docs/swagger-ui-standalone-preset.js",
            "/docs/swagger-initializer.js",
            "/docs/swagger-ui.css",
            "/docs/favicon-32x32.png",
            "/openapi.json",
            "/assets/",
        ],
    );
    // Files of Swagger UI the page does not load are not served.
    assert_eq!(
        anonymous.get("/docs/swagger-ui-bundle.js.map").await.status,
        404
    );

    for (username, who, reached) in [
        (
            "reception-x00001",
            "as a receptionist",
            &["/?nhs=9990000018", "/appointments/", "/assets/"][..],
        ),
        ("hubstaff", "as hub staff", &["/hub/day", "/assets/"][..]),
        (
            "manager",
            "as the cluster manager",
            &[
                "/manage/rotas",
                "/manage/setup",
                "/manage/reports/",
                "/assets/images/",
            ][..],
        ),
        ("admin", "as the administrator", &["/admin"][..]),
    ] {
        let mut browser = Browser::new(&app);
        let signed = browser.sign_in(username, "demo-password").await;
        assert_eq!(signed.status, 303, "{username}: {}", signed.body);
        // A search for a demo patient, as the search form sends it, shows the patient's
        // appointments and slots (for the receptionist; the others are sent to their own pages).
        let fetched = crawl(&mut browser, &["/", "/?nhs=9990000018"]).await;
        print(who, &fetched);
        assert_reached(&fetched, reached);
    }
}

both!(nothing_served_names_another_host);

#[test]
fn the_checks_catch_what_a_browser_would_fetch_elsewhere() {
    let page = r#"<link href="/assets/a.css"><img src="https://validator.swagger.io/validator?url=x"><svg xmlns="http://www.w3.org/2000/svg"></svg>"#;
    assert_eq!(
        foreign_urls(page, Kind::Html),
        vec!["https://validator.swagger.io/validator?url=x"]
    );
    assert_eq!(
        references(page, Kind::Html),
        vec![
            "/assets/a.css",
            "https://validator.swagger.io/validator?url=x"
        ]
    );
    let style = "a{background:url(//fonts.example.org/x.woff2)} @import 'b.css';";
    assert_eq!(
        references(style, Kind::Css),
        vec!["//fonts.example.org/x.woff2", "b.css"]
    );
    assert_eq!(
        resolve("/docs/", "//fonts.example.org/x.woff2"),
        Err("//fonts.example.org/x.woff2".to_owned())
    );
    assert_eq!(
        resolve("/docs/", "./swagger-ui.css"),
        Ok(Some("/docs/swagger-ui.css".to_owned()))
    );
    assert_eq!(
        resolve("/manage/rotas/1", "../setup?x=1"),
        Ok(Some("/manage/setup?x=1".to_owned()))
    );
    assert_eq!(
        resolve("/", "http://127.0.0.1:8080/docs/"),
        Ok(Some("/docs/".to_owned()))
    );
    assert_eq!(resolve("/", "#main"), Ok(None));
    assert_eq!(
        resolve("/manage", "/manage/setup#sites"),
        Ok(Some("/manage/setup".to_owned()))
    );
    // A script may hold Swagger UI's texts, but not the validator it would call.
    let script =
        r#"x="https://redux.js.org/Errors?code=1";y="https://validator.swagger.io/validator""#;
    assert_eq!(
        foreign_urls(script, Kind::Script),
        vec!["https://validator.swagger.io/validator"]
    );
    assert_eq!(foreign_urls(script, Kind::Css).len(), 2);
    // A placeholder without a host, and this machine, are not other hosts.
    assert!(foreign_urls("`https://...` or http://localhost:8080/x", Kind::Html).is_empty());
}
