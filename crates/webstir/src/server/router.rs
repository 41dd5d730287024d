//! Route matching by specificity: at the first segment where two routes differ, a literal beats a
//! `:param`, whatever the declaration order. Two routes for one method that can match the same path
//! and that specificity cannot order are refused at startup. 404 vs 405, `HEAD` served by `GET`.

use std::cmp::Ordering;
use std::sync::Arc;

use http::Method;

use crate::context::RawParams;
use crate::handler::Endpoint;
use crate::module::Route;

#[derive(Clone, PartialEq, Eq)]
enum Segment {
    Literal(Box<str>),
    Param,
}

/// What a handler's scope needs of its route.
pub(crate) struct RouteInfo {
    pub(crate) name: Box<str>,
    pub(crate) param_names: Box<[Box<str>]>,
}

pub(crate) struct RouteEntry {
    pub(crate) method: Method,
    pub(crate) info: Arc<RouteInfo>,
    pub(crate) endpoint: Endpoint,
    pub(crate) requirement: webstir_auth::Requirement,
    /// The route declared `form`: only these media types are accepted as bodies (415 otherwise).
    pub(crate) form_types: Option<&'static [&'static str]>,
    /// The route declares `session` or `flash` (`None`: it never touches sessions).
    pub(crate) session: Option<Arc<crate::session::RouteSession>>,
    /// The request hooks the route lists (`None`: it lists none and pays nothing for them).
    pub(crate) hooks: Option<Arc<crate::hooks::RouteHooks>>,
    path: String,
    segments: Box<[Segment]>,
}

pub(crate) enum Match<'a> {
    Route(&'a RouteEntry, RawParams),
    MethodNotAllowed(Vec<Method>),
    NotFound,
}

pub(crate) struct Router {
    routes: Vec<RouteEntry>,
    /// Parameterless routes by their normalized path (indexes into `routes`): a request path in the
    /// same form is answered with one hash lookup. A fully literal route is the most specific match
    /// for its path, so a hit with the request's method needs no scan.
    exact: std::collections::HashMap<Box<str>, Vec<usize>, Fnv>,
}

/// FNV-1a: paths are short, and the map is built from the app's own routes.
#[derive(Default, Clone, Copy)]
struct Fnv;

impl std::hash::BuildHasher for Fnv {
    type Hasher = FnvHasher;

    fn build_hasher(&self) -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

struct FnvHasher(u64);

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Most paths have few segments: their byte ranges are found once per request, on the stack.
const MAX_FAST_SEGMENTS: usize = 16;

/// Two routes that can answer the same request and that specificity cannot order.
#[derive(Debug, thiserror::Error)]
#[error(
    "routes {first} ({method} {first_path}) and {second} ({method} {second_path}) can match the same request and neither is more specific; change one path or merge them"
)]
pub struct AmbiguousRoutes {
    /// The HTTP method both routes answer.
    pub method: String,
    /// The first route's name.
    pub first: String,
    /// The first route's path.
    pub first_path: String,
    /// The second route's name.
    pub second: String,
    /// The second route's path.
    pub second_path: String,
}

fn to_method(m: webstir_manifest::HttpMethod) -> Method {
    Method::from_bytes(m.as_str().as_bytes()).unwrap_or(Method::GET)
}

fn segments_of(path: &str) -> (Vec<Segment>, Vec<Box<str>>) {
    let mut names = Vec::new();
    let segments = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix(':') {
            Some(name) if !name.is_empty() => {
                names.push(name.into());
                Segment::Param
            }
            _ => Segment::Literal(s.into()),
        })
        .collect();
    (segments, names)
}

/// Literal-first order at the first segment whose kind differs, then by literal text.
fn specificity(a: &[Segment], b: &[Segment]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = match (x, y) {
            (Segment::Literal(x), Segment::Literal(y)) => x.cmp(y),
            (Segment::Literal(_), Segment::Param) => Ordering::Less,
            (Segment::Param, Segment::Literal(_)) => Ordering::Greater,
            (Segment::Param, Segment::Param) => Ordering::Equal,
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// Whether two same-length patterns can match one path and neither is at least as specific as the
/// other at every segment.
fn ambiguous(a: &[Segment], b: &[Segment]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a_more, mut b_more) = (false, false);
    for (x, y) in a.iter().zip(b) {
        match (x, y) {
            (Segment::Literal(x), Segment::Literal(y)) if x != y => return false,
            (Segment::Literal(_), Segment::Param) => a_more = true,
            (Segment::Param, Segment::Literal(_)) => b_more = true,
            _ => {}
        }
    }
    a_more == b_more
}

impl Router {
    #[cfg(test)]
    pub(crate) fn new(routes: &[Route]) -> Result<Self, AmbiguousRoutes> {
        Self::build(routes, &[])
    }

    /// Mount the routes that have an endpoint, most specific first, each with the module `hooks`
    /// it lists.
    ///
    /// # Errors
    /// [`AmbiguousRoutes`] naming the first pair that cannot be ordered.
    pub(crate) fn build(
        routes: &[Route],
        hooks: &[crate::hooks::Hook],
    ) -> Result<Self, AmbiguousRoutes> {
        let mut entries: Vec<RouteEntry> = routes
            .iter()
            .filter_map(|route| {
                let endpoint = route.endpoint()?;
                let def = &route.definition;
                let (segments, param_names) = segments_of(&def.path);
                Some(RouteEntry {
                    method: to_method(def.method),
                    info: Arc::new(RouteInfo {
                        name: def.name.as_str().into(),
                        param_names: param_names.into(),
                    }),
                    endpoint,
                    requirement: crate::auth::requirement(def.auth.as_ref()),
                    form_types: crate::module::form_types(def),
                    session: crate::session::route_spec(def),
                    hooks: crate::hooks::for_route(def, hooks),
                    path: def.path.clone(),
                    segments: segments.into(),
                })
            })
            .collect();
        for (i, a) in entries.iter().enumerate() {
            for b in &entries[i + 1..] {
                if a.method == b.method && ambiguous(&a.segments, &b.segments) {
                    return Err(AmbiguousRoutes {
                        method: a.method.to_string(),
                        first: a.info.name.to_string(),
                        first_path: a.path.clone(),
                        second: b.info.name.to_string(),
                        second_path: b.path.clone(),
                    });
                }
            }
        }
        entries.sort_by(|a, b| specificity(&a.segments, &b.segments));
        let mut exact: std::collections::HashMap<Box<str>, Vec<usize>, Fnv> =
            std::collections::HashMap::default();
        for (index, entry) in entries.iter().enumerate() {
            if entry
                .segments
                .iter()
                .all(|s| matches!(s, Segment::Literal(_)))
            {
                let mut path = String::new();
                for segment in entry.segments.iter() {
                    if let Segment::Literal(lit) = segment {
                        path.push('/');
                        path.push_str(lit);
                    }
                }
                if path.is_empty() {
                    path.push('/');
                }
                exact.entry(path.into()).or_default().push(index);
            }
        }
        Ok(Self {
            routes: entries,
            exact,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.routes.len()
    }

    pub(crate) fn find(&self, method: &Method, path: &str) -> Match<'_> {
        if let Some(indexes) = self.exact.get(path) {
            for &index in indexes {
                let route = &self.routes[index];
                if route.method == *method {
                    return Match::Route(route, RawParams::default());
                }
            }
        }
        let mut ranges = [(0u32, 0u32); MAX_FAST_SEGMENTS];
        let mut count = 0;
        let mut start = None;
        for (i, b) in path
            .bytes()
            .enumerate()
            .chain(std::iter::once((path.len(), b'/')))
        {
            if b == b'/' {
                if let Some(from) = start.take() {
                    if count == MAX_FAST_SEGMENTS {
                        return self.find_slow(method, path);
                    }
                    ranges[count] = (from as u32, i as u32);
                    count += 1;
                }
            } else if start.is_none() {
                start = Some(i);
            }
        }
        let ranges = &ranges[..count];
        self.scan(method, |route| route.matches_ranges(path, ranges))
    }

    /// Paths with more segments than the fast path keeps on the stack.
    fn find_slow(&self, method: &Method, path: &str) -> Match<'_> {
        self.scan(method, |route| route.matches(path))
    }

    /// Every route in specificity order: the first match with `method` wins; else `HEAD` falls back
    /// to `GET`; else 405 with the methods that matched, or 404.
    fn scan(
        &self,
        method: &Method,
        matches: impl Fn(&RouteEntry) -> Option<RawParams>,
    ) -> Match<'_> {
        let mut allowed: Vec<Method> = Vec::new();
        let mut head_fallback: Option<(&RouteEntry, RawParams)> = None;
        for route in &self.routes {
            let Some(params) = matches(route) else {
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
    /// Match against the path's segments, given as byte ranges.
    fn matches_ranges(&self, path: &str, ranges: &[(u32, u32)]) -> Option<RawParams> {
        if ranges.len() != self.segments.len() {
            return None;
        }
        let mut params = RawParams::default();
        for (segment, &(start, end)) in self.segments.iter().zip(ranges) {
            let part = &path[start as usize..end as usize];
            match segment {
                Segment::Literal(lit) => {
                    if **lit != *part {
                        return None;
                    }
                }
                Segment::Param => {
                    let decoded = part.contains('%').then(|| percent_decode(part));
                    params.push((start, end), decoded);
                }
            }
        }
        Some(params)
    }

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
    use crate::{Ctx, Reply, Result, Route};

    async fn h(_ctx: Ctx) -> Result<Reply> {
        Ok(Reply::empty())
    }

    fn router(routes: Vec<Route>) -> Router {
        Router::new(&routes).unwrap_or_else(|e| panic!("{e}"))
    }

    fn name_of(r: &Router, method: Method, path: &str) -> String {
        match r.find(&method, path) {
            Match::Route(route, _) => route.info.name.to_string(),
            Match::MethodNotAllowed(_) => "405".into(),
            Match::NotFound => "404".into(),
        }
    }

    #[test]
    fn literals_beat_params_in_any_declaration_order() {
        let routes = vec![
            Route::get("/api/items/:id").name("getItem").handler(h),
            Route::get("/api/items/:id/parts/:part")
                .name("part")
                .handler(h),
            Route::get("/api/items/new").name("newItem").handler(h),
            Route::get("/api/:kind").name("kind").handler(h),
            Route::get("/api/things/all").name("things").handler(h),
            Route::post("/api/items").name("createItem").handler(h),
        ];
        let forward = router(routes.clone());
        let backward = router(routes.into_iter().rev().collect());
        for r in [&forward, &backward] {
            assert_eq!(name_of(r, Method::GET, "/api/items/new"), "newItem");
            assert_eq!(name_of(r, Method::GET, "/api/items/7"), "getItem");
            assert_eq!(name_of(r, Method::GET, "/api/items/all"), "getItem");
            assert_eq!(name_of(r, Method::GET, "/api/things/all"), "things");
            assert_eq!(name_of(r, Method::GET, "/api/things"), "kind");
            assert_eq!(name_of(r, Method::GET, "/api/items"), "kind");
            assert_eq!(name_of(r, Method::GET, "/api/items/7/parts/2"), "part");
        }
    }

    #[test]
    fn ambiguous_pairs_are_refused_with_both_names() {
        let err = Router::new(&[
            Route::get("/a/:x/b").name("first").handler(h),
            Route::get("/a/b/:y").name("second").handler(h),
        ])
        .err()
        .expect("ambiguous");
        let text = err.to_string();
        assert!(text.contains("first") && text.contains("second"), "{text}");
        assert!(
            Router::new(&[
                Route::get("/a/:x").name("one").handler(h),
                Route::get("/a/:y").name("two").handler(h),
            ])
            .is_err()
        );
        // Different methods, different lengths or distinct literals are fine.
        assert!(
            Router::new(&[
                Route::get("/a/:x").name("one").handler(h),
                Route::post("/a/:y").name("two").handler(h),
                Route::get("/a/:x/c").name("three").handler(h),
                Route::get("/b/:x").name("four").handler(h),
            ])
            .is_ok()
        );
    }

    #[test]
    fn params_are_decoded() {
        let r = router(vec![
            Route::get("/api/items/:id/parts/:part")
                .name("part")
                .handler(h),
        ]);
        let path = "/api/items/a%20b/parts/7/";
        match r.find(&Method::GET, path) {
            Match::Route(route, params) => {
                let view: Vec<(String, String)> = route
                    .info
                    .param_names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.to_string(), params.value_for_test(i, path)))
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
        let r = router(vec![
            Route::get("/api/items/:id").name("getItem").handler(h),
            Route::post("/api/items").name("createItem").handler(h),
        ]);
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
    fn exact_and_scanned_matches_agree() {
        let r = router(vec![
            Route::get("/").name("root").handler(h),
            Route::get("/api/items/new").name("newItem").handler(h),
            Route::get("/api/items/:id").name("getItem").handler(h),
            Route::post("/api/items/new").name("postNew").handler(h),
            Route::put("/api/items/:id").name("putItem").handler(h),
        ]);
        assert_eq!(name_of(&r, Method::GET, "/"), "root");
        assert_eq!(name_of(&r, Method::GET, "/api/items/new"), "newItem");
        assert_eq!(name_of(&r, Method::GET, "//api/items/new/"), "newItem");
        assert_eq!(name_of(&r, Method::POST, "/api/items/new"), "postNew");
        // Another method: the literal path has no PUT, the param route does.
        assert_eq!(name_of(&r, Method::PUT, "/api/items/new"), "putItem");
        assert_eq!(name_of(&r, Method::HEAD, "/api/items/new"), "newItem");
        assert_eq!(name_of(&r, Method::DELETE, "/api/items/new"), "405");
        let deep = format!("/api/items{}", "/x".repeat(20));
        assert_eq!(name_of(&r, Method::GET, &deep), "404");
        let deep_route = format!("/d{}", "/:p".repeat(17));
        let r = router(vec![Route::get(&deep_route).name("deep").handler(h)]);
        assert_eq!(
            name_of(&r, Method::GET, &format!("/d{}", "/v".repeat(17))),
            "deep"
        );
    }

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(percent_decode("a%2Fb"), "a/b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}

/// Property tests: a path generated from a route's pattern is matched by that route (with its
/// params extracted back) unless a strictly more specific route of the set also matches it, and
/// the fast (byte-range) and slow (split) matchers agree.
#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;
    use crate::{Ctx, Reply, Result, Route};

    async fn h(_ctx: Ctx) -> Result<Reply> {
        Ok(Reply::empty())
    }

    /// `None` is a `:param` segment; literals come from a tiny alphabet so patterns overlap often.
    fn pattern() -> impl Strategy<Value = Vec<Option<String>>> {
        prop::collection::vec(prop::option::weighted(0.6, "[a-c]{1,2}"), 0..5)
    }

    /// Raw (decoded) param values: sometimes a literal look-alike, sometimes text that needs
    /// percent-encoding (`/`, `%`, space, `?`, non-ASCII).
    fn value() -> impl Strategy<Value = String> {
        prop_oneof!["[a-c]{1,2}", "[a-c0-9 é%/?.]{1,6}"]
    }

    fn encode(value: &str) -> String {
        let mut out = String::new();
        for b in value.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }

    fn path_of(pattern: &[Option<String>]) -> String {
        let mut path = String::new();
        for (i, segment) in pattern.iter().enumerate() {
            path.push('/');
            match segment {
                Some(lit) => path.push_str(lit),
                None => path.push_str(&format!(":p{i}")),
            }
        }
        if path.is_empty() {
            path.push('/');
        }
        path
    }

    /// Patterns, the index of the one to generate a path for, param values, and whether to double
    /// the first slash and add a trailing one.
    type Case = (Vec<Vec<Option<String>>>, usize, Vec<String>, bool, bool);

    /// Up to 6 distinct patterns, dropping any that the router would refuse as ambiguous with one
    /// kept before it; plus a path for one of them, with values and optional extra slashes.
    fn case() -> impl Strategy<Value = Case> {
        prop::collection::vec(pattern(), 1..7).prop_flat_map(|raw| {
            let mut kept: Vec<Vec<Option<String>>> = Vec::new();
            for p in raw {
                let seg = segments_of(&path_of(&p)).0;
                if kept
                    .iter()
                    .all(|k| *k != p && !ambiguous(&segments_of(&path_of(k)).0, &seg))
                {
                    kept.push(p);
                }
            }
            let n = kept.len();
            (
                Just(kept),
                0..n,
                prop::collection::vec(value(), 5),
                any::<bool>(),
                any::<bool>(),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn a_generated_path_matches_its_own_pattern_or_a_more_specific_one(
            (patterns, target, values, double_slash, trailing_slash) in case()
        ) {
            let routes: Vec<Route> = patterns
                .iter()
                .enumerate()
                .map(|(i, p)| Route::get(&path_of(p)).name(format!("r{i}")).handler(h))
                .collect();
            let router = Router::new(&routes).expect("ambiguous sets were filtered out");
            let own = &patterns[target];
            let own_segments = segments_of(&path_of(own)).0;
            let mut path = String::new();
            let mut expected = Vec::new();
            for (i, segment) in own.iter().enumerate() {
                path.push_str(if double_slash && i == 0 { "//" } else { "/" });
                match segment {
                    Some(lit) => path.push_str(lit),
                    None => {
                        path.push_str(&encode(&values[i]));
                        expected.push(values[i].clone());
                    }
                }
            }
            if trailing_slash || path.is_empty() {
                path.push('/');
            }
            let own_name = format!("r{target}");
            let Match::Route(found, params) = router.find(&Method::GET, &path) else {
                panic!("{path} did not match; routes {patterns:?}");
            };
            // The slow matcher (paths deeper than the stack buffer) agrees with the fast one.
            let Match::Route(slow, _) = router.find_slow(&Method::GET, &path) else {
                panic!("{path}: the slow matcher found nothing");
            };
            prop_assert_eq!(&slow.info.name, &found.info.name);
            prop_assert!(found.matches(&path).is_some());
            // Whatever else matches the path is never more specific than what was chosen.
            for other in &router.routes {
                if other.matches(&path).is_some() {
                    prop_assert_ne!(
                        specificity(&other.segments, &found.segments),
                        Ordering::Less,
                        "{} beats {} for {}", other.path, found.path, path
                    );
                }
            }
            if *found.info.name == *own_name {
                let got: Vec<String> = (0..expected.len())
                    .map(|i| params.value_for_test(i, &path))
                    .collect();
                prop_assert_eq!(got, expected);
            } else {
                // Only a strictly more specific route may take a path generated for another, and
                // only when a param value spelled one of its literals.
                prop_assert_eq!(
                    specificity(&found.segments, &own_segments),
                    Ordering::Less,
                    "{} took {} from {}", found.path, path, own_name
                );
                let spelled_literal = own
                    .iter()
                    .enumerate()
                    .any(|(i, s)| s.is_none() && values[i].bytes().all(|b| (b'a'..=b'c').contains(&b)));
                prop_assert!(spelled_literal, "{} took {}", found.path, path);
            }
        }
    }
}

#[cfg(fuzzing)]
impl Router {
    /// For `webstir::__fuzz::router_find`: the fast and slow matchers agree for every method.
    pub(crate) fn fuzz_find(&self, path: &str) -> usize {
        let mut found = 0;
        for method in [
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::DELETE,
        ] {
            let name = |m: Match<'_>| match m {
                Match::Route(route, _) => Some(route.info.name.clone()),
                Match::MethodNotAllowed(allowed) => Some(format!("405 {allowed:?}").into()),
                Match::NotFound => None,
            };
            let fast = name(self.find(&method, path));
            assert_eq!(
                fast,
                name(self.find_slow(&method, path)),
                "{method} {path:?}"
            );
            found += usize::from(fast.is_some());
        }
        for part in path.split('/') {
            let _ = percent_decode(part);
        }
        found
    }
}
