//! The "Dify dIfy diFy" spinner on stderr, only on a terminal.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::term::{Ui, sanitize_line};
use super::termmode::SPINNING;

const FRAMES: [&str; 6] = ["Dify", "dIfy", "diFy", "difY", "diFy", "dIfy"];

pub struct Spinner {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Spinner {
    /// Start a spinner with this text; a no-op unless `ui` allows one
    /// ([`Ui::spinner_allowed`]).
    pub fn start(text: &str, ui: &Ui) -> Spinner {
        let stop = Arc::new(AtomicBool::new(false));
        if !ui.spinner_allowed() {
            return Spinner { stop, thread: None };
        }
        let text = sanitize_line(text);
        let flag = stop.clone();
        let style = ui.stderr_style();
        SPINNING.store(true, Ordering::SeqCst);
        let thread = std::thread::spawn(move || {
            let mut err = io::stderr();
            for frame in FRAMES.iter().cycle() {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                let _ = write!(err, "\r{} {text}", style.yellow(frame));
                let _ = err.flush();
                std::thread::park_timeout(Duration::from_millis(140));
            }
            // Unless a signal or a panic cleared the line already.
            if SPINNING.swap(false, Ordering::SeqCst) {
                let _ = write!(err, "\r\x1b[2K");
                let _ = err.flush();
            }
        });
        Spinner {
            stop,
            thread: Some(thread),
        }
    }

    /// Stop and clear the spinner line.
    pub fn stop(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.finish();
    }
}
