//! The router's path matcher: any path, every method; the fast (byte-range) and slow (split)
//! matchers must agree and percent-decoding must not panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|path: &str| {
    webstir::__fuzz::router_find(path);
});
