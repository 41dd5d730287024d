//! Route matching: declaration order, `:name` segments, 404 vs 405.

use std::sync::Arc;

use http::Method;

use crate::context::Params;
use crate::module::{Handler, Route};

enum Segment {
    Literal(Box<str>),
    Param(Arc<str>),
}

pub(crate) struct RouteEntry {
    pub(crate) method: Method,
    pub(crate) name: Arc<str>,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) requirement: webstir_auth::Requirement,
    segments: Box<[Segment]>,
}

pub(crate) enum Match<'a> {
    Route(&'a RouteEntry, Params),
    MethodNotAllowed(Vec<Method>),
    NotFound,
}

pub(crate) struct Router {
    routes: Vec<RouteEntry>,
}

fn to_method(m: webstir_manifest::HttpMethod) -> Method {
    Method::from_bytes(m.as_str().as_bytes()).unwrap_or(Method::GET)
}

impl Router {
    pub(crate) fn new(routes: &[Route]) -> Self {
        let routes = routes
            .iter()
            .filter_map(|route| {
                let handler = route.handler.clone()?;
                let def = &route.definition;
                let segments = def
                    .path
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| match s.strip_prefix(':') {
                        Some(name) if !name.is_empty() => Segment::Param(Arc::from(name)),
                        _ => Segment::Literal(s.into()),
                    })
                    .collect();
                Some(RouteEntry {
                    method: to_method(def.method),
                    name: Arc::from(def.name.as_str()),
                    handler,
                    requirement: crate::auth::requirement(def.auth.as_ref()),
                    segments,
                })
            })
            .collect();
        Self { routes }
    }

    pub(crate) fn len(&self) -> usize {
        self.routes.len()
    }

    pub(crate) fn find(&self, method: &Method, path: &str) -> Match<'_> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut allowed: Vec<Method> = Vec::new();
        let mut head_fallback: Option<(&RouteEntry, Params)> = None;
        for route in &self.routes {
            let Some(params) = route.matches(&parts) else {
                continue;
            };
            if route.method == *method {
                return Match::Route(route, params);
            }
            if *method == Method::HEAD && route.method == Method::GET && head_fallback.is_none() {
                head_fallback = Some((route, params));
            }
            if !allowed.contains(&route.method) {
                allowed.push(route.method.clone());
            }
        }
        if let Some((route, params)) = head_fallback {
            return Match::Route(route, params);
        }
        if allowed.is_empty() {
            Match::NotFound
        } else {
            Match::MethodNotAllowed(allowed)
        }
    }
}

impl RouteEntry {
    fn matches(&self, parts: &[&str]) -> Option<Params> {
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut params = Params::default();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(lit) => {
                    if **lit != **part {
                        return None;
                    }
                }
                Segment::Param(name) => params.pairs.push((name.clone(), percent_decode(part))),
            }
        }
        Some(params)
    }
}

/// Decode `%XX` escapes (invalid escapes and non-UTF-8 results are kept as written).
fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Reply, Route};

    fn router() -> Router {
        let h = |_ctx: crate::Ctx| async { Ok(Reply::empty()) };
        Router::new(&[
            Route::get("/api/items/new").name("newItem").handler(h),
            Route::get("/api/items/:id").name("getItem").handler(h),
            Route::post("/api/items").name("createItem").handler(h),
            Route::get("/api/items/:id/parts/:part")
                .name("part")
                .handler(h),
        ])
    }

    #[test]
    fn first_declared_match_wins_and_params_are_decoded() {
        let r = router();
        match r.find(&Method::GET, "/api/items/new") {
            Match::Route(route, _) => assert_eq!(&*route.name, "newItem"),
            _ => panic!("expected a match"),
        }
        match r.find(&Method::GET, "/api/items/a%20b/parts/7/") {
            Match::Route(route, params) => {
                assert_eq!(&*route.name, "part");
                assert_eq!(params.get("id"), Some("a b"));
                assert_eq!(params.get("part"), Some("7"));
            }
            _ => panic!("expected a match"),
        }
    }

    #[test]
    fn wrong_method_is_405_unknown_path_is_404_head_uses_get() {
        let r = router();
        match r.find(&Method::DELETE, "/api/items") {
            Match::MethodNotAllowed(allowed) => assert_eq!(allowed, vec![Method::POST]),
            _ => panic!("expected 405"),
        }
        assert!(matches!(r.find(&Method::GET, "/nope"), Match::NotFound));
        assert!(matches!(
            r.find(&Method::HEAD, "/api/items/1"),
            Match::Route(..)
        ));
    }

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(percent_decode("a%2Fb"), "a/b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
