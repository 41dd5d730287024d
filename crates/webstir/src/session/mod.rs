//! Server-side sessions behind a signed cookie, and flash messages carried in them.
//!
//! Only routes that declare `session` or `flash` touch any of this: the request path checks one
//! `Option` on the matched route, so other routes parse no cookie and never reach the store.
//!
//! Per request: [`start`] reads and verifies the cookie, loads the record (an expired one is
//! deleted and reads as absent), delivers the flash messages the route consumes, and refuses a
//! `session.mode: required` route without a session (401 `session_required`). The handler works
//! on a [`Session`] handle. [`Session::commit`] then publishes the route's flash messages and
//! writes the changes — only for responses other than 404, 413 and 5xx, which change nothing and
//! send no cookie — with the rules in `store.rs` (a stale write is 409 `session_conflict`).

mod cookie;
mod settings;
mod store;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::FromRequestParts;
use http::StatusCode;
use http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use webstir_manifest::{FlashSpec, RouteDefinition, SessionMode};

use crate::context::Scope;
use crate::server::response::Body;
use crate::{Error, Module, Result};
use cookie::Presented;
use store::{Record, Sweeping};

pub(crate) use store::{POSTGRES_SCHEMA, SQLITE_SCHEMA};

/// The app's session machinery: cookie codec, lifetime and store. Present only when a route
/// declares `session` or `flash`.
#[derive(Clone, Debug)]
pub(crate) struct Sessions(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    codec: cookie::CookieCodec,
    max_age_ms: i64,
    store: Sweeping,
}

impl Sessions {
    /// The sessions of `module`, or `None` when no route declares `session` or `flash`.
    pub(crate) fn open(
        module: &Module,
        env: &crate::Env,
        config: &crate::Config,
        db: Option<&webstir_db::Db>,
    ) -> Result<Option<Self>, crate::StartError> {
        let views = module.views.iter().any(|v| v.definition.session.is_some());
        if !views && !module.routes.iter().any(|r| declares(&r.definition)) {
            return Ok(None);
        }
        let production = config.is_production();
        let (codec, max_age) = settings::cookie(env, production)?;
        let (store, label) = settings::store(env, production, db)?;
        tracing::debug!(target: "webstir::session", store = label, max_age, "sessions enabled");
        Ok(Some(Self(Arc::new(Inner {
            codec,
            max_age_ms: i64::try_from(max_age).unwrap_or(i64::MAX / 2) * 1000,
            store,
        }))))
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Whether a route uses sessions at all (`session`, `flash` or `form.flash`).
fn declares(def: &RouteDefinition) -> bool {
    def.session.is_some()
        || def.flash.is_some()
        || def.form.as_ref().is_some_and(|f| f.session.is_some())
        || def
            .form
            .as_ref()
            .is_some_and(|f| f.flash.is_some() || f.csrf == Some(true))
}

/// When a published flash message is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    Always,
    Success,
    Error,
}

#[derive(Debug)]
struct Publish {
    key: String,
    level: Option<&'static str>,
    when: When,
}

const LEVELS: [&str; 4] = ["info", "success", "warning", "error"];

/// What a route declared about sessions, compiled at startup.
#[derive(Debug)]
pub(crate) struct RouteSession {
    route: Box<str>,
    /// `session` is declared (the app's values may be read).
    declared: bool,
    required: bool,
    write: bool,
    consume: Vec<String>,
    publish: Vec<Publish>,
    /// `form.csrf`: state-changing requests need the route's token (`crate::csrf`).
    pub(crate) csrf: bool,
}

impl RouteSession {
    /// The route's name (the key of its CSRF token).
    pub(crate) fn route_name(&self) -> &str {
        &self.route
    }
}

fn flash_specs(def: &RouteDefinition) -> impl Iterator<Item = &FlashSpec> {
    def.flash
        .iter()
        .chain(def.form.iter().filter_map(|f| f.flash.as_ref()))
}

/// The declaration's problem, if `session`/`flash` are declared in a way this runtime cannot
/// enforce: (key, message).
pub(crate) fn check(def: &RouteDefinition) -> Option<(&'static str, String)> {
    for spec in flash_specs(def) {
        if let Some(key) = spec.consume.iter().find(|k| k.trim().is_empty()) {
            return Some(("flash.consume", format!("has an empty key {key:?}")));
        }
        for publish in &spec.publish {
            if publish.key.trim().is_empty() {
                return Some(("flash.publish", "has an empty key".to_owned()));
            }
            if let Some(level) = &publish.level
                && !LEVELS.contains(&level.as_str())
            {
                return Some((
                    "flash.publish",
                    format!(
                        "has level '{level}' for '{}'; use info, success, warning or error",
                        publish.key
                    ),
                ));
            }
            if let Some(when) = &publish.when
                && !matches!(when.as_str(), "always" | "success" | "error")
            {
                return Some((
                    "flash.publish",
                    format!(
                        "has when '{when}' for '{}'; use always, success or error",
                        publish.key
                    ),
                ));
            }
        }
    }
    None
}

/// The compiled declaration of a route that uses sessions (`None`: the route never touches them).
pub(crate) fn route_spec(def: &RouteDefinition) -> Option<Arc<RouteSession>> {
    if !declares(def) {
        return None;
    }
    let mut consume = Vec::new();
    let mut publish = Vec::new();
    for spec in flash_specs(def) {
        consume.extend(spec.consume.iter().cloned());
        for p in &spec.publish {
            publish.push(Publish {
                key: p.key.clone(),
                level: p
                    .level
                    .as_deref()
                    .and_then(|l| LEVELS.iter().copied().find(|x| *x == l)),
                when: match p.when.as_deref() {
                    Some("success") => When::Success,
                    Some("error") => When::Error,
                    _ => When::Always,
                },
            });
        }
    }
    // `session` and the form's own `form.session` both count: required if either requires it,
    // writable if either writes.
    let specs: Vec<&webstir_manifest::SessionSpec> = def
        .session
        .iter()
        .chain(def.form.iter().filter_map(|f| f.session.as_ref()))
        .collect();
    Some(Arc::new(RouteSession {
        route: def.name.as_str().into(),
        declared: !specs.is_empty(),
        required: specs.iter().any(|s| s.mode == Some(SessionMode::Required)),
        write: specs.iter().any(|s| s.write == Some(true)),
        consume,
        publish,
        csrf: def.form.as_ref().and_then(|f| f.csrf) == Some(true),
    }))
}

/// A flash message: published by one route (its `flash.publish`), delivered once to the next
/// route that consumes its key (`flash.consume`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlashMessage {
    key: String,
    level: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    /// Unix milliseconds.
    at: i64,
}

impl FlashMessage {
    /// The key (`flash.publish[].key`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// `info`, `success`, `warning` or `error`.
    pub fn level(&self) -> &str {
        &self.level
    }

    /// The text the publishing handler attached with [`Session::flash`], if any.
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// When it was published.
    pub fn created_at(&self) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(self.at).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }
}

/// The session of the current request: the app's values (JSON), the id, and the flash messages.
///
/// Available to handlers of routes that declare `session` or `flash`
/// ([`Route::session`](crate::Route::session), [`Route::flash`](crate::Route::flash)) as
/// [`Ctx::session`](crate::Ctx::session) or as an extractor (`webstir::extract::Session`).
/// Reading values needs `session` declared; changing them (`insert`, `remove`, `regenerate`,
/// `destroy`) needs `session` with `write: true` — otherwise the call fails with a 500 naming the
/// route (declared means enforced). Changes are saved after the handler answers, unless the
/// response is 404, 413 or 5xx (then nothing changes).
///
/// ```
/// use webstir::manifest::SessionMode;
/// use webstir::{Ctx, Reply, Result, Route};
///
/// async fn sign_in(ctx: Ctx) -> Result<Reply> {
///     let session = ctx.session()?;
///     session.regenerate()?; // a new id on sign-in: the pre-login id is dead
///     session.insert("user", "ada@example.com")?;
///     Ok(Reply::redirect("/"))
/// }
///
/// async fn me(ctx: Ctx) -> Result<Reply> {
///     let user: Option<String> = ctx.session()?.get("user")?;
///     Ok(Reply::json(&serde_json::json!({ "user": user })))
/// }
///
/// let routes = [
///     Route::post("/session").session(SessionMode::Optional, true).handler(sign_in),
///     Route::get("/me").session(SessionMode::Required, false).handler(me),
/// ];
/// # let _ = routes;
/// ```
#[derive(Clone)]
pub struct Session(Arc<Live>);

struct Live {
    sessions: Sessions,
    route: Arc<RouteSession>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct Initial {
    id: String,
    version: i64,
    expires_at: i64,
}

#[derive(Debug, Default)]
struct State {
    /// The request carried a cookie that is no (longer a) session: clear it on commit.
    cookie_bad: bool,
    /// The record the request's cookie named.
    initial: Option<Initial>,
    /// The session's id now: the initial one, a new one (first write, `regenerate`), or none.
    id: Option<String>,
    body: store::Body,
    changed: bool,
    /// `destroy` was called: the initial record goes whatever its version.
    destroyed: bool,
    delivered: Vec<FlashMessage>,
    texts: Vec<(String, String)>,
    /// The handler kept a failed form submission (`Session::keep_form`): the response counts as
    /// a failure for flash, even when it is a redirect.
    form_failed: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        // The id is a credential: never printed.
        f.debug_struct("Session")
            .field("route", &self.0.route.route)
            .field("exists", &state.id.is_some())
            .field("keys", &state.body.data.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Why a request was answered before its handler: the error, and whether to clear the cookie.
pub(crate) struct Refusal {
    pub(crate) error: Error,
    pub(crate) clear: Option<http::HeaderValue>,
}

/// Read the request's session for a route that declares one (see the module docs).
pub(crate) async fn start(
    sessions: &Sessions,
    route: &Arc<RouteSession>,
    headers: &http::HeaderMap,
) -> Result<Session, Refusal> {
    let inner = &sessions.0;
    let mut state = State::default();
    match inner.codec.read(headers) {
        Presented::Absent => {}
        Presented::Invalid => {
            tracing::debug!(target: "webstir::session", "the session cookie did not verify; treated as no session");
            state.cookie_bad = true;
        }
        Presented::Valid(id) => match inner.store.load(&id, now_ms()).await {
            Ok(Some(record)) => {
                let Record {
                    id,
                    body,
                    version,
                    expires_at,
                    ..
                } = record;
                state.id = Some(id.clone());
                state.body = body;
                state.initial = Some(Initial {
                    id,
                    version,
                    expires_at,
                });
            }
            Ok(None) => state.cookie_bad = true,
            Err(err) => {
                tracing::error!(target: "webstir::session", error = %crate::services::error_chain(&err), "loading the session failed");
                return Err(Refusal {
                    error: err.into_error(),
                    clear: None,
                });
            }
        },
    }
    if route.required && state.initial.is_none() {
        return Err(Refusal {
            error: Error::new(
                StatusCode::UNAUTHORIZED,
                "session_required",
                "This route needs a session; sign in first.",
            ),
            clear: state.cookie_bad.then(|| inner.codec.clear()),
        });
    }
    if !route.consume.is_empty() && !state.body.flash.is_empty() {
        let (delivered, kept) = std::mem::take(&mut state.body.flash)
            .into_iter()
            .partition(|m: &FlashMessage| route.consume.contains(&m.key));
        state.body.flash = kept;
        state.delivered = delivered;
        state.changed |= !state.delivered.is_empty();
    }
    Ok(Session(Arc::new(Live {
        sessions: sessions.clone(),
        route: route.clone(),
        state: Mutex::new(state),
    })))
}

fn conflict() -> Error {
    Error::new(
        StatusCode::CONFLICT,
        "session_conflict",
        "The session was changed by another request while this one ran; nothing was saved. Retry the request.",
    )
}

impl Session {
    fn state(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn readable(&self) -> Result<()> {
        if self.0.route.declared {
            Ok(())
        } else {
            Err(Error::msg(format!(
                "route {} uses the session's values but does not declare `session`; add .session(SessionMode::Optional, false) (or Required) to its declaration",
                self.0.route.route
            )))
        }
    }

    fn writable(&self, what: &str) -> Result<()> {
        self.readable()?;
        if self.0.route.write {
            Ok(())
        } else {
            Err(Error::msg(format!(
                "route {} calls session.{what}() but declares `session` without `write: true`; declare .session(mode, true) to let it change the session",
                self.0.route.route
            )))
        }
    }

    /// The session id, when there is a session (a new one gets its id on the first change). It is
    /// a credential: do not log or show it.
    pub fn id(&self) -> Option<String> {
        self.state().id.clone()
    }

    /// Whether the request has a session (or the handler started one).
    pub fn exists(&self) -> bool {
        self.state().id.is_some()
    }

    /// When the stored session expires (absolute: sessions are not extended by use). `None` for a
    /// session created by this request, which lives `SESSION_MAX_AGE` from when it is saved.
    pub fn expires_at(&self) -> Option<jiff::Timestamp> {
        let state = self.state();
        let initial = state.initial.as_ref()?;
        (state.id.as_deref() == Some(initial.id.as_str()))
            .then(|| jiff::Timestamp::from_millisecond(initial.expires_at).ok())
            .flatten()
    }

    /// The value stored under `key`.
    ///
    /// # Errors
    /// 500 when the route does not declare `session`, or when the value does not deserialize
    /// into `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.readable()?;
        let state = self.state();
        match state.body.data.get(key) {
            None => Ok(None),
            Some(value) => T::deserialize(value).map(Some).map_err(|err| {
                Error::msg(format!(
                    "session value '{key}' is not a {}: {err}",
                    crate::context::short_type_name::<T>()
                ))
            }),
        }
    }

    /// Store `value` under `key` (starts a session when there is none).
    ///
    /// # Errors
    /// 500 when the route does not declare `session` with `write: true`, or when `value` does not
    /// serialize to JSON.
    pub fn insert<T: Serialize>(&self, key: impl Into<String>, value: T) -> Result<()> {
        self.writable("insert")?;
        let value = serde_json::to_value(value)
            .map_err(|err| Error::msg(format!("session value does not serialize: {err}")))?;
        let mut state = self.state();
        ensure_id(&mut state);
        state.body.data.insert(key.into(), value);
        state.changed = true;
        Ok(())
    }

    /// Remove `key`; whether it was there.
    ///
    /// # Errors
    /// 500 when the route does not declare `session` with `write: true`.
    pub fn remove(&self, key: &str) -> Result<bool> {
        self.writable("remove")?;
        let mut state = self.state();
        let removed = state.body.data.remove(key).is_some();
        state.changed |= removed;
        Ok(removed)
    }

    /// Give the session a new id, keeping its values (call it on sign-in and on any privilege
    /// change). The old id stops working when the response is sent; the new one gets a fresh
    /// lifetime.
    ///
    /// # Errors
    /// 500 when the route does not declare `session` with `write: true`.
    pub fn regenerate(&self) -> Result<()> {
        self.writable("regenerate")?;
        let mut state = self.state();
        state.id = Some(cookie::new_id());
        state.changed = true;
        Ok(())
    }

    /// End the session (sign-out): the stored record is deleted and the cookie cleared, so
    /// replaying the old cookie finds no session. Values inserted afterwards start a new session.
    ///
    /// # Errors
    /// 500 when the route does not declare `session` with `write: true`.
    pub fn destroy(&self) -> Result<()> {
        self.writable("destroy")?;
        let mut state = self.state();
        state.id = None;
        state.body = store::Body::default();
        state.destroyed = true;
        state.changed = true;
        Ok(())
    }

    /// Attach `text` to the flash message `key` this route publishes (`flash.publish`). The
    /// message is published when the response meets its `when` condition, with or without text.
    ///
    /// # Errors
    /// 500 when the route does not publish `key`.
    pub fn flash(&self, key: &str, text: impl Into<String>) -> Result<()> {
        if !self.0.route.publish.iter().any(|p| p.key == key) {
            return Err(Error::msg(format!(
                "route {} sets flash '{key}' but does not declare it in flash.publish; add FlashPublish::new(\"{key}\") to its .flash(..) declaration",
                self.0.route.route
            )));
        }
        self.state().texts.push((key.to_owned(), text.into()));
        Ok(())
    }

    /// The flash messages delivered to this request (the keys the route consumes), once: the next
    /// request does not see them again.
    pub fn flash_messages(&self) -> Vec<FlashMessage> {
        self.state().delivered.clone()
    }

    /// The runtime's own state under `key` (apart from the app's values; e.g. CSRF tokens).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn runtime_get(&self, key: &str) -> Option<serde_json::Value> {
        self.state().body.runtime.get(key).cloned()
    }

    /// Set (`Some`) or remove (`None`) the runtime's own state under `key`; setting starts a
    /// session when there is none. Not subject to `write: true` (the runtime's, not the app's).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn runtime_set(&self, key: &str, value: Option<serde_json::Value>) {
        let mut state = self.state();
        match value {
            Some(value) => {
                ensure_id(&mut state);
                state.body.runtime.insert(key.to_owned(), value);
                state.changed = true;
            }
            None => state.changed |= state.body.runtime.remove(key).is_some(),
        }
    }

    /// Marks the request as a failed form submission (see [`State::form_failed`]).
    pub(crate) fn mark_form_failed(&self) {
        self.state().form_failed = true;
    }

    /// Publish the route's flash messages and save the changes; sets or clears the cookie on
    /// `response`. A 404, 413 or 5xx response changes nothing and gets no cookie. A write that
    /// lost a race replaces the response with 409 `session_conflict`; a store failure with 503
    /// (unreachable) or 500.
    pub(crate) async fn commit(&self, response: &mut http::Response<Body>, expose: bool) {
        let status = response.status().as_u16();
        if status == 404 || status == 413 || status >= 500 {
            return;
        }
        match self.save(status >= 400).await {
            Ok(Some(cookie)) => {
                response
                    .headers_mut()
                    .append(http::header::SET_COOKIE, cookie);
            }
            Ok(None) => {}
            Err(err) => {
                if err.is_internal() {
                    tracing::error!(target: "webstir::session", error = %err, "saving the session failed");
                } else {
                    tracing::warn!(target: "webstir::session", status = err.status().as_u16(), "the session was not saved");
                }
                *response = crate::server::response::from_error(err, expose).response;
            }
        }
    }

    /// The store writes of [`Session::commit`]; the `Set-Cookie` value to send, if any.
    async fn save(&self, failed: bool) -> Result<Option<http::HeaderValue>> {
        let inner = &self.0.sessions.0;
        let now = now_ms();
        // Take what the writes need, so no lock is held across an await.
        let (initial, id, body, cookie_bad, destroyed) = {
            let mut state = self.state();
            let failed = failed || state.form_failed;
            for publish in &self.0.route.publish {
                let kept = match publish.when {
                    When::Always => true,
                    When::Success => !failed,
                    When::Error => failed,
                };
                if !kept {
                    continue;
                }
                let text = state
                    .texts
                    .iter()
                    .rev()
                    .find(|(k, _)| *k == publish.key)
                    .map(|(_, t)| t.clone());
                let level = publish
                    .level
                    .unwrap_or(if failed { "error" } else { "info" });
                state.body.flash.retain(|m| m.key != publish.key);
                state.body.flash.push(FlashMessage {
                    key: publish.key.clone(),
                    level: level.to_owned(),
                    text,
                    at: now,
                });
                ensure_id(&mut state);
                state.changed = true;
            }
            if !state.changed && !state.cookie_bad {
                return Ok(None);
            }
            (
                state.initial.take(),
                state.id.clone(),
                std::mem::take(&mut state.body),
                state.cookie_bad,
                state.destroyed,
            )
        };
        let store = &inner.store;
        let fail = store::StoreError::into_error;
        if let (Some(initial), Some(id)) = (&initial, &id)
            && initial.id == *id
        {
            // The same session, changed.
            if body.is_empty() {
                return match store
                    .delete(id, Some(initial.version))
                    .await
                    .map_err(fail)?
                {
                    true => Ok(Some(inner.codec.clear())),
                    false => Err(conflict()),
                };
            }
            return match store
                .update(id, &body, initial.version, now)
                .await
                .map_err(fail)?
            {
                true => Ok(None),
                false => Err(conflict()),
            };
        }
        // A new id (first write, rotation), a destroyed session, or none at all.
        if let Some(initial) = &initial {
            let read = (!destroyed).then_some(initial.version);
            let deleted = store.delete(&initial.id, read).await.map_err(fail)?;
            if !deleted && !destroyed {
                return Err(conflict());
            }
        }
        if let Some(mut id) = id
            && !body.is_empty()
        {
            let mut record = Record {
                id: id.clone(),
                body,
                version: 0,
                created_at: now,
                expires_at: now.saturating_add(inner.max_age_ms),
            };
            // Insert-if-absent: a collision (never seen with 256 random bits) picks another id.
            for _ in 0..3 {
                if store.create(&record).await.map_err(fail)? {
                    return Ok(Some(inner.codec.set(&id)));
                }
                id = cookie::new_id();
                record.id = id.clone();
            }
            return Err(Error::msg("could not find a free session id"));
        }
        Ok((initial.is_some() || cookie_bad).then(|| inner.codec.clear()))
    }
}

fn ensure_id(state: &mut State) {
    if state.id.is_none() {
        state.id = Some(cookie::new_id());
    }
}

/// The request's session, for routes that declare `session` or `flash`.
pub(crate) fn of(scope: &Scope) -> Result<&Session> {
    scope.0.session.as_ref().ok_or_else(|| {
        Error::msg(format!(
            "route {} uses the session but declares neither `session` nor `flash`; add .session(SessionMode::Optional, false) to its declaration",
            scope.route_name()
        ))
    })
}

/// The session as an extractor, for routes that declare `session` or `flash` (a 500 naming the
/// route otherwise).
impl FromRequestParts<Scope> for Session {
    type Rejection = Error;

    async fn from_request_parts(_parts: &mut Parts, scope: &Scope) -> Result<Self, Error> {
        of(scope).cloned()
    }
}

#[cfg(test)]
mod tests;

/// For `webstir::__fuzz::session_cookie`: read a session cookie from one `Cookie` header; a
/// valid id must round-trip through signing.
#[cfg(fuzzing)]
pub(crate) fn fuzz_read(header: &[u8]) -> bool {
    use cookie::{CookieCodec, Presented};
    thread_local! {
        static CODEC: CookieCodec = CookieCodec::new("sid", b"fuzz secret fuzz secret fuzz secret!", 3600, true);
    }
    CODEC.with(|codec| {
        if let Ok(text) = std::str::from_utf8(header)
            && let Some(id) = codec.verify(text)
        {
            assert_eq!(codec.sign(&id), text);
        }
        let Ok(value) = http::HeaderValue::from_bytes(header) else {
            return false;
        };
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::COOKIE, value);
        matches!(codec.read(&headers), Presented::Valid(_))
    })
}
