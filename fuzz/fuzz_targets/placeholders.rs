//! The `?` → `$n` placeholder rewriter and the transaction-control detector. Without a `?` the
//! text must come back unchanged.
#![no_main]
libfuzzer_sys::fuzz_target!(|sql: &str| {
    let (rewritten, params) = webstir_db::__fuzz::to_postgres(sql);
    if !sql.contains('?') {
        assert_eq!(rewritten, sql);
        assert_eq!(params, 0);
    }
    webstir_db::__fuzz::is_transaction_control(sql);
});
