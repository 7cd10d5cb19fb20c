//! Autotuning: for each (op, mode, shape) of the runs asked for, the engine times the op's
//! candidate variants on the device itself, on its own buffers, and keeps the fastest (in
//! its choice table, source `tuned`, and in the kernel cache, `tune_cache`); a cached
//! choice for the same device, driver, release and shader source is used without timing
//! (source `cache`).
//!
//! Rules: the heuristic is always a candidate and is never dropped early, and a candidate
//! replaces it only when its median is faster by more than `KEEP_MARGIN`: tuning can only
//! match or beat it beyond noise. Each candidate runs once untimed first (compiling its
//! pipeline; one that fails to compile or run is skipped with a note; one over
//! `WARM_DROP_RATIO` x the fastest, caches still cold, is dropped), then `PASSES` timed
//! passes, candidates in turn (round robin, so a drift of the machine's speed hits all
//! alike); one more than `DROP_RATIO` x slower than the best after the first timed pass is
//! dropped. A pass runs the op about `PASS_MS` long, each time on the next of the key's ops
//! in the plan (in serial mode every block's own weights, as a run of the model reads them,
//! not one block's weights hot in a cache), timed by the pass's GPU timestamps where the
//! device has them, else by the wall clock from submit to the awaited completion (in the
//! page too: never a poll). One engine starts no race after `BUDGET_MS` of timing (by
//! default); a race once started runs to its end, so that every run tunes at least one
//! key even where compiling the candidates alone takes longer than the budget (SwiftShader)
//! and later runs go on from there. Keys left over keep the heuristic (and are tuned by a
//! later run), as do keys a cancel did not reach.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use web_time::Instant;

use super::choice::{Adapter, Choice, Key, Op, Source, Variant};
use super::encode::Dispatch;
use super::gpu_io::{ErrorScopes, upload};
use super::ops::{attention, layer_norm, linear};
use super::step::{Buf, Step};
use super::tune_cache::{self, Cache, Candidate, Entry, Location};
use super::{Engine, Precision, SHADERS};
use crate::Error;
use crate::model::Mode;

/// Timed passes per candidate.
pub const PASSES: usize = 3;
/// A candidate slower than the best by more than this after the first pass is dropped.
pub const DROP_RATIO: f64 = 1.5;
/// A candidate slower than the best by more than this in its untimed run is dropped.
pub const WARM_DROP_RATIO: f64 = 3.0;
/// The heuristic is kept unless the fastest candidate's median beats its median by more
/// than this factor: a few passes on a noisy machine differ by that much.
pub const KEEP_MARGIN: f64 = 1.05;
/// Wall ms one engine may spend timing candidates, over all its tunings, unless its
/// options say otherwise (`EngineOptions::tune_budget_ms`).
pub const BUDGET_MS: u32 = 1500;
/// About how long one timed pass lasts: the op is repeated to fill it.
const PASS_MS: f64 = 2.0;
const MAX_REPEATS: usize = 32;

/// Whether kernels are tuned on the device.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Autotune {
    /// Cached choices where there are any; the rest tuned and cached.
    #[default]
    On,
    /// The heuristics alone: nothing timed, read or written.
    Off,
    /// Every key tuned again, and the cache updated.
    Refresh,
}

impl Autotune {
    pub const ALL: [Autotune; 3] = [Autotune::On, Autotune::Off, Autotune::Refresh];

    pub fn name(self) -> &'static str {
        match self {
            Autotune::On => "on",
            Autotune::Off => "off",
            Autotune::Refresh => "refresh",
        }
    }
}

impl std::str::FromStr for Autotune {
    type Err = Error;

    fn from_str(s: &str) -> Result<Autotune, Error> {
        Autotune::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "autotune '{s}' is not one of on (tune what the cache lacks), off (the \
                     heuristics) or refresh (tune everything again)"
                ))
            })
    }
}

/// How a tuning went.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    /// Keys timed now, and read from the cache.
    pub tuned: usize,
    pub cached: usize,
    /// Keys left on the heuristic: the timing budget was spent, the tuning was cancelled
    /// or the device failed.
    pub left: usize,
    /// Keys left on the heuristic because every candidate failed to compile or run.
    #[serde(default)]
    pub failed: usize,
    pub cancelled: bool,
    /// Wall ms the tuning took (cache reads and writes included).
    pub ms: f64,
    /// What was wrong with the cache (unreadable, corrupt, unwritable) or a candidate
    /// (failed to compile or run): never an error.
    pub warnings: Vec<String>,
}

/// Progress of a tuning: keys done of all to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TuneProgress {
    pub done: usize,
    pub total: usize,
}

/// The variants worth timing for `op` at `shape` on `adapter`, the heuristic first; each
/// one the adapter can run. Few enough to time in well under a second per key on a CPU
/// driver: the register blocks at the heuristic's workgroup size, the default block at one
/// other size, the tiled variant, and for linears with few outputs a split-k variant.
pub fn candidates(op: Op, shape: super::choice::Shape, adapter: &Adapter) -> Vec<Variant> {
    let heuristic = adapter.heuristic(op);
    let g = heuristic.group();
    let other = if g == 16 { 64 } else { 128 };
    let mut all = vec![heuristic];
    match op {
        Op::Linear => {
            use linear::{Block, Variant as V};
            all.push(Variant::Linear(V::new(Block::B9x16, other)));
            for block in [Block::B4x8, Block::B4x4, Block::B1x4, Block::Tiled] {
                all.push(Variant::Linear(V::new(
                    block,
                    block.fixed_group().unwrap_or(g),
                )));
            }
            // Split-k where 4 x 4 blocks still leave a wide device idle and k is long.
            let blocks = shape.rows.div_ceil(4) * shape.n.div_ceil(4) * shape.nz;
            if shape.k >= 128 && blocks < 4096 {
                all.push(Variant::Linear(V {
                    splits: 4,
                    ..V::new(Block::B4x4, g)
                }));
            }
        }
        Op::LayerNorm => {
            use layer_norm::Variant as V;
            all.push(Variant::LayerNorm(V::RowPerInvocation { group: 16 }));
            all.push(Variant::LayerNorm(V::RowPerGroup { group: 32 }));
        }
        Op::Attention => {
            all.push(Variant::Attention(attention::Variant {
                queries: 4,
                group: 64,
            }));
            all.push(Variant::Attention(attention::Variant {
                queries: 1,
                group: 32,
            }));
        }
    }
    let mut out: Vec<Variant> = Vec::new();
    for v in all {
        if v.group() <= adapter.max_group && v.check().is_ok() && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// The hash in a cache key: the op's shader sources, the precision and its candidates'
/// names, so that a changed kernel or candidate list is tuned again, and each precision
/// apart.
pub fn source_hash(op: Op, candidates: &[Variant], precision: Precision) -> u32 {
    let shaders: &[&str] = match op {
        Op::Linear => &["linear", "linear_sum"],
        Op::LayerNorm => &["layer_norm"],
        Op::Attention => &["attention"],
    };
    let sources = SHADERS
        .iter()
        .filter(|s| shaders.contains(&s.op))
        .map(|s| s.source);
    let names: Vec<String> = candidates.iter().map(Variant::to_string).collect();
    tune_cache::hash(
        sources
            .chain([precision.name()])
            .chain(names.iter().map(String::as_str)),
    )
}

/// Which candidates survive the first timed pass: those within `DROP_RATIO` of the best
/// (a failed candidate, None, never does).
pub fn survivors(first: &[Option<f64>]) -> Vec<bool> {
    let best = first
        .iter()
        .flatten()
        .copied()
        .fold(f64::INFINITY, f64::min);
    first
        .iter()
        .map(|t| t.is_some_and(|t| t <= best * DROP_RATIO))
        .collect()
}

/// The index of the fastest candidate: the smallest median of its passes, among those
/// with all `passes` timed (None when none has).
pub fn fastest(samples: &[Vec<f64>], passes: usize) -> Option<usize> {
    samples
        .iter()
        .enumerate()
        .filter(|(_, s)| s.len() == passes && passes > 0)
        .map(|(i, s)| (i, crate::stats::median(s)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// One key to tune and a run whose plan has it.
struct Todo {
    key: Key,
    branches: usize,
}

impl Engine {
    /// The candidates each tuned or cached key measured, fastest first (empty for others).
    pub fn candidates(&self, key: &Key) -> &[Candidate] {
        self.tuning.get(key).map_or(&[], Vec::as_slice)
    }

    /// What the heuristics know of this engine's adapter.
    pub fn choices_adapter(&self) -> Adapter {
        self.choices.adapter()
    }

    /// Chooses the kernel of every (op, mode, shape) of some (mode, branches) runs: from the
    /// cache at `location` (`On`), or by timing the candidates on this device (keys not
    /// cached, or all of them with `Refresh`), caching what it timed. `Off` does nothing; a
    /// forced op (`EngineOptions::forced`) is never tuned. Reports progress in keys.
    pub async fn autotune(
        &mut self,
        runs: &[(Mode, usize)],
        how: Autotune,
        location: &Location,
        cancel: &AtomicBool,
        mut on_progress: impl FnMut(TuneProgress),
    ) -> Result<Outcome, Error> {
        let mut out = Outcome::default();
        if how == Autotune::Off {
            return Ok(out);
        }
        let started = Instant::now();
        let mut todo: Vec<Todo> = Vec::new();
        for &(mode, branches) in runs {
            self.config.check_branches(branches)?;
            let planned = self.plan_of(mode, branches, &self.choices)?;
            for pick in planned.picks.into_iter().flatten() {
                // Refresh times what came from the cache again; a key this engine timed
                // itself is as fresh as it gets.
                let open = match pick.choice.source {
                    Source::Heuristic => true,
                    Source::Cache => how == Autotune::Refresh,
                    Source::Forced | Source::Tuned => false,
                };
                if open && !todo.iter().any(|t| t.key == pick.key) {
                    todo.push(Todo {
                        key: pick.key,
                        branches,
                    });
                }
            }
        }
        if todo.is_empty() {
            return Ok(out);
        }
        let mut cache = Cache::load(location);
        out.warnings.append(&mut cache.warnings);
        let device = tune_cache::Device::of(&self.gpu.info);
        let adapter = self.choices.adapter();
        let total = todo.len();
        let mut new = BTreeMap::new();
        for (n, t) in todo.iter().enumerate() {
            on_progress(TuneProgress { done: n, total });
            let key = t.key;
            let variants = candidates(key.op, key.shape, &adapter);
            let hash = source_hash(key.op, &variants, self.options.precision);
            let shape = key.shape.to_string();
            let ck = tune_cache::key(&device, key.op.name(), hash, key.mode.name(), &shape);
            let cached = (how == Autotune::On)
                .then(|| cache.entries.get(&ck))
                .flatten()
                .and_then(|e| Some((Variant::parse(key.op, &e.variant).ok()?, e)))
                .filter(|(v, _)| variants.contains(v));
            if let Some((variant, e)) = cached {
                self.keep(key, variant, Source::Cache, e.candidates.clone());
                out.cached += 1;
                continue;
            }
            if cancel.load(Ordering::Relaxed) {
                out.cancelled = true;
                out.left += total - n;
                break;
            }
            // `refresh` is asked for by name: it times every key, whatever the budget.
            if how == Autotune::On && self.tuning_ms >= f64::from(self.options.tune_budget_ms) {
                out.left += 1;
                continue;
            }
            let start = Instant::now();
            let timed = self.race(&key, t.branches, &variants, cancel).await;
            self.tuning_ms += start.elapsed().as_secs_f64() * 1e3;
            let (winner, timed) = match timed {
                Ok(End::Done(winner, timed)) => (winner, timed),
                Ok(End::Cancelled) => {
                    out.cancelled = true;
                    out.left += total - n;
                    break;
                }
                // The device failed mid-race (lost, out of memory): what was tuned is kept
                // and cached, the rest keeps the heuristic, and the run itself goes on to
                // meet (and report) the failure if it lasts.
                Err(e) => {
                    out.warnings
                        .push(format!("tuning stopped at {} {shape}: {e}", key.op.name()));
                    out.left += total - n;
                    break;
                }
            };
            for (c, failed) in &timed {
                if let (true, Some(note)) = (failed, &c.note) {
                    out.warnings
                        .push(format!("{} {}: {} {note}", key.op.name(), shape, c.variant));
                }
            }
            let timed: Vec<Candidate> = timed.into_iter().map(|(c, _)| c).collect();
            let Some(winner) = winner else {
                // Every candidate failed: the heuristic stays, and nothing is cached.
                out.failed += 1;
                continue;
            };
            new.insert(
                ck,
                Entry {
                    variant: winner.to_string(),
                    candidates: timed.clone(),
                    rate: None,
                },
            );
            self.keep(key, winner, Source::Tuned, timed);
            out.tuned += 1;
        }
        on_progress(TuneProgress {
            done: total - out.left,
            total,
        });
        out.warnings.extend(cache.save(new));
        // Losing split-k candidates may have grown the scratch buffer: the plans now chosen
        // allocate what they need again.
        if self.buffers.remove(&Buf::Partial).is_some() {
            self.plans.clear();
        }
        out.ms = started.elapsed().as_secs_f64() * 1e3;
        Ok(out)
    }

    /// Keeps `variant` for `key`; plans built with another choice (variant or source, which
    /// reports show) are built again.
    fn keep(&mut self, key: Key, variant: Variant, source: Source, candidates: Vec<Candidate>) {
        let choice = Choice { variant, source };
        if self.choices.pick(key).choice != choice {
            self.plans.clear();
        }
        self.choices.set(key, choice);
        self.tuning.insert(key, candidates);
    }

    /// Times `variants` for `key` (its op in a run of `branches`): the winner, if any ran,
    /// and every candidate's figure, fastest first. None when cancelled.
    async fn race(
        &mut self,
        key: &Key,
        branches: usize,
        variants: &[Variant],
        cancel: &AtomicBool,
    ) -> Result<End, Error> {
        let stop = || cancel.load(Ordering::Relaxed).then_some(End::Cancelled);
        let mut lanes: Vec<Lane> = Vec::new();
        for (i, &v) in variants.iter().enumerate() {
            // A candidate the device cannot hold (a split-k scratch buffer over its binding
            // limit) is skipped like one that fails to compile.
            let (steps, note) = match self.groups_of(key, branches, v) {
                Ok(groups) => (groups, None),
                Err(e) => (Vec::new(), Some(format!("was skipped: {e}"))),
            };
            lanes.push(Lane {
                variant: v,
                steps,
                dispatches: Vec::new(),
                repeats: 1,
                samples: Vec::new(),
                alive: note.is_none(),
                keep: i == 0,
                note,
            });
        }
        let count = lanes.len();
        // Untimed first: compiles each pipeline, catches a candidate that cannot run, and
        // sizes its passes.
        let mut warm = Vec::with_capacity(lanes.len());
        for lane in &mut lanes {
            if let Some(end) = stop() {
                return Ok(end);
            }
            if !lane.alive {
                warm.push(None);
                continue;
            }
            match self.warm_up(lane).await {
                Ok(ms) => warm.push(Some(ms)),
                Err(e) => {
                    lane.alive = false;
                    lane.note = Some(format!("was skipped: {e}"));
                    warm.push(None);
                }
            }
        }
        // One number of ops per pass for all (the heuristic's, else the fastest's), so that a
        // wall clock's fixed cost per pass weighs the same on every candidate.
        let best = warm.iter().flatten().copied().fold(f64::INFINITY, f64::min);
        let base = warm[0].unwrap_or(best);
        let repeats = (PASS_MS / base.max(1e-3))
            .ceil()
            .clamp(1.0, MAX_REPEATS as f64) as usize;
        for lane in &mut lanes {
            lane.repeats = repeats;
        }
        // Hopeless in the untimed run (caches were cold, hence the wider margin): out.
        for (lane, ms) in lanes.iter_mut().zip(&warm) {
            if !lane.keep && ms.is_some_and(|ms| ms > WARM_DROP_RATIO * best) {
                lane.alive = false;
            }
        }
        for pass in 0..PASSES {
            for (j, lane) in lanes.iter_mut().enumerate().filter(|(_, l)| l.alive) {
                if let Some(end) = stop() {
                    return Ok(end);
                }
                let dispatches = lane.pass((1 + pass) * count + j, lane.repeats);
                let ms = self.time_pass("tuning", &dispatches).await?;
                lane.samples.push(ms / lane.repeats as f64);
            }
            if pass == 0 {
                let first: Vec<Option<f64>> = lanes
                    .iter()
                    .map(|l| l.alive.then(|| l.samples[0]))
                    .collect();
                for (lane, keep) in lanes.iter_mut().zip(survivors(&first)) {
                    lane.alive &= keep || lane.keep;
                }
            }
        }
        let samples: Vec<Vec<f64>> = lanes.iter().map(|l| l.samples.clone()).collect();
        let winner = fastest(&samples, PASSES).map(|i| {
            // The heuristic stays unless beaten by more than the noise of a few passes.
            let heuristic = &lanes[0];
            let median = |l: &Lane| crate::stats::median(&l.samples);
            let beaten = heuristic.samples.len() < PASSES
                || median(&lanes[i]) * KEEP_MARGIN < median(heuristic);
            if beaten {
                lanes[i].variant
            } else {
                heuristic.variant
            }
        });
        let dropped = |l: &Lane| match l.samples.len() {
            0 => format!("dropped after its untimed run (over {WARM_DROP_RATIO}x the fastest)"),
            _ => format!("dropped after one pass (over {DROP_RATIO}x the fastest)"),
        };
        // Each candidate, and whether it failed (a dropped one only lost).
        let mut timed: Vec<(Candidate, bool)> = lanes
            .into_iter()
            .map(|l| {
                let failed = l.note.is_some();
                let candidate = Candidate {
                    variant: l.variant.to_string(),
                    ms: (l.samples.len() == PASSES).then(|| crate::stats::median(&l.samples)),
                    note: l
                        .note
                        .clone()
                        .or_else(|| (l.samples.len() < PASSES).then(|| dropped(&l))),
                };
                (candidate, failed)
            })
            .collect();
        timed.sort_by(|a, b| {
            let ms = |c: &(Candidate, bool)| c.0.ms.unwrap_or(f64::INFINITY);
            ms(a).total_cmp(&ms(b))
        });
        Ok(End::Done(winner, timed))
    }

    /// The dispatches of every op of `key` in a (key.mode, branches) plan with variant `v`,
    /// one group per op in plan order (two dispatches for a split-k linear): in serial mode
    /// one per block, each with its own block's weights.
    fn groups_of(
        &mut self,
        key: &Key,
        branches: usize,
        v: Variant,
    ) -> Result<Vec<Vec<Step>>, Error> {
        let mut choices = self.choices.clone();
        choices.set(
            *key,
            Choice {
                variant: v,
                source: Source::Tuned,
            },
        );
        let planned = self.plan_of(key.mode, branches, &choices)?;
        self.reserve_partial(planned.partial)?;
        let mut groups: Vec<Vec<Step>> = Vec::new();
        for (i, pick) in planned.picks.iter().enumerate() {
            if !pick.is_some_and(|p| p.key == *key) {
                continue;
            }
            let sums = planned.steps[i + 1..]
                .iter()
                .zip(&planned.picks[i + 1..])
                .take_while(|(s, p)| p.is_none() && s.kernel.op == "linear_sum")
                .count();
            groups.push(planned.steps[i..=i + sums].to_vec());
        }
        if groups.is_empty() {
            return Err(Error::Gpu(format!(
                "no {} step in the plan to tune",
                key.op.name()
            )));
        }
        Ok(groups)
    }

    /// Builds `lane`'s dispatches (compiling their pipelines) and runs them once: its ms,
    /// or the error the device reported.
    async fn warm_up(&self, lane: &mut Lane) -> Result<f64, Error> {
        let scopes = ErrorScopes::push(&self.gpu.device);
        let build = |s: &Step| {
            let params = upload(
                &self.gpu,
                "tuning parameters",
                &s.params,
                wgpu::BufferUsages::UNIFORM,
            );
            Dispatch::new(
                &self.gpu,
                s,
                params.as_entire_buffer_binding(),
                |b| &self.buffers[&b],
                self.max_grid_dim,
            )
        };
        let built: Result<Vec<Vec<Dispatch>>, Error> = lane
            .steps
            .iter()
            .map(|g| g.iter().map(build).collect())
            .collect();
        let timed = match built {
            Ok(d) => {
                lane.dispatches = d;
                let first = lane.pass(0, 1);
                self.time_pass("tuning", &first).await
            }
            Err(e) => Err(e),
        };
        scopes.pop(&self.gpu, "trying a kernel variant").await?;
        timed
    }
}

/// How a race ended: the winner (None if every candidate failed) and each candidate with
/// whether it failed; or cancelled.
enum End {
    Done(Option<Variant>, Vec<(Candidate, bool)>),
    Cancelled,
}

/// One candidate in a race.
struct Lane {
    variant: Variant,
    /// One group of steps per op of the key in the plan (`groups_of`), and their dispatches.
    steps: Vec<Vec<Step>>,
    dispatches: Vec<Vec<Dispatch>>,
    /// Ops per timed pass.
    repeats: usize,
    samples: Vec<f64>,
    alive: bool,
    /// Never dropped early: the heuristic, which the winner must beat.
    keep: bool,
    note: Option<String>,
}

impl Lane {
    /// The dispatches of `repeats` ops starting at op `start` (wrapping): consecutive passes
    /// start at different ops, so a serial pass reads other blocks' weights than the last,
    /// from as far down the memory hierarchy as a run of the model does, not from a cache
    /// the previous pass warmed.
    fn pass(&self, start: usize, repeats: usize) -> Vec<Dispatch> {
        let n = self.dispatches.len();
        (0..repeats)
            .flat_map(|i| self.dispatches[(start + i) % n].iter().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::choice::Shape;

    #[test]
    fn the_fastest_median_wins_and_slow_candidates_drop_after_one_pass() {
        // Medians 2.0, 1.0 (despite one slow pass), 3.0.
        let samples = vec![
            vec![2.0, 2.1, 1.9],
            vec![1.0, 5.0, 0.9],
            vec![3.0, 3.0, 3.0],
        ];
        assert_eq!(fastest(&samples, 3), Some(1));
        // A candidate dropped early (fewer passes) never wins, however fast it looked.
        let samples = vec![vec![2.0, 2.0, 2.0], vec![0.5]];
        assert_eq!(fastest(&samples, 3), Some(0));
        assert_eq!(fastest(&[vec![], vec![]], 3), None);
        assert_eq!(fastest(&[], 3), None);
        // Over 1.5x the best after the first pass: out; a failed one (None) too.
        assert_eq!(
            survivors(&[Some(1.0), Some(1.5), Some(1.51), None]),
            vec![true, true, false, false]
        );
        assert_eq!(survivors(&[None, None]), vec![false, false]);
    }

    #[test]
    fn candidates_start_with_the_heuristic_and_fit_the_adapter() {
        let shape = Shape {
            rows: 65,
            n: 576,
            k: 192,
            nz: 1,
        };
        for (device_type, max_group) in [
            (wgpu::DeviceType::Cpu, 256),
            (wgpu::DeviceType::DiscreteGpu, 256),
            (wgpu::DeviceType::DiscreteGpu, 64),
        ] {
            let adapter = Adapter {
                backend: wgpu::Backend::Vulkan,
                device_type,
                max_group,
            };
            for op in Op::ALL {
                let c = candidates(op, shape, &adapter);
                assert_eq!(c[0], adapter.heuristic(op), "{op:?}");
                assert!(c.len() >= 3, "{op:?}: {c:?}");
                for v in &c {
                    assert!(v.group() <= max_group && v.check().is_ok(), "{v}");
                    assert_eq!(v.op(), op);
                }
                let mut names: Vec<String> = c.iter().map(Variant::to_string).collect();
                names.dedup();
                assert_eq!(names.len(), c.len(), "no candidate twice");
            }
        }
        // Split-k only for long k and few outputs.
        let adapter = Adapter {
            backend: wgpu::Backend::Vulkan,
            device_type: wgpu::DeviceType::DiscreteGpu,
            max_group: 256,
        };
        let split = |shape| {
            candidates(Op::Linear, shape, &adapter)
                .iter()
                .any(|v| matches!(v, Variant::Linear(l) if l.splits > 1))
        };
        assert!(split(shape));
        assert!(!split(Shape { k: 64, ..shape }));
        assert!(!split(Shape { nz: 64, ..shape }));
    }

    #[test]
    fn the_source_hash_follows_the_candidates() {
        let adapter = Adapter {
            backend: wgpu::Backend::Vulkan,
            device_type: wgpu::DeviceType::Cpu,
            max_group: 256,
        };
        let shape = Shape {
            rows: 65,
            n: 192,
            k: 0,
            nz: 1,
        };
        let c = candidates(Op::LayerNorm, shape, &adapter);
        assert_eq!(
            source_hash(Op::LayerNorm, &c, Precision::F32),
            source_hash(Op::LayerNorm, &c, Precision::F32)
        );
        assert_ne!(
            source_hash(Op::LayerNorm, &c, Precision::F32),
            source_hash(Op::LayerNorm, &c[..1], Precision::F32)
        );
        assert_ne!(
            source_hash(Op::LayerNorm, &c, Precision::F32),
            source_hash(Op::Attention, &c, Precision::F32)
        );
        assert_ne!(
            source_hash(Op::LayerNorm, &c, Precision::F32),
            source_hash(Op::LayerNorm, &c, Precision::F16)
        );
    }
}
