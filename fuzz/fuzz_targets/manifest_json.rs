//! The manifest JSON parser and validator (`Manifest::from_json`); a manifest that parses must
//! survive a round trip through its own JSON.
#![no_main]
libfuzzer_sys::fuzz_target!(|text: &str| {
    if let Ok(manifest) = webstir_manifest::ModuleManifest::from_json(text) {
        webstir_manifest::ModuleManifest::from_json(&manifest.to_json_pretty())
            .expect("a serialized manifest parses again");
    }
});
