//! Structured logs with `tracing`: JSON lines in production, readable lines in development.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::{Config, LogFormat};

/// Install the global subscriber (once; later calls are ignored). `RUST_LOG`, when set, overrides
/// `LOG_LEVEL` with a full filter directive.
pub(crate) fn init(config: &Config) {
    // `RUST_LOG` takes `target=level` directives (`info,webstir::http=debug`); a directive it cannot
    // read is reported and the `LOG_LEVEL` default is used.
    let default = || {
        Targets::new()
            .with_default(LevelFilter::from_level(config.log_level))
            .with_target("hyper", LevelFilter::WARN)
            .with_target("tokio_postgres", LevelFilter::WARN)
    };
    let mut problem = None;
    let filter = match std::env::var("RUST_LOG") {
        Ok(directive) if !directive.trim().is_empty() => match directive.parse::<Targets>() {
            Ok(targets) => targets,
            Err(err) => {
                problem = Some(format!(
                    "RUST_LOG={directive:?} is not a filter this runtime reads ({err}); using LOG_LEVEL"
                ));
                default()
            }
        },
        _ => default(),
    };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout())
        && std::env::var_os("NO_COLOR").is_none();
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(std::io::stdout);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match config.log_format {
        LogFormat::Json => registry
            .with(
                layer
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        _ => registry.with(layer.compact().with_target(false)).try_init(),
    };
    if let Some(problem) = problem {
        tracing::warn!(target: "webstir::app", "{problem}");
    }
    std::panic::set_hook(Box::new(|info| {
        let message = crate::panic_text(info.payload()).unwrap_or("panic");
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(target: "webstir::panic", panic = %message, location = %location, "panic");
    }));
}
