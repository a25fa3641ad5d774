//! A minimal browser for the tests: one cookie jar (the session cookie), no redirects followed,
//! forms read from the page and posted back as a browser would; and the check that a page or
//! file names no other host.

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::redirect::Policy;

use crate::helpers::TestApp;

/// A page as the browser received it.
#[derive(Debug)]
pub struct Page {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
}

impl Page {
    /// The `Location` of a redirect.
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The hold's id in a redirect to its page (`/holds/<id>?...`).
    pub fn hold_id(&self) -> String {
        let path = self.location().split('?').next().unwrap_or_default();
        path.split('/').nth(2).unwrap_or_default().to_owned()
    }

    /// The value of the first hidden or text input named `name` in the form posting to `action`.
    pub fn field(&self, action: &str, name: &str) -> String {
        self.form(action)
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .unwrap_or_default()
    }

    /// The named inputs (with their values) and textareas of the first form posting to `action`.
    pub fn form(&self, action: &str) -> Vec<(String, String)> {
        // An address drawn from a template value has its slashes escaped.
        let body = self.body.replace("&#x2f;", "/");
        let start = body
            .find(&format!("action=\"{action}\""))
            .unwrap_or_else(|| panic!("no form posting to {action} in {}", self.body));
        let end = start + body[start..].find("</form>").expect("the form ends");
        let form = &body[start..end];
        let mut fields = Vec::new();
        for tag in form.split('<').skip(1) {
            let attr = |name: &str| {
                let key = format!(" {name}=\"");
                tag.find(&key).map(|i| {
                    let rest = &tag[i + key.len()..];
                    unescape(&rest[..rest.find('"').unwrap_or(0)])
                })
            };
            if tag.starts_with("input") {
                if let Some(name) = attr("name") {
                    fields.push((name, attr("value").unwrap_or_default()));
                }
            } else if tag.starts_with("textarea") {
                if let Some(name) = attr("name") {
                    let text = &tag[tag.find('>').map_or(tag.len(), |i| i + 1)..];
                    fields.push((name, unescape(text)));
                }
            }
        }
        fields
    }

    /// Asserts that the page names no other host: no `http://` or `https://` anywhere in it.
    #[track_caller]
    pub fn assert_local(&self) -> &Self {
        assert_local(&self.body, "a page");
        self
    }
}

fn unescape(s: &str) -> String {
    s.replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Asserts `text` names no other host (XML namespace names in icons are identifiers, not hosts
/// fetched, and are allowed).
#[track_caller]
pub fn assert_local(text: &str, what: &str) {
    let cleaned = text
        .replace("\"http://www.w3.org/2000/svg\"", "")
        .replace("\"http://www.w3.org/1999/xlink\"", "");
    for scheme in ["http://", "https://"] {
        if let Some(i) = cleaned.find(scheme) {
            panic!(
                "{what} names another host: {}",
                &cleaned[i..(i + 80).min(cleaned.len())]
            );
        }
    }
}

/// A browser signed in (or not) to one test server.
#[derive(Clone)]
pub struct Browser {
    base: String,
    client: reqwest::Client,
    cookie: Option<String>,
    /// Headers sent with every request (a proxy's `X-Forwarded-Proto`, an `Origin`...).
    pub extra: Vec<(&'static str, String)>,
}

impl Browser {
    /// A browser with no cookies yet.
    pub fn new(app: &TestApp) -> Self {
        Self {
            base: app.base.clone(),
            client: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            cookie: None,
            extra: Vec::new(),
        }
    }

    /// A browser with no cookies yet that sends through `client` (one that trusts a test
    /// server's TLS certificate, say); it must not follow redirects.
    #[allow(dead_code)]
    pub fn with_client(app: &TestApp, client: reqwest::Client) -> Self {
        Self {
            client,
            ..Self::new(app)
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let mut request = request;
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        for (name, value) in &self.extra {
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        for value in headers.get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap().to_owned();
            if text.contains("Max-Age=0") || pair.ends_with("_console=") {
                self.cookie = None;
            } else {
                self.cookie = Some(pair);
            }
        }
        let body = response.text().await.expect("a body");
        Page {
            status,
            headers,
            body,
        }
    }

    /// GET a path.
    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.client.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// POST a form to a path.
    pub async fn post(&mut self, path: &str, form: &[(String, String)]) -> Page {
        let body = serde_urlencoded::to_string(form).unwrap();
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header(
                "content-type",
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .body(body);
        self.send(request).await
    }

    /// Signs in through the sign-in page; returns the answer to the sign-in post.
    pub async fn sign_in(&mut self, username: &str, password: &str) -> Page {
        let page = self.get("/sign-in").await;
        assert_eq!(page.status, 200);
        page.assert_local();
        let mut form = page.form("/sign-in");
        form.retain(|(n, _)| n == "csrf_token");
        form.push(("username".into(), username.into()));
        form.push(("password".into(), password.into()));
        self.post("/sign-in", &form).await
    }
}

/// Form pairs from `(&str, &str)`s.
pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Fills the patient form's name, date of birth and phone.
pub fn fill_patient(
    form: &mut Vec<(String, String)>,
    name: &str,
    (day, month, year): (&str, &str, &str),
    phone: &str,
) {
    for (k, v) in [
        ("name", name),
        ("birth_day", day),
        ("birth_month", month),
        ("birth_year", year),
        ("phone", phone),
    ] {
        set(form, k, v);
    }
}

/// Replaces (or adds) a field's value in a form.
pub fn set(form: &mut Vec<(String, String)>, name: &str, value: &str) {
    match form.iter_mut().find(|(n, _)| n == name) {
        Some(field) => field.1 = value.to_owned(),
        None => form.push((name.to_owned(), value.to_owned())),
    }
}
