//! Structured logs with `tracing`: JSON lines in production, readable lines in development.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use crate::config::{Config, LogFormat};

/// Install the global subscriber (once; later calls are ignored). `RUST_LOG`, when set, overrides
/// `LOG_LEVEL` with a full filter directive.
pub(crate) fn init(config: &Config) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directive) if !directive.trim().is_empty() => EnvFilter::new(directive),
        _ => EnvFilter::default()
            .add_directive(LevelFilter::from_level(config.log_level).into())
            .add_directive("hyper=warn".parse().expect("static directive"))
            .add_directive("tokio_postgres=warn".parse().expect("static directive")),
    };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stdout);
    let _ = match config.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        _ => builder.compact().with_target(false).try_init(),
    };
    std::panic::set_hook(Box::new(|info| {
        let message = crate::panic_text(info.payload()).unwrap_or("panic");
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(target: "webstir::panic", panic = %message, location = %location, "panic");
    }));
}
