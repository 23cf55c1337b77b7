//! Where the config comes from: `--config FILE`, else `$WEIR_CONFIG`, else the
//! embedded default.

use std::path::PathBuf;

use weir::config::default::default_config;
use weir::config::{Config, ConfigError, load_file, load_str};

/// A config and the name it is reported under.
pub struct Loaded {
    /// The config.
    pub config: Config,
    /// The file, or `(default config)`.
    pub source: String,
    /// The file, when there is one.
    pub path: Option<PathBuf>,
}

/// Name under which the embedded default config is reported.
pub const DEFAULT_SOURCE: &str = "(default config)";

/// Loads the config the command line asks for.
pub fn load(path: Option<PathBuf>) -> Result<Loaded, Vec<ConfigError>> {
    let path = path.or_else(|| {
        std::env::var_os("WEIR_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    match path {
        Some(path) => Ok(Loaded {
            config: load_file(&path)?,
            source: path.display().to_string(),
            path: Some(path),
        }),
        None => {
            let webhook = std::env::var("WEIR_WEBHOOK_URL").ok().filter(|url| !url.is_empty());
            let text = default_config(webhook.as_deref());
            Ok(Loaded {
                config: load_str(&text, DEFAULT_SOURCE, &|name| std::env::var(name).ok())?,
                source: DEFAULT_SOURCE.into(),
                path: None,
            })
        }
    }
}
