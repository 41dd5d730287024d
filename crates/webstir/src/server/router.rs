//! Route matching: declaration order, `:name` segments, 404 vs 405.

use std::sync::Arc;

use http::Method;

use crate::context::RawParams;
use crate::module::{Handler, Route};

enum Segment {
    Literal(Box<str>),
    Param,
}

pub(crate) struct RouteEntry {
    pub(crate) method: Method,
    pub(crate) name: Arc<str>,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) requirement: webstir_auth::Requirement,
    pub(crate) param_names: Arc<[Box<str>]>,
    segments: Box<[Segment]>,
}

pub(crate) enum Match<'a> {
    Route(&'a RouteEntry, RawParams),
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
                let mut param_names: Vec<Box<str>> = Vec::new();
                let segments = def
                    .path
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| match s.strip_prefix(':') {
                        Some(name) if !name.is_empty() => {
                            param_names.push(name.into());
                            Segment::Param
                        }
                        _ => Segment::Literal(s.into()),
                    })
                    .collect();
                Some(RouteEntry {
                    method: to_method(def.method),
                    name: Arc::from(def.name.as_str()),
                    handler,
                    requirement: crate::auth::requirement(def.auth.as_ref()),
                    param_names: param_names.into(),
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
        let mut allowed: Vec<Method> = Vec::new();
        let mut head_fallback: Option<(&RouteEntry, RawParams)> = None;
        for route in &self.routes {
            let Some(params) = route.matches(path) else {
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
    fn matches(&self, path: &str) -> Option<RawParams> {
        let base = path.as_ptr() as usize;
        let mut parts = path.split('/').filter(|s| !s.is_empty());
        let mut params = RawParams::default();
        for segment in self.segments.iter() {
            let part = parts.next()?;
            match segment {
                Segment::Literal(lit) => {
                    if **lit != *part {
                        return None;
                    }
                }
                Segment::Param => {
                    let start = part.as_ptr() as usize - base;
                    let range = (start as u32, (start + part.len()) as u32);
                    let decoded = part.contains('%').then(|| percent_decode(part));
                    params.push(range, decoded);
                }
            }
        }
        parts.next().is_none().then_some(params)
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
                let path = "/api/items/a%20b/parts/7/";
                let view: Vec<(String, String)> = route
                    .param_names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.to_string(), params_value(&params, i, path)))
                    .collect();
                assert_eq!(
                    view,
                    [("id".into(), "a b".into()), ("part".into(), "7".into())]
                );
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

    fn params_value(params: &RawParams, index: usize, path: &str) -> String {
        params.value_for_test(index, path)
    }

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(percent_decode("a%2Fb"), "a/b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
