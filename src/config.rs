//! The optional configuration file: TOML with one key per `HUBBOOK_*` environment variable,
//! named as the variable without its prefix, in lower case (`database_url = "sqlite://..."`
//! for `HUBBOOK_DATABASE_URL`). A flag wins over the environment, which wins over the file,
//! which wins over the default: the file's values only fill the variables the environment
//! leaves unset, before the command line is parsed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The variable that names the configuration file when `--config` does not.
pub const CONFIG_VARIABLE: &str = "HUBBOOK_CONFIG";

/// Every key a configuration file may hold, with the variable it stands for and what it sets.
pub const KEYS: [(&str, &str); 20] = [
    ("log_format", "log lines as `text` or `json`"),
    ("log", "the log filter, e.g. `info` or `hubbook=debug`"),
    (
        "database_url",
        "the database of serve, migrate, seed and user add",
    ),
    ("bind", "the address serve and demo listen on"),
    ("jwt_secret", "the secret that signs access tokens"),
    ("token_ttl", "access-token lifetime in seconds"),
    ("db_pool_size", "most database connections"),
    ("workers", "HTTP worker threads"),
    ("hold_seconds", "how long a hold keeps a slot"),
    ("events_interval_ms", "how often the periodic work runs"),
    (
        "webhook_backoff_ms",
        "the first wait after a failed webhook delivery",
    ),
    ("work_lease_ms", "how long a process holds background work"),
    ("gpconnect_asid", "this provider's GP Connect ASID"),
    ("tls_cert", "the PEM certificate chain for HTTPS"),
    ("tls_key", "the PEM private key of tls_cert"),
    ("tls_client_ca", "the PEM CA of client certificates"),
    ("demo_database_url", "the demo's database"),
    ("demo_password", "the demo users' password"),
    ("seed_password", "the seeded users' password"),
    ("user_password", "the password of `user add`"),
];

/// The environment variable a key stands for: `bind` is `HUBBOOK_BIND`.
pub fn variable(key: &str) -> String {
    format!("HUBBOOK_{}", key.to_ascii_uppercase())
}

/// The configuration file the command line names with `--config path` or `--config=path`
/// (before a `--`), else the one `HUBBOOK_CONFIG` names, else none.
pub fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut args = args.iter().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.to_str().and_then(|a| a.strip_prefix("--config=")) {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os(CONFIG_VARIABLE).map(PathBuf::from)
}

/// The variables a configuration file sets, in the file's order: refuses an unknown key (naming
/// it and the file) and a value that is not a string, a number or a boolean.
pub fn read(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the configuration file {}", path.display()))?;
    parse(&text).with_context(|| format!("the configuration file {}", path.display()))
}

/// [`read`] on the file's text.
pub fn parse(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| anyhow::anyhow!("{}", e.message()))?;
    let mut variables = Vec::new();
    for (key, value) in table {
        anyhow::ensure!(
            KEYS.iter().any(|(known, _)| *known == key),
            "unknown key `{key}` (the keys are {})",
            KEYS.map(|(k, _)| k).join(", ")
        );
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => anyhow::bail!("`{key}` must be a string, a number or a boolean"),
        };
        variables.push((variable(&key), value));
    }
    Ok(variables)
}

/// Reads the configuration file the command line or `HUBBOOK_CONFIG` names, if any, and sets
/// each of its variables the environment leaves unset. Call it first thing in `main`, while the
/// process has one thread: changing the environment is not safe once others may read it.
pub fn apply(args: &[OsString]) -> anyhow::Result<()> {
    let Some(path) = config_path(args) else {
        return Ok(());
    };
    for (name, value) in read(&path)? {
        if std::env::var_os(&name).is_none() {
            std::env::set_var(name, value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_names_variables_by_their_keys() {
        let set = parse("bind = \"127.0.0.1:9000\"\ntoken_ttl = 600\n").unwrap();
        assert_eq!(
            set,
            vec![
                ("HUBBOOK_BIND".to_owned(), "127.0.0.1:9000".to_owned()),
                ("HUBBOOK_TOKEN_TTL".to_owned(), "600".to_owned()),
            ]
        );
        let unknown = format!("{:#}", parse("bnid = \"x\"").unwrap_err());
        assert!(unknown.contains("unknown key `bnid`"), "{unknown}");
        let table = format!("{:#}", parse("[bind]\nport = 1").unwrap_err());
        assert!(table.contains("`bind` must be"), "{table}");
        assert!(parse("bind = ").is_err());
    }

    #[test]
    fn the_command_line_names_the_file_before_the_environment() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            config_path(&args(&["hubbook", "--config", "a.toml", "serve"])),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(
            config_path(&args(&["hubbook", "serve", "--config=b.toml"])),
            Some(PathBuf::from("b.toml"))
        );
    }
}
