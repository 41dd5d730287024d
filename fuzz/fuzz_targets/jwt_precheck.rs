//! The JWT structural pre-parser (size, alphabet, segments, strict header/claims JSON), for HS256
//! and RS256, before any crypto.
#![no_main]
libfuzzer_sys::fuzz_target!(|token: &str| {
    webstir_auth::__fuzz::jwt_precheck(token);
});
