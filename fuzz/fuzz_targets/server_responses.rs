#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| difyctl_fuzz::server_responses(data));
