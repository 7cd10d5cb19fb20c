//! The app's views, a struct each behind one `View` trait; the tab bar's `Tab` picks which
//! one draws the central panel. A view keeps its own state and reaches the rest of the app
//! through `ViewCtx`.

pub mod accuracy;
pub mod adapter;
pub mod classify;
pub mod latency;
pub mod live;
pub mod plot;
pub mod profile;
pub mod speedup;

use std::sync::Arc;

use paraformer::model::{Config, Weights};

use super::overlay::Overlay;
use super::state::Form;
use super::trained::Trained;
use super::worker::{Snapshot, Worker};
use super::{Models, Status};
use crate::tab::Tab;

/// What a view may read or act through in a frame.
pub struct ViewCtx<'a> {
    /// The worker's state as of this frame.
    pub snap: &'a Snapshot,
    pub worker: &'a Worker,
    pub form: &'a Form,
    pub models: &'a mut Models,
    /// Plot device timestamps instead of the wall clock.
    pub gpu_clock: bool,
    pub overlays: &'a [Overlay],
    pub trained: &'a mut Trained,
    pub status: &'a Status,
}

impl ViewCtx<'_> {
    /// The weights a run of `config` uses (the loaded checkpoint when it is the form's source).
    pub fn weights_for(&mut self, config: &Config) -> Arc<Weights> {
        self.models.weights_for(&self.form.source, config)
    }
}

/// Draws `model_ui` with the trained model and its test split once they are loaded (the
/// page fetches them on first use), a progress line until then.
pub fn with_trained(
    ui: &mut egui::Ui,
    cx: &mut ViewCtx<'_>,
    model_ui: impl FnOnce(&mut egui::Ui, &Worker, &Snapshot, &TrainedModel),
) {
    cx.trained.want(ui.ctx());
    match cx.trained.ready() {
        None => cx.trained.waiting_ui(ui),
        Some(model) => model_ui(ui, cx.worker, cx.snap, model),
    }
}

/// The trained MNIST model and its test split.
pub type TrainedModel = (Arc<Weights>, Arc<paraformer::data::TestSet>);

/// One view of the central panel.
pub trait View {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewCtx<'_>);
}

/// Every view, one per tab.
pub struct Views {
    pub latency: latency::LatencyView,
    pub speedup: speedup::SpeedupView,
    pub profile: profile::ProfileView,
    pub live: live::LiveView,
    pub adapter: adapter::AdapterView,
    pub classify: classify::Classify,
    pub accuracy: accuracy::Accuracy,
}

impl Views {
    /// `depth`: the live view's starting depth; `branches`, `images`: the trained model's.
    pub fn new(depth: usize, branches: usize, images: usize) -> Views {
        Views {
            latency: latency::LatencyView,
            speedup: speedup::SpeedupView,
            profile: profile::ProfileView,
            live: live::LiveView::new(depth),
            adapter: adapter::AdapterView::default(),
            classify: classify::Classify::new(branches),
            accuracy: accuracy::Accuracy::new(images),
        }
    }

    pub fn get(&mut self, tab: Tab) -> &mut dyn View {
        match tab {
            Tab::Latency => &mut self.latency,
            Tab::Speedup => &mut self.speedup,
            Tab::Profile => &mut self.profile,
            Tab::Live => &mut self.live,
            Tab::Adapter => &mut self.adapter,
            Tab::Classify => &mut self.classify,
            Tab::Accuracy => &mut self.accuracy,
        }
    }
}
