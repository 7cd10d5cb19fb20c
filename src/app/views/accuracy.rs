//! The Accuracy vs branches view: accuracy of every branch prefix of the trained model on
//! the shipped test split, next to the latency of one image with those branches.

use std::sync::Arc;

use egui_plot::{Legend, Line, Plot, PlotPoints, Points};
use paraformer::data::TestSet;
use paraformer::model::{Mode, Weights};

use super::{TrainedModel, View, ViewCtx, with_trained};
use crate::app::worker::{AccuracyRow, AccuracyState, Job, Snapshot, Worker};

/// What the Accuracy view keeps between frames.
pub struct Accuracy {
    /// Test images to score.
    pub images: usize,
}

impl View for Accuracy {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewCtx<'_>) {
        with_trained(ui, cx, |ui, worker, snap, model| {
            self.model_ui(ui, worker, snap, model)
        });
    }
}

impl Accuracy {
    pub fn new(images: usize) -> Accuracy {
        Accuracy { images }
    }

    fn model_ui(
        &mut self,
        ui: &mut egui::Ui,
        worker: &Worker,
        snap: &Snapshot,
        model: &TrainedModel,
    ) {
        let (weights, set) = model;
        ui.label(format!(
            "Accuracy on the shipped MNIST test split using only branches 0..k (the model was \
             trained so that every prefix is a classifier), computed by {}, next to the latency \
             of one image with those k branches in parallel mode.",
            snap.engine_name()
        ));
        let state = &snap.accuracy;
        self.controls(ui, worker, weights, set, state);
        if let Some(e) = &state.error {
            ui.colored_label(ui.visuals().warn_fg_color, e);
        }
        plots(ui, set, &state.rows, snap.engine_name());
        table(ui, &state.rows);
    }

    /// How many images, Compute and Cancel, the progress.
    fn controls(
        &mut self,
        ui: &mut egui::Ui,
        worker: &Worker,
        weights: &Arc<Weights>,
        set: &Arc<TestSet>,
        a: &AccuracyState,
    ) {
        ui.horizontal(|ui| {
            ui.label("test images");
            ui.add(egui::DragValue::new(&mut self.images).range(1..=set.len()));
            if ui
                .add_enabled(!a.running, egui::Button::new("Compute"))
                .clicked()
            {
                worker.submit(Job::Accuracy {
                    weights: weights.clone(),
                    set: set.clone(),
                    images: self.images,
                });
            }
            if ui
                .add_enabled(a.running, egui::Button::new("Cancel"))
                .clicked()
            {
                worker.cancel_job();
            }
            if let Some((round, rounds)) = a.timing {
                ui.add(
                    egui::ProgressBar::new(round as f32 / rounds.max(1) as f32)
                        .desired_width(240.0)
                        .text(format!("timing one image: round {round}/{rounds}")),
                );
            } else if a.running {
                ui.add(
                    egui::ProgressBar::new(a.done as f32 / a.total.max(1) as f32)
                        .desired_width(240.0)
                        .text(format!("{}/{} images scored", a.done, a.total)),
                );
            }
        });
    }
}

/// Accuracy against k (this run and the training tool's), and one image's latency against k.
fn plots(ui: &mut egui::Ui, set: &TestSet, rows: &[AccuracyRow], engine: &str) {
    let gpu: Vec<[f64; 2]> = rows
        .iter()
        .map(|r| [r.branches as f64, r.accuracy * 100.0])
        .collect();
    let tool: Vec<[f64; 2]> = set
        .accuracy
        .iter()
        .map(|(&k, &a)| [k as f64, a * 100.0])
        .collect();
    let latency: Vec<[f64; 4]> = rows
        .iter()
        .filter_map(|r| {
            let l = r.latency.as_ref()?;
            Some([r.branches as f64, l.median_ms, l.p10_ms, l.p90_ms])
        })
        .collect();
    // Room below the plots for the table (one line per k).
    let height =
        ((ui.available_height() - 40.0 - 18.0 * set.accuracy.len().max(8) as f32) / 2.0).max(120.0);
    Plot::new("accuracy")
        .height(height)
        .legend(Legend::default().position(egui_plot::Corner::RightBottom))
        .x_axis_label("branches k")
        .y_axis_label("accuracy %")
        .show(ui, |plot| {
            plot.line(Line::new(
                "training tool (JAX), all 2000 test images",
                PlotPoints::from(tool),
            ));
            let name = format!("{engine}, this run");
            plot.line(Line::new(name.clone(), PlotPoints::from(gpu.clone())));
            plot.points(Points::new(name, PlotPoints::from(gpu)).radius(4.0));
        });
    if latency.is_empty() {
        ui.label("Compute scores every k, then times one image with each k: the latency plot appears here.");
        return;
    }
    Plot::new("accuracy latency")
        .height(height)
        .legend(Legend::default())
        .x_axis_label("branches k")
        .y_axis_label("ms, one image")
        .include_y(0.0)
        .show(ui, |plot| {
            super::plot::median_with_band(
                plot,
                "median latency, parallel (wall clock)",
                &latency,
                super::plot::mode_color(Mode::Parallel),
            );
        });
}

/// One line per k: accuracy and latency.
fn table(ui: &mut egui::Ui, rows: &[AccuracyRow]) {
    for r in rows {
        let latency = r.latency.as_ref().map_or_else(
            || "latency not timed yet".to_string(),
            |l| {
                format!(
                    "{:.2} ms (p10..p90 {:.2}..{:.2}, {} runs)",
                    l.median_ms, l.p10_ms, l.p90_ms, l.n
                )
            },
        );
        ui.monospace(format!(
            "k = {}: {}/{} = {:.2}%, {latency}",
            r.branches,
            r.correct,
            r.total,
            r.accuracy * 100.0,
        ));
    }
}
