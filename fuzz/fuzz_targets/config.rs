//! Any text as a config file: loading never panics; it is a config or an error naming a key.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = std::path::Path::new("/nonexistent/fuzz/feedsieve.toml");
    match feedsieve::config::load_text(path, text, Some(Default::default())) {
        Ok(cfg) => {
            let _ = cfg.to_toml();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
