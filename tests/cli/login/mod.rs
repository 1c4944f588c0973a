//! `auth login`: the device flow (`device`), the headless methods
//! (`headless`), what a sign-in refuses or survives (`safety`), signals
//! at its prompts (`signals`), and sign-ins split in two for agents
//! (`pending`: `--no-wait`, `--resume`).

mod device;
mod headless;
mod pending;
mod safety;
mod signals;
mod terminal;
