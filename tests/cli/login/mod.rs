//! `auth login`: the device flow (`device`), the headless methods
//! (`headless`), what a sign-in refuses or survives (`safety`), and signals
//! at its prompts (`signals`).

mod device;
mod headless;
mod safety;
mod signals;
