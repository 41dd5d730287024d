//! The session cookie parser: one `Cookie` header of arbitrary bytes; a value that verifies must
//! be exactly what signing its id produces.
#![no_main]
libfuzzer_sys::fuzz_target!(|header: &[u8]| {
    webstir::__fuzz::session_cookie(header);
});
