//! Runtime configuration read from the environment, with clear errors for bad values.

use std::net::IpAddr;
use std::time::Duration;

use crate::Env;

/// A configuration value that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} {problem}, got '{value}'")]
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// The offending value.
    pub value: String,
    /// What was expected.
    pub problem: &'static str,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// One JSON object per line (default when `NODE_ENV=production`).
    Json,
    /// Human-readable lines (default otherwise).
    Pretty,
}

/// The mode an app binary runs in when `NODE_ENV` is not set: `development` in debug builds,
/// `production` in release builds (`cargo build --release`, `webstir build --release`,
/// `webstir publish`). Decided when this crate is compiled (`debug_assertions`), so a published
/// binary is in production mode wherever it runs; `NODE_ENV` still overrides it. [`run`](crate::run)
/// applies it; [`Config::from_env`] on its own defaults to `development`.
pub(crate) const BUILD_NODE_ENV: &str = if cfg!(debug_assertions) {
    "development"
} else {
    "production"
};

/// Runtime settings. Build with [`Config::from_env`]; every field has a documented variable.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// `NODE_ENV` (default `development`; an app binary started by [`run`](crate::run) defaults to
    /// `production` when it is a release build).
    pub node_env: String,
    /// `HOST` (default `127.0.0.1`, or `0.0.0.0` when `NODE_ENV=production`).
    pub host: IpAddr,
    /// `PORT` (default 4000; `0` picks a free port).
    pub port: u16,
    /// `REQUEST_BODY_MAX_BYTES` (default 1048576).
    pub body_limit: u64,
    /// `LOG_LEVEL`: trace, debug, info, warn, error (fatal = error). Default info.
    pub log_level: tracing::Level,
    /// `LOG_FORMAT`: json or pretty.
    pub log_format: LogFormat,
    /// `LOG_SERVICE_NAME` (default `webstir-backend`).
    pub service_name: String,
    /// `SHUTDOWN_GRACE_MS`: how long in-flight requests may run after SIGINT/SIGTERM (default 10000).
    pub shutdown_grace: Duration,
    /// `HTTP_HEADER_TIMEOUT_MS`: time a client has to send a request head (default 10000).
    pub header_read_timeout: Duration,
    /// `HTTP_IDLE_TIMEOUT_MS`: keep-alive connections idle this long are closed (default 60000).
    pub idle_timeout: Duration,
    /// `HTTP_MAX_CONNECTIONS`: open connections beyond this wait to be accepted (default 10000).
    pub max_connections: usize,
    /// `REQUEST_TIMEOUT_MS`: a handler running longer is answered with 503 (default 30000; 0 = off).
    pub request_timeout: Option<Duration>,
    /// `METRICS_ENABLED`: `1`, `true`, `yes`, `on` (default) enable `/metrics`; any other value disables it.
    pub metrics_enabled: bool,
    /// `METRICS_WINDOW`: how many recent requests the average and p95 cover (default 200).
    pub metrics_window: usize,
    /// `JOBS_SCHEDULER`: `in-process` runs the jobs on their schedules inside `serve` (one binary
    /// for HTTP and jobs); `off` (default) leaves scheduling to `jobs --watch` or an external
    /// scheduler.
    pub jobs_in_process: bool,
}

impl Config {
    /// Read the configuration from `env`.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the variable and what it expects.
    ///
    /// ```
    /// use webstir::{Config, Env};
    /// let config = Config::from_env(&Env::from_pairs([("PORT", "8080")])).unwrap();
    /// assert_eq!(config.port, 8080);
    /// let err = Config::from_env(&Env::from_pairs([("PORT", "http")])).unwrap_err();
    /// assert_eq!(err.to_string(), "PORT must be a port number (0-65535), got 'http'");
    /// ```
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let node_env = env
            .get_trimmed("NODE_ENV")
            .unwrap_or("development")
            .to_owned();
        let production = node_env == "production";
        let host = match env.get_trimmed("HOST") {
            Some(v) => v.parse().map_err(|_| ConfigError {
                name: "HOST",
                value: v.to_owned(),
                problem: "must be an IP address such as 127.0.0.1 or 0.0.0.0",
            })?,
            None if production => IpAddr::from([0, 0, 0, 0]),
            None => IpAddr::from([127, 0, 0, 1]),
        };
        let port = parse(env, "PORT", 4000u16, "must be a port number (0-65535)")?;
        let body_limit = parse(
            env,
            "REQUEST_BODY_MAX_BYTES",
            1_048_576u64,
            "must be a whole number of bytes",
        )?;
        let log_level = match env.get_trimmed("LOG_LEVEL").map(str::to_ascii_lowercase) {
            None => tracing::Level::INFO,
            Some(v) => match v.as_str() {
                "trace" => tracing::Level::TRACE,
                "debug" => tracing::Level::DEBUG,
                "info" => tracing::Level::INFO,
                "warn" | "warning" => tracing::Level::WARN,
                "error" | "fatal" => tracing::Level::ERROR,
                _ => {
                    return Err(ConfigError {
                        name: "LOG_LEVEL",
                        value: v,
                        problem: "must be one of trace, debug, info, warn, error",
                    });
                }
            },
        };
        let log_format = match env.get_trimmed("LOG_FORMAT").map(str::to_ascii_lowercase) {
            None if production => LogFormat::Json,
            None => LogFormat::Pretty,
            Some(v) if v == "json" => LogFormat::Json,
            Some(v) if v == "pretty" || v == "text" => LogFormat::Pretty,
            Some(v) => {
                return Err(ConfigError {
                    name: "LOG_FORMAT",
                    value: v,
                    problem: "must be json or pretty",
                });
            }
        };
        let ms = |name: &'static str, default: u64| {
            parse(env, name, default, "must be a whole number of milliseconds")
                .map(Duration::from_millis)
        };
        let request_timeout = ms("REQUEST_TIMEOUT_MS", 30_000)?;
        let jobs_in_process = match env
            .get_trimmed("JOBS_SCHEDULER")
            .map(str::to_ascii_lowercase)
        {
            None => false,
            Some(v) if v == "off" => false,
            Some(v) if v == "in-process" => true,
            Some(v) => {
                return Err(ConfigError {
                    name: "JOBS_SCHEDULER",
                    value: v,
                    problem: "must be in-process or off",
                });
            }
        };
        Ok(Self {
            node_env,
            host,
            port,
            body_limit,
            log_level,
            log_format,
            service_name: env
                .get_trimmed("LOG_SERVICE_NAME")
                .unwrap_or("webstir-backend")
                .to_owned(),
            shutdown_grace: ms("SHUTDOWN_GRACE_MS", 10_000)?,
            header_read_timeout: ms("HTTP_HEADER_TIMEOUT_MS", 10_000)?,
            idle_timeout: ms("HTTP_IDLE_TIMEOUT_MS", 60_000)?,
            max_connections: parse(
                env,
                "HTTP_MAX_CONNECTIONS",
                10_000usize,
                "must be a positive whole number",
            )?
            .max(1),
            request_timeout: (!request_timeout.is_zero()).then_some(request_timeout),
            jobs_in_process,
            metrics_enabled: env
                .get_trimmed("METRICS_ENABLED")
                .map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
                .unwrap_or(true),
            metrics_window: parse(
                env,
                "METRICS_WINDOW",
                200usize,
                "must be a positive whole number",
            )?
            .clamp(1, 100_000),
        })
    }

    /// Whether `NODE_ENV` is `production`.
    pub fn is_production(&self) -> bool {
        self.node_env == "production"
    }
}

fn parse<T: std::str::FromStr>(
    env: &Env,
    name: &'static str,
    default: T,
    problem: &'static str,
) -> Result<T, ConfigError> {
    match env.get_trimmed(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| ConfigError {
            name,
            value: v.to_owned(),
            problem,
        }),
    }
}
