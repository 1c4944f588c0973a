//! What a command may use besides its arguments: the facts of this
//! invocation, gathered once when it starts.

use crate::output::term::Ui;

/// What every command may use besides its arguments.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub ui: Ui,
    pub verbose: bool,
}

impl Ctx {
    pub fn new(verbose: bool) -> Ctx {
        Ctx {
            ui: Ui::detect(),
            verbose,
        }
    }
}
