//! Fuzz target for Flux's `${VAR}` substitution: any text, a few variables, strict and
//! lenient. It must end without a panic, a text without `$` must come back unchanged, and
//! a lenient run fails only where the strict run fails too (lenient only forgives unset
//! variables).
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run envsubst`

#![no_main]

use libfuzzer_sys::fuzz_target;
use rustomize::flux::envsubst::substitute;

fn lookup(name: &str) -> Option<String> {
    match name {
        "a" => Some("abc.def/ghi".into()),
        "e" => Some(String::new()),
        "u" => Some("ünï/cødé".into()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let strict = substitute(text, &lookup, true);
    let lenient = substitute(text, &lookup, false);
    if !text.contains('$') {
        assert_eq!(strict.as_deref(), Ok(text));
    }
    if lenient.is_err() {
        assert!(strict.is_err(), "{text:?}: lenient failed, strict did not");
    }
});
