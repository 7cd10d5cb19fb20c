//! The shipped trained model and its test split as the app holds them: natively loaded from
//! the binary at start; in the browser fetched from the files served next to the page when
//! Classify or Accuracy is first opened, with progress, and a retry after a failure.

use std::sync::Arc;

use paraformer::data::TestSet;
use paraformer::model::Weights;

pub type Model = (Arc<Weights>, Arc<TestSet>);

pub enum Trained {
    Ready(Model),
    Failed(String),
    /// In the browser: not asked for yet.
    #[cfg(target_arch = "wasm32")]
    Idle,
    /// In the browser: downloading (bytes so far, total when known; or the outcome).
    #[cfg(target_arch = "wasm32")]
    Fetching(Arc<std::sync::Mutex<fetch::Progress>>),
}

impl Trained {
    /// Natively the model from the binary; in the browser nothing yet.
    pub fn at_start() -> Trained {
        #[cfg(not(target_arch = "wasm32"))]
        {
            match (
                crate::assets::trained_mnist(),
                crate::assets::mnist_test_set(),
            ) {
                (Ok(w), Ok(set)) => Trained::Ready((Arc::new(w), Arc::new(set))),
                (Err(e), _) | (_, Err(e)) => {
                    Trained::Failed(format!("the built-in trained model does not load: {e}"))
                }
            }
        }
        #[cfg(target_arch = "wasm32")]
        Trained::Idle
    }

    pub fn ready(&self) -> Option<&Model> {
        match self {
            Trained::Ready(m) => Some(m),
            _ => None,
        }
    }

    /// Starts the download if it has not started (in the browser; natively there is nothing
    /// to do). A failed download starts again only through `retry`.
    pub fn want(&mut self, ctx: &egui::Context) {
        #[cfg(target_arch = "wasm32")]
        if matches!(self, Trained::Idle) {
            *self = Trained::Fetching(fetch::start(ctx.clone()));
        }
        #[cfg(not(target_arch = "wasm32"))]
        let _ = ctx;
    }

    /// A finished download becomes `Ready` or `Failed`; returns the message to show then.
    pub fn poll(&mut self) -> Option<String> {
        #[cfg(target_arch = "wasm32")]
        if let Trained::Fetching(p) = self {
            let outcome = p.lock().expect("fetch progress lock").outcome.take();
            return outcome.map(|o| match o {
                Ok(model) => {
                    let msg = format!(
                        "loaded the trained model ({} branches) and {} test images",
                        model.0.config.branches,
                        model.1.len()
                    );
                    *self = Trained::Ready(model);
                    msg
                }
                Err(e) => {
                    *self = Trained::Failed(e.clone());
                    e
                }
            });
        }
        None
    }

    /// What the Classify and Accuracy views show while there is no model: the download's
    /// progress, or why there is none (with a retry in the browser).
    pub fn waiting_ui(&mut self, ui: &mut egui::Ui) {
        match self {
            Trained::Ready(_) => {}
            Trained::Failed(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e.as_str());
                #[cfg(target_arch = "wasm32")]
                if ui.button("Retry").clicked() {
                    *self = Trained::Fetching(fetch::start(ui.ctx().clone()));
                }
            }
            #[cfg(target_arch = "wasm32")]
            Trained::Idle => {
                ui.label("fetching the trained model...");
            }
            #[cfg(target_arch = "wasm32")]
            Trained::Fetching(p) => {
                let p = p.lock().expect("fetch progress lock");
                let mb = |b: u64| b as f64 / 1e6;
                let text = match p.total {
                    Some(t) if t > 0 => format!(
                        "fetching {} ({} of 2): {:.1} of {:.1} MB",
                        p.file,
                        p.index + 1,
                        mb(p.done),
                        mb(t)
                    ),
                    _ => format!(
                        "fetching {} ({} of 2): {:.1} MB",
                        p.file,
                        p.index + 1,
                        mb(p.done)
                    ),
                };
                let fraction = p.total.map_or(0.0, |t| p.done as f32 / t.max(1) as f32);
                ui.add(egui::ProgressBar::new(fraction.min(1.0)).text(text));
            }
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod fetch {
    use std::sync::{Arc, Mutex};

    use super::Model;
    use crate::assets::{MODEL_FILE, TEST_FILE, model_from};
    use paraformer::data::TestSet;

    /// The file being fetched (`index` of the two), its bytes so far and its size when
    /// the server gave one; the outcome once both are in and parsed.
    #[derive(Default)]
    pub struct Progress {
        pub file: &'static str,
        pub index: usize,
        pub done: u64,
        pub total: Option<u64>,
        pub outcome: Option<Result<Model, String>>,
    }

    /// Downloads both files (relative to the page) and parses them.
    pub fn start(ctx: egui::Context) -> Arc<Mutex<Progress>> {
        let progress = Arc::new(Mutex::new(Progress::default()));
        let p = progress.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let outcome = download(&p, &ctx).await;
            p.lock().expect("fetch progress lock").outcome = Some(outcome);
            ctx.request_repaint();
        });
        progress
    }

    async fn download(p: &Arc<Mutex<Progress>>, ctx: &egui::Context) -> Result<Model, String> {
        let mut files = Vec::new();
        for (index, file) in [MODEL_FILE, TEST_FILE].into_iter().enumerate() {
            let bytes = crate::app::platform::fetch(file, |done, total| {
                let mut g = p.lock().expect("fetch progress lock");
                (g.file, g.index, g.done, g.total) = (file, index, done, total);
                ctx.request_repaint();
            })
            .await
            .map_err(|e| format!("the trained model could not be fetched: {e}"))?;
            files.push(bytes);
        }
        let weights = model_from(&files[0]).map_err(|e| format!("{MODEL_FILE}: {e}"))?;
        let set = TestSet::from_bytes(&files[1]).map_err(|e| format!("{TEST_FILE}: {e}"))?;
        Ok((Arc::new(weights), Arc::new(set)))
    }
}
