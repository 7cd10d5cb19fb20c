//! The Live view: inference runs continuously on the current model while the user drags
//! the number of branches or switches the mode.

use egui_plot::{Line, Plot, PlotPoints};
use paraformer::model::Mode;

use super::{View, ViewCtx};
use crate::app::worker::Job;

/// The live loop's controls: on or off, the mode, the depth.
pub struct LiveView {
    pub on: bool,
    depth: usize,
    mode: Mode,
}

impl LiveView {
    pub fn new(depth: usize) -> LiveView {
        LiveView {
            on: false,
            depth,
            mode: Mode::Parallel,
        }
    }

    /// Starts the live loop on the form's model (or says what is wrong with the form).
    pub fn start(&mut self, cx: &mut ViewCtx<'_>) {
        match cx.form.settings() {
            Ok(settings) => {
                let config = settings.deepest();
                let weights = cx.weights_for(&config);
                self.depth = self.depth.clamp(config.depth, config.blocks());
                cx.worker.set_live(self.mode, self.depth / config.depth);
                cx.worker.submit(Job::Live { weights });
                self.on = true;
            }
            Err(e) => cx.status.say(e.to_string()),
        }
    }
}

impl View for LiveView {
    /// Inference in a loop, the depth on a slider.
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewCtx<'_>) {
        let Ok(settings) = cx.form.settings() else {
            ui.label("Fix the model settings on the left first.");
            return;
        };
        let config = settings.deepest();
        let d = config.depth;
        ui.label("Inference runs continuously on the current model; drag the depth to see latency follow.");
        let mut changed = false;
        ui.horizontal(|ui| {
            let mut on = self.on;
            let label = if on { "Stop" } else { "Run live" };
            if ui.toggle_value(&mut on, label).changed() {
                if on {
                    self.start(cx);
                } else {
                    cx.worker.stop_live();
                    self.on = false;
                }
            }
            changed |= ui
                .radio_value(&mut self.mode, Mode::Serial, "serial")
                .changed();
            changed |= ui
                .radio_value(&mut self.mode, Mode::Parallel, "parallel")
                .changed();
        });
        let mut k = (self.depth / d).clamp(1, config.branches);
        changed |= ui
            .add(
                egui::Slider::new(&mut k, 1..=config.branches)
                    .text(format!("branches K (L = K x {d})")),
            )
            .changed();
        self.depth = k * d;
        if changed {
            cx.worker.set_live(self.mode, k);
        }
        let live = &cx.snap.live;
        if let Some(e) = &live.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        if !live.recent_ms.is_empty() {
            let mut sorted = live.recent_ms.clone();
            sorted.sort_by(f64::total_cmp);
            let median = paraformer::bench::quantile(&sorted, 0.5);
            ui.heading(format!(
                "L = {}: median {:.2} ms over the last {} runs (wall clock){}",
                self.depth,
                median,
                sorted.len(),
                live.gpu_ms.map_or(String::new(), |g| format!(
                    ", last {g:.2} ms by GPU timestamps"
                ))
            ));
            ui.label(format!(
                "{:.2} GFLOP/s, {} dispatches on the critical path",
                live.flops / (median * 1e6),
                live.dispatches
            ));
            let pts: Vec<[f64; 2]> = live
                .recent_ms
                .iter()
                .enumerate()
                .map(|(i, v)| [i as f64, *v])
                .collect();
            Plot::new("live")
                .height(200.0)
                .y_axis_label("ms")
                .show(ui, |plot| {
                    plot.line(Line::new("latency", PlotPoints::from(pts)));
                });
        }
    }
}
