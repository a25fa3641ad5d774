//! Debian's chromium, headless, driven through one chromedriver per test binary: the driver is
//! started once (a `OnceLock`), each test opens its own browser session on it, and helpers wait
//! for the page (never a fixed sleep), check it with axe-core and save a screenshot.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::wd::WindowHandle;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// Where Debian's chromium-driver puts chromedriver (`.ci/run` installs it).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long any wait for the page lasts before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(15);
/// The vendored axe-core, injected into each page checked.
const AXE: &str = include_str!("../../crates/hubbook-console/tests/vendor/axe-core/axe.min.js");
/// The WebDriver code of the Enter key.
const ENTER: char = '\u{E007}';

/// The chromedriver of this test binary: its port, and the watcher whose stdin closing (when the
/// test binary exits, however it exits) stops chromedriver and the browsers it started.
struct Driver {
    port: u16,
    _watcher: Mutex<Child>,
}

static DRIVER: OnceLock<Driver> = OnceLock::new();

/// Starts chromedriver on a free port, once per test binary; fails loudly when it is missing.
fn driver() -> &'static Driver {
    DRIVER.get_or_init(|| {
        assert!(
            Path::new(CHROMEDRIVER).exists(),
            "{CHROMEDRIVER} is missing: the browser tests need Debian's chromium and \
             chromium-driver (`apt-get install -y chromium chromium-driver`, as .ci/run does); \
             they never skip"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = driver_log();
        // A session of its own, so that the watcher can stop chromedriver and every browser
        // under it by the process group when the test binary's end closes its stdin.
        let script = format!(
            "{CHROMEDRIVER} --port={port} --allowed-ips=127.0.0.1 >'{}' 2>&1 & read _; kill -- -$$",
            log.display()
        );
        let watcher = Command::new("setsid")
            .args(["sh", "-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("setsid and sh start chromedriver");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < PATIENCE,
                "chromedriver did not listen on port {port} within {PATIENCE:?}; see {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Driver {
            port,
            _watcher: Mutex::new(watcher),
        }
    })
}

fn driver_log() -> PathBuf {
    let dir = target_dir();
    std::fs::create_dir_all(&dir).expect("the target directory");
    dir.join("chromedriver.log")
}

fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target")
}

/// One headless browser session, with JavaScript on or off.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    base: String,
}

impl Browser {
    /// Opens headless chromium at the server `base` (`http://127.0.0.1:<port>`).
    pub async fn open(base: &str, javascript: bool) -> Self {
        let driver = driver();
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1280,900",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
        ];
        if !javascript {
            args.push("--blink-settings=scriptEnabled=false");
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": "/usr/bin/chromium", "args": args}),
        );
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.enforce_http(true);
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| panic!("chromedriver opens a chromium session: {e}"));
        Self {
            client,
            base: base.to_owned(),
        }
    }

    /// Loads a path of the server.
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("loading {path}: {e}"));
    }

    /// Runs a script in the page and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("running {script}: {e}"))
    }

    /// Runs a script that calls back (its last argument) with a value, such as a `fetch` made
    /// with the page's own cookies, and returns that value.
    pub async fn js_async(&self, script: &str) -> Value {
        self.client
            .execute_async(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("running {script}: {e}"))
    }

    /// Opens a second tab of this browser (the same cookies, so the same session), leaving
    /// the first one current; returns `(first, second)` for [`Browser::switch_to`].
    pub async fn open_tab(&self) -> (WindowHandle, WindowHandle) {
        let first = self.client.window().await.expect("the current tab");
        let second = self
            .client
            .new_window(true)
            .await
            .expect("a new tab")
            .handle;
        (first, second)
    }

    /// Makes a tab from [`Browser::open_tab`] the current one.
    pub async fn switch_to(&self, tab: &WindowHandle) {
        self.client
            .switch_to_window(tab.clone())
            .await
            .expect("switching tabs");
    }

    /// What the page looks like now, for a failure message.
    pub async fn describe(&self) -> String {
        let url = self.client.current_url().await.map(|u| u.to_string());
        let state = self
            .client
            .execute(
                "const a = document.activeElement; const h = document.querySelector('main h1');\
                 return 'h1: ' + (h ? h.textContent.trim() : '(none)') + '\\nfocus: ' + \
                 (a ? a.outerHTML.slice(0, 300) : '(none)') + '\\nerrors: ' + \
                 Array.from(document.querySelectorAll('.nhsuk-error-summary li')).map(e => e.textContent.trim()).join(' | ')",
                Vec::new(),
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        format!("url: {url:?}\n{state}")
    }

    /// Waits until the script `condition` (a boolean expression) holds; fails with `what` and
    /// the page's state when it does not within [`PATIENCE`].
    pub async fn wait_for(&self, condition: &str, what: &str) {
        let script = format!("return !!({condition});");
        let started = Instant::now();
        loop {
            // A navigation in progress may make a script fail; that is "not yet".
            if let Ok(Value::Bool(true)) = self.client.execute(&script, Vec::new()).await {
                return;
            }
            if started.elapsed() > PATIENCE {
                panic!("waited {PATIENCE:?} for {what}\n{}", self.describe().await);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until the page's main heading contains `text` and the document has loaded.
    pub async fn wait_heading(&self, text: &str) {
        let text = serde_json::to_string(text).expect("text as JSON");
        self.wait_for(
            &format!(
                "document.readyState === 'complete' && !document.querySelector('.htmx-request') && \
                 document.querySelector('main h1') && \
                 document.querySelector('main h1').textContent.includes({text})"
            ),
            &format!("a page headed {text}"),
        )
        .await;
    }

    /// Waits until the focused element matches the CSS `selector`.
    pub async fn wait_focus(&self, selector: &str) {
        let sel = serde_json::to_string(selector).expect("selector as JSON");
        self.wait_for(
            &format!("document.activeElement && document.activeElement.matches({sel})"),
            &format!("the focus on {selector}"),
        )
        .await;
    }

    /// Presses Enter wherever the focus is, as the keyboard would.
    pub async fn press_enter(&self) {
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: ENTER })
            .then(KeyAction::Up { value: ENTER });
        self.client
            .perform_actions(keys)
            .await
            .unwrap_or_else(|e| panic!("pressing Enter: {e}"));
    }

    /// Types text wherever the focus is.
    pub async fn type_text(&self, text: &str) {
        let mut keys = KeyActions::new("keyboard".into());
        for c in text.chars() {
            keys = keys
                .then(KeyAction::Down { value: c })
                .then(KeyAction::Up { value: c });
        }
        self.client
            .perform_actions(keys)
            .await
            .unwrap_or_else(|e| panic!("typing {text}: {e}"));
    }

    /// Types into the field matching `selector` (after clearing it).
    pub async fn fill(&self, selector: &str, text: &str) {
        let field = self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no field {selector}: {e}"));
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clearing {selector}: {e}"));
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into {selector}: {e}"));
    }

    /// Clicks the element matching `selector`.
    pub async fn click(&self, selector: &str) {
        let element = self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no element {selector}: {e}"));
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {selector}: {e}"));
    }

    /// Moves the focus to the element matching `selector`, and waits until it stays there: a
    /// page just swapped in may still move the focus to its `autofocus` element, so the focus
    /// is set again until it holds for two looks 100 ms apart.
    pub async fn focus(&self, selector: &str) {
        let sel = serde_json::to_string(selector).expect("selector as JSON");
        let on_it = format!("document.activeElement && document.activeElement.matches({sel})");
        let started = Instant::now();
        loop {
            self.js(&format!("document.querySelector({sel}).focus()"))
                .await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            if let Value::Bool(true) = self.js(&format!("return !!({on_it});")).await {
                return;
            }
            if started.elapsed() > PATIENCE {
                panic!(
                    "waited {PATIENCE:?} for the focus to stay on {selector}\n{}",
                    self.describe().await
                );
            }
        }
    }

    /// The text of the element matching `selector` (empty when there is none).
    pub async fn text(&self, selector: &str) -> String {
        let sel = serde_json::to_string(selector).expect("selector as JSON");
        self.js(&format!(
            "const e = document.querySelector({sel}); return e ? e.textContent : ''"
        ))
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// How many elements match `selector`.
    pub async fn count(&self, selector: &str) -> usize {
        let sel = serde_json::to_string(selector).expect("selector as JSON");
        let n = self
            .js(&format!("return document.querySelectorAll({sel}).length"))
            .await;
        usize::try_from(n.as_u64().unwrap_or_default()).unwrap_or_default()
    }

    /// Saves a screenshot as `target/console-screenshots/<name>.png` and runs axe-core on the
    /// page (WCAG 2.0, 2.1 and 2.2 A and AA): fails listing each violation's id, impact and
    /// targets.
    pub async fn check(&self, name: &str) {
        self.screenshot(name).await;
        self.axe(name).await;
    }

    /// Saves a screenshot as `target/console-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("a screenshot of {name}: {e}"));
        let dir = target_dir().join("console-screenshots");
        std::fs::create_dir_all(&dir).expect("the screenshots' directory");
        let mut file = std::fs::File::create(dir.join(format!("{name}.png"))).expect("a file");
        file.write_all(&png).expect("the screenshot is written");
    }

    /// Runs axe-core on the page (WCAG 2.0, 2.1 and 2.2 A and AA rules): the violations, each
    /// with its id, impact, help and targets. Fails when axe-core checked nothing.
    pub async fn axe_violations(&self, name: &str) -> Vec<Value> {
        if self.js("return typeof window.axe").await != json!("object") {
            self.js(AXE).await;
        }
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})\
                   .then(r => done({passes: r.passes.length, violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,\
                      targets: v.nodes.map(n => n.target.join(' '))}))}))\
                   .catch(e => done({passes: 0, error: String(e)}));",
                Vec::new(),
            )
            .await
            .unwrap_or_else(|e| panic!("axe-core runs on {name}: {e}"));
        assert!(
            found["passes"].as_u64().unwrap_or_default() > 0,
            "axe-core checked nothing on {name}: {found}"
        );
        found["violations"].as_array().cloned().unwrap_or_default()
    }

    /// Runs axe-core on the page; fails listing the violations' ids, impact and targets.
    pub async fn axe(&self, name: &str) {
        let violations = self.axe_violations(name).await;
        if !violations.is_empty() {
            let list: Vec<String> = violations
                .iter()
                .map(|v| {
                    format!(
                        "- {} ({}): {}; at {}",
                        v["id"].as_str().unwrap_or_default(),
                        v["impact"].as_str().unwrap_or_default(),
                        v["help"].as_str().unwrap_or_default(),
                        v["targets"]
                    )
                })
                .collect();
            panic!(
                "axe-core finds {} WCAG 2.2 AA violation(s) on {name}:\n{}",
                violations.len(),
                list.join("\n")
            );
        }
    }

    /// Ends the browser session.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
