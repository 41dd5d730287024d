//! A view as a `GET` route of the views router: loader → document → render → inject.

use std::sync::Arc;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderName, HeaderValue, StatusCode};

use super::View;
use super::document::Documents;
use crate::context::Scope;
use crate::handler::{BoxFuture, Endpoint, ErasedHandler};
use crate::{Ctx, Error, Route};

const DOCUMENT_CACHE: HeaderName = HeaderName::from_static("x-webstir-document-cache");

struct ViewEndpoint {
    name: Box<str>,
    pattern: Box<str>,
    document: Option<Box<str>>,
    loader: Option<super::Loader>,
    documents: Arc<Documents>,
}

pub(super) fn route(view: View, documents: Arc<Documents>) -> Route {
    let View {
        definition,
        document,
        loader,
    } = view;
    let mut route = Route::get(&definition.path).name(definition.name.clone());
    // The pipeline loads the session for the view as for a route (read-only).
    route.definition.session = definition.session.clone().map(|mut spec| {
        spec.write = None;
        spec
    });
    route.endpoint = Some(Endpoint::Handler(Arc::new(Arc::new(ViewEndpoint {
        name: definition.name.into(),
        pattern: definition.path.into(),
        document: document.map(Into::into),
        loader,
        documents,
    }))));
    route
}

impl ErasedHandler for Arc<ViewEndpoint> {
    fn call(&self, req: Request, scope: Scope) -> BoxFuture<Response> {
        let view = self.clone();
        Box::pin(async move {
            match view.render(req, scope).await {
                Ok(response) => response,
                Err(err) => err.into_response(),
            }
        })
    }
}

/// The request path's first segment (`/` → `home`): the default document name.
fn first_segment(pathname: &str) -> &str {
    pathname
        .split('/')
        .find(|segment| !segment.is_empty())
        .unwrap_or("home")
}

impl ViewEndpoint {
    async fn render(&self, req: Request, scope: Scope) -> Result<Response, Error> {
        let (parts, _body) = req.into_parts();
        let pathname = webstir_manifest::normalize_path(parts.uri.path());
        let params: serde_json::Map<String, serde_json::Value> = scope
            .params(parts.uri.path())
            .iter()
            .map(|(name, value)| (name.to_owned(), serde_json::Value::from(value)))
            .collect();
        let request_id = scope.request_id().to_owned();
        let data = match &self.loader {
            Some(loader) => {
                loader(Ctx {
                    parts,
                    body: Bytes::new(),
                    scope,
                })
                .await?
            }
            None => serde_json::Value::Null,
        };
        let name = self
            .document
            .as_deref()
            .unwrap_or_else(|| first_segment(&pathname));
        let (document, cache) = self.documents.load(name, &pathname)?;
        let view = serde_json::json!({
            "name": &*self.name,
            "path": &*self.pattern,
            "pathname": pathname,
            "params": params,
        });
        let html = document.render(&serde_json::json!({
            "data": &data,
            "view": &view,
            "request_id": &request_id,
        }))?;
        let state = serde_json::json!({ "view": view, "data": data, "requestId": request_id });
        let html = super::inject::inject(&html, &self.name, &pathname, &self.pattern, &state);
        let mut response = Response::new(axum::body::Body::from(html));
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(DOCUMENT_CACHE, HeaderValue::from_static(cache.as_str()));
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::first_segment;

    #[test]
    fn the_default_document_is_the_first_segment() {
        assert_eq!(first_segment("/"), "home");
        assert_eq!(first_segment("/accounts/demo"), "accounts");
        assert_eq!(first_segment("/about"), "about");
    }
}
