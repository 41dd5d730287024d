//! The urlencoded form/query decoder (`check_urlencoded` + `parse_form` / `parse_query`): never
//! panics, and never decodes a body that failed the percent-escape/UTF-8 checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|body: &[u8]| {
    webstir::__fuzz::form(body);
});
