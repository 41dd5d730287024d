//! Handlers: `async fn(Ctx) -> Result<Reply>` and extractor-style functions, both through one trait;
//! and the type-erased endpoints (handlers, tower services, layered routes) the router dispatches to.

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use tower::util::BoxCloneSyncService;
use tower_service::Service;

use crate::context::Scope;

/// A boxed, sendable future (what handlers are turned into).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Something that answers requests. Implemented for async functions (and closures) whose arguments
/// are extractors — [`Ctx`](crate::Ctx), [`crate::extract`]'s `Path`, `Query`, `Json`, `Form`,
/// `State`, `Auth`, or any axum extractor that works with any state (`HeaderMap`, `Method`,
/// `axum::body::Body`, axum-extra's `CookieJar`, …) — and whose return value implements
/// [`IntoResponse`]: `Result<Reply>`, `Json<T>`, `String`, `(StatusCode, …)`, `axum::response::Sse`,
/// a streaming `axum::body::Body`, …
///
/// The type parameter `T` only tells the implementations apart; it is inferred.
///
/// ```
/// use webstir::extract::{Json, Path};
/// use webstir::{Ctx, Reply, Result, Route};
///
/// async fn seed_style(ctx: Ctx) -> Result<Reply> {
///     Ok(Reply::text(format!("hello {}", ctx.param("name").unwrap_or("world"))))
/// }
///
/// async fn extractor_style(Path(id): Path<u64>) -> Json<serde_json::Value> {
///     Json(serde_json::json!({ "id": id }))
/// }
///
/// let a = Route::get("/hello/:name").handler(seed_style);
/// let b = Route::get("/items/:id").handler(extractor_style);
/// # let _ = (a, b);
/// ```
pub trait Handler<T>: Clone + Send + Sync + Sized + 'static {
    /// Handle one request.
    fn call(self, req: Request, scope: Scope) -> BoxFuture<Response>;
}

impl<F, Fut, R> Handler<((),)> for F
where
    F: FnOnce() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = R> + Send,
    R: IntoResponse,
{
    fn call(self, _req: Request, _scope: Scope) -> BoxFuture<Response> {
        Box::pin(async move { self().await.into_response() })
    }
}

macro_rules! impl_handler {
    ([$($ty:ident),*], $last:ident) => {
        #[allow(non_snake_case)]
        impl<F, Fut, R, M, $($ty,)* $last> Handler<(M, $($ty,)* $last,)> for F
        where
            F: FnOnce($($ty,)* $last,) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send,
            R: IntoResponse,
            $( $ty: FromRequestParts<Scope> + Send, )*
            $last: FromRequest<Scope, M> + Send,
        {
            fn call(self, req: Request, scope: Scope) -> BoxFuture<Response> {
                Box::pin(async move {
                    #[allow(unused_mut)]
                    let (mut parts, body) = req.into_parts();
                    $(
                        let outcome: Result<$ty, Response> = $ty::from_request_parts(&mut parts, &scope)
                            .await
                            .map_err(IntoResponse::into_response);
                        let $ty = match outcome {
                            Ok(value) => value,
                            Err(response) => return rejected(response).await,
                        };
                    )*
                    let req = Request::from_parts(parts, body);
                    let outcome: Result<$last, Response> = $last::from_request(req, &scope)
                        .await
                        .map_err(IntoResponse::into_response);
                    let $last = match outcome {
                        Ok(value) => value,
                        Err(response) => return rejected(response).await,
                    };
                    self($($ty,)* $last,).await.into_response()
                })
            }
        }
    };
}

impl_handler!([], T1);
impl_handler!([T1], T2);
impl_handler!([T1, T2], T3);
impl_handler!([T1, T2, T3], T4);
impl_handler!([T1, T2, T3, T4], T5);
impl_handler!([T1, T2, T3, T4, T5], T6);
impl_handler!([T1, T2, T3, T4, T5, T6], T7);
impl_handler!([T1, T2, T3, T4, T5, T6, T7], T8);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8], T9);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9], T10);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10], T11);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11], T12);

/// An extractor's rejection in the runtime's error envelope: ours already are; another crate's
/// (axum's plain-text rejections) become `{"errors":[{code,message}]}` with a code from the status and
/// their text, truncated, as the message.
async fn rejected(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(crate::extract::is_json_type);
    let status = response.status();
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text =
        match http_body_util::BodyExt::collect(http_body_util::Limited::new(body, 4096)).await {
            Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
            Err(_) => String::new(),
        };
    if status.is_server_error() {
        // Logged by the runtime; the text reaches clients only outside production.
        return crate::Error::msg(format!("an extractor failed ({status}): {}", text.trim()))
            .into_response();
    }
    let code = match status.as_u16() {
        401 => "auth",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        409 => "conflict",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "validation",
        _ => "bad_request",
    };
    let message = if text.trim().is_empty() {
        status
            .canonical_reason()
            .unwrap_or("Bad request")
            .to_owned()
    } else {
        crate::extract::echo_long(text.trim())
    };
    let mut converted = crate::Error::new(status, code, message).into_response();
    for (name, value) in &parts.headers {
        if name != http::header::CONTENT_TYPE && name != http::header::CONTENT_LENGTH {
            converted.headers_mut().append(name.clone(), value.clone());
        }
    }
    converted
}

/// A handler with its type parameter erased.
pub(crate) trait ErasedHandler: Send + Sync + 'static {
    fn call(&self, req: Request, scope: Scope) -> BoxFuture<Response>;
}

struct Erased<H, T>(H, PhantomData<fn() -> T>);

impl<H: Handler<T>, T: 'static> ErasedHandler for Erased<H, T> {
    fn call(&self, req: Request, scope: Scope) -> BoxFuture<Response> {
        self.0.clone().call(req, scope)
    }
}

pub(crate) fn erase<H: Handler<T>, T: 'static>(handler: H) -> Arc<dyn ErasedHandler> {
    Arc::new(Erased(handler, PhantomData))
}

/// A route's endpoint as a tower service (what route layers wrap).
pub(crate) type RouteService = BoxCloneSyncService<Request, Response, Infallible>;

/// What a route dispatches to.
#[derive(Clone)]
pub(crate) enum Endpoint {
    /// A handler called directly: no tower stack on the request path.
    Handler(Arc<dyn ErasedHandler>),
    /// A tower service (a mounted service, or a handler behind route layers). The request carries
    /// its [`Scope`] in its extensions.
    Service(RouteService),
}

impl Endpoint {
    /// Call the endpoint with the request and its scope.
    pub(crate) fn call(&self, request: Request, scope: Scope) -> BoxFuture<Response> {
        match self {
            Endpoint::Handler(handler) => handler.call(request, scope),
            Endpoint::Service(service) => {
                let mut request = request;
                request.extensions_mut().insert(scope);
                let service = service.clone();
                Box::pin(async move {
                    match tower::ServiceExt::oneshot(service, request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    }
                })
            }
        }
    }

    pub(crate) fn into_service(self) -> RouteService {
        match self {
            Endpoint::Service(service) => service,
            Endpoint::Handler(handler) => BoxCloneSyncService::new(HandlerService(handler)),
        }
    }
}

/// A handler as a tower service: takes the [`Scope`] out of the request's extensions.
#[derive(Clone)]
struct HandlerService(Arc<dyn ErasedHandler>);

impl Service<Request> for HandlerService {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let handler = self.0.clone();
        Box::pin(async move {
            match req.extensions_mut().remove::<Scope>() {
                Some(scope) => Ok(handler.call(req, scope).await),
                None => Ok(crate::Error::msg(
                    "a route layer removed the request's webstir scope from its extensions",
                )
                .into_response()),
            }
        })
    }
}

/// A route layer, type-erased: wraps a route's service.
pub(crate) type LayerFn = Arc<dyn Fn(RouteService) -> RouteService + Send + Sync>;

pub(crate) fn layer_fn<L>(layer: L) -> LayerFn
where
    L: tower_layer::Layer<RouteService> + Send + Sync + 'static,
    L::Service: Service<Request> + Clone + Send + Sync + 'static,
    <L::Service as Service<Request>>::Response: IntoResponse + 'static,
    <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
    <L::Service as Service<Request>>::Future: Send + 'static,
{
    Arc::new(move |inner: RouteService| {
        let layered = layer.layer(inner);
        BoxCloneSyncService::new(MapInto(layered))
    })
}

/// Maps any `IntoResponse` response and `Into<Infallible>` error of a layered service.
#[derive(Clone)]
pub(crate) struct MapInto<S>(pub(crate) S);

impl<S> Service<Request> for MapInto<S>
where
    S: Service<Request>,
    S::Response: IntoResponse + 'static,
    S::Error: Into<Infallible> + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let fut = self.0.call(req);
        Box::pin(async move {
            match fut.await {
                Ok(res) => Ok(res.into_response()),
                Err(err) => Err(err.into()),
            }
        })
    }
}
