#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| difyctl_fuzz::locks(data));
