//! Which kernel variant each op ran in a sweep, per (op, mode, shape), and why: the
//! report's `kernels` list, the lines under the bench table and the report's section.

use serde::{Deserialize, Serialize};

use crate::engine::choice::{Key, Pick, Shape};
use crate::engine::tune::Outcome;
use crate::engine::tune_cache::Candidate;
use crate::model::Mode;

/// One (op, mode, shape) of a sweep and the variant it ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KernelUse {
    /// "linear", "layer_norm", "attention".
    pub op: String,
    pub mode: Mode,
    pub shape: Shape,
    /// As `--kernel` spells it, e.g. "9x16/16".
    pub variant: String,
    /// "heuristic", "forced", "tuned" (timed on this device now) or "cache" (timed on it
    /// before).
    pub source: String,
    /// For tuned and cached choices: every candidate timed, fastest first (ms per run of
    /// the op; none for one dropped or failed, with a note).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<Candidate>,
}

/// Adds the picks of one run to `uses`, each (op, mode, shape) once, with what the
/// candidates of a tuned key measured (`candidates`).
pub fn record(
    uses: &mut Vec<KernelUse>,
    picks: &[Pick],
    candidates: impl Fn(&Key) -> Vec<Candidate>,
) {
    for p in picks {
        let u = KernelUse {
            op: p.key.op.name().to_string(),
            mode: p.key.mode,
            shape: p.key.shape,
            variant: p.choice.variant.to_string(),
            source: p.choice.source.name().to_string(),
            candidates: candidates(&p.key),
        };
        let same = |o: &KernelUse| o.op == u.op && o.mode == u.mode && o.shape == u.shape;
        if !uses.iter().any(same) {
            uses.push(u);
        }
    }
}

/// One line per (op, mode, variant, source) with the shapes that ran it, ops in plan
/// order: "linear, serial: 9x16/16 (heuristic) for 65x384x128 z1, 65x128x128 z1".
pub fn lines(uses: &[KernelUse]) -> Vec<String> {
    let mut groups: Vec<(&str, Mode, &str, &str, Vec<Shape>)> = Vec::new();
    for u in uses {
        let key = (u.op.as_str(), u.mode, u.variant.as_str(), u.source.as_str());
        match groups.iter_mut().find(|g| (g.0, g.1, g.2, g.3) == key) {
            Some(g) => g.4.push(u.shape),
            None => groups.push((key.0, key.1, key.2, key.3, vec![u.shape])),
        }
    }
    groups
        .into_iter()
        .map(|(op, mode, variant, source, mut shapes)| {
            shapes.sort();
            let shapes: Vec<String> = shapes.iter().map(Shape::to_string).collect();
            format!(
                "{op}, {}: {variant} ({source}) for {}",
                mode.name(),
                shapes.join(", ")
            )
        })
        .collect()
}

/// One line on how tuning went: "kernel tuning: 16 keys, 12 timed, 4 from the cache, in
/// 1.23 s".
pub fn tuning_line(t: &Outcome) -> String {
    let keys = t.tuned + t.cached + t.left + t.failed;
    let mut line = format!(
        "kernel tuning: {keys} keys, {} timed, {} from the cache, in {:.2} s",
        t.tuned,
        t.cached,
        t.ms / 1e3
    );
    if t.left > 0 {
        let why = if t.cancelled {
            "cancelled"
        } else if t.warnings.iter().any(|w| w.starts_with("tuning stopped")) {
            "the device failed"
        } else {
            "over the time budget: a later run tunes them"
        };
        line.push_str(&format!("; {} left on the heuristic ({why})", t.left));
    }
    if t.failed > 0 {
        line.push_str(&format!(
            "; {} on the heuristic because every candidate failed (warnings below)",
            t.failed
        ));
    }
    line
}

/// The candidates of each tuned or cached key, one line each: "linear, serial, 65x576x192
/// z1 (tuned): 9x16/16 2.10 ms, 4x8/16 2.83 ms, 1x4/16 dropped".
pub fn candidate_lines(uses: &[KernelUse]) -> Vec<String> {
    uses.iter()
        .filter(|u| !u.candidates.is_empty())
        .map(|u| {
            let timed: Vec<String> = u
                .candidates
                .iter()
                .map(|c| match c.ms {
                    Some(ms) => format!("{} {ms:.3} ms", c.variant),
                    None if c.note.as_deref().is_some_and(|n| n.starts_with("dropped")) => {
                        format!("{} dropped", c.variant)
                    }
                    None => format!("{} failed", c.variant),
                })
                .collect();
            format!(
                "{}, {}, {} ({}): {}",
                u.op,
                u.mode.name(),
                u.shape,
                u.source,
                timed.join(", ")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::choice::{Choice, Key, Op, Source, Variant};
    use crate::engine::ops::linear;

    fn pick(op: Op, mode: Mode, nz: usize, group: u32, source: Source) -> Pick {
        Pick {
            key: Key {
                op,
                mode,
                shape: Shape {
                    rows: 65,
                    n: 384,
                    k: 128,
                    nz,
                },
            },
            choice: Choice {
                variant: Variant::Linear(linear::Variant::new(linear::Block::B9x16, group)),
                source,
            },
        }
    }

    #[test]
    fn each_key_is_recorded_once_and_lines_group_shapes_by_choice() {
        let mut uses = Vec::new();
        let a = pick(Op::Linear, Mode::Parallel, 4, 16, Source::Heuristic);
        let b = pick(Op::Linear, Mode::Parallel, 2, 16, Source::Heuristic);
        let c = pick(Op::Linear, Mode::Serial, 1, 64, Source::Forced);
        record(&mut uses, &[a, a, b], |_| Vec::new());
        record(&mut uses, &[a, c], |_| Vec::new());
        assert_eq!(uses.len(), 3);
        assert_eq!(uses[2].source, "forced");
        assert_eq!(uses[2].variant, "9x16/64");
        assert_eq!(
            lines(&uses),
            [
                "linear, parallel: 9x16/16 (heuristic) for 65x384x128 z2, 65x384x128 z4",
                "linear, serial: 9x16/64 (forced) for 65x384x128 z1",
            ]
        );
        let json = serde_json::to_string(&uses[0]).unwrap();
        assert!(
            json.contains(r#""shape":{"rows":65,"n":384,"k":128,"nz":4}"#),
            "{json}"
        );
    }
}
